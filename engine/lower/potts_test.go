package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The Potts step lowers to one sweep launch, the chains' pair statistics
// as one GEMM of one-hot states (f_ij(a,b) = S₋ᵀS₋), the masked coupling
// gradient, the chains' column sums and the field gradient, and the
// misfit's reduction; the inputs are the declared ones.
func TestLowerPottsStep(t *testing.T) {
	s, err := graph.BuildPottsStep(graph.PottsConfig{Sites: 7, States: 3, Batch: 4, Chains: 9, Sweeps: 2}, &graph.RNG{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(s)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, l := range p.Launches {
		count[l.Kernel]++
		if l.Kernel == kernels.PottsGibbsF32 && l.Step == nil {
			t.Error("the sweep launch does not take the step's RNG counter")
		}
	}
	want := map[string]int{kernels.PottsGibbsF32: 1, kernels.GemmF32: 1, kernels.PottsGradF32: 3, kernels.ColSumF32: 1,
		kernels.SqDiffPartialF32: 1, kernels.SumF32: 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d launches of %s, want %d (plan %v)", count[k], k, n, count)
		}
	}
	for _, name := range []string{"v0", "W", "bias", graph.NamePottsF1, graph.NamePottsF2, "chain"} {
		if p.Inputs[name] == nil {
			t.Errorf("plan has no input %q", name)
		}
	}
	for _, o := range []string{graph.OutGradW, graph.OutGradBias, graph.OutReconErr, graph.OutNewChain} {
		if p.Outputs[o] == nil {
			t.Errorf("plan has no output %q", o)
		}
	}
}
