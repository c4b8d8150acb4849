package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// DeviceBackend executes step graphs lowered to the kernel launch table
// (package engine/lower) on a kernels.Driver: the real CUDA driver, the
// CPU emulator of the CUDA sources, or any other implementation. All state
// — parameters, momentum, chains, the data batch, every intermediate —
// lives in one device allocation made at Compile; the host synchronises
// only in ReconError, Model and State.
type DeviceBackend struct {
	Driver kernels.Driver
	Label  string // Name(), e.g. "cuda:0" or "emu"
}

// Name implements Backend.
func (b *DeviceBackend) Name() string { return b.Label }

// Compile implements Backend: build the graph, lower it, plan the memory.
func (b *DeviceBackend) Compile(cfg graph.StepConfig, seed uint64) (Program, error) {
	rng := &graph.RNG{Seed: seed}
	step, err := graph.BuildCDStep(cfg, rng)
	if err != nil {
		return nil, err
	}
	p, err := b.compile(step, step)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// compile lowers s, whose CD-shaped handles (configuration, RNG) are step,
// and plans the device memory for its buffers, the training state and more
// (buffers of a caller's own, e.g. the Gaussian RBM's log-variance momentum).
func (b *DeviceBackend) compile(s graph.Step, step *graph.CDStep, more ...*lower.Buffer) (*devProgram, error) {
	plan, err := lower.Lower(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Label, err)
	}
	cfg := step.Config
	p := &devProgram{devCore: newDevCore(b, plan, step.RNG, cfg.Batch, cfg.Visible), step: step}
	p.extras = append(p.extras, more...)
	V, H := cfg.Visible, cfg.Hidden
	// State beside the plan's own buffers.
	p.velW, p.velVB, p.velHB = p.extra("velocity.W", V*H), p.extra("velocity.vbias", V), p.extra("velocity.hbias", H)
	p.hiddenMean, p.target = p.extra("hidden_mean", H), p.extra("sparsity_target", H)
	if err := p.allocate(); err != nil {
		return nil, err
	}
	for _, name := range []string{"v0", "W", "vbias", "hbias"} {
		if plan.Inputs[name] == nil {
			p.Close()
			return nil, fmt.Errorf("%s: lowered plan has no input %q", b.Label, name)
		}
	}
	return p, nil
}

// devProgram is a lowered RBM step (Bernoulli or, embedded in devGaussian,
// Gaussian visible units): the devCore plus the RBM's momentum and the
// sparsity state.
type devProgram struct {
	devCore
	step *graph.CDStep

	velW, velVB, velHB, hiddenMean, target *lower.Buffer
	targetSet                              float32

	hiddenMeanSet bool
	tailFirst     bool
	// moreTail, when set, adds launches after the parameter updates (the
	// Gaussian RBM's log-variance update).
	moreTail func(u Update) []tailLaunch
}

// SetModel implements Program.
func (p *devProgram) SetModel(m *models.RBM) error {
	cfg := p.step.Config
	if m.V != cfg.Visible || m.H != cfg.Hidden {
		return fmt.Errorf("%s: model is %d×%d, program is %d×%d", p.label, m.V, m.H, cfg.Visible, cfg.Hidden)
	}
	if err := p.upload(p.plan.Inputs["W"], m.W); err != nil {
		return err
	}
	if err := p.upload(p.plan.Inputs["vbias"], m.VBias); err != nil {
		return err
	}
	return p.upload(p.plan.Inputs["hbias"], m.HBias)
}

// Model implements Program.
func (p *devProgram) Model(dst *models.RBM) error {
	if err := p.download(dst.W, p.plan.Inputs["W"]); err != nil {
		return err
	}
	if err := p.download(dst.VBias, p.plan.Inputs["vbias"]); err != nil {
		return err
	}
	return p.download(dst.HBias, p.plan.Inputs["hbias"])
}

// SetState implements Program.
func (p *devProgram) SetState(s TrainState) error {
	if err := p.upload(p.velW, s.VelW); err != nil {
		return err
	}
	if err := p.upload(p.velVB, s.VelVBias); err != nil {
		return err
	}
	if err := p.upload(p.velHB, s.VelHBias); err != nil {
		return err
	}
	if chain := p.plan.Inputs["chain"]; chain != nil {
		if err := p.upload(chain, s.Chains); err != nil {
			return err
		}
	}
	p.hiddenMeanSet = s.HiddenMean != nil
	if p.hiddenMeanSet {
		if err := p.upload(p.hiddenMean, s.HiddenMean); err != nil {
			return err
		}
	}
	p.step.RNG.Step = s.RNGStep
	return nil
}

// State implements Program.
func (p *devProgram) State() (TrainState, error) {
	cfg := p.step.Config
	s := TrainState{
		VelW:     make([]float32, cfg.Visible*cfg.Hidden),
		VelVBias: make([]float32, cfg.Visible),
		VelHBias: make([]float32, cfg.Hidden),
		RNGStep:  p.step.RNG.Step,
	}
	for _, d := range []struct {
		dst []float32
		b   *lower.Buffer
	}{{s.VelW, p.velW}, {s.VelVBias, p.velVB}, {s.VelHBias, p.velHB}} {
		if err := p.download(d.dst, d.b); err != nil {
			return s, err
		}
	}
	if chain := p.plan.Inputs["chain"]; chain != nil {
		s.Chains = make([]float32, chain.Len())
		if err := p.download(s.Chains, chain); err != nil {
			return s, err
		}
	}
	if p.hiddenMeanSet {
		s.HiddenMean = make([]float32, cfg.Hidden)
		if err := p.download(s.HiddenMean, p.hiddenMean); err != nil {
			return s, err
		}
	}
	return s, nil
}

// buildTail prepares the launches that follow the plan for update u.
func (p *devProgram) buildTail(u Update) error {
	out, in := p.plan.Outputs, p.plan.Inputs
	H := p.step.Config.Hidden
	p.tail = p.tail[:0]
	p.tailU, p.tailFirst = u, !p.hiddenMeanSet
	if u.SparsityCost != 0 {
		// q ← 0.9 q + 0.1 mean p(h|v0) (q ← mean on the first step), then
		// grad_c += cost·target − cost·q; all as axpby launches.
		beta, alpha := float32(0.9), float32(0.1)
		if !p.hiddenMeanSet {
			beta, alpha = 0, 1
		}
		if p.targetSet != u.SparsityTarget {
			target := make([]float32, H)
			for j := range target {
				target[j] = u.SparsityTarget
			}
			if err := p.upload(p.target, target); err != nil {
				return err
			}
			p.targetSet = u.SparsityTarget
		}
		p.tail = append(p.tail,
			p.colSum(1, H, alpha, out["HMean"], beta, p.hiddenMean, "sparsity: running mean"),
			p.colSum(1, H, -u.SparsityCost, p.hiddenMean, 1, out["GradHBias"], "sparsity: −cost·q"),
			p.colSum(1, H, u.SparsityCost, p.target, 1, out["GradHBias"], "sparsity: +cost·target"))
	}
	p.tail = append(p.tail,
		p.sgd(in["W"], p.velW, out["GradW"], u, u.WeightDecay, "update W"),
		p.sgd(in["vbias"], p.velVB, out["GradVBias"], u, 0, "update vbias"),
		p.sgd(in["hbias"], p.velHB, out["GradHBias"], u, 0, "update hbias"))
	if p.moreTail != nil {
		p.tail = append(p.tail, p.moreTail(u)...)
	}
	p.tail = append(p.tail, p.carryAndMonitor()...)
	return nil
}

// StepBatches implements BatchStepper: one upload of n consecutive
// mini-batches, then n steps reading them in place.
func (p *devProgram) StepBatches(batches []float32, n int, u Update) error {
	return p.stepBatches(batches, n, u, p)
}

// Step implements Program.
func (p *devProgram) Step(batch []float32, u Update) error { return p.uploadAndRun(batch, u, p) }

// run launches one step on the data v0's arguments point at.
func (p *devProgram) run(u Update) error {
	if err := p.launchPlan(); err != nil {
		return err
	}
	if u != p.tailU || p.tail == nil || p.tailFirst != !p.hiddenMeanSet {
		if err := p.buildTail(u); err != nil {
			return err
		}
	}
	if u.SparsityCost != 0 {
		p.hiddenMeanSet = true
	}
	return p.launchTail()
}
