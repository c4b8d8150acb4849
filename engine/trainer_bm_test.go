package engine

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// A general BM (lateral connections everywhere) with 4 hidden units learns
// bars-and-stripes 3×3 (14 patterns): the exact log-likelihood climbs from
// about −3.2 to within 0.3 nats of the optimum −log 14 = −2.639 in 2,000
// epochs (measured: −2.82). The restricted machine of the same size stays
// near −5: the lateral weights are what make 4 hidden units enough.
func TestBMLearnsBarsAndStripes(t *testing.T) {
	train, err := data.Load("bas:3x3", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fit := func(l models.Lateral) []EpochMetrics {
		tr := &Trainer{Config: Config{Hidden: 4, K: 1, Chains: 50, Epochs: 2000, Batch: 14, LR: 0.1, Momentum: 0.5,
			Seed: 1, EvalEvery: 500, Schedule: LinearSchedule{Final: 0}, Model: "bm", Options: &BMOptions{Lateral: l, Sweeps: 3}}}
		res, err := tr.Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Snapshot.BM() == nil || res.Snapshot.RBM() != nil || res.Snapshot.BM().Validate() != nil {
			t.Fatalf("result: BM %v, RBM %v", res.Snapshot.BM(), res.Snapshot.RBM())
		}
		var out []EpochMetrics
		for _, m := range res.Metrics {
			if !math.IsNaN(m.LogLikelihood) {
				out = append(out, m)
			}
		}
		return out
	}
	opt := -math.Log(14)
	full := fit(models.LateralBoth)
	first, last := full[0].LogLikelihood, full[len(full)-1].LogLikelihood
	t.Logf("full BM, 9+4 units: log-likelihood %.3f after %d epochs → %.3f after %d (optimum %.3f)",
		first, full[0].Epoch, last, full[len(full)-1].Epoch, opt)
	if !(last > first) || last < opt-0.3 || last > opt+1e-9 {
		t.Errorf("full BM: log-likelihood %.3f → %.3f, want an increase to within 0.3 of %.3f", first, last, opt)
	}
	if testing.Short() {
		return
	}
	rbm := fit(models.LateralNone)
	r := rbm[len(rbm)-1].LogLikelihood
	t.Logf("restricted BM, 9+4 units: %.3f", r)
	if r > last-1 {
		t.Errorf("restricted %.3f is not clearly below the full BM's %.3f", r, last)
	}
}

// With the restricted mask the BM's sampled gradient (the graph's GradW and
// GradBias, 40 independent runs of 400 data rows and 300 chains swept 50
// times from all-zero states) estimates models.RBM.ExactGradient of the
// same weights: every parameter's mean over the runs lies within 5 standard
// errors (+2e-3 for the finite chains' bias) of the RBM's exact value, and
// the masked lateral entries are exactly zero.
func TestBMRestrictedGradientMatchesRBM(t *testing.T) {
	const V, H, B, C, R = 5, 3, 400, 300, 40
	r, err := models.NewRBM(V, H, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.W {
		r.W[i] *= 50
	}
	for i := range r.VBias {
		r.VBias[i] = float32(i%3) * 0.3
	}
	m := models.FromRBM(r)
	patterns := [][]float32{{1, 0, 1, 0, 1}, {0, 1, 1, 0, 0}, {1, 1, 0, 0, 1}, {0, 0, 0, 1, 1}}
	x := make([]float32, 0, B*V)
	for i := 0; i < B; i++ {
		x = append(x, patterns[i%len(patterns)]...)
	}
	eW, eb, ec, err := r.ExactGradient(x, B)
	if err != nil {
		t.Fatal(err)
	}
	// The BM's own exact gradient is the RBM's (models tests check every
	// entry); the sampled one is checked against the RBM's directly.
	N := V + H
	exactW := make([]float64, N*N)
	for i := 0; i < V; i++ {
		for j := 0; j < H; j++ {
			exactW[i*N+V+j], exactW[(V+j)*N+i] = eW[i*H+j], eW[i*H+j]
		}
	}
	exact := append(append(exactW, eb...), ec...)
	bW, bB, err := m.ExactGradient(x, B)
	if err != nil {
		t.Fatal(err)
	}
	for k, g := range append(bW, bB...) {
		if math.Abs(g-exact[k]) > 1e-9 {
			t.Fatalf("BM exact gradient [%d] = %v, RBM %v", k, g, exact[k])
		}
	}

	rng := &graph.RNG{Seed: 99}
	s, err := graph.BuildBMStep(graph.BMConfig{Visible: V, Hidden: H, Batch: B, Chains: C, Sweeps: 1, ModelSweeps: 50}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		n *G.Node
		x []float32
		s []int
	}{{s.V0, x, []int{B, V}}, {s.W, m.W, []int{N, N}}, {s.Bias, m.Bias, []int{N}}, {s.Mask, m.Mask, []int{N, N}},
		{s.Chain, make([]float32, C*N), []int{C, N}}} {
		if err := G.Let(b.n, tensor.New(tensor.WithShape(b.s...), tensor.WithBacking(append([]float32(nil), b.x...)))); err != nil {
			t.Fatal(err)
		}
	}
	vm := G.NewTapeMachine(s.Graph)
	defer vm.Close()
	sum, sq := make([]float64, N*N+N), make([]float64, N*N+N)
	for run := 0; run < R; run++ {
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		g := append(append([]float32(nil), s.GradW.Value().Data().([]float32)...), s.GradBias.Value().Data().([]float32)...)
		for k, v := range g {
			sum[k] += float64(v)
			sq[k] += float64(v) * float64(v)
		}
		vm.Reset()
		rng.Step++
	}
	worst := 0.0
	for k := range sum {
		mean := sum[k] / R
		se := math.Sqrt(math.Max(sq[k]/R-mean*mean, 0) / (R - 1))
		if k < N*N && m.Mask[k] == 0 {
			if sum[k] != 0 {
				t.Errorf("masked GradW[%d] = %v, want 0", k, mean)
			}
			continue
		}
		z := math.Abs(mean-exact[k]) / (se + 1e-12)
		worst = math.Max(worst, z)
		if math.Abs(mean-exact[k]) > 5*se+2e-3 {
			t.Errorf("parameter %d: sampled %.4f ± %.4f, exact %.4f", k, mean, se, exact[k])
		}
	}
	t.Logf("restricted BM sampled gradient vs RBM exact: worst |mean − exact| = %.2f standard errors", worst)
}

// A BM run resumes bit-identically: from a checkpoint file written after an
// epoch, and from a snapshot taken at a cancellation in the middle of one,
// on the tape and the host backends.
func TestBMResumeBitIdentical(t *testing.T) {
	train, err := data.Load("bas:3x3", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Backend{CPU{}, Host()} {
		cfg := Config{Hidden: 3, K: 2, Chains: 6, Epochs: 6, Batch: 4, LR: 0.1, Momentum: 0.9, InitialMomentum: 0.5,
			MomentumWarmup: 2, WeightDecay: 0.001, Seed: 5, Schedule: LinearSchedule{Final: 0.1},
			Model: "bm", Options: &BMOptions{Lateral: models.LateralHidden, Sweeps: 2}}
		full, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Stop after epoch 3 through a checkpoint file.
		path := filepath.Join(t.TempDir(), "bm.safetensors")
		stop := func(m EpochMetrics, s *Snapshot) error {
			if m.Epoch == 3 {
				if err := SaveSnapshot(path, s, train.Fingerprint()); err != nil {
					return err
				}
				return ErrStop
			}
			return nil
		}
		if _, err := (&Trainer{Config: cfg, Backend: b, Callbacks: []Callback{stop}}).Fit(context.Background(), train, nil); err != nil {
			t.Fatal(err)
		}
		snap, _, err := LoadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := snap.Config.Options.(*BMOptions); snap.BM() == nil || !ok || o.Lateral != models.LateralHidden || snap.Epoch != 3 {
			t.Fatalf("loaded snapshot: %+v", snap)
		}
		rcfg := snap.Config
		rcfg.Epochs = 6
		resumed, err := (&Trainer{Config: rcfg, Backend: b, Resume: snap}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		same := func(what string, got *Result) {
			if !reflect.DeepEqual(got.Snapshot.BM(), full.Snapshot.BM()) || !reflect.DeepEqual(got.Snapshot.Tensors, full.Snapshot.Tensors) || got.Snapshot.RNGStep != full.Snapshot.RNGStep {
				t.Errorf("%s: %s resume differs from the uninterrupted run", b.Name(), what)
			}
		}
		same("checkpoint", resumed)
		// Cancel in epoch 2 (the tape backend stops after the batch; the
		// host one, which takes a whole epoch's batches per upload, at the
		// next chunk boundary).
		ctx, cancel := context.WithCancel(context.Background())
		tr := &Trainer{Config: cfg, Backend: b, OnBatch: func(epoch, done, total int) {
			if epoch == 2 && done == 8 {
				cancel()
			}
		}}
		part, err := tr.Fit(ctx, train, nil)
		if !errors.Is(err, context.Canceled) || part.Snapshot.Epoch > 2 || (b.Name() == "cpu-tape" && part.Snapshot.Batch != 2) {
			t.Fatalf("cancel: %v, snapshot at epoch %d batch %d", err, part.Snapshot.Epoch, part.Snapshot.Batch)
		}
		resumed, err = (&Trainer{Config: cfg, Backend: b, Resume: part.Snapshot}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		same("cancel", resumed)
	}
}

func TestBMConfigErrors(t *testing.T) {
	train, _ := data.Load("bas:2x2", data.LoadOptions{})
	for _, c := range []Config{
		{Model: "bm", Options: &BMOptions{Lateral: 7}},
		{Model: "bm", Options: &BMOptions{Sweeps: -1}},
		{SparsityCost: 0.1, SparsityTarget: 0.1, Model: "bm", Options: &BMOptions{}},
	} {
		c.Hidden, c.Epochs = 2, 1
		if _, err := (&Trainer{Config: c}).Fit(context.Background(), train, nil); err == nil {
			t.Errorf("%+v accepted", c.Options)
		}
	}
	rbmSnap := rbmSnapshot(4, 2)
	if _, err := (&Trainer{Config: Config{Hidden: 2, Epochs: 1, Model: "bm", Options: &BMOptions{}}, Resume: rbmSnap}).Fit(context.Background(), train, nil); err == nil {
		t.Error("resuming a BM from an RBM snapshot accepted")
	}
}
