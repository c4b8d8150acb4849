package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The Potts–Bernoulli RBM step lowers onto the RBM's GEMMs and Bernoulli
// hidden samples plus potts_visible_f32: one softmax launch for the
// reconstruction and one draw per Gibbs step, the draws taking the RNG
// counter; the inputs and outputs are the RBM step's.
func TestLowerPottsRBMStep(t *testing.T) {
	for _, cfg := range []graph.StepConfig{
		{Visible: 12, Hidden: 5, Batch: 3, K: 1},
		{Visible: 12, Hidden: 5, Batch: 3, K: 3, Persistent: true, Chains: 7},
	} {
		s, err := graph.BuildPottsRBMStep(cfg, 4, &graph.RNG{Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Lower(s)
		if err != nil {
			t.Fatal(err)
		}
		draws, probs := 0, 0
		for _, l := range p.Launches {
			if err := l.Validate(); err != nil {
				t.Fatalf("launch %s: %v", l.Kernel, err)
			}
			if l.Kernel != kernels.PottsVisibleF32 {
				continue
			}
			if a := l.Args.(*kernels.PottsVisibleF32Args); a.Mode == kernels.PottsVisibleSample {
				draws++
				if l.Step == nil {
					t.Errorf("%+v: a visible draw does not take the RNG counter", cfg)
				}
			} else {
				probs++
			}
		}
		if draws != cfg.K || probs != 1 {
			t.Errorf("%+v: %d draws and %d softmax launches, want %d and 1\n%s", cfg, draws, probs, cfg.K, p)
		}
		for _, name := range []string{graph.OutGradW, graph.OutGradVBias, graph.OutGradHBias, graph.OutHMean, graph.OutReconErr} {
			if p.Outputs[name] == nil {
				t.Errorf("%+v: no output %s", cfg, name)
			}
		}
		if cfg.Persistent && p.Outputs[graph.OutNewChain] == nil {
			t.Errorf("%+v: no output NewChain", cfg)
		}
	}
	if _, err := graph.BuildPottsRBMStep(graph.StepConfig{Visible: 10, Hidden: 2, Batch: 1, K: 1}, 3, &graph.RNG{}); err == nil {
		t.Error("10 visible units as sites of 3 states: no error")
	}
}
