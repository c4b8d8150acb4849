package engine

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

// testBM returns a BM of connectivity l with connected weights and biases
// uniform in [-scale, scale], drawn from seed.
func testBM(v, h int, l models.Lateral, scale float32, seed uint64) *models.BM {
	m, _ := models.NewBM(v, h, l, seed)
	n := m.N()
	s := kernels.Stream{Seed: seed, Op: 0xB0B}
	for i := 0; i < n; i++ {
		m.Bias[i] = scale * (2*s.Uniform(uint64(n*n+i)) - 1)
		for j := i + 1; j < n; j++ {
			if m.Mask[i*n+j] != 0 {
				w := scale * (2*s.Uniform(uint64(i*n+j)) - 1)
				m.W[i*n+j], m.W[j*n+i] = w, w
			}
		}
	}
	return m
}

// bmBinary returns n Bernoulli(½) values of stream (seed, op).
func bmBinary(n int, seed uint64, op uint32) []float32 {
	x := make([]float32, n)
	s := kernels.Stream{Seed: seed, Op: op}
	for i := range x {
		x[i] = kernels.Bernoulli(s.Uniform(uint64(i)), 0.5)
	}
	return x
}

// runBM runs steps BM steps of cfg on backend b from m and the given chains
// and returns the model, the state and the reconstruction error.
func runBM(t *testing.T, b Backend, cfg graph.BMConfig, m *models.BM, chains []float32, batches [][]float32, u graph.Hyper) (*models.BM, trainState, float64) {
	t.Helper()
	p, err := compileBMStep(b, cfg, 77)
	if err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	defer p.Close()
	n := m.N()
	if err := p.SetBM(m); err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(trainState{VelW: make([]float32, n*n), VelVBias: make([]float32, n), Chains: chains, RNGStep: 5}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range batches {
		if err := p.Step(batch, u); err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
	}
	out := m.Clone()
	if err := p.BMModel(out); err != nil {
		t.Fatal(err)
	}
	st, err := p.State()
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.ReconError()
	if err != nil {
		t.Fatal(err)
	}
	return out, st, r
}

// Training steps of a general BM — the Gibbs sweep op run by bm_gibbs_f32
// on the emulator (the .cu source) and on the host driver (Go kernels) —
// match the tape machine running the gorgonia graph: the chains bit for bit
// (same Philox draws, same summation trees), parameters and momentum to
// float32 rounding, over three steps with momentum and weight decay, for
// sampling and mean-field clamped phases and a ragged N = 141 (> the block
// of 128, not a multiple of it).
func TestBMDeviceMatchesCPU(t *testing.T) {
	drv := emu.NewDriver()
	defer drv.Close()
	checkBMMatchesCPU(t, Host(), &DeviceBackend{Driver: drv, Label: "emu"})
}

// On a machine with an NVIDIA GPU (the GPU kit runs the engine's CUDA
// tests), bm_gibbs_f32 and bm_mask_f32 on the real device pass the same
// comparison.
func TestBMCUDAMatchesCPU(t *testing.T) {
	checkBMMatchesCPU(t, RequireCUDA(t, 0))
}

func checkBMMatchesCPU(t *testing.T, backends ...Backend) {
	cases := []struct {
		V, H, B, C int
		lateral    models.Lateral
		meanField  bool
	}{
		{6, 4, 5, 7, models.LateralBoth, false},
		{6, 4, 5, 3, models.LateralVisible, true},
		{130, 11, 2, 2, models.LateralHidden, false},
	}
	for _, c := range cases {
		cfg := graph.BMConfig{Visible: c.V, Hidden: c.H, Batch: c.B, Chains: c.C, Sweeps: 2, ModelSweeps: 2, MeanField: c.meanField}
		m := testBM(c.V, c.H, c.lateral, 0.5, 3)
		n := m.N()
		chains := bmBinary(c.C*n, 4, 1)
		var batches [][]float32
		for i := 0; i < 3; i++ {
			batches = append(batches, bmBinary(c.B*c.V, 5, uint32(10+i)))
		}
		u := graph.Hyper{LR: 0.1, Momentum: 0.5, WeightDecay: 0.01}
		wantM, wantS, wantR := runBM(t, CPU{}, cfg, m, chains, batches, u)
		for _, b := range backends {
			gotM, gotS, gotR := runBM(t, b, cfg, m, chains, batches, u)
			for i := range wantS.Chains {
				if gotS.Chains[i] != wantS.Chains[i] {
					t.Fatalf("%+v %s: chain value %d = %v, tape %v", c, b.Name(), i, gotS.Chains[i], wantS.Chains[i])
				}
			}
			worst := 0.0
			cmp := func(name string, got, want []float32) {
				for i := range want {
					d := math.Abs(float64(got[i]-want[i])) / (1e-3 + math.Abs(float64(want[i])))
					worst = math.Max(worst, d)
					if d > 1e-5 {
						t.Fatalf("%+v %s: %s[%d] = %v, tape %v", c, b.Name(), name, i, got[i], want[i])
					}
				}
			}
			cmp("W", gotM.W, wantM.W)
			cmp("bias", gotM.Bias, wantM.Bias)
			cmp("velocity W", gotS.VelW, wantS.VelW)
			cmp("velocity bias", gotS.VelVBias, wantS.VelVBias)
			cmp("recon", []float32{float32(gotR)}, []float32{float32(wantR)})
			if err := gotM.Validate(); err != nil {
				t.Errorf("%s: %v", b.Name(), err)
			}
			t.Logf("%d+%d %v meanField=%v on %s: chains identical, worst relative difference %.2g", c.V, c.H, c.lateral, c.meanField, b.Name(), worst)
		}
	}
}

// A warm BM step on the host backend allocates nothing.
func TestBMHostStepAllocs(t *testing.T) {
	cfg := graph.BMConfig{Visible: 20, Hidden: 10, Batch: 8, Chains: 8, Sweeps: 2}
	p, err := compileBMStep(Host(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := testBM(20, 10, models.LateralBoth, 0.3, 2)
	if err := p.SetBM(m); err != nil {
		t.Fatal(err)
	}
	batch := bmBinary(8*20, 1, 2)
	u := graph.Hyper{LR: 0.01, Momentum: 0.5}
	if err := p.Step(batch, u); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() {
		if err := p.Step(batch, u); err != nil {
			t.Fatal(err)
		}
	}); a > 0 {
		t.Errorf("%v allocations per step, want 0", a)
	}
}

// The Trainer drives a BM on every backend: three epochs of Fit on the
// emulated CUDA backend and on the host backend end with the tape
// backend's chains and, to float32 rounding, its parameters and metrics.
func TestBMFitOnEveryBackend(t *testing.T) {
	train, err := data.Load("bas:2x2", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	drv := emu.NewDriver()
	defer drv.Close()
	cfg := Config{Hidden: 2, K: 2, Chains: 4, Epochs: 3, Batch: 3, LR: 0.1, Momentum: 0.5, WeightDecay: 0.001, Seed: 3,
		Model: "bm", Options: &BMOptions{Lateral: models.LateralBoth, Sweeps: 2}}
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
			t.Errorf("%s: chains differ from the tape backend's", b.Name())
		}
		for i := range want.Snapshot.BM().W {
			if math.Abs(float64(got.Snapshot.BM().W[i]-want.Snapshot.BM().W[i])) > 1e-5 {
				t.Fatalf("%s: W[%d] = %v, tape %v", b.Name(), i, got.Snapshot.BM().W[i], want.Snapshot.BM().W[i])
			}
		}
		gl, wl := got.Metrics[2].LogLikelihood, want.Metrics[2].LogLikelihood
		if math.Abs(gl-wl) > 1e-4 {
			t.Errorf("%s: log-likelihood %v, tape %v", b.Name(), gl, wl)
		}
		t.Logf("%s: log-likelihood after 3 epochs %.5f (tape %.5f)", b.Name(), gl, wl)
	}
}
