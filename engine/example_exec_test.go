package engine_test

import (
	"fmt"
	"log"
	"math"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// Compile a CD-1 step graph on the default CPU backend and drive the
// program directly, below the Trainer: load the parameters by name, run
// three steps on one mini-batch with a declared update, read the weights
// back. Its tensors are the inputs W, vbias, hbias and the update's state:
// three velocities and the optional sparsity mean.
func ExampleHost() {
	step, err := graph.BuildCDStep(graph.StepConfig{Visible: 4, Hidden: 3, Batch: 2, K: 1}, &graph.RNG{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	prog, err := engine.Host().Compile(step)
	if err != nil {
		log.Fatal(err)
	}
	defer prog.Close()
	m, _ := models.NewRBM(4, 3, 1)
	for name, x := range map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias} {
		if err := prog.Set(name, x); err != nil {
			log.Fatal(err)
		}
	}
	batch := []float32{1, 0, 1, 0, 0, 1, 0, 1}
	h := graph.Hyper{LR: 0.1, Momentum: 0.5}
	for i := 0; i < 3; i++ {
		if err := prog.Step(batch, 1, h); err != nil {
			log.Fatal(err)
		}
	}
	recon, err := prog.ReconError()
	if err != nil {
		log.Fatal(err)
	}
	w := make([]float32, 12)
	if _, err := prog.Get(graph.NameW, w); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d tensors, %d steps run, weights moved: %v, recon finite: %v\n",
		len(prog.Tensors()), prog.RNGStep(), w[0] != m.W[0], !math.IsNaN(recon))
	// Output: 7 tensors, 3 steps run, weights moved: true, recon finite: true
}
