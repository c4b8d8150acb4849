package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// PLL against its definition: Σ_i log p(v_i | v_−i) with the conditional
// computed from free energies of v and its one-bit flips.
func TestPseudoLogLikelihoodMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{1, 1}, {5, 3}, {12, 7}, {30, 20}} {
		V, H := sz[0], sz[1]
		m, _ := NewRBM(V, H, 1)
		for i := range m.W {
			m.W[i] = float32(rng.NormFloat64())
		}
		for i := range m.VBias {
			m.VBias[i] = float32(rng.NormFloat64())
		}
		for j := range m.HBias {
			m.HBias[j] = float32(rng.NormFloat64())
		}
		const n = 6
		x := make([]float32, n*V)
		for i := range x {
			x[i] = float32(rng.IntN(2))
		}
		got, err := m.PseudoLogLikelihood(x, n)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for r := 0; r < n; r++ {
			v := append([]float32(nil), x[r*V:(r+1)*V]...)
			f := m.FreeEnergy(v)
			for i := range v {
				v[i] = 1 - v[i]
				ff := m.FreeEnergy(v)
				v[i] = 1 - v[i]
				// p(v_i | rest) = e^{−F(v)} / (e^{−F(v)} + e^{−F(ṽ)})
				want += -math.Log1p(math.Exp(f - ff))
			}
		}
		want /= n
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%d×%d: PLL %v, definition %v", V, H, got, want)
		}
		// The one-bit estimate averages to the exact value over many rows.
		const reps = 4000
		big := make([]float32, 0, reps*V)
		for k := 0; k < reps; k++ {
			big = append(big, x[(k%n)*V:(k%n+1)*V]...)
		}
		est, err := m.PseudoLogLikelihoodOneBit(big, reps, 9)
		if err != nil {
			t.Fatal(err)
		}
		if V > 1 && math.Abs(est-want) > 0.1*math.Abs(want)+0.5 {
			t.Errorf("%d×%d: one-bit estimate %v, exact %v", V, H, est, want)
		}
	}
}

// For an RBM without hidden units' influence (W = 0), p(v_i | rest) = σ(±b_i).
func TestPseudoLogLikelihoodIndependentUnits(t *testing.T) {
	m, _ := NewRBM(2, 1, 1)
	m.W[0], m.W[1] = 0, 0
	m.VBias[0], m.VBias[1] = 0, 2
	got, _ := m.PseudoLogLikelihood([]float32{1, 0}, 1)
	want := math.Log(0.5) + math.Log(1-1/(1+math.Exp(-2)))
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("PLL %v, want %v", got, want)
	}
	if _, err := m.PseudoLogLikelihood([]float32{1}, 1); err == nil {
		t.Error("short data: no error")
	}
}
