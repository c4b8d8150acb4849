package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// ar1 returns C stationary AR(1) traces x_t = φ x_{t−1} + √(1−φ²) ε_t of
// n values, each started at x_0 = start(c) (0: stationary start).
func ar1(phi float64, C, n int, seed uint64, start func(c int) float64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 99))
	out := make([][]float64, C)
	for c := range out {
		x := r.NormFloat64()
		if start != nil {
			x = start(c)
		}
		tr := make([]float64, n)
		for i := range tr {
			x = phi*x + math.Sqrt(1-phi*phi)*r.NormFloat64()
			tr[i] = x
		}
		out[c] = tr
	}
	return out
}

// TestChainMixingAR1: the integrated autocorrelation time of AR(1) traces
// is (1+φ)/(1−φ); the effective sample size follows; stationary chains
// have R̂ ≈ 1 and chains far from their stationary law R̂ ≫ 1.
func TestChainMixingAR1(t *testing.T) {
	for _, c := range []struct {
		phi, tol float64
	}{
		{0, 0.05},
		{0.5, 0.08},
		{0.9, 0.12},
	} {
		want := (1 + c.phi) / (1 - c.phi)
		m, err := ChainMixing(ar1(c.phi, 8, 20000, 1, nil))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Tau-want)/want > c.tol {
			t.Errorf("φ = %v: τ = %.3f, want %.3f ± %.0f%%", c.phi, m.Tau, want, 100*c.tol)
		}
		if math.Abs(m.ESS-8*20000/m.Tau) > 1e-6 || !m.Converged {
			t.Errorf("φ = %v: ESS %v (τ %v), converged %v", c.phi, m.ESS, m.Tau, m.Converged)
		}
		if m.RHat > 1.01 {
			t.Errorf("φ = %v: stationary chains have R̂ = %v", c.phi, m.RHat)
		}
	}
	far, err := ChainMixing(ar1(0.99, 4, 200, 2, func(c int) float64 { return 20 * float64(c) }))
	if err != nil {
		t.Fatal(err)
	}
	if far.RHat < 1.5 {
		t.Errorf("chains started far apart: R̂ = %v, want ≫ 1", far.RHat)
	}
	if far.Converged {
		t.Errorf("a slow trace of 200 values met the window condition (τ %v, W %d)", far.Tau, far.Window)
	}
}

func TestChainMixingEdges(t *testing.T) {
	m, err := ChainMixing([][]float64{{2, 2, 2, 2, 2}})
	if err != nil || m.Tau != 1 || m.ESS != 5 || !math.IsNaN(m.RHat) {
		t.Errorf("constant trace: %+v, %v", m, err)
	}
	for _, c := range []struct {
		traces [][]float64
		want   string
	}{
		{nil, "no chains"},
		{[][]float64{{1, 2, 3}}, "need at least 4"},
		{[][]float64{{1, 2, 3, 4}, {1, 2, 3}}, "chain 1 has 3 values"},
		{[][]float64{{1, 2, math.NaN(), 4}}, "value 2 is NaN"},
	} {
		if _, err := ChainMixing(c.traces); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.traces, err, c.want)
		}
	}
}
