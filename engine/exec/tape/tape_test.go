package tape

import (
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
)

// The tape runs the Adam rule: after the first step every parameter moved
// by about lr against the loss gradient (m̂ = d, v̂ = d² at t = 1) and the
// first moment holds 0.1·d; the hit count is carried into its input.
func TestAdamStep(t *testing.T) {
	names := []string{"l0.W", "l0.b", "out.W", "out.b"}
	s, err := graph.BuildMLPStep(graph.MLPConfig{Sizes: []int{3, 2, 2}, Batch: 2, Names: names, Rule: graph.RuleAdam})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Backend{}.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	init := map[string][]float32{"l0.W": {0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, "l0.b": {0.1, -0.1},
		"out.W": {0.2, -0.3, 0.5, 0.1}, "out.b": {0, 0.05}}
	for n, x := range init {
		if err := p.Set(n, x); err != nil {
			t.Fatal(err)
		}
	}
	batch := []float32{1, 0, 1, 1, 0, 0, 1, 1, 0, 1}
	const lr = 0.01
	for step := 1; step <= 2; step++ {
		if err := p.Step(batch, 1, graph.Hyper{LR: lr}); err != nil {
			t.Fatal(err)
		}
		if p.RNGStep() != uint64(step) {
			t.Errorf("step counter %d after %d steps", p.RNGStep(), step)
		}
		if step > 1 {
			continue
		}
		for n, x := range init {
			got, m := make([]float32, len(x)), make([]float32, len(x))
			if _, err := p.Get(n, got); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Get(graph.AdamMOf(n), m); err != nil {
				t.Fatal(err)
			}
			for i := range x {
				if m[i] == 0 {
					continue
				}
				want := math.Copysign(lr, float64(m[i]))
				if d := float64(got[i] - x[i]); math.Abs(d-want) > 1e-5 {
					t.Errorf("%s[%d] moved by %v, want about %v", n, i, d, want)
				}
			}
		}
	}
	hits := []float32{0}
	if _, err := p.Get(graph.NameHits, hits); err != nil || hits[0] < 0 || hits[0] > 4 {
		t.Errorf("hits %v (%v), want a count of at most 4", hits, err)
	}
	if r, err := p.ReconError(); err != nil || !(r > 0) {
		t.Errorf("mean loss %v (%v)", r, err)
	}
}
