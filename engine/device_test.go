package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/exec/device"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

// nearThreshold counts the sampled elements of the device program's last
// step whose probability lies within eps of its uniform: only there may two
// correct backends, whose probabilities differ by float32 rounding, draw
// different samples.
func nearThreshold(t *testing.T, p *testProgram, seed, step uint64, eps float64) int {
	t.Helper()
	plan, read, ok := device.Inspect(p.Program)
	if !ok {
		t.Fatal("not a device program")
	}
	n := 0
	for _, l := range plan.Launches {
		a, ok := kernels.GemmArgsOf(l.Args)
		if !ok || a.Flags&kernels.GemmSample == 0 {
			continue
		}
		P, _ := l.Buffer(&a.P)
		probs := make([]float32, P.Len())
		if err := read(probs, P); err != nil {
			t.Fatal(err)
		}
		s := kernels.Stream{Seed: seed, Op: a.Op, Step: step}
		for e, pr := range probs {
			if math.Abs(float64(s.Uniform(uint64(e)))-float64(pr)) < eps {
				n++
			}
		}
	}
	return n
}

// The CUDA backend's plan, run by the emulator of the very .cu sources,
// computes the same CD-k / PCD-k steps as the CPU backend running the
// gorgonia graph: parameters, momentum, chains and reconstruction error
// agree to float32 rounding (1e-5 relative over several steps with
// momentum, weight decay and sparsity), and the samples are identical
// unless a probability lies within 1e-6 of its uniform — such elements are
// counted, and the comparison is skipped for a step where any occur (with
// ~10⁴ draws per step their expected number is ~10⁻²).
func TestEmulatedDeviceMatchesCPU(t *testing.T) {
	drv := emu.NewDriver()
	defer drv.Close()
	checkDeviceMatchesCPU(t, &DeviceBackend{Driver: drv, Label: "emu"})
}

// On a machine with an NVIDIA GPU (the GPU kit runs this), the real CUDA
// backend passes the same comparison (its AIS: engine/ais).
func TestCUDAMatchesCPU(t *testing.T) {
	checkDeviceMatchesCPU(t, RequireCUDA(t, 0).(*DeviceBackend))
}

func checkDeviceMatchesCPU(t *testing.T, dev *DeviceBackend) {
	cases := []graph.StepConfig{
		{Visible: 7, Hidden: 5, Batch: 3, K: 1},
		{Visible: 33, Hidden: 17, Batch: 20, K: 1},
		{Visible: 16, Hidden: 40, Batch: 10, K: 3},
		{Visible: 20, Hidden: 9, Batch: 6, K: 2, Persistent: true, Chains: 11},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	near := 0
	for _, cfg := range cases {
		V, H := cfg.Visible, cfg.Hidden
		m, _ := models.NewRBM(V, H, 5)
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64() * 0.3)
		}
		for i := range m.VBias {
			m.VBias[i] = float32(rng.NormFloat64() * 0.3)
		}
		st := trainState{VelW: make([]float32, V*H), VelVBias: make([]float32, V), VelHBias: make([]float32, H), RNGStep: 17}
		if cfg.Persistent {
			st.Chains = binary(rng, cfg.Chains*V)
		}
		progs := []*testProgram{}
		for _, b := range []Backend{CPU{}, dev} {
			p, err := compileRBMStep(b, cfg, 1234)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.SetModel(m); err != nil {
				t.Fatal(err)
			}
			if err := p.SetState(st); err != nil {
				t.Fatal(err)
			}
			progs = append(progs, p)
		}
		u := graph.Hyper{LR: 0.1, Momentum: 0.5, WeightDecay: 0.01, SparsityTarget: 0.1, SparsityCost: 0.05}
		for s := 0; s < 4; s++ {
			batch := binary(rng, cfg.Batch*V)
			for _, p := range progs {
				if err := p.Step(batch, u); err != nil {
					t.Fatal(err)
				}
			}
			if n := nearThreshold(t, progs[1], 1234, st.RNGStep+uint64(s), 1e-6); n > 0 {
				near += n
				t.Logf("%+v step %d: %d samples within 1e-6 of their uniform; not compared", cfg, s, n)
				break
			}
			compareStates(t, cfg, s, progs[0], progs[1])
		}
	}
	t.Logf("near-threshold samples over all cases: %d", near)
}

func binary(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.IntN(2))
	}
	return x
}

func compareStates(t *testing.T, cfg graph.StepConfig, step int, a, b *testProgram) {
	t.Helper()
	ma, _ := models.NewRBM(cfg.Visible, cfg.Hidden, 0)
	mb := ma.Clone()
	if err := a.Model(ma); err != nil {
		t.Fatal(err)
	}
	if err := b.Model(mb); err != nil {
		t.Fatal(err)
	}
	sa, _ := a.State()
	sb, _ := b.State()
	ra, _ := a.ReconError()
	rb, _ := b.ReconError()
	check := func(name string, x, y []float32, exact bool) {
		if len(x) != len(y) {
			t.Fatalf("%+v step %d %s: lengths %d, %d", cfg, step, name, len(x), len(y))
		}
		for i := range x {
			d := math.Abs(float64(x[i]) - float64(y[i]))
			if (exact && d != 0) || d > 1e-5*math.Max(1, math.Abs(float64(x[i]))) {
				t.Fatalf("%+v step %d %s[%d]: cpu %v, device %v", cfg, step, name, i, x[i], y[i])
			}
		}
	}
	check("W", ma.W, mb.W, false)
	check("vbias", ma.VBias, mb.VBias, false)
	check("hbias", ma.HBias, mb.HBias, false)
	check("velocity W", sa.VelW, sb.VelW, false)
	check("hidden mean", sa.HiddenMean, sb.HiddenMean, false)
	check("chains", sa.Chains, sb.Chains, true)
	check("recon", []float32{float32(ra)}, []float32{float32(rb)}, false)
	if sa.RNGStep != sb.RNGStep {
		t.Fatalf("rng steps %d, %d", sa.RNGStep, sb.RNGStep)
	}
}

// Training through the emulated CUDA backend end to end: the trainer, the
// lowered plan and the .cu kernels follow the CPU backend's trajectory
// (same draws; only float32 rounding differs, so the exact log-likelihoods
// agree closely), and an interrupted run resumes to the same bits.
func TestTrainerOnEmulatedDevice(t *testing.T) {
	d := bas(t, 3, 3)
	drv := emu.NewDriver()
	defer drv.Close()
	dev := &DeviceBackend{Driver: drv, Label: "emu"}
	cfg := Config{Hidden: 16, K: 1, Persistent: true, Chains: 14, Epochs: 20, Batch: 7, LR: 0.1, Momentum: 0.5, Seed: 8, EvalEvery: 20}
	var lls []float64
	for _, b := range []Backend{CPU{}, dev} {
		res, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		lls = append(lls, res.Metrics[len(res.Metrics)-1].LogLikelihood)
	}
	t.Logf("bars-and-stripes 3x3 after %d epochs of %s: exact LL cpu %.5f, emulated cuda %.5f",
		cfg.Epochs, cfg.Algorithm(), lls[0], lls[1])
	if math.Abs(lls[0]-lls[1]) > 1e-3 {
		t.Errorf("log-likelihoods cpu %.5f, device %.5f: want them within 1e-3", lls[0], lls[1])
	}

	// Interrupt after 5 batches, save, load and resume on the device.
	cfg.Epochs = 4
	dir := t.TempDir()
	full, err := (&Trainer{Config: cfg, Backend: dev}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	part, err := (&Trainer{Config: cfg, Backend: dev, OnBatch: func(int, int, int) {
		if n++; n == 5 {
			cancel()
		}
	}}).Fit(ctx, d, nil)
	if err == nil {
		t.Fatal("interrupted run finished")
	}
	ck := filepath.Join(dir, "ck")
	if err := SaveSnapshot(ck, part.Snapshot, ""); err != nil {
		t.Fatal(err)
	}
	snap, _, err := LoadSnapshot(ck)
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&Trainer{Config: snap.Config, Backend: dev, Resume: snap}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Snapshot.RBM().W {
		if full.Snapshot.RBM().W[i] != res.Snapshot.RBM().W[i] {
			t.Fatalf("resumed W[%d] = %v, uninterrupted %v", i, res.Snapshot.RBM().W[i], full.Snapshot.RBM().W[i])
		}
	}
}

// StepBatches — how the Trainer drives a device or Host program, several
// mini-batches per upload — allocates nothing after warm-up: pointing the
// launches at each mini-batch of the chunk writes the plan's bound v0
// fields, and the RNG step is written through the launches' step fields.
func TestHostStepBatchesAllocs(t *testing.T) {
	cfg := graph.StepConfig{Visible: 30, Hidden: 12, Batch: 10, K: 1}
	p, err := compileRBMStep(Host(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m, _ := models.NewRBM(30, 12, 1)
	if err := p.SetModel(m); err != nil {
		t.Fatal(err)
	}
	st := p
	const n = 3
	batches := make([]float32, n*10*30)
	for i := range batches {
		batches[i] = float32(i % 2)
	}
	for _, u := range []graph.Hyper{{LR: 0.01, Momentum: 0.5}, {LR: 0.01, Momentum: 0.5, SparsityTarget: 0.1, SparsityCost: 0.01}} {
		if err := st.StepBatches(batches, n, u); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := st.StepBatches(batches, n, u); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%+v: %v allocations per StepBatches of %d mini-batches", u, allocs, n)
		if allocs > 0 {
			t.Errorf("%+v: %v allocations per StepBatches of %d mini-batches, want 0", u, allocs, n)
		}
	}
}
