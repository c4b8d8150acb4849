package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

func normals(rng *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * scale)
	}
	return out
}

// runGaussian binds the inputs, runs the graph once on the tape machine and
// returns the named outputs.
func runGaussian(t *testing.T, s *graph.GaussianStep, m *models.GRBM, v0, chain []float32) map[string][]float32 {
	t.Helper()
	cfg := s.Config
	bind := func(n *G.Node, data []float32, shape ...int) {
		if err := G.Let(n, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))); err != nil {
			t.Fatal(err)
		}
	}
	bind(s.V0, v0, cfg.Batch, cfg.Visible)
	bind(s.W, m.W, cfg.Visible, cfg.Hidden)
	bind(s.VBias, m.VBias, cfg.Visible)
	bind(s.HBias, m.HBias, cfg.Hidden)
	bind(s.LogVar, m.LogVar, cfg.Visible)
	if s.Chain != nil {
		bind(s.Chain, chain, cfg.NegativeRows(), cfg.Visible)
	}
	vm := G.NewTapeMachine(s.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, o := range s.NamedOutputs() {
		switch v := o.Node.Value().(type) {
		case *tensor.Dense:
			out[o.Name] = append([]float32(nil), v.Data().([]float32)...)
		case *G.F32:
			out[o.Name] = []float32{float32(*v)}
		default:
			t.Fatalf("%s: value %T", o.Name, v)
		}
	}
	return out
}

// bernoulli draws Bernoulli(p) with the graph's rule and stream.
func bernoulli(p []float32, s kernels.Stream) []float32 {
	out := make([]float32, len(p))
	kernels.SampleBernoulli(out, p, s)
	return out
}

// One Gaussian RBM step (PCD-1, so the negative samples are an output)
// equals the model's mathematics: every gradient is −mean ∂F/∂θ over the
// data plus mean ∂F/∂θ over the new chains (models.GRBM.FreeEnergyGrad,
// float64), the chains are N(b + h Wᵀ, e^z) draws with h ~ p(h | chain) from
// the documented streams, and the reconstruction error is that of the mean
// of p(v | h0).
func TestGaussianStepMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ V, H, B, C int }{{5, 3, 4, 6}, {13, 7, 9, 9}, {20, 16, 10, 3}} {
		cfg := graph.StepConfig{Visible: tc.V, Hidden: tc.H, Batch: tc.B, K: 1, Persistent: true, Chains: tc.C}
		r := &graph.RNG{Seed: rng.Uint64(), Step: uint64(rng.IntN(100))}
		s, err := graph.BuildGaussianStep(cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := models.NewGRBM(tc.V, tc.H, 1)
		m.W, m.VBias, m.HBias, m.LogVar = normals(rng, tc.V*tc.H, 0.3), normals(rng, tc.V, 0.5), normals(rng, tc.H, 0.5), normals(rng, tc.V, 0.4)
		v0, chain := normals(rng, tc.B*tc.V, 1), normals(rng, tc.C*tc.V, 1)
		got := runGaussian(t, s, m, v0, chain)

		// The chains: h ~ p(h|chain), v = b + h Wᵀ + σ n.
		h := bernoulli(m.HiddenProbs(nil, chain, tc.C), kernels.Stream{Seed: r.Seed, Op: graph.IDChainHidden, Step: r.Step})
		mean := m.VisibleMean(nil, h, tc.C)
		vk := make([]float32, len(mean))
		ns := kernels.Stream{Seed: r.Seed, Op: graph.IDGaussianVisible(1), Step: r.Step}
		for e := range vk {
			vk[e] = mean[e] + float32(math.Exp(0.5*float64(m.LogVar[e%tc.V])))*kernels.Normal(ns, uint64(e))
			if math.Abs(float64(vk[e]-got["NewChain"][e])) > 1e-4 {
				t.Fatalf("%+v chain[%d] = %v, want %v", tc, e, got["NewChain"][e], vk[e])
			}
		}
		vk = got["NewChain"] // the statistics below use the graph's own samples

		gW, gb, gc, gz := make([]float64, tc.V*tc.H), make([]float64, tc.V), make([]float64, tc.H), make([]float64, tc.V)
		acc := func(rows []float32, n int, sign float64) {
			for i := 0; i < n; i++ {
				dW, db, dc, dz := m.FreeEnergyGrad(rows[i*tc.V : (i+1)*tc.V])
				for j := range dW {
					gW[j] += sign * dW[j] / float64(n)
				}
				for j := range db {
					gb[j] += sign * db[j] / float64(n)
					gz[j] += sign * dz[j] / float64(n)
				}
				for j := range dc {
					gc[j] += sign * dc[j] / float64(n)
				}
			}
		}
		acc(v0, tc.B, -1)
		acc(vk, tc.C, 1)
		check := func(name string, want []float64) {
			g := got[name]
			if len(g) != len(want) {
				t.Fatalf("%+v %s: %d values, want %d", tc, name, len(g), len(want))
			}
			for i := range g {
				if math.Abs(float64(g[i])-want[i]) > 2e-4*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("%+v %s[%d] = %v, model %v", tc, name, i, g[i], want[i])
				}
			}
		}
		check("GradW", gW)
		check("GradVBias", gb)
		check("GradHBias", gc)
		check("GradLogVar", gz)

		ph0 := m.HiddenProbs(nil, v0, tc.B)
		hm := make([]float64, tc.H)
		for i, p := range ph0 {
			hm[i%tc.H] += float64(p) / float64(tc.B)
		}
		check("HMean", hm)
		h0 := bernoulli(ph0, kernels.Stream{Seed: r.Seed, Op: graph.IDPositiveHidden, Step: r.Step})
		var recon float64
		for e, mu := range m.VisibleMean(nil, h0, tc.B) {
			d := float64(v0[e]) - float64(mu)
			recon += d * d / float64(tc.B)
		}
		check("ReconErr", []float64{recon})
	}
}

// The samplers of a Gaussian step have distinct ids and hashes, and the
// Gaussian ids differ from every Bernoulli id.
func TestGaussianSamplersDistinct(t *testing.T) {
	s, err := graph.BuildGaussianStep(graph.StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 5, Persistent: true}, &graph.RNG{})
	if err != nil {
		t.Fatal(err)
	}
	ids, hashes := map[uint32]bool{}, map[uint32]bool{}
	for _, op := range s.Samplers {
		ids[op.ID], hashes[op.Hashcode()] = true, true
	}
	for _, op := range s.GaussianSamplers {
		if ids[op.ID] || hashes[op.Hashcode()] {
			t.Fatalf("gaussian sampler %#x repeats an id or hash", op.ID)
		}
		ids[op.ID], hashes[op.Hashcode()] = true, true
		for k := 1; k < 1000; k++ {
			if op.ID == graph.IDGibbsVisible(k) || op.ID == graph.IDGibbsHidden(k) {
				t.Fatalf("gaussian id %#x is a Bernoulli id", op.ID)
			}
		}
	}
	if len(s.GaussianSamplers) != 5 || len(s.Samplers) != 1+1+4 {
		t.Fatalf("%d gaussian and %d bernoulli samplers, want 5 and 6", len(s.GaussianSamplers), len(s.Samplers))
	}
	if _, err := graph.BuildGaussianStep(graph.StepConfig{Visible: 4, Hidden: 3, Batch: 0, K: 1}, &graph.RNG{}); err == nil {
		t.Error("batch 0: no error")
	}
	if _, err := graph.BuildGaussianStep(graph.StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 1}, nil); err == nil {
		t.Error("nil RNG: no error")
	}
}

// With many Gibbs steps, the CD-k gradient of the Gaussian step graph
// estimates the exact gradient of the average log-likelihood
// (models.GRBM.ExactGradient: hidden units enumerated, visibles integrated
// analytically). The data are 40 points repeated 100 times, so the
// negative phase averages 4,000 chains of CD-100 started at the data; every
// component of the four gradients must lie within 4 standard errors of the
// Monte Carlo estimate (computed from R = 4 independent runs) plus 0.01 of
// the exact value.
func TestGaussianCDMatchesExactGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const V, H, distinct, rep, K, R = 4, 3, 40, 100, 100, 4
	m, _ := models.NewGRBM(V, H, 2)
	m.W, m.VBias, m.HBias = normals(rng, V*H, 0.6), normals(rng, V, 0.5), normals(rng, H, 0.5)
	m.LogVar = normals(rng, V, 0.3)
	pts := normals(rng, distinct*V, 1.2)
	x := make([]float32, 0, distinct*rep*V)
	for r := 0; r < rep; r++ {
		x = append(x, pts...)
	}
	B := distinct * rep
	eW, eb, ec, ez, err := m.ExactGradient(pts, distinct)
	if err != nil {
		t.Fatal(err)
	}
	exact := map[string][]float64{"GradW": eW, "GradVBias": eb, "GradHBias": ec, "GradLogVar": ez}
	cfg := graph.StepConfig{Visible: V, Hidden: H, Batch: B, K: K}
	sum, sum2 := map[string][]float64{}, map[string][]float64{}
	for run := 0; run < R; run++ {
		s, err := graph.BuildGaussianStep(cfg, &graph.RNG{Seed: 77, Step: uint64(run)})
		if err != nil {
			t.Fatal(err)
		}
		got := runGaussian(t, s, m, x, nil)
		for name := range exact {
			if sum[name] == nil {
				sum[name], sum2[name] = make([]float64, len(exact[name])), make([]float64, len(exact[name]))
			}
			for i, g := range got[name] {
				sum[name][i] += float64(g)
				sum2[name][i] += float64(g) * float64(g)
			}
		}
	}
	worst := 0.0
	for name, e := range exact {
		for i := range e {
			mean := sum[name][i] / R
			sd := math.Sqrt(math.Max(sum2[name][i]/R-mean*mean, 0) * R / (R - 1))
			se := sd / math.Sqrt(R)
			worst = math.Max(worst, math.Abs(mean-e[i]))
			if math.Abs(mean-e[i]) > 4*se+0.01 {
				t.Errorf("%s[%d]: CD-%d %.4f ± %.4f, exact %.4f", name, i, K, mean, se, e[i])
			}
		}
	}
	t.Logf("largest |CD-%d − exact| over all %d parameters: %.4f", K, V*H+2*V+H, worst)
}
