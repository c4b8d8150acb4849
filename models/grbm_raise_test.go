package models

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// grbmExactSamples draws n exact samples of a small GRBM: h from
// p(h) ∝ exp(cᵀh + Σ_i (b_i μ_i + μ_i²/2)/σ_i²), μ = Wh, by enumeration,
// then v ~ N(b + μ, σ²).
func grbmExactSamples(m *GRBM, n int, rng *rand.Rand) []float32 {
	V, H := m.V, m.H
	hs := hiddenStates(H)
	logp := make([]float64, len(hs))
	top := math.Inf(-1)
	for k, h := range hs {
		l := 0.0
		for j, hj := range h {
			l += float64(m.HBias[j]) * float64(hj)
		}
		for i := 0; i < V; i++ {
			mu := 0.0
			for j, hj := range h {
				mu += float64(m.W[i*H+j]) * float64(hj)
			}
			l += (float64(m.VBias[i])*mu + mu*mu/2) / math.Exp(float64(m.LogVar[i]))
		}
		logp[k] = l
		top = max(top, l)
	}
	cum, acc := make([]float64, len(hs)), 0.0
	for k, l := range logp {
		acc += math.Exp(l - top)
		cum[k] = acc
	}
	x := make([]float32, n*V)
	for r := 0; r < n; r++ {
		u, k := rng.Float64()*acc, 0
		for k < len(cum)-1 && cum[k] <= u {
			k++
		}
		for i := 0; i < V; i++ {
			mu := float64(m.VBias[i])
			for j, hj := range hs[k] {
				mu += float64(m.W[i*H+j]) * float64(hj)
			}
			x[r*V+i] = float32(mu + math.Exp(0.5*float64(m.LogVar[i]))*rng.NormFloat64())
		}
	}
	return x
}

// TestGRBMRAISE: on small Gaussian RBMs the exact log Z lies between AIS
// and RAISE from exact samples at short schedules, and RAISE approaches
// the exact value as the schedule grows.
func TestGRBMRAISE(t *testing.T) {
	for _, c := range []struct {
		V, H   int
		wscale float64
		seed   uint64
		tol    float64 // RAISE at 3000 β (its tail converges slowly on the strong model)
	}{{8, 10, 0.5, 2, 0.05}, {12, 12, 0.8, 3, 0.25}} {
		m := randomGRBM(rand.New(rand.NewPCG(c.seed, 7)), c.V, c.H)
		for i := range m.W {
			m.W[i] *= float32(c.wscale / 0.5)
		}
		want, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		x := grbmExactSamples(m, n, rand.New(rand.NewPCG(c.seed, 9)))
		lo, err := m.AIS(context.Background(), AISConfig{Runs: 500, Betas: Betas(10), Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		prev := math.Inf(1)
		for _, steps := range []int{10, 100, 3000} {
			hi, err := m.RAISE(context.Background(), x, n, AISConfig{Betas: Betas(steps), Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			e := hi.LogZ - want
			t.Logf("%dx%d, %4d β: AIS(10 β) %.4f, exact %.4f, RAISE %.4f [%.4f, %.4f] (%+.4f)", c.V, c.H, steps, lo.LogZ, want, hi.LogZ, hi.LogZLo, hi.LogZHi, e)
			if steps == 10 && !(lo.LogZ <= want && want <= hi.LogZ) {
				t.Errorf("%dx%d: exact %.4f not between AIS %.4f and RAISE %.4f", c.V, c.H, want, lo.LogZ, hi.LogZ)
			}
			if math.Abs(e) >= prev {
				t.Errorf("%dx%d, %d β: RAISE error %+.4f not below %.4f", c.V, c.H, steps, e, prev)
			}
			prev = math.Abs(e)
		}
		if prev > c.tol {
			t.Errorf("%dx%d: RAISE error %.4f at 3000 β, want ≤ %g", c.V, c.H, prev, c.tol)
		}
	}
	m := randomGRBM(rand.New(rand.NewPCG(1, 1)), 3, 2)
	if _, err := m.RAISE(context.Background(), make([]float32, 3), 1, AISConfig{BaseVBias: make([]float32, 3)}); err == nil {
		t.Error("BaseVBias accepted")
	}
	if _, err := m.RAISE(context.Background(), make([]float32, 2), 1, AISConfig{}); err == nil {
		t.Error("a short row accepted")
	}
}
