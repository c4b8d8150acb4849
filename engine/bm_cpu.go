package engine

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
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
	p := &bmCPUProgram{step: step, v0: dense(B, V), w: dense(N, N), bias: dense(N), mask: dense(N, N), chain: dense(C, N),
		velW: make([]float32, N*N), velB: make([]float32, N)}
	for _, b := range []struct {
		n *G.Node
		t *tensor.Dense
	}{{step.V0, p.v0}, {step.W, p.w}, {step.Bias, p.bias}, {step.Mask, p.mask}, {step.Chain, p.chain}} {
		if err := G.Let(b.n, b.t); err != nil {
			return nil, fmt.Errorf("cpu backend: bind %s: %w", b.n.Name(), err)
		}
	}
	p.vm = G.NewTapeMachine(step.Graph)
	return p, nil
}

type bmCPUProgram struct {
	step                     *graph.BMStep
	vm                       G.VM
	v0, w, bias, mask, chain *tensor.Dense
	velW, velB               []float32
	reconSum                 float64
	reconN                   int
}

func (p *bmCPUProgram) SetModel(m *models.BM) error {
	if err := checkBMModel("cpu backend", p.step.Config, m); err != nil {
		return err
	}
	copy(f32(p.w), m.W)
	copy(f32(p.bias), m.Bias)
	copy(f32(p.mask), m.Mask)
	return nil
}

func (p *bmCPUProgram) Model(dst *models.BM) error {
	if err := checkBMModel("cpu backend", p.step.Config, dst); err != nil {
		return err
	}
	copy(dst.W, f32(p.w))
	copy(dst.Bias, f32(p.bias))
	copy(dst.Mask, f32(p.mask))
	return nil
}

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

func (p *bmCPUProgram) State() (TrainState, error) {
	return TrainState{
		VelW:     append([]float32(nil), p.velW...),
		VelVBias: append([]float32(nil), p.velB...),
		Chains:   append([]float32(nil), f32(p.chain)...),
		RNGStep:  p.step.RNG.Step,
	}, nil
}

func (p *bmCPUProgram) Step(batch []float32, u Update) error {
	cfg := p.step.Config
	if len(batch) != cfg.Batch*cfg.Visible {
		return fmt.Errorf("cpu backend: batch has %d values, want %d×%d", len(batch), cfg.Batch, cfg.Visible)
	}
	copy(f32(p.v0), batch)
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return fmt.Errorf("cpu backend: run BM step graph: %w", err)
	}
	p.step.RNG.Step++
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
	p.reconSum += float64(recon[0])
	p.reconN++
	kernels.SGDUpdate(f32(p.w), p.velW, gw, u.LR, u.Momentum, u.WeightDecay)
	kernels.SGDUpdate(f32(p.bias), p.velB, gb, u.LR, u.Momentum, 0)
	copy(f32(p.chain), nc)
	return nil
}

func (p *bmCPUProgram) ReconError() (float64, error) {
	if p.reconN == 0 {
		return math.NaN(), nil
	}
	r := p.reconSum / float64(p.reconN)
	p.reconSum, p.reconN = 0, 0
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return r, fmt.Errorf("reconstruction error is %v", r)
	}
	return r, nil
}

func (p *bmCPUProgram) Close() error { return p.vm.Close() }
