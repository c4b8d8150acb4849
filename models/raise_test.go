package models_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// exactSamples draws n exact samples of a small RBM (H ≤ 16): h from its
// marginal p(h) ∝ exp(cᵀh + Σ_i softplus(b_i + (Wh)_i)) by enumeration and
// the inverse CDF, then v ~ p(v | h).
func exactSamples(m *models.RBM, n int, seed uint64) []float32 {
	V, H := m.V, m.H
	logp := make([]float64, 1<<H)
	act := func(h int, i int) float64 {
		a := float64(m.VBias[i])
		for j := 0; j < H; j++ {
			if h>>j&1 == 1 {
				a += float64(m.W[i*H+j])
			}
		}
		return a
	}
	top := math.Inf(-1)
	for h := range logp {
		l := 0.0
		for j := 0; j < H; j++ {
			if h>>j&1 == 1 {
				l += float64(m.HBias[j])
			}
		}
		for i := 0; i < V; i++ {
			l += models.Softplus(act(h, i))
		}
		logp[h] = l
		top = max(top, l)
	}
	cum := make([]float64, len(logp))
	acc := 0.0
	for h, l := range logp {
		acc += math.Exp(l - top)
		cum[h] = acc
	}
	s := kernels.Stream{Seed: seed, Op: 0x5A3E}
	x := make([]float32, n*V)
	for r := 0; r < n; r++ {
		u := float64(s.Uniform(uint64(r*(V+1)))) * acc
		h := 0
		for h < len(cum)-1 && cum[h] <= u {
			h++
		}
		for i := 0; i < V; i++ {
			if float64(s.Uniform(uint64(r*(V+1)+1+i))) < models.Sigmoid(act(h, i)) {
				x[r*V+i] = 1
			}
		}
	}
	return x
}

// TestRAISESandwich checks, on models small enough to enumerate, that the
// exact log Z lies between the AIS estimate (a stochastic lower bound) and
// the RAISE estimate on exact model samples (a stochastic upper bound).
func TestRAISESandwich(t *testing.T) {
	for i, tc := range []struct {
		v, h  int
		wstd  float64
		steps int
	}{{20, 10, 2, 20}, {30, 12, 1.5, 20}, {50, 14, 1.5, 20}, {40, 16, 1.5, 50}} {
		m := gaussRBM(tc.v, tc.h, tc.wstd, 1, uint64(500+i))
		want := exactLogZ(t, m)
		const n = 200
		x := exactSamples(m, n, uint64(i))
		base := models.BaseRateBias(x, n, m.V, 1)
		cfg := models.AISConfig{Runs: n, Betas: models.Betas(tc.steps), Seed: uint64(i), BaseVBias: base}
		aisCfg := cfg
		// AIS from the uniform base at these short schedules: its bias is
		// well above its noise, as RAISE's is (from the base rate).
		aisCfg.Runs, aisCfg.BaseVBias = 500, nil
		lo, err := m.AIS(context.Background(), aisCfg)
		if err != nil {
			t.Fatal(err)
		}
		hi, err := m.RAISE(context.Background(), x, n, cfg)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%dx%d std %g, %d β", tc.v, tc.h, tc.wstd, tc.steps)
		t.Logf("%s: AIS %.4f ≤ exact %.4f ≤ RAISE %.4f [%.4f, %.4f]", name, lo.LogZ, want, hi.LogZ, hi.LogZLo, hi.LogZHi)
		if !(lo.LogZ <= want && want <= hi.LogZ) {
			t.Errorf("%s: exact log Z %.4f not between AIS %.4f and RAISE %.4f", name, want, lo.LogZ, hi.LogZ)
		}
		if hi.Rows != n || hi.Steps != tc.steps || len(hi.LogProbs) != n {
			t.Errorf("%s: rows %d, steps %d, %d log-probabilities", name, hi.Rows, hi.Steps, len(hi.LogProbs))
		}
		ll := m.AvgLogLikelihoodRAISE(x, n, hi)
		exactLL, err := m.LogLikelihood(x, n)
		if err != nil {
			t.Fatal(err)
		}
		if !(ll <= exactLL && ll >= exactLL-1) {
			t.Errorf("%s: RAISE LL %.4f, exact %.4f: want within 1 nat below", name, ll, exactLL)
		}
	}
}

// TestRAISEConverges checks that the RAISE error shrinks as the schedule
// grows, to within 0.05 nats of the exact log Z at 5,000 β.
func TestRAISEConverges(t *testing.T) {
	m := gaussRBM(30, 12, 1, 1, 77)
	want := exactLogZ(t, m)
	const n = 100
	x := exactSamples(m, n, 9)
	base := models.BaseRateBias(x, n, m.V, 1)
	prev := math.Inf(1)
	for _, steps := range []int{10, 100, 1000, 5000} {
		r, err := m.RAISE(context.Background(), x, n, models.AISConfig{Betas: models.Betas(steps), Seed: 3, BaseVBias: base})
		if err != nil {
			t.Fatal(err)
		}
		e := r.LogZ - want
		t.Logf("%5d β: RAISE %.4f, exact %.4f: %+.4f", steps, r.LogZ, want, e)
		if math.Abs(e) >= prev {
			t.Errorf("%d β: error %+.4f not below the previous %.4f", steps, e, prev)
		}
		prev = math.Abs(e)
	}
	if prev > 0.05 {
		t.Errorf("error %.4f at 5,000 β, want ≤ 0.05", prev)
	}
}

// TestRAISEErrors checks the input checks.
func TestRAISEErrors(t *testing.T) {
	m := gaussRBM(5, 3, 0.1, 1, 1)
	x := make([]float32, 10)
	for _, tc := range []struct {
		name string
		x    []float32
		n    int
		cfg  models.AISConfig
	}{
		{"no rows", x, 0, models.AISConfig{}},
		{"short data", x, 3, models.AISConfig{}},
		{"bad schedule", x, 2, models.AISConfig{Betas: []float64{0, 0.5}}},
		{"bad base", x, 2, models.AISConfig{BaseVBias: make([]float32, 4)}},
	} {
		if _, err := m.RAISE(context.Background(), tc.x, tc.n, tc.cfg); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
