package engine

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/host"
	"github.com/rbmgpu/rbmgpu/models"
)

// CompileBM implements BMCompiler: the BM step lowered to the launch table
// and run on the host driver (Go kernels), like Compile.
func (hostBackend) CompileBM(cfg graph.BMConfig, seed uint64) (BMProgram, error) {
	drv := host.NewDriver()
	p, err := (&DeviceBackend{Driver: drv, Label: "cpu"}).CompileBM(cfg, seed)
	if err != nil {
		drv.Close()
		return nil, err
	}
	p.(*bmDevProgram).ownsDriver = true
	return p, nil
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
	p := &bmDevProgram{drv: b.Driver, label: b.Label, step: step, plan: plan, offsets: map[*lower.Buffer]int{}}
	extra := func(name string, n int) *lower.Buffer {
		return &lower.Buffer{ID: -1, Name: name, Rows: 1, Cols: n, Kind: lower.Input}
	}
	p.velW, p.velB, p.reconAcc = extra("velocity.W", N*N), extra("velocity.bias", N), extra("recon_acc", 1)
	// Mini-batches arrive in chunks (StepBatches), as for an RBM: one copy
	// per chunk instead of a synchronous copy per step.
	p.chunkBatches = max(1, min(ChunkBatches, (256<<20)/(4*cfg.Batch*cfg.Visible)))
	p.chunk = extra("data_chunk", p.chunkBatches*cfg.Batch*cfg.Visible)
	all := append(append([]*lower.Buffer(nil), plan.Buffers...), p.velW, p.velB, p.reconAcc, p.chunk)
	const align = 256
	total := 0
	for _, buf := range all {
		p.offsets[buf] = total
		total += (4*buf.Len() + align - 1) / align * align
	}
	base, err := b.Driver.Alloc(total)
	if err != nil {
		return nil, fmt.Errorf("%s: allocate %d bytes of device memory: %w", b.Label, total, err)
	}
	p.base = base
	if err := b.Driver.CopyHtoD(base, make([]byte, total)); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s: clear device memory: %w", b.Label, err)
	}
	p.args = make([][]any, len(plan.Launches))
	for i, l := range plan.Launches {
		args := make([]any, len(l.Args))
		for j, a := range l.Args {
			switch {
			case a.Buf != nil:
				args[j] = p.ptr(a.Buf)
			case a.Null:
				args[j] = kernels.DevicePtr(0)
			case a.IsStep:
				args[j] = uint64(0)
			default:
				args[j] = a.Value
			}
		}
		p.args[i] = args
		for j, a := range l.Args {
			if a.Buf == plan.Inputs["v0"] {
				p.v0Args = append(p.v0Args, [2]int{i, j})
			}
		}
	}
	return p, nil
}

type bmDevProgram struct {
	drv          kernels.Driver
	label        string
	step         *graph.BMStep
	plan         *lower.Plan
	base         kernels.DevicePtr
	offsets      map[*lower.Buffer]int
	args         [][]any
	velW, velB   *lower.Buffer
	reconAcc     *lower.Buffer
	chunk        *lower.Buffer
	chunkBatches int
	v0Args       [][2]int // (launch, argument) pairs that point at v0
	tail         []tailLaunch
	tailU        Update
	reconN       int
	ownsDriver   bool
	closed       bool
}

func (p *bmDevProgram) ptr(b *lower.Buffer) kernels.DevicePtr {
	return p.base + kernels.DevicePtr(p.offsets[b])
}

func (p *bmDevProgram) upload(b *lower.Buffer, x []float32) error {
	if len(x) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, want %d", p.label, b.Name, len(x), b.Len())
	}
	if err := p.drv.CopyHtoD(p.ptr(b), kernels.Float32Bytes(x)); err != nil {
		return fmt.Errorf("%s: upload %s: %w", p.label, b.Name, err)
	}
	return nil
}

func (p *bmDevProgram) download(dst []float32, b *lower.Buffer) error {
	if len(dst) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, destination %d", p.label, b.Name, b.Len(), len(dst))
	}
	if err := p.drv.CopyDtoH(kernels.Float32Bytes(dst), p.ptr(b)); err != nil {
		return fmt.Errorf("%s: download %s: %w", p.label, b.Name, err)
	}
	return nil
}

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
	p.step.RNG.Step = s.RNGStep
	return nil
}

func (p *bmDevProgram) State() (TrainState, error) {
	chain := p.plan.Inputs["chain"]
	s := TrainState{VelW: make([]float32, p.velW.Len()), VelVBias: make([]float32, p.velB.Len()),
		Chains: make([]float32, chain.Len()), RNGStep: p.step.RNG.Step}
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
	sgd := func(param, vel, grad *lower.Buffer, decay float32, note string) tailLaunch {
		n := param.Len()
		return tailLaunch{kernels.SGDUpdateF32, kernels.ElementwiseGrid(n), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
			[]any{int32(n), p.ptr(param), p.ptr(vel), p.ptr(grad), u.LR, u.Momentum, decay}, note}
	}
	axpby := func(n int, x *lower.Buffer, beta float32, y *lower.Buffer, note string) tailLaunch {
		return tailLaunch{kernels.ColSumF32, kernels.ColSumGrid(n), kernels.Dim3{X: 32, Y: 8, Z: 1},
			[]any{int32(1), int32(n), float32(1), p.ptr(x), beta, p.ptr(y)}, note}
	}
	chain := in["chain"]
	p.tail = append(p.tail[:0],
		sgd(in["W"], p.velW, out["GradW"], u.WeightDecay, "update W"),
		sgd(in["bias"], p.velB, out["GradBias"], 0, "update bias"),
		axpby(chain.Len(), out["NewChain"], 0, chain, "carry chains"),
		axpby(1, out["ReconErr"], 1, p.reconAcc, "accumulate reconstruction error"))
	p.tailU = u
}

// MaxBatches implements BatchStepper.
func (p *bmDevProgram) MaxBatches() int { return p.chunkBatches }

// StepBatches implements BatchStepper: one upload of n consecutive
// mini-batches, then n steps reading them in place.
func (p *bmDevProgram) StepBatches(batches []float32, n int, u Update) error {
	cfg := p.step.Config
	size := cfg.Batch * cfg.Visible
	if n < 1 || n > p.chunkBatches || len(batches) != n*size {
		return fmt.Errorf("%s: %d values for %d batches of %d×%d (at most %d batches)", p.label, len(batches), n, cfg.Batch, cfg.Visible, p.chunkBatches)
	}
	if p.closed {
		return fmt.Errorf("%s: program is closed", p.label)
	}
	if err := p.drv.CopyHtoD(p.ptr(p.chunk), kernels.Float32Bytes(batches)); err != nil {
		return fmt.Errorf("%s: upload data: %w", p.label, err)
	}
	defer p.pointV0(p.ptr(p.plan.Inputs["v0"]))
	for i := 0; i < n; i++ {
		p.pointV0(p.ptr(p.chunk) + kernels.DevicePtr(4*i*size))
		if err := p.run(u); err != nil {
			return err
		}
	}
	return nil
}

func (p *bmDevProgram) pointV0(at kernels.DevicePtr) {
	for _, ij := range p.v0Args {
		p.args[ij[0]][ij[1]] = at
	}
}

func (p *bmDevProgram) Step(batch []float32, u Update) error {
	if p.closed {
		return fmt.Errorf("%s: program is closed", p.label)
	}
	if err := p.upload(p.plan.Inputs["v0"], batch); err != nil {
		return err
	}
	return p.run(u)
}

// run launches one step on the data v0's arguments point at.
func (p *bmDevProgram) run(u Update) error {
	var step any = p.step.RNG.Step // one boxed counter for every sampling launch
	for i, l := range p.plan.Launches {
		args := p.args[i]
		for j, a := range l.Args {
			if a.IsStep {
				args[j] = step
			}
		}
		if err := p.drv.Launch(l.Kernel, l.Grid, l.Block, args...); err != nil {
			return fmt.Errorf("%s: launch %d (%s: %s): %w", p.label, i, l.Kernel, l.Note, err)
		}
	}
	p.step.RNG.Step++
	if p.tail == nil || u != p.tailU {
		p.buildTail(u)
	}
	for _, l := range p.tail {
		if err := p.drv.Launch(l.kernel, l.grid, l.block, l.args...); err != nil {
			return fmt.Errorf("%s: %s: %w", p.label, l.note, err)
		}
	}
	p.reconN++
	return nil
}

func (p *bmDevProgram) ReconError() (float64, error) {
	if p.reconN == 0 {
		return math.NaN(), nil
	}
	if err := p.drv.Synchronize(); err != nil {
		return math.NaN(), fmt.Errorf("%s: %w", p.label, err)
	}
	acc := []float32{0}
	if err := p.download(acc, p.reconAcc); err != nil {
		return math.NaN(), err
	}
	r := float64(acc[0]) / float64(p.reconN)
	p.reconN = 0
	if err := p.upload(p.reconAcc, []float32{0}); err != nil {
		return r, err
	}
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return r, fmt.Errorf("reconstruction error is %v", r)
	}
	return r, nil
}

func (p *bmDevProgram) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var err error
	if p.base != 0 {
		err = p.drv.Free(p.base)
	}
	if p.ownsDriver {
		if cerr := p.drv.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
