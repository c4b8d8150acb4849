package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The PT step lowers to batched launches over all replicas: per Gibbs step
// one gemm with the bias epilogue and one pt_sample_f32 for each of h and
// v (R·C rows each), then the energies, the swaps and the counts as one
// launch each, the β = 1 rows copied out for the statistics; the fused
// sigmoid gemms are those of the positive phase, the reconstruction and
// p(h|v_k) only.
func TestLowerPTStep(t *testing.T) {
	const V, H, B, C, R, K = 6, 3, 4, 5, 3, 2
	s, err := graph.BuildPTStep(graph.StepConfig{Visible: V, Hidden: H, Batch: B, K: K, Persistent: true, Chains: C}, R, &graph.RNG{Seed: 3})
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
		if err := l.Validate(); err != nil {
			t.Errorf("%s: %v", l.Kernel, err)
		}
		if a, ok := l.Args.(*kernels.PTSampleF32Args); ok && (a.M != R*C || a.C != C) {
			t.Errorf("pt_sample over %d rows in replicas of %d, want %d of %d", a.M, a.C, R*C, C)
		}
	}
	want := map[string]int{kernels.PTSampleF32: 2*K + 1, kernels.PTEnergyF32: 1, kernels.PTSwapF32: 1,
		kernels.PTAcceptF32: 1, kernels.PTRowsF32: 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d launches of %s, want %d", count[k], k, n)
		}
	}
	if nc := p.Outputs[graph.OutNewChain]; nc.Rows != R*C || nc.Cols != V {
		t.Errorf("NewChain %d×%d, want %d×%d", nc.Rows, nc.Cols, R*C, V)
	}
	if sw := p.Outputs[graph.OutPTSwaps]; sw.Len() != 2*(R-1) {
		t.Errorf("PTSwaps has %d values", sw.Len())
	}
	for _, name := range []string{graph.NamePTBetas, graph.NamePTSwaps, "chain"} {
		if p.Inputs[name] == nil {
			t.Errorf("no input %s", name)
		}
	}
}
