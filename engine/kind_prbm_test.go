package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

func pottsRBMConfig(q, hidden int) Config {
	return Config{Model: models.KindPottsRBM, Hidden: hidden, Options: &PottsRBMOptions{Q: q}}
}

// plantedPottsRBMData samples n sequences of L sites of q states from a
// Potts RBM with H hidden units whose weights have scale `scale`, and
// returns the model and the one-hot alignment.
func plantedPottsRBMData(t testing.TB, L, q, H, n int, scale float64, seed uint64) (*models.PottsRBM, *data.Dataset) {
	t.Helper()
	m, err := models.NewPottsRBM(L, q, H, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for k := range m.W {
		m.W[k] = float32(scale * r.NormFloat64())
	}
	for k := range m.VBias {
		m.VBias[k] = float32(0.7 * r.NormFloat64())
	}
	v := make([]float32, n*L*q)
	for s := 0; s < n; s++ {
		for i := 0; i < L; i++ {
			v[(s*L+i)*q+r.IntN(q)] = 1
		}
	}
	if err := m.Gibbs(v, n, 200, seed+2, 0); err != nil {
		t.Fatal(err)
	}
	codes, err := m.Codes(v, n)
	if err != nil {
		t.Fatal(err)
	}
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:q]
	msa := &align.MSA{Name: "planted", Alphabet: &align.Alphabet{Name: "custom", Letters: letters}, Names: make([]string, n), L: L, Seqs: codes}
	d, err := PottsOneHot(msa)
	if err != nil {
		t.Fatal(err)
	}
	return m, d
}

// mixtureAlignment returns n sequences of L sites of q states, each a
// copy of one of two random motifs (chosen with probability ½) with every
// site replaced by a uniform state with probability 0.15: strongly
// correlated columns that the independent-site model fits poorly.
func mixtureAlignment(t testing.TB, L, q, n int, seed uint64) *data.Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	motifs := [2][]uint8{make([]uint8, L), make([]uint8, L)}
	for _, m := range motifs {
		for i := range m {
			m[i] = uint8(r.IntN(q))
		}
	}
	codes := make([]uint8, n*L)
	for s := 0; s < n; s++ {
		m := motifs[r.IntN(2)]
		for i := 0; i < L; i++ {
			codes[s*L+i] = m[i]
			if r.Float64() < 0.15 {
				codes[s*L+i] = uint8(r.IntN(q))
			}
		}
	}
	msa := &align.MSA{Name: "mixture", Alphabet: &align.Alphabet{Name: "custom", Letters: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:q]}, Names: make([]string, n), L: L, Seqs: codes}
	d, err := PottsOneHot(msa)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// One PCD-1 step with LR 1 (no momentum, no decay) from a model whose
// 10,000 chains are in equilibrium moves W, b and c by exactly the graph's
// gradient: it must match the exact gradient of the average
// log-likelihood (enumeration of the 2^4 hidden states) within Monte
// Carlo error, on the tape, the host and the emulated CUDA executors
// (L=3 sites, q=3 states, H=4); every parameter block moves.
func TestPottsRBMGradientMatchesExactOnEveryExecutor(t *testing.T) {
	_, train := plantedPottsRBMData(t, 3, 3, 4, 300, 0.8, 5)
	start, _ := plantedPottsRBMData(t, 3, 3, 4, 1, 0.8, 6) // another model: a sizeable gradient
	const C = 10000
	chains := PottsFieldChains(start.VBias, 3, 3, C, 7)
	if err := start.Gibbs(chains, C, 100, 11, 0); err != nil {
		t.Fatal(err)
	}
	dW, db, dc, err := start.ExactGradient(train.Rows(0, train.N), train.N)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pottsRBMConfig(3, 4)
	cfg.Persistent, cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed = true, C, 1, 1, train.N, 1, 9
	cfg = cfg.Defaults()
	drv := emu.NewDriver()
	defer drv.Close()
	for _, b := range []Backend{CPU{}, Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		snap := &Snapshot{Config: cfg, Tensors: rbmTensors(start.Clone().RBM())}
		snap.Tensors[graph.NameChains] = append([]float32(nil), chains...)
		res, err := (&Trainer{Config: cfg, Backend: b, Resume: snap}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		got := res.Snapshot.PottsRBM()
		for _, p := range []struct {
			name      string
			now, was  []float32
			exact     []float64
			tol, min_ float64
		}{{"W", got.W, start.W, dW, 0.02, 0.05}, {"vbias", got.VBias, start.VBias, db, 0.02, 0.05}, {"hbias", got.HBias, start.HBias, dc, 0.02, 0.01}} {
			worst, biggest, frozen := 0.0, 0.0, 0
			for k := range p.now {
				step := float64(p.now[k] - p.was[k])
				if step == 0 {
					frozen++
				}
				worst = math.Max(worst, math.Abs(step-p.exact[k]))
				biggest = math.Max(biggest, math.Abs(p.exact[k]))
			}
			if worst > p.tol || frozen > 0 || biggest < p.min_ {
				t.Errorf("%s %s: worst |step − exact| = %.4f (want ≤ %g), largest exact %.3f, %d values unchanged",
					b.Name(), p.name, worst, p.tol, biggest, frozen)
			}
			t.Logf("%s %s: one step = exact gradient within %.4f (largest %.3f)", b.Name(), p.name, worst, biggest)
		}
	}
}

// Fit on the host and the emulated CUDA backends ends with the tape
// backend's chains bit for bit, its parameters to float32 rounding and
// its exact log Z, by PCD and by CD.
func TestPottsRBMFitOnEveryBackend(t *testing.T) {
	_, train := plantedPottsRBMData(t, 9, 4, 6, 60, 0.5, 2)
	drv := emu.NewDriver()
	defer drv.Close()
	for _, pcd := range []bool{true, false} {
		cfg := pottsRBMConfig(4, 6)
		cfg.Persistent, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.Seed = pcd, 2, 2, 20, 0.05, 0.5, 0.01, 4
		if pcd {
			cfg.Chains = 33
		}
		want, err := (&Trainer{Config: cfg, Backend: CPU{}}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		resident := *Host().(*DeviceBackend) // mini-batches gathered on the device
		resident.Resident = true
		for _, b := range []Backend{Host(), &resident, &DeviceBackend{Driver: drv, Label: "emu"}} {
			got, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
			if err != nil {
				t.Fatalf("%s: %v", b.Name(), err)
			}
			if !reflect.DeepEqual(got.Snapshot.Tensors[graph.NameChains], want.Snapshot.Tensors[graph.NameChains]) {
				t.Fatalf("pcd %v %s: chains differ from the tape backend's", pcd, b.Name())
			}
			for _, name := range []string{graph.NameW, graph.NameVBias, graph.NameHBias} {
				g, w := got.Snapshot.Tensors[name], want.Snapshot.Tensors[name]
				for k := range w {
					if math.Abs(float64(g[k]-w[k])) > 1e-5 {
						t.Fatalf("pcd %v %s: %s[%d] = %v, tape %v", pcd, b.Name(), name, k, g[k], w[k])
					}
				}
			}
			// Exact log Z (2^6 hidden states) of each executor's model.
			zg, err := got.Snapshot.PottsRBM().LogZ()
			if err != nil {
				t.Fatal(err)
			}
			zw, err := want.Snapshot.PottsRBM().LogZ()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(zg-zw) > 1e-4 {
				t.Fatalf("pcd %v %s: exact log Z %.6f, tape %.6f", pcd, b.Name(), zg, zw)
			}
		}
	}
}

// A short PCD training on a small synthetic alignment raises the exact
// log-likelihood (L=5, q=4: 2^10 visible states), no parameter block
// stays frozen, the fields keep summing to zero per site (the gauge), and
// the exact and AIS evaluations agree.
func TestPottsRBMTrainingRaisesLogLikelihood(t *testing.T) {
	train := mixtureAlignment(t, 5, 4, 400, 8)
	cfg := pottsRBMConfig(4, 6)
	cfg.Persistent, cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed, cfg.WeightDecay = true, 100, 5, 20, 20, 0.1, 3, 1e-4
	cfg.EvalEvery = cfg.Epochs
	res, err := (&Trainer{Config: cfg, Backend: Host()}).Fit(context.Background(), train, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Metrics[len(res.Metrics)-1].LogLikelihood
	init, err := pottsRBMKind{}.Init(res.Snapshot.Config, train)
	if err != nil {
		t.Fatal(err)
	}
	m0, err := models.PottsRBMOf(&models.RBM{V: 20, H: 6, W: init[graph.NameW], VBias: init[graph.NameVBias], HBias: init[graph.NameHBias]}, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	ll0, err := m0.LogLikelihood(train.Rows(0, train.N), train.N)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exact LL: start %.4f, epoch %d %.4f", ll0, len(res.Metrics), last)
	if !(last > ll0+0.05) || math.IsNaN(last) {
		t.Errorf("exact LL %.4f after training, %.4f at the start: want a rise of at least 0.05 nats", last, ll0)
	}
	m := res.Snapshot.PottsRBM()
	for _, p := range []struct {
		name     string
		now, was []float32
	}{{"W", m.W, init[graph.NameW]}, {"vbias", m.VBias, init[graph.NameVBias]}, {"hbias", m.HBias, init[graph.NameHBias]}} {
		for k := range p.now {
			if p.now[k] == p.was[k] {
				t.Errorf("%s[%d] never moved: a frozen parameter", p.name, k)
			}
		}
	}
	for i := 0; i < 5; i++ {
		s := 0.0
		for a := 0; a < 4; a++ {
			s += float64(m.VBias[i*4+a])
		}
		if math.Abs(s) > 1e-3 {
			t.Errorf("Σ_a b_%d(a) = %v: the field gauge drifted", i, s)
		}
	}
	// AIS (the evaluation of a model too big to enumerate) agrees with the
	// exact log-likelihood.
	var em EpochMetrics
	em.TrajLL, em.LogLikelihood = math.NaN(), math.NaN()
	c := res.Snapshot.Config
	c.ExactLLMaxUnits = 0 // force AIS
	if err := (pottsRBMKind{}).Evaluate(&em, res.Snapshot, train, nil, c); err != nil {
		t.Fatal(err)
	}
	if math.Abs(em.TrajLL-last) > 0.05 || !math.IsNaN(em.LogLikelihood) {
		t.Errorf("AIS LL %.4f, exact %.4f (LogLikelihood %v)", em.TrajLL, last, em.LogLikelihood)
	}
}

// A run resumed from its checkpoint continues exactly; the checkpoint
// round-trips the snapshot.
func TestPottsRBMCheckpointResume(t *testing.T) {
	_, train := plantedPottsRBMData(t, 6, 3, 4, 50, 0.5, 3)
	cfg := pottsRBMConfig(3, 4)
	cfg.Persistent, cfg.Chains, cfg.K, cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed = true, 10, 1, 4, 10, 0.05, 6
	full, _, snap, meta := fitAndCheckpointHalf(t, cfg, train, 2)
	if meta.Kind != models.KindPottsRBM || snap.PottsRBM() == nil {
		t.Fatalf("checkpoint kind %q, model %v", meta.Kind, snap.PottsRBM())
	}
	rest, err := (&Trainer{Config: cfg, Backend: Host(), Resume: snap}).Fit(context.Background(), train, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{graph.NameW, graph.NameVBias, graph.NameHBias, graph.NameChains} {
		if !reflect.DeepEqual(rest.Snapshot.Tensors[name], full.Snapshot.Tensors[name]) {
			t.Errorf("resumed %s differs from the uninterrupted run's", name)
		}
	}
}

// Bad configurations are errors naming the problem.
func TestPottsRBMValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"one state", func(c *Config) { c.Options = &PottsRBMOptions{Q: 1} }},
		{"parallel tempering", func(c *Config) { c.PT = 4; c.Persistent = true }},
		{"centring", func(c *Config) { c.Centered = true }},
		{"bad alphabet", func(c *Config) { c.Options = &PottsRBMOptions{Alphabet: "x"} }},
	} {
		cfg := pottsRBMConfig(3, 4)
		c.edit(&cfg)
		if err := cfg.Defaults().Validate(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// ResampleWeighted draws rows in proportion to their weights.
func TestResampleWeighted(t *testing.T) {
	d := &data.Dataset{Name: "x", N: 4, D: 1, X: []float32{0, 1, 2, 3}}
	got, err := ResampleWeighted(d, []float64{1, 0, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 2, 2, 3}; !reflect.DeepEqual(got.Rows(0, 4), want) {
		t.Errorf("resampled rows %v, want %v", got.Rows(0, 4), want)
	}
	if _, err := ResampleWeighted(d, []float64{0, 0, 0, 0}); err == nil {
		t.Error("zero weights: no error")
	}
}
