package models

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// TestGRBMAISMatchesExact: on small Gaussian RBMs, from weak to strong
// interactions, the AIS estimate of log Z agrees with the exact sum over
// the hidden states within its own interval and within a fixed bound.
func TestGRBMAISMatchesExact(t *testing.T) {
	cases := []struct {
		name      string
		V, H      int
		wscale    float64
		seed      uint64
		betas     int
		tolerance float64 // nats
	}{
		{"weak 5x4", 5, 4, 0.2, 1, 500, 0.02},
		{"medium 8x10", 8, 10, 0.5, 2, 1000, 0.05},
		{"strong 12x12", 12, 12, 0.8, 3, 3000, 0.1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := randomGRBM(rand.New(rand.NewPCG(c.seed, 7)), c.V, c.H)
			for i := range m.W {
				m.W[i] *= float32(c.wscale / 0.5)
			}
			want, err := m.LogZ()
			if err != nil {
				t.Fatal(err)
			}
			r, err := m.AIS(context.Background(), AISConfig{Runs: 200, Betas: Betas(c.betas), Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("AIS %.4f [%.4f, %.4f], exact %.4f", r.LogZ, r.LogZLo, r.LogZHi, want)
			if d := math.Abs(r.LogZ - want); d > c.tolerance {
				t.Errorf("AIS log Z %.4f, exact %.4f: off by %.4f > %.3f", r.LogZ, want, d, c.tolerance)
			}
			if !(r.LogZLo <= want+c.tolerance && want-c.tolerance <= r.LogZHi) {
				t.Errorf("exact %.4f outside the interval [%.4f, %.4f]", want, r.LogZLo, r.LogZHi)
			}
			if r.Runs != 200 || r.Steps != c.betas || len(r.LogWeights) != 200 {
				t.Errorf("runs %d, steps %d, %d weights", r.Runs, r.Steps, len(r.LogWeights))
			}
			var base float64
			for _, z := range m.LogVar {
				base += 0.5 * (math.Log(2*math.Pi) + float64(z))
			}
			base += float64(c.H) * math.Ln2
			if math.Abs(r.LogZBase-base) > 1e-12 {
				t.Errorf("log Z_0 %v, want %v", r.LogZBase, base)
			}
		})
	}
}

// TestGRBMAISDeterministic: the same config gives the same weights for
// any number of workers; another seed gives other weights.
func TestGRBMAISDeterministic(t *testing.T) {
	m := randomGRBM(rand.New(rand.NewPCG(5, 6)), 7, 9)
	cfg := AISConfig{Runs: 37, Betas: Betas(200), Seed: 3}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first []float64
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		r, err := m.AIS(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r.LogWeights
			continue
		}
		for i := range first {
			if r.LogWeights[i] != first[i] {
				t.Fatalf("GOMAXPROCS %d: log weight %d = %v, with 1: %v", procs, i, r.LogWeights[i], first[i])
			}
		}
	}
	cfg.Seed = 4
	r, err := m.AIS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.LogWeights[0] == first[0] {
		t.Error("another seed gave the same first weight")
	}
}

// TestGRBMAISErrors: bad configurations and a cancelled context are
// errors saying what is wrong.
func TestGRBMAISErrors(t *testing.T) {
	m := randomGRBM(rand.New(rand.NewPCG(1, 2)), 3, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bad := *m
	bad.LogVar = []float32{0, float32(math.NaN()), 0}
	for _, c := range []struct {
		name string
		m    *GRBM
		ctx  context.Context
		cfg  AISConfig
		want string
	}{
		{"runs", m, context.Background(), AISConfig{Runs: -1}, "Runs = -1"},
		{"betas", m, context.Background(), AISConfig{Betas: []float64{0, 0.7}}, "betas"},
		{"base", m, context.Background(), AISConfig{BaseVBias: []float32{0, 0, 0}}, "BaseVBias must be nil"},
		{"model", &bad, context.Background(), AISConfig{}, "not finite"},
		{"cancelled", m, ctx, AISConfig{Betas: Betas(10)}, "canceled"},
	} {
		_, err := c.m.AIS(c.ctx, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
