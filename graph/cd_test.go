package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// refStep is a plain-Go CD-k / PCD-k step written straight from the
// formulas in CDStep's doc comment, drawing the same Philox uniforms.
type refStep struct {
	V, H     int
	W, b, c  []float32
	seed     uint64
	rngStep  uint64
	k        int
	pcd      bool
	gW       []float64
	gb, gc   []float64
	hmean    []float64
	recon    float64
	newChain []float32
}

func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// probs returns σ(x M + bias) where M is V×H (fwd) or its transpose.
func (r *refStep) hidden(x []float32, n int) []float32 {
	out := make([]float32, n*r.H)
	for i := 0; i < n; i++ {
		for j := 0; j < r.H; j++ {
			var a float32
			for v := 0; v < r.V; v++ {
				a += x[i*r.V+v] * r.W[v*r.H+j]
			}
			out[i*r.H+j] = sigmoid32(a + r.c[j])
		}
	}
	return out
}

func (r *refStep) visible(h []float32, n int) []float32 {
	out := make([]float32, n*r.V)
	for i := 0; i < n; i++ {
		for v := 0; v < r.V; v++ {
			var a float32
			for j := 0; j < r.H; j++ {
				a += h[i*r.H+j] * r.W[v*r.H+j]
			}
			out[i*r.V+v] = sigmoid32(a + r.b[v])
		}
	}
	return out
}

func (r *refStep) sample(p []float32, id uint32) []float32 {
	s := kernels.Stream{Seed: r.seed, Op: id, Step: r.rngStep}
	out := make([]float32, len(p))
	for e := range p {
		if s.Uniform(uint64(e)) < p[e] {
			out[e] = 1
		}
	}
	return out
}

func (r *refStep) run(v0 []float32, B int, chain []float32, C int) {
	ph0 := r.hidden(v0, B)
	h0 := r.sample(ph0, IDPositiveHidden)
	pv1 := r.visible(h0, B)
	h, rows := h0, B
	if r.pcd {
		h, rows = r.sample(r.hidden(chain, C), IDChainHidden), C
	}
	var vk, phk []float32
	for t := 1; t <= r.k; t++ {
		pv := pv1
		if t > 1 || r.pcd {
			pv = r.visible(h, rows)
		}
		vk = r.sample(pv, IDGibbsVisible(t))
		phk = r.hidden(vk, rows)
		if t < r.k {
			h = r.sample(phk, IDGibbsHidden(t))
		}
	}
	r.newChain = vk
	r.gW = make([]float64, r.V*r.H)
	r.gb = make([]float64, r.V)
	r.gc = make([]float64, r.H)
	r.hmean = make([]float64, r.H)
	for v := 0; v < r.V; v++ {
		for j := 0; j < r.H; j++ {
			var pos, neg float64
			for i := 0; i < B; i++ {
				pos += float64(v0[i*r.V+v]) * float64(ph0[i*r.H+j])
			}
			for i := 0; i < rows; i++ {
				neg += float64(vk[i*r.V+v]) * float64(phk[i*r.H+j])
			}
			r.gW[v*r.H+j] = pos/float64(B) - neg/float64(rows)
		}
	}
	for v := 0; v < r.V; v++ {
		var pos, neg float64
		for i := 0; i < B; i++ {
			pos += float64(v0[i*r.V+v])
		}
		for i := 0; i < rows; i++ {
			neg += float64(vk[i*r.V+v])
		}
		r.gb[v] = pos/float64(B) - neg/float64(rows)
	}
	for j := 0; j < r.H; j++ {
		var pos, neg float64
		for i := 0; i < B; i++ {
			pos += float64(ph0[i*r.H+j])
		}
		for i := 0; i < rows; i++ {
			neg += float64(phk[i*r.H+j])
		}
		r.hmean[j] = pos / float64(B)
		r.gc[j] = pos/float64(B) - neg/float64(rows)
	}
	r.recon = 0
	for e := range v0 {
		d := float64(v0[e]) - float64(pv1[e])
		r.recon += d * d
	}
	r.recon /= float64(B)
}

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * scale)
	}
	return out
}

func binarySlice(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		if rng.IntN(2) == 1 {
			out[i] = 1
		}
	}
	return out
}

// runGraph binds the inputs, runs the graph once and returns the outputs.
func runGraph(t *testing.T, s *CDStep, v0, W, b, c, chain []float32) map[string][]float32 {
	t.Helper()
	cfg := s.Config
	bind := func(n *G.Node, data []float32, shape ...int) {
		if err := G.Let(n, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))); err != nil {
			t.Fatal(err)
		}
	}
	bind(s.V0, v0, cfg.Batch, cfg.Visible)
	bind(s.W, W, cfg.Visible, cfg.Hidden)
	bind(s.VBias, b, cfg.Visible)
	bind(s.HBias, c, cfg.Hidden)
	if s.Chain != nil {
		bind(s.Chain, chain, cfg.NegativeRows(), cfg.Visible)
	}
	vm := G.NewTapeMachine(s.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	get := func(n *G.Node) []float32 {
		switch v := n.Value().(type) {
		case *tensor.Dense:
			return append([]float32(nil), v.Data().([]float32)...)
		case *G.F32:
			return []float32{float32(*v)}
		}
		t.Fatalf("node %s: unexpected value %T", n.Name(), n.Value())
		return nil
	}
	out := map[string][]float32{
		"gW": get(s.GradW), "gb": get(s.GradVBias), "gc": get(s.GradHBias),
		"hmean": get(s.HMean), "recon": get(s.ReconErr),
	}
	if s.NewChain != nil {
		out["chain"] = get(s.NewChain)
	}
	return out
}

func closeTo(got float32, want float64, rel float64) bool {
	return math.Abs(float64(got)-want) <= rel*math.Max(1, math.Abs(want))
}

// One step of the graph equals the plain-Go reference, same uniforms, to
// 1e-5 relative (float32 sums of ≤ 64 terms against float64 references).
func TestStepMatchesReference(t *testing.T) {
	cases := []struct {
		V, H, B, K, C int
		pcd           bool
	}{
		{V: 7, H: 5, B: 3, K: 1},
		{V: 16, H: 9, B: 10, K: 1},
		{V: 33, H: 17, B: 8, K: 1},
		{V: 12, H: 20, B: 6, K: 3},
		{V: 10, H: 6, B: 4, K: 1, C: 7, pcd: true},
		{V: 9, H: 11, B: 5, K: 4, C: 5, pcd: true},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		cfg := StepConfig{Visible: tc.V, Hidden: tc.H, Batch: tc.B, K: tc.K, Persistent: tc.pcd, Chains: tc.C}
		seed := rng.Uint64()
		r := &RNG{Seed: seed, Step: uint64(rng.IntN(1000))}
		s, err := BuildCDStep(cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		W := randSlice(rng, tc.V*tc.H, 0.5)
		b := randSlice(rng, tc.V, 0.5)
		c := randSlice(rng, tc.H, 0.5)
		v0 := binarySlice(rng, tc.B*tc.V)
		C := cfg.NegativeRows()
		chain := binarySlice(rng, C*tc.V)
		got := runGraph(t, s, v0, W, b, c, chain)
		ref := &refStep{V: tc.V, H: tc.H, W: W, b: b, c: c, seed: seed, rngStep: r.Step, k: tc.K, pcd: tc.pcd}
		ref.run(v0, tc.B, chain, C)
		check := func(name string, g []float32, w []float64) {
			if len(g) != len(w) {
				t.Fatalf("%+v %s: %d values, want %d", tc, name, len(g), len(w))
			}
			for i := range g {
				if !closeTo(g[i], w[i], 1e-5) {
					t.Fatalf("%+v %s[%d] = %v, reference %v", tc, name, i, g[i], w[i])
				}
			}
		}
		check("gradW", got["gW"], ref.gW)
		check("gradVBias", got["gb"], ref.gb)
		check("gradHBias", got["gc"], ref.gc)
		check("hmean", got["hmean"], ref.hmean)
		check("recon", got["recon"], []float64{ref.recon})
		if tc.pcd {
			nc := make([]float64, len(ref.newChain))
			for i, v := range ref.newChain {
				nc[i] = float64(v)
			}
			check("chain", got["chain"], nc)
		}
	}
}

// Every sampler has its own hash, so gorgonia never merges two of them.
func TestSamplersDistinct(t *testing.T) {
	s, err := BuildCDStep(StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 5, Persistent: true}, &RNG{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	hashes := map[uint32]bool{}
	for _, op := range s.Samplers {
		if seen[op.ID] || hashes[op.Hashcode()] {
			t.Fatalf("sampler %d repeats an id or hash", op.ID)
		}
		seen[op.ID], hashes[op.Hashcode()] = true, true
	}
	// positive hidden, chain hidden, k visible, k-1 hidden
	if want := 2 + 5 + 4; len(s.Samplers) != want {
		t.Fatalf("%d samplers, want %d", len(s.Samplers), want)
	}
}

func TestBuildRejectsBadConfig(t *testing.T) {
	bad := []StepConfig{
		{Visible: 0, Hidden: 1, Batch: 1, K: 1},
		{Visible: 1, Hidden: 0, Batch: 1, K: 1},
		{Visible: 1, Hidden: 1, Batch: 0, K: 1},
		{Visible: 1, Hidden: 1, Batch: 1, K: 0},
		{Visible: 1, Hidden: 1, Batch: 1, K: 1, Chains: -1},
	}
	for _, cfg := range bad {
		if _, err := BuildCDStep(cfg, &RNG{}); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	if _, err := BuildCDStep(StepConfig{Visible: 1, Hidden: 1, Batch: 1, K: 1}, nil); err == nil {
		t.Error("nil RNG: no error")
	}
}
