package lower

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

func TestLowerCD1(t *testing.T) {
	s, err := graph.BuildCDStep(graph.StepConfig{Visible: 5, Hidden: 3, Batch: 2, K: 1}, &graph.RNG{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", p)
	count := map[string]int{}
	for _, l := range p.Launches {
		count[l.Kernel]++
	}
	// CD-1: 3 fused conditionals, 2 launches into one gradient buffer,
	// column sums of v0, v1, p0 (twice: HMean and the gradient), p1, and
	// the squared error in 2 launches.
	want := map[string]int{kernels.GemmF32: 5, kernels.ColSumF32: 5, kernels.SqDiffPartialF32: 1, kernels.SumF32: 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d launches, want %d", k, count[k], n)
		}
	}
	for _, name := range []string{"GradW", "GradVBias", "GradHBias", "HMean", "ReconErr"} {
		if p.Outputs[name] == nil {
			t.Errorf("no output %s", name)
		}
	}
	if !strings.Contains(p.String(), "Bernoulli") {
		t.Error("no fused sample")
	}
}
