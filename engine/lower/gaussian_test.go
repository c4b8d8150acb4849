package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The Gaussian RBM step lowers onto gemm_f32 and the grbm.cu kernels: the
// visible mean is one gemm with the bias in its epilogue (no sigmoid), the
// Gaussian draw, the precision scaling and the log-variance statistic are
// one launch each through the KernelOp hook.
func TestLowerGaussianCD1(t *testing.T) {
	for _, cfg := range []graph.StepConfig{
		{Visible: 5, Hidden: 3, Batch: 2, K: 1},
		{Visible: 6, Hidden: 4, Batch: 3, K: 2, Persistent: true, Chains: 5},
	} {
		s, err := graph.BuildGaussianStep(cfg, &graph.RNG{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Lower(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v:\n%s", cfg, p)
		count := map[string]int{}
		for _, l := range p.Launches {
			count[l.Kernel]++
			if err := l.Validate(); err != nil {
				t.Fatalf("launch %s: %v", l.Kernel, err)
			}
		}
		chains := 0
		if cfg.Persistent {
			chains = 1
		}
		want := map[string]int{
			kernels.GaussianSampleF32: cfg.K,
			kernels.ScaleExpNegF32:    1 + chains + cfg.K,
			kernels.LogVarGradF32:     1,
		}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("%+v %s: %d launches, want %d", cfg, k, count[k], n)
			}
		}
		for _, name := range []string{"GradW", "GradVBias", "GradHBias", "GradLogVar", "HMean", "ReconErr"} {
			if p.Outputs[name] == nil {
				t.Errorf("no output %s", name)
			}
		}
		if p.Inputs["logvar"] == nil {
			t.Error("no input logvar")
		}
		// σ fixed: the log-variance statistic and its two products go.
		fs, err := graph.BuildGaussianStepWith(cfg, &graph.RNG{Seed: 9}, graph.GaussianOptions{FixedVariance: true})
		if err != nil {
			t.Fatal(err)
		}
		fp, err := Lower(fs)
		if err != nil {
			t.Fatal(err)
		}
		if len(fp.Launches) != len(p.Launches)-3 || fp.Outputs["GradLogVar"] != nil {
			t.Errorf("%+v fixed variance: %d launches (learned: %d), GradLogVar %v", cfg, len(fp.Launches), len(p.Launches), fp.Outputs["GradLogVar"])
		}
	}
}
