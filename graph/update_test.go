package graph

import (
	"fmt"
	"strings"
	"testing"
)

// opString renders an update op compactly for the table below.
func opString(op UpdateOp) string {
	switch op.Kind {
	case Fill:
		return fmt.Sprintf("fill %s=%g", op.Out, op.Value)
	case Axpby:
		return fmt.Sprintf("%s=%g*%s+%g*%s", op.Out, op.Alpha, op.X, op.Beta, op.Out)
	case SGD:
		return fmt.Sprintf("sgd %s vel=%s grad=%s lr=%g mom=%g decay=%g", op.Out, op.Vel, op.Grad, op.LR, op.Momentum, op.Decay)
	case ClampMin:
		return fmt.Sprintf("clamp %s>=%g", op.Out, op.Value)
	case L1:
		return fmt.Sprintf("l1 %s-=%g*sign(%s)", op.Grad, op.Value, op.Out)
	}
	return "?"
}

// The declared update expands to the documented op sequence for every
// step kind: sparsity first (q ← m on the first update, then 0.9q + 0.1m),
// SGD per parameter with decay on W only, the σ floor after logvar's
// update, the chains carried last.
func TestUpdates(t *testing.T) {
	cd, err := BuildCDStep(StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 1, Persistent: true}, &RNG{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := BuildGaussianStepWith(StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 1}, &RNG{Seed: 1}, GaussianOptions{MinLogVar: -2})
	if err != nil {
		t.Fatal(err)
	}
	bm, err := BuildBMStep(BMConfig{Visible: 4, Hidden: 2, Batch: 2, Sweeps: 1}, &RNG{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := Hyper{LR: 0.5, Momentum: 0.25, WeightDecay: 0.125, SparsityTarget: 0.1, SparsityCost: 2}
	sgdW := "sgd W vel=velocity.W grad=GradW lr=0.5 mom=0.25 decay=0.125"
	rbm := []string{sgdW, "sgd vbias vel=velocity.vbias grad=GradVBias lr=0.5 mom=0.25 decay=0",
		"sgd hbias vel=velocity.hbias grad=GradHBias lr=0.5 mom=0.25 decay=0"}
	sparse := func(alpha, beta float32) []string {
		return []string{"fill sparsity_target=0.1", fmt.Sprintf("hidden_mean=%g*HMean+%g*hidden_mean", alpha, beta),
			"GradHBias=-2*hidden_mean+1*GradHBias", "GradHBias=2*sparsity_target+1*GradHBias"}
	}
	for _, c := range []struct {
		name  string
		s     Declared
		h     Hyper
		first bool
		want  []string
	}{
		{"rbm pcd, sparsity, first", cd, h, true, append(append(sparse(1, 0), rbm...), "chains=1*NewChain+0*chains")},
		{"rbm pcd, sparsity", cd, h, false, append(append(sparse(0.1, 0.9), rbm...), "chains=1*NewChain+0*chains")},
		{"rbm pcd, no sparsity", cd, Hyper{LR: 0.5, Momentum: 0.25, WeightDecay: 0.125}, false, append(append([]string{}, rbm...), "chains=1*NewChain+0*chains")},
		{"grbm, learned σ", gs, Hyper{LR: 0.5, Momentum: 0.25, WeightDecay: 0.125}, false,
			append(append([]string{}, rbm...), "sgd logvar vel=velocity.logvar grad=GradLogVar lr=0.5 mom=0.25 decay=0", "clamp logvar>=-2")},
		{"rbm pcd, L1 on W only", cd, Hyper{LR: 0.5, Momentum: 0.25, WeightDecay: 0.125, L1: 0.03125}, false,
			append(append([]string{"l1 GradW-=0.03125*sign(W)"}, rbm...), "chains=1*NewChain+0*chains")},
		{"bm", bm, h, true, []string{sgdW, "sgd bias vel=velocity.bias grad=GradBias lr=0.5 mom=0.25 decay=0", "chains=1*NewChain+0*chains"}},
	} {
		var got []string
		for _, op := range Updates(c.s, c.h, c.first) {
			got = append(got, opString(op))
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	st, err := UpdateState(cd)
	if err != nil {
		t.Fatal(err)
	}
	want := "velocity.W:12 velocity.vbias:4 velocity.hbias:3 hidden_mean:3(optional) sparsity_target:3(scratch)"
	var parts []string
	for _, s := range st {
		p := fmt.Sprintf("%s:%d", s.Name, s.Len)
		if s.Optional {
			p += "(optional)"
		}
		if s.Scratch {
			p += "(scratch)"
		}
		parts = append(parts, p)
	}
	if got := strings.Join(parts, " "); got != want {
		t.Errorf("UpdateState = %s, want %s", got, want)
	}
}
