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
func gaussianTensors(t *testing.T, p *testProgram, V, H int) map[string][]float32 {
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
	checkGaussianMatchesCPU(t, &DeviceBackend{Driver: drv, Label: "emu"}, Host())
}

// On a machine with an NVIDIA GPU, the CUDA backend passes the same
// comparison with the real grbm.cu kernels.
func TestCUDAGaussianMatchesCPU(t *testing.T) {
	checkGaussianMatchesCPU(t, RequireCUDA(t, 0))
}

func checkGaussianMatchesCPU(t *testing.T, backends ...Backend) {
	cases := []graph.StepConfig{
		{Visible: 7, Hidden: 5, Batch: 3, K: 1},
		{Visible: 33, Hidden: 17, Batch: 20, K: 1},
		{Visible: 16, Hidden: 40, Batch: 10, K: 3},
		{Visible: 20, Hidden: 9, Batch: 6, K: 2, Persistent: true, Chains: 11},
	}
	rng := rand.New(rand.NewPCG(13, 14))
	opt := gaussianTestOptions{LearnVariance: true, MinLogVar: float32(2 * math.Log(0.1))}
	worst := map[string]float64{}
	for ci, cfg := range cases {
		opt.LearnVariance = ci != 1 // one case with σ fixed: the graph without the log-variance statistic
		V, H := cfg.Visible, cfg.Hidden
		m, _ := models.NewRBM(V, H, 5)
		m.W, m.VBias, m.HBias = normalSlice(rng, V*H, 0.2), normalSlice(rng, V, 0.3), normalSlice(rng, H, 0.3)
		z := normalSlice(rng, V, 0.3)
		st := trainState{VelW: make([]float32, V*H), VelVBias: make([]float32, V), VelHBias: make([]float32, H), RNGStep: 17}
		if cfg.Persistent {
			st.Chains = normalSlice(rng, cfg.Chains*V, 1)
		}
		compile := func(b Backend) *testProgram {
			p, err := compileGaussianStep(b, cfg, 1234, opt)
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
			u := graph.Hyper{LR: 0.01, Momentum: 0.5, WeightDecay: 0.01, SparsityTarget: 0.1, SparsityCost: 0.05}
			for s := 0; s < 3; s++ {
				batch := normalSlice(rng, cfg.Batch*V, 1)
				for _, q := range []*testProgram{ref, p} {
					if err := q.Step(batch, u); err != nil {
						t.Fatal(err)
					}
				}
				if n := nearThreshold(t, p, 1234, st.RNGStep+uint64(s), 1e-6); n > 0 {
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

// gaussianData draws n exact samples of a known Gaussian RBM by ancestral
// sampling: h from p(h) (enumerated, v integrated out), then
// v ~ N(b + W h, σ²).
func gaussianData(truth *models.GRBM, n int, seed uint64) *data.Dataset {
	V, H := truth.V, truth.H
	logp := make([]float64, 1<<H)
	for g := range logp {
		var lp float64
		for j := 0; j < H; j++ {
			lp += float64(truth.HBias[j]) * float64((g>>j)&1)
		}
		for i := 0; i < V; i++ {
			b, mu := float64(truth.VBias[i]), float64(truth.VBias[i])
			for j := 0; j < H; j++ {
				mu += float64(truth.W[i*H+j]) * float64((g>>j)&1)
			}
			lp += (mu*mu - b*b) / (2 * math.Exp(float64(truth.LogVar[i])))
		}
		logp[g] = lp
	}
	var z float64
	for _, lp := range logp {
		z += math.Exp(lp - logp[0])
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	x := make([]float32, n*V)
	h := make([]float32, H)
	for r := 0; r < n; r++ {
		u, g := rng.Float64()*z, 0
		for ; g < len(logp)-1; g++ {
			if u -= math.Exp(logp[g] - logp[0]); u < 0 {
				break
			}
		}
		for j := range h {
			h[j] = float32((g >> j) & 1)
		}
		mean := truth.VisibleMean(nil, h, 1)
		for i := 0; i < V; i++ {
			x[r*V+i] = mean[i] + float32(rng.NormFloat64()*math.Exp(0.5*float64(truth.LogVar[i])))
		}
	}
	return &data.Dataset{Name: "grbm-truth", N: n, D: V, X: x}
}

// knownGRBM is a 6×3 Gaussian RBM whose data are far from Gaussian: σ =
// 0.5, hidden unit j moves visibles 2j and 2j+1 by ±1 (8σ² apart in
// squared distance), and its bias c_j = −Σ_i (W_ij² + 2 b_i W_ij)/(2σ_i²)
// balances its two states; the data are a mixture of 8 equally weighted,
// well separated Gaussians with correlated pairs.
func knownGRBM() *models.GRBM {
	const V, H = 6, 3
	m, _ := models.NewGRBM(V, H, 1)
	rng := rand.New(rand.NewPCG(21, 22))
	for i := range m.W {
		m.W[i] = 0
	}
	for j := 0; j < H; j++ {
		m.W[(2*j)*H+j] = float32(2*rng.IntN(2) - 1)
		m.W[(2*j+1)*H+j] = float32(2*rng.IntN(2) - 1)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.NormFloat64() * 0.5)
		m.LogVar[i] = float32(2 * math.Log(0.5))
	}
	for j := 0; j < H; j++ {
		var c float64
		for i := 0; i < V; i++ {
			w, b := float64(m.W[i*H+j]), float64(m.VBias[i])
			c -= (w*w + 2*b*w) / (2 * 0.25)
		}
		m.HBias[j] = float32(c)
	}
	return m
}

// Trained on 2,000 exact samples of a known 6×3 Gaussian RBM (a mixture of
// 8 separated Gaussians), a 6×3 Gaussian RBM with learned variances
// recovers it: PCD-1 at learning rate 0.02 for 60 epochs lifts the exact
// log-likelihood of the data (data units) from the untrained model's −6.42
// (the best diagonal Gaussian) to within 0.05 nats of the true model's
// −5.81, and the learned σ of every unit lies within 10% of the true σ in
// standardised units.
func TestGaussianTrainingRecoversKnownModel(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 2000, 5)
	trueLL, err := truth.LogLikelihood(d.X, d.N)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: "grbm", Options: &GRBMOptions{LearnVariance: true}, Hidden: 3, K: 1, Persistent: true, Chains: 100,
		Epochs: 60, Batch: 20, LR: 0.02, Momentum: 0.5, Seed: 3, EvalEvery: 20}
	res, err := (&Trainer{Config: cfg}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := res.Snapshot.GRBM()
	untrained := &models.GRBM{V: 6, H: 3, W: make([]float32, 18), VBias: make([]float32, 6), HBias: make([]float32, 3),
		LogVar: make([]float32, 6), DataMean: g.DataMean, DataStd: g.DataStd}
	var m0 EpochMetrics
	if err := evaluateGaussian(&m0, untrained, d, nil, cfg.Defaults()); err != nil {
		t.Fatal(err)
	}
	var lls []float64
	for _, m := range res.Metrics {
		if !math.IsNaN(m.LogLikelihood) {
			lls = append(lls, m.LogLikelihood)
		}
	}
	last := lls[len(lls)-1]
	t.Logf("log-likelihood per sample: untrained %.4f, epochs 20/40/60 %.4f, true model %.4f", m0.LogLikelihood, lls, trueLL)
	if !(last > m0.LogLikelihood+0.5) || math.Abs(last-trueLL) > 0.05 {
		t.Errorf("trained log-likelihood %.4f (untrained %.4f, truth %.4f)", last, m0.LogLikelihood, trueLL)
	}
	for i, z := range g.LogVar {
		sigma := math.Exp(0.5 * float64(z))
		want := 0.5 / float64(g.DataStd[i]) // the true σ in standardised units
		t.Logf("unit %d: σ %.3f, true %.3f", i, sigma, want)
		if math.Abs(sigma/want-1) > 0.1 {
			t.Errorf("unit %d: learned σ %.3f, true %.3f (standardised units)", i, sigma, want)
		}
	}
}

// A learning rate far too large for a Gaussian RBM stops the run within the
// first mini-batches with one line that names it and suggests a value.
func TestGaussianLRGuard(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 400, 7)
	for _, b := range []Backend{CPU{}, Host()} {
		cfg := Config{Model: "grbm", Hidden: 16, Epochs: 2, Batch: 10, LR: 5, Momentum: 0.5, Seed: 1}
		n := 0
		_, err := (&Trainer{Config: cfg, Backend: b, OnBatch: func(int, int, int) { n++ }}).Fit(context.Background(), d, nil)
		if err == nil || !strings.Contains(err.Error(), "learning rate 5 is too large for a Gaussian RBM") ||
			!strings.Contains(err.Error(), "try a learning rate of 0.01") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s: error %v", b.Name(), err)
		}
		t.Logf("%s after %d mini-batches: %v", b.Name(), n, err)
		if n > 32 {
			t.Errorf("%s: caught after %d mini-batches, want ≤ 32", b.Name(), n)
		}
	}
}

// An interrupted Gaussian run (PCD, learned variances, momentum) saved to
// a grbm checkpoint and resumed ends bit-identical to the uninterrupted one
// (W, log variances and their momentum, chains) on the tape, the Host and
// the emulated device; and the three backends' whole runs agree to 1e-3.
func TestGaussianResumeBitIdentical(t *testing.T) {
	truth := knownGRBM()
	d := gaussianData(truth, 100, 9)
	drv := emu.NewDriver()
	defer drv.Close()
	var ref *models.GRBM
	for _, b := range []Backend{CPU{}, Host(), &DeviceBackend{Driver: drv, Label: "emu"}} {
		cfg := Config{Model: "grbm", Options: &GRBMOptions{LearnVariance: true}, Hidden: 5, K: 2, Persistent: true, Chains: 12,
			Epochs: 2, Batch: 10, Momentum: 0.5, Seed: 4}
		full, err := (&Trainer{Config: cfg, Backend: b}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Whole runs (chunked uploads on the lowered backends, one step at
		// a time on the tape) follow the same trajectory.
		if ref == nil {
			ref = full.Snapshot.GRBM()
		} else {
			g := full.Snapshot.GRBM()
			for _, pair := range [][2][]float32{{ref.W, g.W}, {ref.LogVar, g.LogVar}, {ref.VBias, g.VBias}} {
				for i := range pair[0] {
					if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-3 {
						t.Fatalf("%s: after %d epochs a parameter differs from cpu-tape's by %.2g (%v vs %v)", b.Name(), cfg.Epochs, d, pair[1][i], pair[0][i])
					}
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		part, err := (&Trainer{Config: cfg, Backend: b, OnBatch: func(int, int, int) {
			if n++; n == 7 {
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
		if o, ok := snap.Config.Options.(*GRBMOptions); snap.Config.Model != "grbm" || !ok || !o.LearnVariance || snap.GRBM() == nil {
			t.Fatalf("loaded config %+v", snap.Config)
		}
		res, err := (&Trainer{Config: snap.Config, Backend: b, Resume: snap}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		g1, g2 := full.Snapshot.GRBM(), res.Snapshot.GRBM()
		for _, pair := range [][2][]float32{{g1.W, g2.W}, {g1.LogVar, g2.LogVar}, {g1.HBias, g2.HBias},
			{full.Snapshot.Tensors["velocity.logvar"], res.Snapshot.Tensors["velocity.logvar"]}, {full.Snapshot.Tensors[graph.NameChains], res.Snapshot.Tensors[graph.NameChains]}} {
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

// A Gaussian step of the Host backend allocates nothing after warm-up.
func TestGaussianHostStepAllocs(t *testing.T) {
	cfg := graph.StepConfig{Visible: 50, Hidden: 20, Batch: 10, K: 1, Persistent: true, Chains: 10}
	p, err := compileGaussianStep(Host(), cfg, 1, gaussianTestOptions{LearnVariance: true, MinLogVar: -4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	m, _ := models.NewRBM(50, 20, 1)
	if err := p.SetModel(m); err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(trainState{VelW: make([]float32, 1000), VelVBias: make([]float32, 50), VelHBias: make([]float32, 20),
		Chains: normalSlice(rng, 500, 1)}); err != nil {
		t.Fatal(err)
	}
	batch := normalSlice(rng, 500, 1)
	u := graph.Hyper{LR: 0.01, Momentum: 0.5}
	if err := p.Step(batch, u); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := p.Step(batch, u); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per Gaussian step, want 0", allocs)
	}
}

// Non-finite parameters stop a Gaussian run with the epoch, the tensor and
// a suggested learning rate, in one line.
func TestGaussianDivergenceNamesTensor(t *testing.T) {
	g := &gaussianRun{lr: 0.05, baseline: 10}
	m, _ := models.NewGRBM(4, 3, 1)
	m.LogVar[2] = float32(math.Inf(1))
	err := g.Diverged(3, grbmSnapshot(m), 5, nil)
	if err == nil || !strings.Contains(err.Error(), "epoch 3: training diverged") || !strings.Contains(err.Error(), "log-variance[2]") ||
		!strings.Contains(err.Error(), "try 0.005") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v", err)
	}
	m.LogVar[2] = 0
	if err := g.Diverged(3, grbmSnapshot(m), 25, nil); err == nil || !strings.Contains(err.Error(), "too large for a Gaussian RBM") {
		t.Fatalf("recon 25 > 2×10: error %v", err)
	}
	if err := g.Diverged(3, grbmSnapshot(m), 15, nil); err != nil {
		t.Fatal(err)
	}
}
