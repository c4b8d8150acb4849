package engine

import (
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// CompileBM implements BMCompiler: the BM step graph on gorgonia's tape
// machine, the reference the lowered backends are tested against.
func (CPU) CompileBM(cfg graph.BMConfig, seed uint64) (BMProgram, error) {
	step, err := graph.BuildBMStep(cfg, &graph.RNG{Seed: seed})
	if err != nil {
		return nil, err
	}
	cfg = step.Config
	V, N, B, C := cfg.Visible, cfg.Visible+cfg.Hidden, cfg.Batch, cfg.Chains
	p := &bmCPUProgram{step: step, w: dense(N, N), bias: dense(N), mask: dense(N, N), chain: dense(C, N),
		velW: make([]float32, N*N), velB: make([]float32, N)}
	v0 := dense(B, V)
	p.tapeCore, err = newTapeCore(step.Graph, step.RNG, v0,
		[]tapeBind{{step.V0, v0}, {step.W, p.w}, {step.Bias, p.bias}, {step.Mask, p.mask}, {step.Chain, p.chain}})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// bmCPUProgram is a BM step on the tape.
type bmCPUProgram struct {
	tapeCore
	step                 *graph.BMStep
	w, bias, mask, chain *tensor.Dense
	velW, velB           []float32
}

// SetModel implements BMProgram.
func (p *bmCPUProgram) SetModel(m *models.BM) error {
	if err := checkBMModel("cpu backend", p.step.Config, m); err != nil {
		return err
	}
	copy(f32(p.w), m.W)
	copy(f32(p.bias), m.Bias)
	copy(f32(p.mask), m.Mask)
	return nil
}

// Model implements BMProgram.
func (p *bmCPUProgram) Model(dst *models.BM) error {
	if err := checkBMModel("cpu backend", p.step.Config, dst); err != nil {
		return err
	}
	copy(dst.W, f32(p.w))
	copy(dst.Bias, f32(p.bias))
	copy(dst.Mask, f32(p.mask))
	return nil
}

// SetState implements BMProgram.
func (p *bmCPUProgram) SetState(s TrainState) error {
	if err := checkBMState("cpu backend", p.step.Config, s); err != nil {
		return err
	}
	copy(p.velW, s.VelW)
	copy(p.velB, s.VelVBias)
	copy(f32(p.chain), s.Chains)
	p.step.RNG.Step = s.RNGStep
	return nil
}

// State implements BMProgram.
func (p *bmCPUProgram) State() (TrainState, error) {
	return TrainState{
		VelW:     append([]float32(nil), p.velW...),
		VelVBias: append([]float32(nil), p.velB...),
		Chains:   append([]float32(nil), f32(p.chain)...),
		RNGStep:  p.step.RNG.Step,
	}, nil
}

// Step implements BMProgram.
func (p *bmCPUProgram) Step(batch []float32, u Update) error {
	cfg := p.step.Config
	defer p.vm.Reset()
	if err := p.runGraph(batch, cfg.Batch, cfg.Visible, "BM step graph"); err != nil {
		return err
	}
	gw, err := values(p.step.GradW)
	if err != nil {
		return err
	}
	gb, err := values(p.step.GradBias)
	if err != nil {
		return err
	}
	recon, err := values(p.step.ReconErr)
	if err != nil {
		return err
	}
	nc, err := values(p.step.NewChain)
	if err != nil {
		return err
	}
	p.count(recon)
	kernels.SGDUpdate(f32(p.w), p.velW, gw, u.LR, u.Momentum, u.WeightDecay)
	kernels.SGDUpdate(f32(p.bias), p.velB, gb, u.LR, u.Momentum, 0)
	copy(f32(p.chain), nc)
	return nil
}
