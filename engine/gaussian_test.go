package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

func normalSlice(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	return x
}

// gaussianSnapshot reads every tensor of a Gaussian program.
func gaussianTensors(t *testing.T, p GaussianProgram, V, H int) map[string][]float32 {
	t.Helper()
	m, _ := models.NewRBM(V, H, 0)
	if err := p.Model(m); err != nil {
		t.Fatal(err)
	}
	st, err := p.State()
	if err != nil {
		t.Fatal(err)
	}
	z, vz := make([]float32, V), make([]float32, V)
	if err := p.LogVar(z, vz); err != nil {
		t.Fatal(err)
	}
	r, err := p.ReconError()
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]float32{"W": m.W, "vbias": m.VBias, "hbias": m.HBias, "logvar": z,
		"velocity.W": st.VelW, "velocity.vbias": st.VelVBias, "velocity.hbias": st.VelHBias,
		"velocity.logvar": vz, "chains": st.Chains, "hidden_mean": st.HiddenMean, "recon": {float32(r)}}
}

// One training step of the Gaussian RBM graph, and a few more with
// momentum, weight decay, sparsity and learned variances, on the emulated
// CUDA backend (the grbm.cu kernels) and on the Host backend equal the
// tape CPU backend to float32 rounding with the same draws: every
// parameter, momentum buffer, the chains and the reconstruction error
// within 1e-4 relative. Hidden samples could differ where a probability
// lies within 1e-6 of its uniform; such steps are counted and not compared
// (none occur with these seeds).
func TestGaussianBackendsMatchCPU(t *testing.T) {
	drv := emu.NewDriver()
	defer drv.Close()
	backends := []Backend{&DeviceBackend{Driver: drv, Label: "emu"}, Host()}
	cases := []graph.StepConfig{
		{Visible: 7, Hidden: 5, Batch: 3, K: 1},
		{Visible: 33, Hidden: 17, Batch: 20, K: 1},
		{Visible: 16, Hidden: 40, Batch: 10, K: 3},
		{Visible: 20, Hidden: 9, Batch: 6, K: 2, Persistent: true, Chains: 11},
	}
	rng := rand.New(rand.NewPCG(13, 14))
	opt := GaussianOptions{LearnVariance: true, MinLogVar: float32(2 * math.Log(0.1))}
	worst := map[string]float64{}
	for _, cfg := range cases {
		V, H := cfg.Visible, cfg.Hidden
		m, _ := models.NewRBM(V, H, 5)
		m.W, m.VBias, m.HBias = normalSlice(rng, V*H, 0.2), normalSlice(rng, V, 0.3), normalSlice(rng, H, 0.3)
		z := normalSlice(rng, V, 0.3)
		st := TrainState{VelW: make([]float32, V*H), VelVBias: make([]float32, V), VelHBias: make([]float32, H), RNGStep: 17}
		if cfg.Persistent {
			st.Chains = normalSlice(rng, cfg.Chains*V, 1)
		}
		compile := func(b Backend) GaussianProgram {
			p, err := b.(GaussianCompiler).CompileGaussian(cfg, 1234, opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetModel(m); err != nil {
				t.Fatal(err)
			}
			if err := p.SetState(st); err != nil {
				t.Fatal(err)
			}
			if err := p.SetLogVar(z, make([]float32, V)); err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, b := range backends {
			ref := compile(CPU{})
			defer ref.Close()
			p := compile(b)
			defer p.Close()
			u := Update{LR: 0.01, Momentum: 0.5, WeightDecay: 0.01, SparsityTarget: 0.1, SparsityCost: 0.05}
			for s := 0; s < 3; s++ {
				batch := normalSlice(rng, cfg.Batch*V, 1)
				for _, q := range []GaussianProgram{ref, p} {
					if err := q.Step(batch, u); err != nil {
						t.Fatal(err)
					}
				}
				if n := nearThreshold(t, p.(*devGaussian).devProgram, st.RNGStep+uint64(s), 1e-6); n > 0 {
					t.Logf("%s %+v step %d: %d hidden samples within 1e-6 of their uniform; not compared", b.Name(), cfg, s, n)
					break
				}
				want, got := gaussianTensors(t, ref, V, H), gaussianTensors(t, p, V, H)
				for name, w := range want {
					g := got[name]
					if len(g) != len(w) {
						t.Fatalf("%s %+v step %d %s: %d values, cpu %d", b.Name(), cfg, s, name, len(g), len(w))
					}
					for i := range w {
						d := math.Abs(float64(g[i] - w[i]))
						worst[b.Name()] = math.Max(worst[b.Name()], d/math.Max(1, math.Abs(float64(w[i]))))
						if !(d <= 1e-4*math.Max(1, math.Abs(float64(w[i])))) {
							t.Fatalf("%s %+v step %d %s[%d] = %v, cpu %v", b.Name(), cfg, s, name, i, g[i], w[i])
						}
					}
				}
			}
		}
	}
	for name, w := range worst {
		t.Logf("%s vs cpu-tape: largest difference %.2g (relative, or absolute below 1)", name, w)
	}
}

// gaussianData draws n rows from a known Gaussian RBM by long Gibbs chains,
// shifted and scaled per feature (so that standardisation has work to do).
func gaussianData(truth *models.GRBM, n int, seed uint64) *data.Dataset {
	x := make([]float32, n*truth.V)
	s := rand.New(rand.NewPCG(seed, seed+1))
	for i := range x {
		x[i] = float32(s.NormFloat64())
	}
	truth.Gibbs(x, n, 200, seed, 0, false)
	return &data.Dataset{Name: "grbm-truth", N: n, D: truth.V, X: x}
}

func knownGRBM() *models.GRBM {
	m, _ := models.NewGRBM(6, 4, 1)
	rng := rand.New(rand.NewPCG(21, 22))
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * 0.8)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.NormFloat64())
		m.LogVar[i] = float32(rng.NormFloat64()*0.3 - 0.5)
	}
	for j := range m.HBias {
		m.HBias[j] = float32(rng.NormFloat64() * 0.5)
	}
	return m
}

// Trained on data drawn from a known 6×4 Gaussian RBM, a 6×4 Gaussian RBM
// with learned variances comes close to the truth: its exact
// log-likelihood of the data (data units) climbs from the untrained
// model's to within 0.15 nats per sample of the true model's, and the
// variances it learns approach the true ones.
func TestGaussianTrainingRecoversKnownModel(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 2000, 5)
	trueLL, err := truth.LogLikelihood(d.X, d.N)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Visible: VisibleGaussian, LearnVariance: true, Hidden: 4, K: 5, Persistent: true, Chains: 100,
		Epochs: 40, Batch: 20, LR: 0.01, Momentum: 0.5, Seed: 3, EvalEvery: 10}
	res, err := (&Trainer{Config: cfg}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Metrics[9].LogLikelihood, res.Metrics[len(res.Metrics)-1].LogLikelihood
	untrained := &models.GRBM{V: 6, H: 4, W: make([]float32, 24), VBias: make([]float32, 6), HBias: make([]float32, 4), LogVar: make([]float32, 6)}
	g := res.GRBM()
	untrained.DataMean, untrained.DataStd = g.DataMean, g.DataStd
	var m0 EpochMetrics
	if err := evaluateGaussian(&m0, untrained, d, nil, cfg.Defaults()); err != nil {
		t.Fatal(err)
	}
	t.Logf("log-likelihood per sample: untrained %.4f, epoch 10 %.4f, epoch %d %.4f, true model %.4f",
		m0.LogLikelihood, first, cfg.Epochs, last, trueLL)
	if !(last > m0.LogLikelihood+0.3) || math.Abs(last-trueLL) > 0.15 {
		t.Errorf("trained log-likelihood %.4f (untrained %.4f, truth %.4f)", last, m0.LogLikelihood, trueLL)
	}
}

// A learning rate far too large for a Gaussian RBM stops the run within the
// first mini-batches with one line that names it and suggests a value.
func TestGaussianLRGuard(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 400, 7)
	for _, b := range []Backend{CPU{}, Host()} {
		cfg := Config{Visible: VisibleGaussian, Hidden: 16, Epochs: 2, Batch: 10, LR: 5, Momentum: 0.5, Seed: 1}
		n := 0
		_, err := (&Trainer{Config: cfg, Backend: b, OnBatch: func(int, int, int) { n++ }}).Fit(context.Background(), d, nil)
		if err == nil || !strings.Contains(err.Error(), "learning rate 5 is too large for a Gaussian RBM") ||
			!strings.Contains(err.Error(), "try a learning rate of 0.005") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s: error %v", b.Name(), err)
		}
		t.Logf("%s after %d mini-batches: %v", b.Name(), n, err)
		if n > 32 {
			t.Errorf("%s: caught after %d mini-batches, want ≤ 32", b.Name(), n)
		}
	}
}

// An interrupted Gaussian run (PCD, learned variances, momentum) saved to
// a grbm checkpoint and resumed on the emulated device ends bit-identical
// to the uninterrupted one: W, log variances and their momentum.
func TestGaussianResumeBitIdentical(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 200, 9)
	drv := emu.NewDriver()
	defer drv.Close()
	for _, b := range []Backend{Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		cfg := Config{Visible: VisibleGaussian, LearnVariance: true, Hidden: 5, K: 2, Persistent: true, Chains: 12,
			Epochs: 3, Batch: 10, Momentum: 0.5, Seed: 4}
		full, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		part, err := (&Trainer{Config: cfg, Backend: b, OnBatch: func(int, int, int) {
			if n++; n == 27 {
				cancel()
			}
		}}).Fit(ctx, d, nil)
		if err == nil {
			t.Fatal("interrupted run finished")
		}
		ck := filepath.Join(t.TempDir(), "ck")
		if err := SaveSnapshot(ck, part.Snapshot, d.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		if k, _ := models.CheckpointKind(ck); k != models.KindGRBM {
			t.Fatalf("checkpoint kind %q", k)
		}
		snap, _, err := LoadSnapshot(ck)
		if err != nil {
			t.Fatal(err)
		}
		if !snap.Config.IsGaussian() || !snap.Config.LearnVariance || snap.Gaussian == nil {
			t.Fatalf("loaded config %+v", snap.Config)
		}
		res, err := (&Trainer{Config: snap.Config, Backend: b, Resume: snap}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		g1, g2 := full.GRBM(), res.GRBM()
		for _, pair := range [][2][]float32{{g1.W, g2.W}, {g1.LogVar, g2.LogVar}, {g1.HBias, g2.HBias},
			{full.Snapshot.Gaussian.VelLogVar, res.Snapshot.Gaussian.VelLogVar}, {full.Snapshot.State.Chains, res.Snapshot.State.Chains}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("%s: resumed differs at %d: %v vs %v", b.Name(), i, pair[1][i], pair[0][i])
				}
			}
		}
		moved := false
		for _, z := range g1.LogVar {
			moved = moved || z != 0
		}
		if !moved {
			t.Errorf("%s: log variances never moved", b.Name())
		}
	}
}
