package engine

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// ptConfig is a small PT run on bars and stripes 4×4.
func ptConfig() Config {
	return Config{Hidden: 8, K: 2, Persistent: true, Chains: 6, PT: 4, Batch: 8, Epochs: 4, LR: 0.05,
		Momentum: 0.5, Seed: 11}
}

func basData(t *testing.T) *data.Dataset {
	t.Helper()
	d, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runSteps compiles the PT step of cfg on b, loads tensors, runs n steps on
// the first n mini-batches of train and returns every tensor after them.
func runSteps(t *testing.T, b Backend, cfg Config, tensors map[string][]float32, train *data.Dataset, n int) map[string][]float32 {
	t.Helper()
	k, _ := cfg.Kind()
	s, err := k.Step(cfg, train.D)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Compile(s)
	if err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	defer p.Close()
	for _, x := range p.Tensors() {
		if err := p.Set(x.Name, tensors[x.Name]); err != nil {
			t.Fatal(err)
		}
	}
	_, h := cfg.hyper(0)
	rows := make([]float32, cfg.Batch*train.D)
	idx := make([]int, cfg.Batch)
	for step := 0; step < n; step++ {
		for i := range idx {
			idx[i] = (step*cfg.Batch + i) % train.N
		}
		train.Gather(rows, idx)
		if err := p.Step(rows, 1, h); err != nil {
			t.Fatalf("%s step %d: %v", b.Name(), step, err)
		}
	}
	out := map[string][]float32{}
	for _, x := range p.Tensors() {
		dst := make([]float32, x.Len)
		if ok, err := p.Get(x.Name, dst); err != nil {
			t.Fatal(err)
		} else if ok {
			out[x.Name] = dst
		}
	}
	return out
}

// The PT step lowered to kernels — run by the host kernels and by the
// emulator of the .cu sources — computes what the tape reference computes
// from the gorgonia graph: over 12 steps the stacked chains (R = 4 replicas
// of 6 chains, swapped every step) and the swap counts are identical, and
// the parameters and velocities agree to float32 rounding; the host and the
// emulator agree with each other bit for bit except for the GEMM
// sigmoids' expf. Swaps happen (the counts move).
func TestPTStepMatchesTape(t *testing.T) {
	train := basData(t)
	cfg := ptConfig().Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	k, _ := cfg.Kind()
	init, err := k.Init(cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(init[graph.NameChains]); n != cfg.PT*cfg.Chains*train.D {
		t.Fatalf("%d chain values, want %d", n, cfg.PT*cfg.Chains*train.D)
	}
	const steps = 12
	ref := runSteps(t, CPU{}, cfg, init, train, steps)
	drv := emu.NewDriver()
	defer drv.Close()
	for _, b := range []Backend{Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		got := runSteps(t, b, cfg, init, train, steps)
		for name, want := range ref {
			g := got[name]
			if len(g) != len(want) {
				t.Fatalf("%s: %s has %d values, tape %d", b.Name(), name, len(g), len(want))
			}
			exact := name == graph.NameChains || name == graph.NamePTSwaps || name == graph.NamePTBetas
			for i := range want {
				d := math.Abs(float64(g[i] - want[i]))
				if (exact && d != 0) || d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s: %s[%d] = %v, tape %v", b.Name(), name, i, g[i], want[i])
				}
			}
		}
	}
	sw := ref[graph.NamePTSwaps]
	acc, tried := 0.0, 0.0
	for q := 0; q < cfg.PT-1; q++ {
		acc += float64(sw[q])
		tried += float64(sw[cfg.PT-1+q])
	}
	if want := float64(steps/2*cfg.Chains) * float64(cfg.PT-1); tried != want || acc == 0 {
		t.Fatalf("swap counts %v: %v accepted of %v attempted, want %v attempts and some accepted", sw, acc, tried, want)
	}
	t.Logf("tape: %v of %v swaps accepted", acc, tried)
}

// A PT run resumed from a checkpoint written after epoch 2, or from a
// cancellation inside epoch 2, ends bit-identical to the uninterrupted run
// (chains, ladder, counts, parameters, RNG counter); every epoch reports
// the acceptance of each pair, and the ladder moves with it.
func TestPTResumeBitIdentical(t *testing.T) {
	train := basData(t)
	for _, b := range []Backend{CPU{}, Host()} {
		cfg := ptConfig()
		full, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range full.Metrics {
			if len(m.PTAcceptance) != cfg.PT-1 || len(m.PTBetas) != cfg.PT || m.PTBetas[0] != 1 {
				t.Fatalf("epoch %d metrics: %+v", m.Epoch, m)
			}
			for q, a := range m.PTAcceptance {
				if !(a >= 0 && a <= 1) {
					t.Fatalf("epoch %d pair %d acceptance %v", m.Epoch, q, a)
				}
				if !(m.PTBetas[q+1] < m.PTBetas[q]) {
					t.Fatalf("epoch %d ladder %v not decreasing", m.Epoch, m.PTBetas)
				}
			}
		}
		if reflect.DeepEqual(full.Metrics[0].PTBetas, full.Metrics[len(full.Metrics)-1].PTBetas) {
			t.Errorf("%s: the ladder never adapted: %v", b.Name(), full.Metrics[0].PTBetas)
		}
		path := filepath.Join(t.TempDir(), "pt.safetensors")
		stop := func(m EpochMetrics, s *Snapshot) error {
			if m.Epoch == 2 {
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
		if snap.Config.PT != cfg.PT || len(snap.Tensors[graph.NamePTBetas]) != cfg.PT {
			t.Fatalf("loaded snapshot: PT %d, ladder %v", snap.Config.PT, snap.Tensors[graph.NamePTBetas])
		}
		same := func(what string, got *Result) {
			t.Helper()
			if !reflect.DeepEqual(got.Snapshot.Tensors, full.Snapshot.Tensors) || got.Snapshot.RNGStep != full.Snapshot.RNGStep {
				t.Errorf("%s: %s resume differs from the uninterrupted run", b.Name(), what)
			}
		}
		resumed, err := (&Trainer{Config: snap.Config, Backend: b, Resume: snap}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		same("checkpoint", resumed)

		ctx, cancel := context.WithCancel(context.Background())
		tr := &Trainer{Config: cfg, Backend: b, OnBatch: func(epoch, done, _ int) {
			if epoch == 2 && done == 2*cfg.Batch {
				cancel()
			}
		}}
		part, err := tr.Fit(ctx, train, nil)
		cancel()
		if err == nil {
			t.Fatal("cancelled run did not stop")
		}
		resumed, err = (&Trainer{Config: cfg, Backend: b, Resume: part.Snapshot}).Fit(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		same("cancel", resumed)
	}
}

// Settings no ladder can run are configuration errors.
func TestPTConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{PT: 1, Persistent: true},
		{PT: 3},                                // CD
		{PT: 3, Persistent: true, PTTarget: 1}, // acceptance 1 needs β equal
		{PT: 3, Persistent: true, PTTarget: -0.2},
		{PT: 3, Persistent: true, PTBetaMin: 1},
		{PT: 3, Persistent: true, PTBetaMin: 1e-9},
		{PT: 3, Persistent: true, Model: "bm"},
		{PT: 3, Persistent: true, Model: "grbm"},
		{PT: MaxPTReplicas + 1, Persistent: true},
		{PTTarget: 0.3},
	} {
		if err := c.Defaults().Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// The ladder adapts the right way: a pair above the target spreads, one
// below it closes up, β₀ stays 1, and a ladder pushed past the floor is
// scaled back and reported.
func TestAdaptLadder(t *testing.T) {
	b := GeometricLadder(4, 0.1)
	if b[0] != 1 || math.Abs(float64(b[3])-0.1) > 1e-7 || !(b[1] < 1 && b[2] < b[1] && b[3] < b[2]) {
		t.Fatalf("geometric ladder %v", b)
	}
	out, bound := AdaptLadder(b, []float64{0.9, 0.3, 0.0}, 0.3, PTBetaFloor)
	gap := func(x []float32, q int) float64 { return math.Log(float64(x[q]) / float64(x[q+1])) }
	if out[0] != 1 || bound || !(gap(out, 0) > gap(b, 0)) || math.Abs(gap(out, 1)-gap(b, 1)) > 1e-6 || !(gap(out, 2) < gap(b, 2)) {
		t.Fatalf("adapted %v from %v", out, b)
	}
	out, bound = AdaptLadder(GeometricLadder(3, 0.002), []float64{1, 1}, 0.3, PTBetaFloor)
	if !bound || math.Abs(float64(out[2])-PTBetaFloor) > 1e-6 {
		t.Fatalf("ladder past the floor: %v, bound %v", out, bound)
	}
	acc := PTAcceptance([]float32{3, 0, 6, 0})
	if acc[0] != 0.5 || !math.IsNaN(acc[1]) {
		t.Fatalf("acceptance %v", acc)
	}
}
