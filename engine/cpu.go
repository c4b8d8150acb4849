package engine

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// CPU is the reference CPU backend: it interprets the step graph with
// gorgonia's tape machine, compiled once per program. It is the oracle the
// lowered backends (Host, CUDA) are tested against; Host is the fast one.
type CPU struct{}

// Name implements Backend.
func (CPU) Name() string { return "cpu-tape" }

// Compile implements Backend.
func (CPU) Compile(cfg graph.StepConfig, seed uint64) (Program, error) {
	rng := &graph.RNG{Seed: seed}
	step, err := graph.BuildCDStep(cfg, rng)
	if err != nil {
		return nil, err
	}
	return newCPUProgram(step, nil)
}

// newCPUProgram binds the inputs of a CD-shaped step graph (the Gaussian
// step embeds one) plus extra and compiles its tape machine.
func newCPUProgram(step *graph.CDStep, extra map[*G.Node]*tensor.Dense) (*cpuProgram, error) {
	cfg := step.Config
	V, H, B, C := cfg.Visible, cfg.Hidden, cfg.Batch, cfg.NegativeRows()
	p := &cpuProgram{
		step:     step,
		w:        dense(V, H),
		vbias:    dense(V),
		hbias:    dense(H),
		velW:     make([]float32, V*H),
		velVBias: make([]float32, V),
		velHBias: make([]float32, H),
	}
	v0 := dense(B, V)
	binds := []tapeBind{{step.V0, v0}, {step.W, p.w}, {step.VBias, p.vbias}, {step.HBias, p.hbias}}
	if cfg.Persistent {
		p.chain = dense(C, V)
		binds = append(binds, tapeBind{step.Chain, p.chain})
	}
	for n, t := range extra {
		binds = append(binds, tapeBind{n, t})
	}
	var err error
	p.tapeCore, err = newTapeCore(step.Graph, step.RNG, v0, binds)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// cpuProgram is an RBM step on the tape (Bernoulli or, embedded in
// cpuGaussian, Gaussian visible units).
type cpuProgram struct {
	tapeCore
	step                     *graph.CDStep
	w, vbias, hbias, chain   *tensor.Dense
	velW, velVBias, velHBias []float32
	hiddenMean               []float32
	// afterRun, when set, runs after the graph's updates within Step (the
	// Gaussian RBM's log-variance update).
	afterRun func(u Update) error
}

// SetModel implements Program.
func (p *cpuProgram) SetModel(m *models.RBM) error {
	cfg := p.step.Config
	if m.V != cfg.Visible || m.H != cfg.Hidden {
		return fmt.Errorf("cpu backend: model is %d×%d, program is %d×%d", m.V, m.H, cfg.Visible, cfg.Hidden)
	}
	copy(f32(p.w), m.W)
	copy(f32(p.vbias), m.VBias)
	copy(f32(p.hbias), m.HBias)
	return nil
}

// Model implements Program.
func (p *cpuProgram) Model(dst *models.RBM) error {
	cfg := p.step.Config
	if dst.V != cfg.Visible || dst.H != cfg.Hidden || len(dst.W) != cfg.Visible*cfg.Hidden ||
		len(dst.VBias) != cfg.Visible || len(dst.HBias) != cfg.Hidden {
		return fmt.Errorf("cpu backend: destination model is %d×%d, program is %d×%d", dst.V, dst.H, cfg.Visible, cfg.Hidden)
	}
	copy(dst.W, f32(p.w))
	copy(dst.VBias, f32(p.vbias))
	copy(dst.HBias, f32(p.hbias))
	return nil
}

// SetState implements Program.
func (p *cpuProgram) SetState(s TrainState) error {
	cfg := p.step.Config
	check := func(name string, got, want int) error {
		if got != want {
			return fmt.Errorf("cpu backend: state %s has %d values, want %d", name, got, want)
		}
		return nil
	}
	if err := check("velocity W", len(s.VelW), cfg.Visible*cfg.Hidden); err != nil {
		return err
	}
	if err := check("velocity vbias", len(s.VelVBias), cfg.Visible); err != nil {
		return err
	}
	if err := check("velocity hbias", len(s.VelHBias), cfg.Hidden); err != nil {
		return err
	}
	if p.chain != nil {
		if err := check("chains", len(s.Chains), cfg.NegativeRows()*cfg.Visible); err != nil {
			return err
		}
		copy(f32(p.chain), s.Chains)
	}
	if s.HiddenMean != nil {
		if err := check("hidden mean", len(s.HiddenMean), cfg.Hidden); err != nil {
			return err
		}
		p.hiddenMean = append(p.hiddenMean[:0], s.HiddenMean...)
	} else {
		p.hiddenMean = nil
	}
	copy(p.velW, s.VelW)
	copy(p.velVBias, s.VelVBias)
	copy(p.velHBias, s.VelHBias)
	p.step.RNG.Step = s.RNGStep
	return nil
}

// State implements Program.
func (p *cpuProgram) State() (TrainState, error) {
	s := TrainState{
		VelW:     append([]float32(nil), p.velW...),
		VelVBias: append([]float32(nil), p.velVBias...),
		VelHBias: append([]float32(nil), p.velHBias...),
		RNGStep:  p.step.RNG.Step,
	}
	if p.chain != nil {
		s.Chains = append([]float32(nil), f32(p.chain)...)
	}
	if p.hiddenMean != nil {
		s.HiddenMean = append([]float32(nil), p.hiddenMean...)
	}
	return s, nil
}

// Step implements Program.
func (p *cpuProgram) Step(batch []float32, u Update) error {
	cfg := p.step.Config
	defer p.vm.Reset()
	if err := p.runGraph(batch, cfg.Batch, cfg.Visible, "step graph"); err != nil {
		return err
	}
	gw, err := values(p.step.GradW)
	if err != nil {
		return err
	}
	gvb, err := values(p.step.GradVBias)
	if err != nil {
		return err
	}
	ghb, err := values(p.step.GradHBias)
	if err != nil {
		return err
	}
	hmean, err := values(p.step.HMean)
	if err != nil {
		return err
	}
	recon, err := values(p.step.ReconErr)
	if err != nil {
		return err
	}
	p.count(recon)
	if u.SparsityCost != 0 {
		if p.hiddenMean == nil {
			p.hiddenMean = append([]float32(nil), hmean...)
		}
		for j, m := range hmean {
			p.hiddenMean[j] = 0.9*p.hiddenMean[j] + 0.1*m
		}
	}
	kernels.SGDUpdate(f32(p.w), p.velW, gw, u.LR, u.Momentum, u.WeightDecay)
	kernels.SGDUpdate(f32(p.vbias), p.velVBias, gvb, u.LR, u.Momentum, 0)
	if u.SparsityCost != 0 {
		// The bias step with the sparsity term folded into the gradient;
		// ghb belongs to the graph's output tensor, which the next run
		// overwrites, so adjusting it in place is safe.
		for j := range ghb {
			ghb[j] += u.SparsityCost * (u.SparsityTarget - p.hiddenMean[j])
		}
	}
	kernels.SGDUpdate(f32(p.hbias), p.velHBias, ghb, u.LR, u.Momentum, 0)
	if p.afterRun != nil {
		if err := p.afterRun(u); err != nil {
			return err
		}
	}
	if p.chain != nil {
		nc, err := values(p.step.NewChain)
		if err != nil {
			return err
		}
		copy(f32(p.chain), nc)
	}
	return nil
}
