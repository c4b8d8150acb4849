package graph

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runCentered binds the inputs of s, runs its graph n times on the tape
// (the RNG step advancing, the offsets carried) and returns the outputs of
// the last run by name.
func runCentered(t *testing.T, s *CenteredStep, in map[string][]float32, n int) map[string][]float32 {
	t.Helper()
	vals := map[string]*tensor.Dense{}
	for _, x := range s.Inputs() {
		d := tensor.New(tensor.WithShape(x.Node.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), in[x.Name]...)))
		if err := G.Let(x.Node, d); err != nil {
			t.Fatal(err)
		}
		vals[x.Name] = d
	}
	vm := G.NewTapeMachine(s.Graph)
	defer vm.Close()
	out := map[string][]float32{}
	for r := 0; r < n; r++ {
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run %d: %v", r, err)
		}
		for _, o := range s.NamedOutputs() {
			switch v := o.Node.Value().(type) {
			case *tensor.Dense:
				out[o.Name] = append([]float32(nil), v.Data().([]float32)...)
			case *G.F32:
				out[o.Name] = []float32{float32(*v)}
			}
		}
		vm.Reset()
		s.RNG.Step++
		for _, c := range s.Carries() {
			copy(vals[c.To].Data().([]float32), out[c.From])
		}
	}
	return out
}

// centredRef is the centred step in float64 from the ordinary reference
// statistics of r (the same Philox draws): the offsets' update, then
// ΔW = ∇W − μ∇cᵀ − ∇bλᵀ, Δb = ∇b − ΔWλ, Δc = ∇c − ΔWᵀμ.
func centredRef(r *refStep, v0 []float32, B int, mu, lambda []float64, nu float64) (gW, gb, gc, mu1, l1 []float64) {
	V, H := r.V, r.H
	mu1, l1 = make([]float64, V), make([]float64, H)
	for i := 0; i < V; i++ {
		var m float64
		for row := 0; row < B; row++ {
			m += float64(v0[row*V+i])
		}
		mu1[i] = (1-nu)*mu[i] + nu*m/float64(B)
	}
	for j := 0; j < H; j++ {
		l1[j] = (1-nu)*lambda[j] + nu*r.hmean[j]
	}
	gW = make([]float64, V*H)
	for i := 0; i < V; i++ {
		for j := 0; j < H; j++ {
			gW[i*H+j] = r.gW[i*H+j] - mu1[i]*r.gc[j] - r.gb[i]*l1[j]
		}
	}
	gb, gc = make([]float64, V), make([]float64, H)
	for i := 0; i < V; i++ {
		gb[i] = r.gb[i]
		for j := 0; j < H; j++ {
			gb[i] -= gW[i*H+j] * l1[j]
		}
	}
	for j := 0; j < H; j++ {
		gc[j] = r.gc[j]
		for i := 0; i < V; i++ {
			gc[j] -= gW[i*H+j] * mu1[i]
		}
	}
	return gW, gb, gc, mu1, l1
}

// The centred step on the tape equals the float64 reference on the same
// Philox draws, for CD-k and PCD-k; and a second run (offsets carried)
// again equals it.
func TestCenteredStepMatchesReference(t *testing.T) {
	cases := []struct {
		V, H, B, K, C int
		pcd           bool
		nu            float32
	}{
		{V: 7, H: 5, B: 3, K: 1, nu: 0.01},
		{V: 16, H: 9, B: 10, K: 1, nu: 0.1},
		{V: 12, H: 20, B: 6, K: 3, nu: 0.5},
		{V: 10, H: 6, B: 4, K: 1, C: 7, pcd: true, nu: 0.01},
		{V: 9, H: 11, B: 5, K: 2, C: 5, pcd: true, nu: 1},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range cases {
		cfg := StepConfig{Visible: tc.V, Hidden: tc.H, Batch: tc.B, K: tc.K, Persistent: tc.pcd, Chains: tc.C}
		seed := rng.Uint64()
		start := uint64(rng.IntN(1000))
		s, err := BuildCenteredStep(cfg, tc.nu, &RNG{Seed: seed, Step: start})
		if err != nil {
			t.Fatal(err)
		}
		W := randSlice(rng, tc.V*tc.H, 0.5)
		b := randSlice(rng, tc.V, 0.5)
		c := randSlice(rng, tc.H, 0.5)
		v0 := binarySlice(rng, tc.B*tc.V)
		C := cfg.NegativeRows()
		chain := binarySlice(rng, C*tc.V)
		mu := make([]float32, tc.V)
		for i := range mu {
			mu[i] = rng.Float32()
		}
		lambda := make([]float32, tc.H)
		for j := range lambda {
			lambda[j] = rng.Float32()
		}
		in := map[string][]float32{NameData: v0, NameW: W, NameVBias: b, NameHBias: c, NameChains: chain,
			NameOffsetV: mu, NameOffsetH: lambda}
		for runs := 1; runs <= 2; runs++ {
			s.RNG.Step = start
			got := runCentered(t, s, in, runs)
			// The reference: the same parameters, so run 2 differs from run 1
			// only by its draws, its chains (PCD) and its offsets.
			mu64, l64 := f64(mu), f64(lambda)
			ch := chain
			var gW, gb, gc []float64
			for r := 0; r < runs; r++ {
				ref := &refStep{V: tc.V, H: tc.H, W: W, b: b, c: c, seed: seed, rngStep: start + uint64(r), k: tc.K, pcd: tc.pcd}
				ref.run(v0, tc.B, ch, C)
				gW, gb, gc, mu64, l64 = centredRef(ref, v0, tc.B, mu64, l64, float64(tc.nu))
				ch = ref.newChain
				// The carried offsets are float32 in the graph.
				mu64, l64 = f64(f32(mu64)), f64(f32(l64))
			}
			check := func(name string, g []float32, w []float64, tol float64) {
				if len(g) != len(w) {
					t.Fatalf("%+v run %d %s: %d values, want %d", tc, runs, name, len(g), len(w))
				}
				for i := range g {
					if !closeTo(g[i], w[i], tol) {
						t.Fatalf("%+v run %d %s[%d] = %v, reference %v", tc, runs, name, i, g[i], w[i])
					}
				}
			}
			check(OutGradW, got[OutGradW], gW, 1e-5)
			check(OutGradVBias, got[OutGradVBias], gb, 1e-5)
			check(OutGradHBias, got[OutGradHBias], gc, 1e-5)
			check(OutNewOffsetV, got[OutNewOffsetV], mu64, 1e-6)
			check(OutNewOffsetH, got[OutNewOffsetH], l64, 1e-6)
		}
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func TestCenteredStepRejectsBadRate(t *testing.T) {
	cfg := StepConfig{Visible: 3, Hidden: 2, Batch: 2, K: 1}
	for _, nu := range []float32{0, -0.1, 1.5} {
		if _, err := BuildCenteredStep(cfg, nu, &RNG{}); err == nil {
			t.Errorf("rate %v: no error", nu)
		}
	}
}
