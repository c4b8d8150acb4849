package engine

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

// plantedAlignment samples n sequences of a planted sparse Potts model
// from n independent chains of `sweeps` sweeps and returns them one-hot.
func plantedAlignment(t testing.TB, cfg models.PlantedConfig, n, sweeps int) (*models.Potts, []models.Contact, *data.Dataset) {
	t.Helper()
	m, contacts, err := models.NewPlantedPotts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Sample(n, sweeps, cfg.Seed+1)
	if err != nil {
		t.Fatal(err)
	}
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:cfg.Q]
	msa := &align.MSA{Name: "planted", Alphabet: &align.Alphabet{Name: "custom", Letters: letters}, Names: make([]string, n), L: cfg.L, Seqs: s}
	d, err := PottsOneHot(msa)
	if err != nil {
		t.Fatal(err)
	}
	return m, contacts, d
}

func pottsConfig(q int) Config {
	return Config{Model: models.KindPotts, Options: &PottsOptions{Q: q, Reweight: 0.8, Pseudocount: models.PseudocountDefault}}
}

// One step of Fit with LR 1 and no momentum or decay moves the parameters
// from the independent-site start by exactly the graph's gradient; with
// 10,000 chains drawn from that start (the model itself, so in
// equilibrium) it must match the exact gradient f_data − p_model by
// enumeration of the 3^4 states within Monte Carlo error, on the tape, the
// host and the emulated CUDA executors; the couplings' diagonal blocks stay
// exactly zero and no parameter block is frozen.
func TestPottsGradientMatchesExactOnEveryExecutor(t *testing.T) {
	_, _, train := plantedAlignment(t, models.PlantedConfig{L: 4, Q: 3, Chords: 1, Coupling: 1.5, Field: 0.5, Seed: 5}, 400, 50)
	drv := emu.NewDriver()
	defer drv.Close()
	cfg := pottsConfig(3)
	cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed = 10000, 2, 1, train.N, 1, 9
	for _, b := range []Backend{CPU{}, Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		res, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		s := res.Snapshot
		init, err := pottsKind{}.Init(s.Config, train)
		if err != nil {
			t.Fatal(err)
		}
		start, err := models.PottsFromUnits(4, 3, init[graph.NameW], init[graph.NameBias])
		if err != nil {
			t.Fatal(err)
		}
		dH, dJ, err := start.ExactGradient(statsOfUnits(4, 3, init[graph.NamePottsF1], init[graph.NamePottsF2]))
		if err != nil {
			t.Fatal(err)
		}
		got := s.Potts()
		worst := 0.0
		for k := range dH {
			d := math.Abs(float64(got.H[k]-start.H[k]) - dH[k])
			worst = math.Max(worst, d)
		}
		frozen, biggest := 0, 0.0
		for k := range dJ {
			biggest = math.Max(biggest, math.Abs(dJ[k]))
			i, j := k/(4*9), (k/9)%4
			if i == j {
				if got.J[k] != 0 {
					t.Fatalf("%s: J[%d] = %v on a diagonal block", b.Name(), k, got.J[k])
				}
				continue
			}
			if got.J[k] == 0 {
				frozen++
			}
			worst = math.Max(worst, math.Abs(float64(got.J[k])-dJ[k]))
		}
		if worst > 0.02 || frozen > 0 || biggest < 0.05 {
			t.Fatalf("%s: worst |step − exact gradient| = %.4f (want ≤ 0.02), largest exact |dJ| %.3f, %d coupling values unchanged", b.Name(), worst, biggest, frozen)
		}
		t.Logf("%s: one step = exact gradient within %.4f (largest exact |dJ| %.3f; 10,000 chains)", b.Name(), worst, biggest)
	}
}

// Fit on the host and the emulated CUDA backends ends with the tape
// backend's chains bit for bit and its parameters to float32 rounding.
func TestPottsFitOnEveryBackend(t *testing.T) {
	_, _, train := plantedAlignment(t, models.PlantedConfig{L: 9, Q: 4, Chords: 3, Coupling: 1, Field: 0.5, Seed: 2}, 60, 20)
	drv := emu.NewDriver()
	defer drv.Close()
	cfg := pottsConfig(4)
	cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.Seed = 33, 2, 2, 20, 0.05, 0.5, 0.01, 4
	want, err := (&Trainer{Config: cfg, Backend: CPU{}}).Fit(context.Background(), train, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Backend{Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		got, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		if !reflect.DeepEqual(got.Snapshot.Tensors[graph.NameChains], want.Snapshot.Tensors[graph.NameChains]) {
			t.Fatalf("%s: chains differ from the tape backend's", b.Name())
		}
		for _, name := range []string{graph.NameW, graph.NameBias} {
			g, w := got.Snapshot.Tensors[name], want.Snapshot.Tensors[name]
			for i := range w {
				if math.Abs(float64(g[i]-w[i])) > 1e-5*(1+math.Abs(float64(w[i]))) {
					t.Fatalf("%s: %s[%d] = %v, tape %v", b.Name(), name, i, g[i], w[i])
				}
			}
		}
		if gm, wm := got.Metrics[1].Pearson, want.Metrics[1].Pearson; math.Abs(gm-wm) > 1e-9 {
			t.Fatalf("%s: Pearson %v, tape %v", b.Name(), gm, wm)
		}
	}
}

// bmDCA on planted sparse models with loops of all lengths, sequences
// from independent chains: training with the defaults (1,000 chains, the
// default rate for q, the target Pearson 0.95 through PottsTarget) reaches
// the target correlation of connected correlations and stops there, and
// the top-L APC contacts of the zero-sum-gauge couplings recover the
// planted graph. Cases: L = 20, q = 4 (a ring with 6 chords: 26
// contacts, 3,000 sequences), and bench/potts_planted.sh's model, L = 50,
// q = 5 (a ring with 50 chords: 100 contacts, 2,000 sequences).
func TestPottsRecoversPlantedContacts(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models: skipped with -short")
	}
	for _, c := range []struct {
		pc           models.PlantedConfig
		n, sweeps    int
		minPrecision float64
	}{
		{models.PlantedConfig{L: 20, Q: 4, Chords: 6, Coupling: 1.5, Field: 0.5, Seed: 11}, 3000, 100, 0.8},
		{models.PlantedConfig{L: 50, Q: 5, Chords: 50, Coupling: 1.5, Field: 0.5, Seed: 1}, 2000, 200, 0.9},
	} {
		pc := c.pc
		_, contacts, train := plantedAlignment(t, pc, c.n, c.sweeps)
		cfg := pottsConfig(pc.Q)
		cfg.Epochs, cfg.Seed = 40, 1 // the default 300 would only bound a failure
		res, err := (&Trainer{Config: cfg, Backend: Host(), Callbacks: []Callback{PottsTarget(PottsDefaultTargetPearson)}}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		last := res.Metrics[len(res.Metrics)-1]
		m, err := res.Snapshot.Model()
		if err != nil {
			t.Fatal(err)
		}
		scores, err := m.(*models.Potts).FrobeniusAPC(-1)
		if err != nil {
			t.Fatal(err)
		}
		prec := models.TopPrecision(models.RankContacts(scores, pc.L, 1), pc.L, models.ContactSet(contacts))
		t.Logf("planted L=%d q=%d, %d contacts: %d epochs, Pearson C %.4f, Pearson f %.4f, top-L precision %.3f", pc.L, pc.Q, len(contacts), last.Epoch, last.Pearson, last.PearsonF, prec)
		if last.Pearson < PottsDefaultTargetPearson {
			t.Errorf("L=%d q=%d: Pearson of connected correlations %.4f after %d epochs, want ≥ %g", pc.L, pc.Q, last.Pearson, last.Epoch, PottsDefaultTargetPearson)
		}
		if last.Epoch == cfg.Epochs {
			t.Errorf("L=%d q=%d: the target Pearson did not stop training before epoch %d", pc.L, pc.Q, cfg.Epochs)
		}
		if prec < c.minPrecision {
			t.Errorf("L=%d q=%d: top-L precision %.3f, want ≥ %g", pc.L, pc.Q, prec, c.minPrecision)
		}
	}
}

// fitAndCheckpointHalf runs cfg on train on the host to the end (full)
// and to epoch half (part), saves part's snapshot and loads it back (snap,
// meta): the material of a resume test.
func fitAndCheckpointHalf(t *testing.T, cfg Config, train *data.Dataset, half int) (full, part *Result, snap *Snapshot, meta models.Meta) {
	t.Helper()
	full, err := (&Trainer{Config: cfg, Backend: Host()}).Fit(context.Background(), train, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := cfg
	hc.Epochs = half
	if part, err = (&Trainer{Config: hc, Backend: Host()}).Fit(context.Background(), train, nil); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/model.safetensors"
	if err := SaveSnapshot(path, part.Snapshot, train.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	if snap, meta, err = LoadSnapshot(path); err != nil {
		t.Fatal(err)
	}
	return full, part, snap, meta
}

// A Potts checkpoint (h [L Q], J [L L Q Q] plus the training state) loads
// back to the same tensors, and a run resumed from it ends where an
// uninterrupted one does, bit for bit.
func TestPottsCheckpointResume(t *testing.T) {
	_, _, train := plantedAlignment(t, models.PlantedConfig{L: 6, Q: 3, Chords: 2, Coupling: 1, Field: 0.5, Seed: 3}, 40, 10)
	cfg := pottsConfig(3)
	cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Momentum, cfg.Seed = 16, 2, 4, 10, 0.05, 0.5, 2
	full, part, snap, _ := fitAndCheckpointHalf(t, cfg, train, 2)
	for n, x := range part.Snapshot.Tensors {
		if !reflect.DeepEqual(snap.Tensors[n], x) {
			t.Fatalf("tensor %s differs after the round trip", n)
		}
	}
	if o, ok := snap.Config.Options.(*PottsOptions); !ok || o.Q != 3 {
		t.Fatalf("options after loading: %#v", snap.Config.Options)
	}
	rcfg := snap.Config
	rcfg.Epochs = 4
	resumed, err := (&Trainer{Config: rcfg, Backend: Host(), Resume: snap}).Fit(context.Background(), train, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{graph.NameW, graph.NameBias, graph.NameChains} {
		if !reflect.DeepEqual(resumed.Snapshot.Tensors[n], full.Snapshot.Tensors[n]) {
			t.Fatalf("resumed %s differs from the uninterrupted run's", n)
		}
	}
}

// The L1 penalty (Config.L1, the l1_grad_f32 update) shrinks the
// couplings, and every executor runs it alike: the host and emulated CUDA
// backends end with the tape's chains bit for bit.
func TestPottsL1OnEveryBackend(t *testing.T) {
	_, _, train := plantedAlignment(t, models.PlantedConfig{L: 8, Q: 3, Chords: 2, Coupling: 1, Field: 0.5, Seed: 3}, 60, 20)
	drv := emu.NewDriver()
	defer drv.Close()
	sumAbs := func(x []float32) (s float64) {
		for _, v := range x {
			s += math.Abs(float64(v))
		}
		return s
	}
	var plain float64
	for _, l1 := range []float64{0, 0.02} {
		cfg := pottsConfig(3)
		cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed, cfg.L1 = 40, 2, 4, 20, 0.1, 5, l1
		want, err := (&Trainer{Config: cfg, Backend: CPU{}}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := sumAbs(want.Snapshot.Tensors[graph.NameW])
		if l1 == 0 {
			plain = got
		} else if !(got < 0.9*plain) {
			t.Errorf("L1 %v: Σ|J| = %.4f, without it %.4f: want a clear shrink", l1, got, plain)
		}
		for _, b := range []Backend{Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
			res, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
			if err != nil {
				t.Fatalf("%s: %v", b.Name(), err)
			}
			if !reflect.DeepEqual(res.Snapshot.Tensors[graph.NameChains], want.Snapshot.Tensors[graph.NameChains]) {
				t.Fatalf("L1 %v, %s: chains differ from the tape backend's", l1, b.Name())
			}
		}
	}
}
