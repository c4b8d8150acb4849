package lower

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The centred RBM step lowers onto the ordinary step's kernels: the
// offsets' running averages are column sums, the rank-one corrections of
// ΔW are K = 1 gemm terms added into the gradient's buffer, and ΔW·λ and
// μᵀΔW are two small gemms; no new kernel.
func TestLowerCentered(t *testing.T) {
	for _, cfg := range []graph.StepConfig{
		{Visible: 5, Hidden: 3, Batch: 2, K: 1},
		{Visible: 6, Hidden: 4, Batch: 3, K: 2, Persistent: true, Chains: 5},
	} {
		plain, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		pp, err := Lower(plain)
		if err != nil {
			t.Fatal(err)
		}
		s, err := graph.BuildCenteredStep(cfg, 0.01, &graph.RNG{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Lower(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v:\n%s", cfg, p)
		count := func(p *Plan) map[string]int {
			c := map[string]int{}
			for _, l := range p.Launches {
				c[l.Kernel]++
				if err := l.Validate(); err != nil {
					t.Fatalf("launch %s: %v", l.Kernel, err)
				}
			}
			return c
		}
		cp, cc := count(pp), count(p)
		for k := range cc {
			if cp[k] == 0 {
				t.Errorf("%+v: the centred plan launches %s, the plain one does not", cfg, k)
			}
		}
		// Gemms: the plain ones, 2 rank-one terms, ΔW·λ, μᵀΔW.
		if got, want := cc[kernels.GemmF32], cp[kernels.GemmF32]+4; got != want {
			t.Errorf("%+v: %d gemm launches, want %d", cfg, got, want)
		}
		for _, name := range []string{graph.OutGradW, graph.OutGradVBias, graph.OutGradHBias, graph.OutNewOffsetV, graph.OutNewOffsetH} {
			if p.Outputs[name] == nil {
				t.Errorf("no output %s", name)
			}
		}
		for _, name := range []string{graph.NameOffsetV, graph.NameOffsetH} {
			if p.Inputs[name] == nil {
				t.Errorf("no input %s", name)
			}
		}
	}
}
