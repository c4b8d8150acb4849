package bench

import (
	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// compileRBM compiles the CD/PCD step of cfg on be and loads m with zero
// velocities and, for PCD, the given chains (C×V). exec.Program's tensors
// start at zero, so only the parameters and chains are set.
func compileRBM(be engine.Backend, cfg graph.StepConfig, seed uint64, m *models.RBM, chains []float32) (exec.Program, error) {
	s, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: seed})
	if err != nil {
		return nil, err
	}
	prog, err := be.Compile(s)
	if err != nil {
		return nil, err
	}
	set := map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias}
	if cfg.Persistent {
		if chains == nil {
			chains = make([]float32, cfg.NegativeRows()*cfg.Visible)
		}
		set[graph.NameChains] = chains
	}
	for n, x := range set {
		if err := prog.Set(n, x); err != nil {
			prog.Close()
			return nil, err
		}
	}
	return prog, nil
}

// rbmOf copies the program's RBM parameters into m.
func rbmOf(prog exec.Program, m *models.RBM) error {
	for n, x := range map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias} {
		if _, err := prog.Get(n, x); err != nil {
			return err
		}
	}
	return nil
}
