package engine

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// devCore is the part of a lowered program that does not depend on the
// model: the single device allocation, the plan's bound launch arguments, the
// chunked data uploads, the plan launches, the tail launches, the
// reconstruction-error accumulator and Close. devProgram (RBM, Gaussian
// RBM) and bmDevProgram embed it and add their parameters and tails.
type devCore struct {
	drv            kernels.Driver
	label          string
	plan           *lower.Plan
	rng            *graph.RNG
	batch, visible int // mini-batch shape B×V of v0
	base           kernels.DevicePtr
	bytes          int
	offsets        map[*lower.Buffer]int
	extras         []*lower.Buffer // buffers beside the plan's: state, accumulators

	reconAcc, chunk *lower.Buffer
	chunkBatches    int
	v0Fields        []*kernels.DevicePtr // the plan's argument fields bound to v0
	v0Home          kernels.DevicePtr    // v0's own address (the chunk's slots follow c.chunk)

	tail       []tailLaunch
	tailU      Update
	reconN     int
	ownsDriver bool // close the driver with the program (Host backend)
	closed     bool
}

func newDevCore(b *DeviceBackend, plan *lower.Plan, rng *graph.RNG, batch, visible int) devCore {
	return devCore{drv: b.Driver, label: b.Label, plan: plan, rng: rng, batch: batch, visible: visible,
		offsets: map[*lower.Buffer]int{}}
}

// extra adds a buffer of n values beside the plan's own.
func (c *devCore) extra(name string, n int) *lower.Buffer {
	buf := &lower.Buffer{ID: -1, Name: name, Rows: 1, Cols: n, Kind: lower.Input}
	c.extras = append(c.extras, buf)
	return buf
}

// allocate adds the reconstruction accumulator and the data chunk, makes
// the one device allocation for the plan's buffers and the extras, clears
// it and writes every buffer's address into the plan's launch arguments
// (their pointer fields), so that steps allocate nothing for them.
func (c *devCore) allocate() error {
	c.reconAcc = c.extra("recon_acc", 1)
	// Data arrive in chunks of up to ChunkBatches mini-batches (at most
	// 256 MiB): one host→device copy per chunk instead of one synchronous
	// copy per step, which would stall the host on every step's kernels.
	c.chunkBatches = max(1, min(ChunkBatches, (256<<20)/(4*c.batch*c.visible)))
	c.chunk = c.extra("data_chunk", c.chunkBatches*c.batch*c.visible)
	all := append(append([]*lower.Buffer(nil), c.plan.Buffers...), c.extras...)
	const align = 256 // bytes: cudaMalloc alignment, so every buffer is coalescing-friendly
	total := 0
	for _, buf := range all {
		c.offsets[buf] = total
		total += (4*buf.Len() + align - 1) / align * align
	}
	base, err := c.drv.Alloc(total)
	if err != nil {
		return fmt.Errorf("%s: allocate %d bytes of device memory: %w", c.label, total, err)
	}
	c.base, c.bytes = base, total
	// Zero everything once: momentum starts at zero and the accumulators too.
	if err := c.drv.CopyHtoD(base, make([]byte, total)); err != nil {
		c.Close()
		return fmt.Errorf("%s: clear device memory: %w", c.label, err)
	}
	v0 := c.plan.Inputs["v0"]
	for _, l := range c.plan.Launches {
		for _, b := range l.Bind {
			*b.Field = 0 // NULL
			if b.Buf != nil {
				*b.Field = c.ptr(b.Buf)
			}
			if b.Buf != nil && b.Buf == v0 {
				c.v0Fields = append(c.v0Fields, b.Field)
			}
		}
	}
	c.v0Home = c.ptr(v0)
	return nil
}

func (c *devCore) ptr(b *lower.Buffer) kernels.DevicePtr {
	return c.base + kernels.DevicePtr(c.offsets[b])
}

func (c *devCore) upload(b *lower.Buffer, x []float32) error {
	if len(x) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, want %d", c.label, b.Name, len(x), b.Len())
	}
	if err := c.drv.CopyHtoD(c.ptr(b), kernels.Float32Bytes(x)); err != nil {
		return fmt.Errorf("%s: upload %s: %w", c.label, b.Name, err)
	}
	return nil
}

func (c *devCore) download(dst []float32, b *lower.Buffer) error {
	if len(dst) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, destination %d", c.label, b.Name, b.Len(), len(dst))
	}
	if err := c.drv.CopyDtoH(kernels.Float32Bytes(dst), c.ptr(b)); err != nil {
		return fmt.Errorf("%s: download %s: %w", c.label, b.Name, err)
	}
	return nil
}

// tailLaunch is a launch after the plan's own: sparsity, the parameter
// updates, carrying the chains, accumulating the reconstruction error. Its
// arguments are built once when the update's hyperparameters change (once
// per epoch), so the steps in between allocate nothing for them.
type tailLaunch struct {
	grid, block kernels.Dim3
	args        kernels.Args
	note        string
}

// colSum is out = alpha·Σ_rows X + beta·out over an M×N view; with M = 1 it
// is an axpby, which is how the program copies and accumulates vectors
// without kernels of their own.
func (c *devCore) colSum(M, N int, alpha float32, x *lower.Buffer, beta float32, out *lower.Buffer, note string) tailLaunch {
	return tailLaunch{kernels.ColSumGrid(N), kernels.Dim3{X: 32, Y: 8, Z: 1},
		&kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: alpha, X: c.ptr(x), Beta: beta, Out: c.ptr(out)}, note}
}

// sgd is the update vel = momentum·vel + lr·(grad − decay·param); param += vel.
func (c *devCore) sgd(param, vel, grad *lower.Buffer, u Update, decay float32, note string) tailLaunch {
	n := param.Len()
	return tailLaunch{kernels.ElementwiseGrid(n), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
		&kernels.SGDUpdateF32Args{N: int32(n), Param: c.ptr(param), Vel: c.ptr(vel), Grad: c.ptr(grad),
			Lr: u.LR, Momentum: u.Momentum, WeightDecay: decay}, note}
}

// carryAndMonitor are the launches that end every tail: the chains carried
// to the next step (when the plan has them) and the reconstruction error
// added to its accumulator.
func (c *devCore) carryAndMonitor() []tailLaunch {
	out, in := c.plan.Outputs, c.plan.Inputs
	var l []tailLaunch
	if chain := in["chain"]; chain != nil {
		l = append(l, c.colSum(1, chain.Len(), 1, out["NewChain"], 0, chain, "carry chains"))
	}
	return append(l, c.colSum(1, 1, 1, out["ReconErr"], 1, c.reconAcc, "accumulate reconstruction error"))
}

// ChunkBatches is the most mini-batches a DeviceBackend program uploads
// in one copy (see StepBatches).
const ChunkBatches = 64

// MaxBatches implements BatchStepper.
func (c *devCore) MaxBatches() int { return c.chunkBatches }

// devRunner runs one step of a lowered program on the data v0's arguments
// point at: the plan's launches, then the model's tail.
type devRunner interface {
	run(u Update) error
}

// stepBatches is StepBatches for r, the program embedding c: one upload of
// n consecutive mini-batches, then n steps reading them in place.
func (c *devCore) stepBatches(batches []float32, n int, u Update, r devRunner) error {
	size := c.batch * c.visible
	if n < 1 || n > c.chunkBatches || len(batches) != n*size {
		return fmt.Errorf("%s: %d values for %d batches of %d×%d (at most %d batches)", c.label, len(batches), n, c.batch, c.visible, c.chunkBatches)
	}
	if c.closed {
		return c.closedErr()
	}
	if err := c.drv.CopyHtoD(c.ptr(c.chunk), kernels.Float32Bytes(batches)); err != nil {
		return fmt.Errorf("%s: upload data: %w", c.label, err)
	}
	defer c.pointV0(c.v0Home)
	for i := 0; i < n; i++ {
		c.pointV0(c.ptr(c.chunk) + kernels.DevicePtr(4*i*size))
		if err := r.run(u); err != nil {
			return err
		}
	}
	return nil
}

// uploadAndRun is Step for r: the batch uploaded to v0, then one run.
func (c *devCore) uploadAndRun(batch []float32, u Update, r devRunner) error {
	if c.closed {
		return c.closedErr()
	}
	if err := c.upload(c.plan.Inputs["v0"], batch); err != nil {
		return err
	}
	return r.run(u)
}

func (c *devCore) closedErr() error { return fmt.Errorf("%s: program is closed", c.label) }

// pointV0 makes the plan's launches read v0 at address at.
func (c *devCore) pointV0(at kernels.DevicePtr) {
	for _, f := range c.v0Fields {
		*f = at
	}
}

// launchPlan launches the plan's kernels and advances the RNG counter.
func (c *devCore) launchPlan() error {
	if c.closed {
		return c.closedErr()
	}
	for i := range c.plan.Launches {
		l := &c.plan.Launches[i]
		if l.Step != nil {
			*l.Step = c.rng.Step
		}
		if err := c.drv.Launch(l.Grid, l.Block, l.Args); err != nil {
			return fmt.Errorf("%s: launch %d (%s: %s): %w", c.label, i, l.Kernel, l.Note, err)
		}
	}
	c.rng.Step++
	return nil
}

// launchTail launches the tail built for this step and counts the step
// into the reconstruction-error mean.
func (c *devCore) launchTail() error {
	for _, l := range c.tail {
		if err := c.drv.Launch(l.grid, l.block, l.args); err != nil {
			return fmt.Errorf("%s: %s: %w", c.label, l.note, err)
		}
	}
	c.reconN++
	return nil
}

// peekRecon returns the mean reconstruction error since the last
// ReconError without starting a new mean (a device synchronisation).
func (c *devCore) peekRecon() (float64, error) {
	if c.reconN == 0 {
		return math.NaN(), nil
	}
	if err := c.drv.Synchronize(); err != nil {
		return math.NaN(), fmt.Errorf("%s: %w", c.label, err)
	}
	acc := []float32{0}
	if err := c.download(acc, c.reconAcc); err != nil {
		return math.NaN(), err
	}
	return float64(acc[0]) / float64(c.reconN), nil
}

// ReconError implements Program and BMProgram.
func (c *devCore) ReconError() (float64, error) {
	if c.reconN == 0 {
		return math.NaN(), nil
	}
	r, err := c.peekRecon()
	if err != nil {
		return r, err
	}
	c.reconN = 0
	if err := c.upload(c.reconAcc, []float32{0}); err != nil {
		return r, err
	}
	return r, finiteRecon(r)
}

// finiteRecon is the error every backend's ReconError gives for a NaN or
// infinite mean.
func finiteRecon(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("reconstruction error is %v", r)
	}
	return nil
}

// Close implements Program and BMProgram.
func (c *devCore) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.base != 0 {
		err = c.drv.Free(c.base)
	}
	if c.ownsDriver {
		if cerr := c.drv.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (c *devCore) ownDriver() { c.ownsDriver = true }

// onHostDriver runs compile on a DeviceBackend over a host driver of the
// program's own (Host() programs share nothing): the program closes the
// driver, or it is closed here when compile fails.
func onHostDriver[P any](compile func(*DeviceBackend) (P, error)) (P, error) {
	drv := host.NewDriver()
	p, err := compile(&DeviceBackend{Driver: drv, Label: "cpu"})
	if err != nil {
		drv.Close()
		var zero P
		return zero, err
	}
	any(p).(interface{ ownDriver() }).ownDriver()
	return p, nil
}
