package bench

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
)

// graphFLOPs adds 2·M·N·K over the matrix products of the step graph.
func graphFLOPs(t *testing.T, cfg graph.StepConfig) float64 {
	t.Helper()
	s, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var flops float64
	for _, n := range s.Graph.AllNodes() {
		if n.Op() == nil || n.Op().String() != "A × B" {
			continue
		}
		var in []tensor.Shape
		for it := s.Graph.From(n.ID()); it.Next(); {
			in = append(in, it.Node().(*G.Node).Shape())
		}
		if len(in) != 2 || len(in[0]) != 2 || len(in[1]) != 2 || in[0][1] != in[1][0] {
			t.Fatalf("matrix product %v with operands %v", n, in)
		}
		flops += 2 * float64(in[0][0]) * float64(in[0][1]) * float64(in[1][1])
	}
	return flops
}

// The cost model counts exactly the matrix products the graph holds.
func TestStepFLOPsMatchesGraph(t *testing.T) {
	for _, cfg := range []graph.StepConfig{
		{Visible: 7, Hidden: 5, Batch: 3, K: 1},
		{Visible: 7, Hidden: 5, Batch: 3, K: 2},
		{Visible: 13, Hidden: 4, Batch: 6, K: 10},
		{Visible: 7, Hidden: 5, Batch: 3, K: 1, Persistent: true},
		{Visible: 9, Hidden: 11, Batch: 4, K: 3, Persistent: true, Chains: 17},
	} {
		if got, want := StepFLOPs(cfg), graphFLOPs(t, cfg); got != want {
			t.Errorf("%+v: StepFLOPs = %v, graph has %v", cfg, got, want)
		}
	}
	// CD-1 of 784×500 at batch 100: 10·B·V·H.
	if got := StepFLOPs(graph.StepConfig{Visible: 784, Hidden: 500, Batch: 100, K: 1}); got != 10*100*784*500 {
		t.Errorf("CD-1 784×500 B100: %v FLOPs", got)
	}
}
