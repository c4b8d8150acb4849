package models_test

import (
	"context"
	"math"
	"runtime"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// blend returns (1-t)·a + t·b parameter-wise, then adds s·sin(k) ripples so
// that a path through blends is not a straight line.
func blend(a, b *models.RBM, t, ripple float64) *models.RBM {
	m := a.Clone()
	mix := func(dst, x, y []float32) {
		for k := range dst {
			dst[k] = float32((1-t)*float64(x[k]) + t*float64(y[k]) + ripple*math.Sin(float64(k)+7*t))
		}
	}
	mix(m.W, a.W, b.W)
	mix(m.VBias, a.VBias, b.VBias)
	mix(m.HBias, a.HBias, b.HBias)
	return m
}

// TestTrajectoryMatchesExact follows a curved path of models from the
// base-rate model to a strongly coupled one and compares the trajectory
// estimate with exact enumeration at every model.
func TestTrajectoryMatchesExact(t *testing.T) {
	tests := []struct {
		v, h  int
		wstd  float64
		steps int
	}{{20, 10, 0.5, 10}, {30, 16, 0.3, 8}, {60, 12, 0.25, 6}}
	for i, tc := range tests {
		target := gaussRBM(tc.v, tc.h, tc.wstd, 1, uint64(300+i))
		base := &models.RBM{V: tc.v, H: tc.h, W: make([]float32, tc.v*tc.h), VBias: target.VBias, HBias: make([]float32, tc.h)}
		tr, err := models.NewTrajectory(base.VBias, tc.h, models.TrajectoryConfig{Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if want := exactLogZ(t, base); math.Abs(tr.LogZ()-want) > 1e-9 {
			t.Fatalf("%dx%d: base log Z %.9f, exact %.9f", tc.v, tc.h, tr.LogZ(), want)
		}
		worst := 0.0
		for s := 1; s <= tc.steps; s++ {
			x := float64(s) / float64(tc.steps)
			m := blend(base, target, x*x, 0.05*x*(1-x))
			st, err := tr.Advance(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			want := exactLogZ(t, m)
			d := st.LogZ - want
			worst = max(worst, math.Abs(d))
			t.Logf("%dx%d model %2d: exact %10.4f trajectory %10.4f (%+.4f) steps %4d resamples %2d ESS %5.1f",
				tc.v, tc.h, s, want, st.LogZ, d, st.Steps, st.Resamples, st.ESS)
			if math.Abs(d) > 0.15 {
				t.Errorf("%dx%d model %d: trajectory log Z %.4f, exact %.4f: error %+.4f beyond 0.15", tc.v, tc.h, s, st.LogZ, want, d)
			}
		}
		t.Logf("%dx%d: worst error %.4f", tc.v, tc.h, worst)
	}
}

// TestTrajectoryDeterministic checks that the estimate is a function of the
// seed and the models only, whatever GOMAXPROCS.
func TestTrajectoryDeterministic(t *testing.T) {
	target := gaussRBM(40, 12, 0.3, 1, 7)
	run := func(seed uint64) float64 {
		tr, err := models.NewTrajectory(target.VBias, 12, models.TrajectoryConfig{Seed: seed, Chains: 64})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Advance(context.Background(), target); err != nil {
			t.Fatal(err)
		}
		return tr.LogZ()
	}
	a := run(1)
	prev := runtime.GOMAXPROCS(1)
	b := run(1)
	runtime.GOMAXPROCS(prev)
	if a != b {
		t.Errorf("GOMAXPROCS changed the estimate: %v vs %v", a, b)
	}
	if c := run(2); c == a {
		t.Errorf("another seed gave the same bits %v", c)
	}
}

// TestTrajectoryErrors checks the configuration and model checks.
func TestTrajectoryErrors(t *testing.T) {
	b := make([]float32, 5)
	for _, tc := range []struct {
		name string
		base []float32
		h    int
		cfg  models.TrajectoryConfig
	}{
		{"no visible", nil, 3, models.TrajectoryConfig{}},
		{"no hidden", b, 0, models.TrajectoryConfig{}},
		{"one chain", b, 3, models.TrajectoryConfig{Chains: 1}},
		{"CESS", b, 3, models.TrajectoryConfig{CESS: 1}},
		{"steps", b, 3, models.TrajectoryConfig{MinSteps: 10, MaxSteps: 5}},
		{"NaN base", []float32{0, float32(math.NaN())}, 3, models.TrajectoryConfig{}},
	} {
		if _, err := models.NewTrajectory(tc.base, tc.h, tc.cfg); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	tr, err := models.NewTrajectory(b, 3, models.TrajectoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Advance(context.Background(), gaussRBM(5, 4, 0.1, 1, 1)); err == nil {
		t.Error("Advance to a 5×4 model from a 5×3 trajectory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Advance(ctx, gaussRBM(5, 3, 0.1, 1, 1)); err == nil {
		t.Error("Advance with a cancelled context: no error")
	}
}
