package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// CompileBM implements BMCompiler: the BM step lowered to the launch table
// and run on the host driver (Go kernels), like Compile.
func (hostBackend) CompileBM(cfg graph.BMConfig, seed uint64) (BMProgram, error) {
	return onHostDriver(func(b *DeviceBackend) (BMProgram, error) { return b.CompileBM(cfg, seed) })
}

// CompileBM implements BMCompiler: build the BM step graph, lower it (two
// bm_gibbs_f32 launches, the statistics as gemm terms, bm_mask_f32, the
// column sums and the monitor), and plan the memory: one allocation holding
// the plan's buffers, the momentum and the reconstruction accumulator. A
// step is the plan's launches, then two sgd_update_f32 (W, biases), the
// chain carry and the monitor accumulation (col_sum_f32 as axpby); nothing
// is copied back until Model, State or ReconError.
func (b *DeviceBackend) CompileBM(cfg graph.BMConfig, seed uint64) (BMProgram, error) {
	step, err := graph.BuildBMStep(cfg, &graph.RNG{Seed: seed})
	if err != nil {
		return nil, err
	}
	plan, err := lower.Lower(step)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Label, err)
	}
	for _, name := range []string{"v0", "W", "bias", "mask", "chain"} {
		if plan.Inputs[name] == nil {
			return nil, fmt.Errorf("%s: lowered BM plan has no input %q", b.Label, name)
		}
	}
	cfg = step.Config
	N := cfg.Visible + cfg.Hidden
	p := &bmDevProgram{devCore: newDevCore(b, plan, step.RNG, cfg.Batch, cfg.Visible), step: step}
	p.velW, p.velB = p.extra("velocity.W", N*N), p.extra("velocity.bias", N)
	if err := p.allocate(); err != nil {
		return nil, err
	}
	return p, nil
}

// bmDevProgram is a lowered BM step: the devCore plus the BM's momentum.
type bmDevProgram struct {
	devCore
	step       *graph.BMStep
	velW, velB *lower.Buffer
}

// SetModel implements BMProgram.
func (p *bmDevProgram) SetModel(m *models.BM) error {
	if err := checkBMModel(p.label, p.step.Config, m); err != nil {
		return err
	}
	in := p.plan.Inputs
	if err := p.upload(in["W"], m.W); err != nil {
		return err
	}
	if err := p.upload(in["bias"], m.Bias); err != nil {
		return err
	}
	return p.upload(in["mask"], m.Mask)
}

// Model implements BMProgram.
func (p *bmDevProgram) Model(dst *models.BM) error {
	if err := checkBMModel(p.label, p.step.Config, dst); err != nil {
		return err
	}
	in := p.plan.Inputs
	if err := p.download(dst.W, in["W"]); err != nil {
		return err
	}
	if err := p.download(dst.Bias, in["bias"]); err != nil {
		return err
	}
	return p.download(dst.Mask, in["mask"])
}

// SetState implements BMProgram.
func (p *bmDevProgram) SetState(s TrainState) error {
	if err := checkBMState(p.label, p.step.Config, s); err != nil {
		return err
	}
	if err := p.upload(p.velW, s.VelW); err != nil {
		return err
	}
	if err := p.upload(p.velB, s.VelVBias); err != nil {
		return err
	}
	if err := p.upload(p.plan.Inputs["chain"], s.Chains); err != nil {
		return err
	}
	p.rng.Step = s.RNGStep
	return nil
}

// State implements BMProgram.
func (p *bmDevProgram) State() (TrainState, error) {
	chain := p.plan.Inputs["chain"]
	s := TrainState{VelW: make([]float32, p.velW.Len()), VelVBias: make([]float32, p.velB.Len()),
		Chains: make([]float32, chain.Len()), RNGStep: p.rng.Step}
	if err := p.download(s.VelW, p.velW); err != nil {
		return s, err
	}
	if err := p.download(s.VelVBias, p.velB); err != nil {
		return s, err
	}
	return s, p.download(s.Chains, chain)
}

// buildTail prepares the launches after the plan's for update u: the
// parameter updates, the chain carry, the monitor accumulation.
func (p *bmDevProgram) buildTail(u Update) {
	out, in := p.plan.Outputs, p.plan.Inputs
	p.tail = append(p.tail[:0],
		p.sgd(in["W"], p.velW, out["GradW"], u, u.WeightDecay, "update W"),
		p.sgd(in["bias"], p.velB, out["GradBias"], u, 0, "update bias"))
	p.tail = append(p.tail, p.carryAndMonitor()...)
	p.tailU = u
}

// StepBatches implements BatchStepper: one upload of n consecutive
// mini-batches, then n steps reading them in place.
func (p *bmDevProgram) StepBatches(batches []float32, n int, u Update) error {
	return p.stepBatches(batches, n, u, p)
}

// Step implements BMProgram.
func (p *bmDevProgram) Step(batch []float32, u Update) error { return p.uploadAndRun(batch, u, p) }

// run launches one step on the data v0's arguments point at.
func (p *bmDevProgram) run(u Update) error {
	if err := p.launchPlan(); err != nil {
		return err
	}
	if p.tail == nil || u != p.tailU {
		p.buildTail(u)
	}
	return p.launchTail()
}
