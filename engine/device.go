package engine

import (
	"fmt"
	"math"

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
	p := &devProgram{drv: b.Driver, label: b.Label, step: step, plan: plan, offsets: map[*lower.Buffer]int{}}
	p.extras = append(p.extras, more...)
	V, H := cfg.Visible, cfg.Hidden
	// State beside the plan's own buffers.
	extra := func(name string, n int) *lower.Buffer {
		buf := &lower.Buffer{ID: -1, Name: name, Rows: 1, Cols: n, Kind: lower.Input}
		p.extras = append(p.extras, buf)
		return buf
	}
	p.velW, p.velVB, p.velHB = extra("velocity.W", V*H), extra("velocity.vbias", V), extra("velocity.hbias", H)
	p.hiddenMean, p.target, p.reconAcc = extra("hidden_mean", H), extra("sparsity_target", H), extra("recon_acc", 1)
	// Data arrive in chunks of up to ChunkBatches mini-batches (at most
	// 256 MiB): one host→device copy per chunk instead of one synchronous
	// copy per step, which would stall the host on every step's kernels.
	p.chunkBatches = max(1, min(ChunkBatches, (256<<20)/(4*cfg.Batch*V)))
	p.chunk = extra("data_chunk", p.chunkBatches*cfg.Batch*V)
	all := append(append([]*lower.Buffer(nil), plan.Buffers...), p.extras...)
	const align = 256 // bytes: cudaMalloc alignment, so every buffer is coalescing-friendly
	total := 0
	for _, buf := range all {
		p.offsets[buf] = total
		total += (4*buf.Len() + align - 1) / align * align
	}
	base, err := b.Driver.Alloc(total)
	if err != nil {
		return nil, fmt.Errorf("%s: allocate %d bytes of device memory: %w", b.Label, total, err)
	}
	p.base, p.bytes = base, total
	// Zero everything once: momentum starts at zero and the accumulators too.
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
	}
	for i, l := range plan.Launches {
		for j, a := range l.Args {
			if a.Buf == plan.Inputs["v0"] {
				p.v0Args = append(p.v0Args, [2]int{i, j})
			}
		}
	}
	for _, name := range []string{"v0", "W", "vbias", "hbias"} {
		if plan.Inputs[name] == nil {
			p.Close()
			return nil, fmt.Errorf("%s: lowered plan has no input %q", b.Label, name)
		}
	}
	return p, nil
}

type devProgram struct {
	drv     kernels.Driver
	label   string
	step    *graph.CDStep
	plan    *lower.Plan
	base    kernels.DevicePtr
	bytes   int
	offsets map[*lower.Buffer]int
	extras  []*lower.Buffer
	args    [][]any

	velW, velVB, velHB, hiddenMean, target, reconAcc *lower.Buffer
	chunk                                            *lower.Buffer
	chunkBatches                                     int
	v0Args                                           [][2]int // (launch, argument) pairs that point at v0
	targetSet                                        float32

	ownsDriver    bool // close the driver with the program (Host backend)
	hiddenMeanSet bool
	tail          []tailLaunch
	tailU         Update
	tailFirst     bool
	reconN        int
	closed        bool
	// moreTail, when set, adds launches after the parameter updates (the
	// Gaussian RBM's log-variance update).
	moreTail func(u Update) []tailLaunch
}

func (p *devProgram) ptr(b *lower.Buffer) kernels.DevicePtr {
	return p.base + kernels.DevicePtr(p.offsets[b])
}

func (p *devProgram) upload(b *lower.Buffer, x []float32) error {
	if len(x) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, want %d", p.label, b.Name, len(x), b.Len())
	}
	if err := p.drv.CopyHtoD(p.ptr(b), kernels.Float32Bytes(x)); err != nil {
		return fmt.Errorf("%s: upload %s: %w", p.label, b.Name, err)
	}
	return nil
}

func (p *devProgram) download(dst []float32, b *lower.Buffer) error {
	if len(dst) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, destination %d", p.label, b.Name, b.Len(), len(dst))
	}
	if err := p.drv.CopyDtoH(kernels.Float32Bytes(dst), p.ptr(b)); err != nil {
		return fmt.Errorf("%s: download %s: %w", p.label, b.Name, err)
	}
	return nil
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

// tailLaunch is a launch after the plan's own: sparsity, the parameter
// updates, carrying the chains, accumulating the reconstruction error. Its
// arguments are boxed once when the update's hyperparameters change (once
// per epoch), so the steps in between allocate nothing for them.
type tailLaunch struct {
	kernel      string
	grid, block kernels.Dim3
	args        []any
	note        string
}

// colSum is out = alpha·Σ_rows X + beta·out over an M×N view; with M = 1 it
// is an axpby, which is how the program copies and accumulates vectors
// without kernels of their own.
func (p *devProgram) colSum(M, N int, alpha float32, x *lower.Buffer, beta float32, out *lower.Buffer, note string) tailLaunch {
	return tailLaunch{kernels.ColSumF32, kernels.ColSumGrid(N), kernels.Dim3{X: 32, Y: 8, Z: 1},
		[]any{int32(M), int32(N), alpha, p.ptr(x), beta, p.ptr(out)}, note}
}

// sgd is the update vel = momentum·vel + lr·(grad − decay·param); param += vel.
func (p *devProgram) sgd(param, vel, grad *lower.Buffer, u Update, decay float32, note string) tailLaunch {
	n := param.Len()
	return tailLaunch{kernels.SGDUpdateF32, kernels.ElementwiseGrid(n), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
		[]any{int32(n), p.ptr(param), p.ptr(vel), p.ptr(grad), u.LR, u.Momentum, decay}, note}
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
	if chain := in["chain"]; chain != nil {
		p.tail = append(p.tail, p.colSum(1, chain.Len(), 1, out["NewChain"], 0, chain, "carry chains"))
	}
	p.tail = append(p.tail, p.colSum(1, 1, 1, out["ReconErr"], 1, p.reconAcc, "accumulate reconstruction error"))
	return nil
}

// ChunkBatches is the most mini-batches a DeviceBackend program uploads
// in one copy (see StepBatches).
const ChunkBatches = 64

// MaxBatches implements BatchStepper.
func (p *devProgram) MaxBatches() int { return p.chunkBatches }

// StepBatches implements BatchStepper: one upload of n consecutive
// mini-batches, then n steps reading them in place.
func (p *devProgram) StepBatches(batches []float32, n int, u Update) error {
	cfg := p.step.Config
	size := cfg.Batch * cfg.Visible
	if n < 1 || n > p.chunkBatches || len(batches) != n*size {
		return fmt.Errorf("%s: %d values for %d batches of %d×%d (at most %d batches)", p.label, len(batches), n, cfg.Batch, cfg.Visible, p.chunkBatches)
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

func (p *devProgram) pointV0(at kernels.DevicePtr) {
	for _, ij := range p.v0Args {
		p.args[ij[0]][ij[1]] = at
	}
}

// Step implements Program.
func (p *devProgram) Step(batch []float32, u Update) error {
	if err := p.upload(p.plan.Inputs["v0"], batch); err != nil {
		return err
	}
	return p.run(u)
}

// run launches one step on the data v0's arguments point at.
func (p *devProgram) run(u Update) error {
	if p.closed {
		return fmt.Errorf("%s: program is closed", p.label)
	}
	// One boxed step counter serves every sampling launch of the step: the
	// only allocation of a step (8 bytes).
	var step any = p.step.RNG.Step
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
	if u != p.tailU || p.tail == nil || p.tailFirst != !p.hiddenMeanSet {
		if err := p.buildTail(u); err != nil {
			return err
		}
	}
	if u.SparsityCost != 0 {
		p.hiddenMeanSet = true
	}
	for _, l := range p.tail {
		if err := p.drv.Launch(l.kernel, l.grid, l.block, l.args...); err != nil {
			return fmt.Errorf("%s: %s: %w", p.label, l.note, err)
		}
	}
	p.reconN++
	return nil
}

// ReconError implements Program.
func (p *devProgram) ReconError() (float64, error) {
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

// Close implements Program.
func (p *devProgram) Close() error {
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
