package engine

import (
	"context"
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/exec/device"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

// verbModel is a small model with random parameters for the verb tests: an
// "rbm" snapshot, or with gaussian a "grbm" one with a standardisation and
// unequal variances.
func verbModel(t *testing.T, V, H int, gaussian bool, seed uint64) *Snapshot {
	t.Helper()
	m, err := models.NewRBM(V, H, seed)
	if err != nil {
		t.Fatal(err)
	}
	s := kernels.Stream{Seed: seed, Op: 0x7E57}
	for i := range m.W {
		m.W[i] = 2*s.Uniform(uint64(i)) - 1
	}
	for i := range m.VBias {
		m.VBias[i] = s.Uniform(uint64(1000+i)) - 0.5
	}
	for j := range m.HBias {
		m.HBias[j] = s.Uniform(uint64(2000+j)) - 0.5
	}
	snap := RBMSnapshot(m)
	if gaussian {
		snap.Config.Model = models.KindGRBM
		z, mean, std := make([]float32, V), make([]float32, V), make([]float32, V)
		for i := range z {
			z[i] = s.Uniform(uint64(3000+i)) - 0.5
			mean[i] = 100 * s.Uniform(uint64(4000+i))
			std[i] = 10 + 50*s.Uniform(uint64(5000+i))
		}
		snap.Tensors[graph.NameLogVar], snap.Tensors[TensorDataMean], snap.Tensors[TensorDataStd] = z, mean, std
		snap.Tensors[graph.VelocityOf(graph.NameLogVar)] = zeros(V)
	}
	return snap
}

// verbRows returns n rows of V values: binary, or in [0, 255) for a
// Gaussian model.
func verbRows(n, V int, gaussian bool, seed uint64) []float32 {
	x := make([]float32, n*V)
	s := kernels.Stream{Seed: seed, Op: 0x7E58}
	for i := range x {
		u := s.Uniform(uint64(i))
		switch {
		case gaussian:
			x[i] = 255 * u
		case u < 0.4:
			x[i] = 1
		}
	}
	return x
}

// refHidden is p(h = 1 | x) by a direct float64 loop over the parameters
// in s: σ(c_j + Σ_i u_i W_ij / σ_i²), u = (x − mean)/std for a Gaussian
// RBM, u = x and σ = 1 for an RBM.
func refHidden(s *Snapshot, x []float32, n int) []float64 {
	W, c, b := s.Tensors[graph.NameW], s.Tensors[graph.NameHBias], s.Tensors[graph.NameVBias]
	V, H := len(b), len(c)
	z, mean, std := s.Tensors[graph.NameLogVar], s.Tensors[TensorDataMean], s.Tensors[TensorDataStd]
	out := make([]float64, n*H)
	for r := 0; r < n; r++ {
		for j := 0; j < H; j++ {
			a := float64(c[j])
			for i := 0; i < V; i++ {
				u := float64(x[r*V+i])
				if z != nil {
					u = (u - float64(mean[i])) / float64(std[i]) * math.Exp(-float64(z[i]))
				}
				a += u * float64(W[i*H+j])
			}
			out[r*H+j] = 1 / (1 + math.Exp(-a))
		}
	}
	return out
}

// verbBackends are the executors Transform must agree on: the CPU kernels,
// the tape (no kernel driver) and the emulated CUDA kernels.
func verbBackends() []Backend {
	return []Backend{Host(), CPU{}, &device.Backend{Label: "emu", Driver: emu.NewDriver()}}
}

func TestSnapshotTransform(t *testing.T) {
	cases := []struct {
		name     string
		V, H, n  int
		gaussian bool
		batch    int
	}{
		{"rbm", 7, 5, 13, false, 0},
		{"rbm batches of 4", 7, 5, 13, false, 4},
		{"rbm one row", 3, 9, 1, false, 0},
		{"grbm", 6, 4, 11, true, 0},
		{"grbm batches of 5", 6, 4, 11, true, 5},
	}
	for _, tc := range cases {
		snap := verbModel(t, tc.V, tc.H, tc.gaussian, 3)
		x := verbRows(tc.n, tc.V, tc.gaussian, 4)
		keep := append([]float32(nil), x...)
		want := refHidden(snap, x, tc.n)
		for _, b := range verbBackends() {
			e, err := snap.Encoder()
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, tc.n*tc.H)
			calls := 0
			err = e.Encode(context.Background(), b, x, tc.n, tc.batch, func(first, rows int, h []float32) error {
				calls++
				copy(got[first*tc.H:], h[:rows*tc.H])
				return nil
			})
			if err != nil {
				t.Fatalf("%s on %s: %v", tc.name, b.Name(), err)
			}
			if tc.batch > 0 && calls != (tc.n+tc.batch-1)/tc.batch {
				t.Errorf("%s on %s: %d batches, want %d", tc.name, b.Name(), calls, (tc.n+tc.batch-1)/tc.batch)
			}
			whole, err := snap.Transform(context.Background(), b, nil, x, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			for k := range want {
				if math.Abs(float64(got[k])-want[k]) > 2e-6 || math.Abs(float64(whole[k])-want[k]) > 2e-6 {
					t.Fatalf("%s on %s: feature %d = %v (Encode) %v (Transform), want %v", tc.name, b.Name(), k, got[k], whole[k], want[k])
				}
			}
		}
		for i := range x {
			if x[i] != keep[i] {
				t.Fatalf("%s: Transform changed its input", tc.name)
			}
		}
	}
}

func TestTransformRefusals(t *testing.T) {
	bm := &Snapshot{Config: Config{Model: models.KindBM}, Tensors: map[string][]float32{"W": {0}, "bias": {0}}}
	if _, err := bm.Transform(context.Background(), nil, nil, []float32{1}, 1); err == nil {
		t.Error("Transform of a BM: no error")
	}
	snap := verbModel(t, 4, 3, false, 1)
	if _, err := snap.Transform(context.Background(), nil, nil, make([]float32, 7), 2); err == nil {
		t.Error("Transform of 7 values as 2 rows of 4: no error")
	}
}

// refFreeEnergy is F(v) = −bᵀv − Σ_j log(1 + exp(c_j + Σ_i v_i W_ij)) in float64.
func refFreeEnergy(s *Snapshot, v []float64) float64 {
	W, c, b := s.Tensors[graph.NameW], s.Tensors[graph.NameHBias], s.Tensors[graph.NameVBias]
	H := len(c)
	f := 0.0
	for i, vi := range v {
		f -= float64(b[i]) * vi
	}
	for j := 0; j < H; j++ {
		a := float64(c[j])
		for i, vi := range v {
			a += vi * float64(W[i*H+j])
		}
		f -= math.Log1p(math.Exp(a))
	}
	return f
}

func TestSnapshotScoreSamples(t *testing.T) {
	cases := []struct {
		name    string
		V, H, n int
		seed    uint64
		real    bool // rows in [0, 1] instead of binary
	}{
		{"binary", 9, 6, 17, 1, false},
		{"binary other seed", 9, 6, 17, 2, false},
		{"one unit", 1, 3, 4, 1, false},
		{"probabilities", 5, 4, 8, 3, true},
	}
	for _, tc := range cases {
		snap := verbModel(t, tc.V, tc.H, false, 5)
		x := verbRows(tc.n, tc.V, tc.real, 6)
		if tc.real {
			for i := range x {
				x[i] /= 255
			}
		}
		got, err := snap.ScoreSamples(nil, x, tc.n, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		s := kernels.Stream{Seed: tc.seed, Op: models.OpPLLBit}
		for r := 0; r < tc.n; r++ {
			v := make([]float64, tc.V)
			for i := range v {
				v[i] = float64(x[r*tc.V+i])
			}
			i := int((s.Uint64(uint64(r)) >> 11) % uint64(tc.V))
			flipped := append([]float64(nil), v...)
			flipped[i] = 1 - flipped[i]
			d := refFreeEnergy(snap, flipped) - refFreeEnergy(snap, v)
			want := float64(tc.V) * -math.Log1p(math.Exp(-d))
			if math.Abs(got[r]-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: row %d: score %v, want %v", tc.name, r, got[r], want)
			}
		}
	}
	g := verbModel(t, 4, 3, true, 1)
	if _, err := g.ScoreSamples(nil, make([]float32, 4), 1, 1); err == nil {
		t.Error("ScoreSamples of a Gaussian RBM: no error")
	}
}

func TestSnapshotGibbs(t *testing.T) {
	cases := []struct {
		name       string
		V, H, n    int
		seed, step uint64
	}{
		{"step 0", 8, 5, 6, 1, 0},
		{"step 7", 8, 5, 6, 1, 7},
		{"other seed", 3, 11, 4, 9, 2},
	}
	for _, tc := range cases {
		snap := verbModel(t, tc.V, tc.H, false, 7)
		v := verbRows(tc.n, tc.V, false, 8)
		got, err := snap.Gibbs(nil, v, tc.n, tc.seed, tc.step)
		if err != nil {
			t.Fatal(err)
		}
		W, b, c := snap.Tensors[graph.NameW], snap.Tensors[graph.NameVBias], snap.Tensors[graph.NameHBias]
		hs := kernels.Stream{Seed: tc.seed, Op: models.OpGibbsHidden, Step: tc.step}
		vs := kernels.Stream{Seed: tc.seed, Op: models.OpGibbsVisible, Step: tc.step}
		for r := 0; r < tc.n; r++ {
			h := make([]float64, tc.H)
			for j := range h {
				a := float64(c[j])
				for i := 0; i < tc.V; i++ {
					a += float64(v[r*tc.V+i]) * float64(W[i*tc.H+j])
				}
				if hs.Uniform(uint64(r*tc.H+j)) < float32(1/(1+math.Exp(-a))) {
					h[j] = 1
				}
			}
			for i := 0; i < tc.V; i++ {
				a := float64(b[i])
				for j, hj := range h {
					a += hj * float64(W[i*tc.H+j])
				}
				want := float32(0)
				if vs.Uniform(uint64(r*tc.V+i)) < float32(1/(1+math.Exp(-a))) {
					want = 1
				}
				if got[r*tc.V+i] != want {
					t.Fatalf("%s: row %d unit %d = %v, want %v", tc.name, r, i, got[r*tc.V+i], want)
				}
			}
		}
	}
	// A Gaussian RBM returns samples in data units: their mean over many
	// draws from one state is near the data mean of b + W h.
	g := verbModel(t, 3, 2, true, 1)
	x := verbRows(1, 3, true, 2)
	out, err := g.Gibbs(nil, x, 1, 1, 0)
	if err != nil || len(out) != 3 {
		t.Fatalf("Gaussian Gibbs: %v, %d values", err, len(out))
	}
}

func TestSnapshotPartialFit(t *testing.T) {
	train, err := data.Load("bas:3x3", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name string
		cfg  Config
	}{
		{"cd-1", Config{Hidden: 6, Epochs: 3, Batch: 7, LR: 0.1, Seed: 4}},
		{"pcd-2", Config{Hidden: 6, K: 2, Persistent: true, Epochs: 3, Batch: 7, LR: 0.1, Momentum: 0.5, Seed: 5}},
		{"grbm", Config{Model: models.KindGRBM, Hidden: 5, Epochs: 3, Batch: 7, Seed: 6}},
	}
	for _, tc := range cases {
		// One pass after E epochs is epoch E+1 of the same run.
		res, err := (&Trainer{Config: tc.cfg}).Fit(ctx, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := res.Snapshot.Clone()
		next, err := res.Snapshot.PartialFit(ctx, nil, train)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		longer := tc.cfg
		longer.Epochs++
		full, err := (&Trainer{Config: longer}).Fit(ctx, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		if next.Epoch != tc.cfg.Epochs+1 {
			t.Errorf("%s: epoch %d after the pass, want %d", tc.name, next.Epoch, tc.cfg.Epochs+1)
		}
		for name, x := range full.Snapshot.Tensors {
			y := next.Tensors[name]
			for i := range x {
				if x[i] != y[i] {
					t.Fatalf("%s: %s[%d] = %v after PartialFit, %v after one more epoch of Fit", tc.name, name, i, y[i], x[i])
				}
			}
		}
		for name, x := range before.Tensors {
			for i := range x {
				if res.Snapshot.Tensors[name][i] != x[i] {
					t.Fatalf("%s: PartialFit changed its snapshot's %s", tc.name, name)
				}
			}
		}
	}

	// Passes over the data raise the exact log-likelihood of an RBM (16×16
	// on bars-and-stripes 4×4, enumerated over 2^16 states).
	bas, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := (&Trainer{Config: Config{Hidden: 16, Epochs: 1, Batch: 5, LR: 0.3, Momentum: 0.5, Seed: 3}}).Fit(ctx, bas, nil)
	if err != nil {
		t.Fatal(err)
	}
	ll := func(s *Snapshot) float64 {
		v, err := s.RBM().LogLikelihood(bas.X, bas.N)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	snap := first.Snapshot
	start := ll(snap)
	for range 40 {
		if snap, err = snap.PartialFit(ctx, nil, bas); err != nil {
			t.Fatal(err)
		}
	}
	if end := ll(snap); !(end > start+0.5) {
		t.Errorf("log-likelihood %.3f after 40 passes, %.3f before", end, start)
	}

	// PCD with fewer rows than the batch keeps its chains.
	res, err := (&Trainer{Config: Config{Hidden: 4, Persistent: true, Epochs: 1, Batch: 10, Seed: 1}}).Fit(ctx, train, nil)
	if err != nil {
		t.Fatal(err)
	}
	few := &data.Dataset{Name: "few", N: 3, D: 9, X: train.X[:27]}
	after, err := res.Snapshot.PartialFit(ctx, nil, few)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Tensors[graph.NameChains]) != 10*9 || after.Config.Batch != 10 {
		t.Errorf("chains %d values, batch %d after a pass over 3 rows", len(after.Tensors[graph.NameChains]), after.Config.Batch)
	}

	mid := res.Snapshot.Clone()
	mid.Batch = 1
	if _, err := mid.PartialFit(ctx, nil, train); err == nil {
		t.Error("PartialFit of a snapshot stopped mid-epoch: no error")
	}
	if _, err := res.Snapshot.PartialFit(ctx, nil, nil); err == nil {
		t.Error("PartialFit without rows: no error")
	}
}
