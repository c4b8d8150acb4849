package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The BM step lowers with the existing lowerer plus its two custom ops: one
// bm_gibbs_f32 launch per phase, the statistics as gemm terms into one
// buffer, the mask as one bm_mask_f32 launch, column sums for the biases
// and the fused sigmoid gemm and reduction of the monitor.
func TestLowerBMStep(t *testing.T) {
	s, err := graph.BuildBMStep(graph.BMConfig{Visible: 6, Hidden: 3, Batch: 4, Chains: 5, Sweeps: 2}, &graph.RNG{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", p)
	count := map[string]int{}
	for _, l := range p.Launches {
		count[l.Kernel]++
		k, ok := kernels.Lookup(l.Kernel)
		if !ok || len(k.Args) != len(l.Args) {
			t.Fatalf("%s: %d arguments, table %+v", l.Kernel, len(l.Args), k)
		}
		for i, a := range k.Args {
			if a.Type.IsPtr() != (l.Args[i].Buf != nil || l.Args[i].Null) {
				t.Errorf("%s argument %d (%s): %+v", l.Kernel, i, a.Name, l.Args[i])
			}
		}
	}
	want := map[string]int{kernels.BMGibbsF32: 2, kernels.BMMaskF32: 1, kernels.GemmF32: 3, kernels.ColSumF32: 2,
		kernels.SqDiffPartialF32: 1, kernels.SumF32: 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d launches of %s, want %d", count[k], k, n)
		}
	}
	for _, name := range []string{"v0", "W", "bias", "mask", "chain"} {
		if p.Inputs[name] == nil {
			t.Errorf("no input %s", name)
		}
	}
	for _, name := range []string{"GradW", "GradBias", "ReconErr", "NewChain"} {
		if p.Outputs[name] == nil {
			t.Errorf("no output %s", name)
		}
	}
	if nc := p.Outputs["NewChain"]; nc.Rows != 5 || nc.Cols != 9 {
		t.Errorf("NewChain %d×%d", nc.Rows, nc.Cols)
	}
}
