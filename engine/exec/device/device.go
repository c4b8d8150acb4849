// Package device is the lowered executor: a step graph lowered to the
// kernel launch table (engine/lower), its update included, run on any
// kernels.Driver — the CUDA driver (kernels/cudadrv), the emulator of the
// CUDA sources (kernels/emu) or the host kernels (kernels/host, the
// default CPU backend). All state lives in one device allocation, laid
// out by lower.Layout; the host synchronises only in Recon, ReconError and
// Get.
package device

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// Backend runs lowered plans on a driver. With Driver set every program
// shares it (a GPU, the emulator); with New set each program makes a
// driver of its own and closes it (the host kernels, so that programs on
// different goroutines share nothing).
//
// With Resident set its programs are exec.Resident: the trainer uploads
// the training data once and each step gathers its mini-batch in device
// memory. That is what a GPU wants (no copy per step, nothing for the host
// to do between steps); the host kernels gain nothing from it and would
// hold a second copy of the data, so Host leaves it off.
type Backend struct {
	Label    string // Name(), e.g. "cuda:0", "emu" or "cpu"
	Driver   kernels.Driver
	New      func() kernels.Driver
	Resident bool
	// Gemm chooses the GEMM kernels of the plans (lower.Options.Gemm; the
	// zero value: $RBMGPU_GEMM, else by product shape). Every choice
	// computes the same bits.
	Gemm lower.GemmMode
}

// Host returns the default CPU backend: the lowered plan on the Go/AVX2
// kernels of package kernels/host (fused GEMM epilogues, sparse products,
// all cores, no allocation per step), a driver per program.
func Host() *Backend {
	return &Backend{Label: "cpu", New: func() kernels.Driver { return host.NewDriver() }}
}

// BLASName says which BLAS the CPU backend multiplies matrices with.
func BLASName() string { return host.BLAS() }

// Name implements exec.Backend.
func (b *Backend) Name() string { return b.Label }

// KernelDriver implements exec.Backend: the shared driver, or a new one that
// release closes.
func (b *Backend) KernelDriver() (kernels.Driver, func() error, bool) {
	if b.Driver != nil {
		return b.Driver, func() error { return nil }, true
	}
	d := b.New()
	return d, d.Close, true
}

// ChunkBatches is the most mini-batches a program uploads in one copy
// (see exec.Program.Step).
const ChunkBatches = 64

// Compile implements exec.Backend: lower the graph, lay out the memory for
// the plan's buffers, the update's state, the reconstruction accumulator
// and the data chunk, make the one allocation, clear it and box every
// launch's arguments once.
func (b *Backend) Compile(s graph.Declared) (exec.Program, error) {
	drv, owns := b.Driver, false
	if drv == nil {
		if b.New == nil {
			return nil, fmt.Errorf("%s: backend has no driver", b.Label)
		}
		drv, owns = b.New(), true
	}
	p, err := compile(b.Label, drv, s, lower.Options{Gemm: b.Gemm})
	if err != nil {
		if owns {
			drv.Close()
		}
		return nil, err
	}
	p.ownsDriver = owns
	if b.Resident {
		return &resident{program: p}, nil
	}
	return p, nil
}

func compile(label string, drv kernels.Driver, s graph.Declared, o lower.Options) (*program, error) {
	plan, err := lower.LowerWith(s, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	tensors, state, err := exec.Tensors(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	B, V, err := exec.DataShape(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	p := &program{drv: drv, label: label, step: s, plan: plan, rng: s.Rand(), batch: B, visible: V,
		table: exec.NewTable(label, tensors), bufs: map[string]*lower.Buffer{}, fills: map[string]float32{}}
	for _, in := range s.Inputs() {
		buf := plan.Inputs[in.Node.Name()]
		if buf == nil {
			return nil, fmt.Errorf("%s: lowered plan has no input %q", label, in.Name)
		}
		p.bufs[in.Name] = buf
	}
	for name, buf := range plan.Outputs {
		p.bufs[name] = buf
	}
	if p.bufs[graph.OutReconErr] == nil {
		return nil, fmt.Errorf("%s: lowered plan has no %s output", label, graph.OutReconErr)
	}
	extras := make([]*lower.Buffer, 0, len(state)+2)
	extra := func(name string, n int) *lower.Buffer {
		buf := &lower.Buffer{ID: -1, Name: name, Rows: 1, Cols: n, Kind: lower.Input}
		extras = append(extras, buf)
		p.bufs[name] = buf
		return buf
	}
	for _, st := range state {
		extra(st.Name, st.Len)
	}
	p.sparsity = graph.HasSparsity(s)
	p.reconAcc = extra("recon_acc", 1)
	// Data arrive in chunks of up to ChunkBatches mini-batches (at most
	// 256 MiB): one host→device copy per chunk instead of one synchronous
	// copy per step, which would stall the host on every step's kernels.
	p.chunkBatches = max(1, min(ChunkBatches, (256<<20)/(4*B*V)))
	p.chunk = extra("data_chunk", p.chunkBatches*B*V)
	if err := p.allocate(append(append([]*lower.Buffer(nil), plan.Buffers...), extras...)); err != nil {
		return nil, err
	}
	return p, nil
}

// program is a lowered step on a driver.
type program struct {
	drv            kernels.Driver
	label          string
	step           graph.Declared
	plan           *lower.Plan
	rng            *graph.RNG
	batch, visible int // the data input's shape B×V
	table          *exec.Table
	bufs           map[string]*lower.Buffer // inputs, outputs and state by name
	fills          map[string]float32       // the value each Fill target holds

	base    kernels.DevicePtr
	offsets map[*lower.Buffer]int

	reconAcc, chunk *lower.Buffer
	chunkBatches    int
	v0Fields        []*kernels.DevicePtr // the plan's argument fields bound to v0
	v0Home          kernels.DevicePtr    // v0's own address (the chunk's slots follow p.chunk)

	tail      []lower.Launch
	tailH     graph.Hyper
	tailFirst bool
	reconN    int

	// rec is the recording of one step (the gather when gathered, the
	// plan, the tail), replayed every step and made anew when the tail
	// changes; gather is the launch of a resident program's mini-batch.
	rec       kernels.Recording
	recGather bool
	gather    kernels.LaunchSpec
	// sparsity: a parameter has a sparsity term, whose running mean
	// (graph.NameHiddenMean) the update writes once the cost is non-zero.
	sparsity bool

	ownsDriver bool
	closed     bool
}

func (p *program) allocate(all []*lower.Buffer) error {
	offsets, total := lower.Layout(all)
	base, err := p.drv.Alloc(total)
	if err != nil {
		return fmt.Errorf("%s: allocate %d bytes of device memory: %w", p.label, total, err)
	}
	p.base, p.offsets = base, offsets
	// Zero everything once: momentum starts at zero and the accumulators
	// too. A driver with MemsetD32 (the GPU) needs no host buffer of the
	// allocation's size (kernels.ZeroD32).
	err = kernels.ZeroD32(p.drv, base, 0, total/4)
	if tail := total % 4; err == nil && tail != 0 {
		err = p.drv.CopyHtoD(base+kernels.DevicePtr(total-tail), make([]byte, tail))
	}
	if err != nil {
		p.Close()
		return fmt.Errorf("%s: clear device memory: %w", p.label, err)
	}
	// Write every buffer's address into the plan's argument fields once;
	// the fields bound to v0 are redirected to each mini-batch of a chunk.
	v0 := p.bufs[graph.NameData]
	for i := range p.plan.Launches {
		l := &p.plan.Launches[i]
		p.bind(l)
		for _, b := range l.Bind {
			if b.Buf == v0 {
				p.v0Fields = append(p.v0Fields, b.Field)
			}
		}
	}
	p.v0Home = p.ptr(v0)
	return nil
}

// bind writes the device address of every buffer bound to l's pointer
// fields (NULL for a nil buffer).
func (p *program) bind(l *lower.Launch) {
	for _, b := range l.Bind {
		*b.Field = 0
		if b.Buf != nil {
			*b.Field = p.ptr(b.Buf)
		}
	}
}

func (p *program) ptr(b *lower.Buffer) kernels.DevicePtr {
	return p.base + kernels.DevicePtr(p.offsets[b])
}

func (p *program) upload(b *lower.Buffer, x []float32) error {
	if len(x) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, want %d", p.label, b.Name, len(x), b.Len())
	}
	if err := p.drv.CopyHtoD(p.ptr(b), kernels.Float32Bytes(x)); err != nil {
		return fmt.Errorf("%s: upload %s: %w", p.label, b.Name, err)
	}
	return nil
}

func (p *program) download(dst []float32, b *lower.Buffer) error {
	if len(dst) != b.Len() {
		return fmt.Errorf("%s: %s has %d values, destination %d", p.label, b.Name, b.Len(), len(dst))
	}
	if err := p.drv.CopyDtoH(kernels.Float32Bytes(dst), p.ptr(b)); err != nil {
		return fmt.Errorf("%s: download %s: %w", p.label, b.Name, err)
	}
	return nil
}

// Tensors implements exec.Program.
func (p *program) Tensors() []exec.Tensor { return p.table.List() }

// Set implements exec.Program.
func (p *program) Set(name string, x []float32) error {
	if p.closed {
		return p.closedErr()
	}
	write, err := p.table.Set(name, x)
	if write {
		err = p.upload(p.bufs[name], x)
	}
	return err
}

// Get implements exec.Program.
func (p *program) Get(name string, dst []float32) (bool, error) {
	if p.closed {
		return false, p.closedErr()
	}
	read, err := p.table.Get(name, dst)
	if read {
		err = p.download(dst, p.bufs[name])
	}
	return read, err
}

// RNGStep implements exec.Program.
func (p *program) RNGStep() uint64 { return p.rng.Step }

// SetRNGStep implements exec.Program.
func (p *program) SetRNGStep(step uint64) { p.rng.Step = step }

// MaxBatches implements exec.Program: the mini-batches of one data chunk.
func (p *program) MaxBatches() int { return p.chunkBatches }

// buildTail lowers the update for h and the monitor's accumulation (the
// tail: launches after the plan's own, rebuilt only when h changes, once
// per epoch, so the steps in between allocate nothing), and writes the
// Fill targets whose value changed.
func (p *program) buildTail(h graph.Hyper, first bool) error {
	ops := graph.Updates(p.step, h, first)
	for _, op := range ops {
		if op.Kind != graph.Fill {
			continue
		}
		if v, ok := p.fills[op.Out]; ok && v == op.Value {
			continue
		}
		buf := p.bufs[op.Out]
		if buf == nil {
			return fmt.Errorf("%s: %s: no buffer %q", p.label, op.Note, op.Out)
		}
		x := make([]float32, buf.Len())
		for i := range x {
			x[i] = op.Value
		}
		if err := p.upload(buf, x); err != nil {
			return err
		}
		p.fills[op.Out] = op.Value
	}
	ops = append(ops, graph.UpdateOp{Kind: graph.Axpby, Out: p.reconAcc.Name, X: graph.OutReconErr, Alpha: 1, Beta: 1,
		Note: "accumulate reconstruction error"})
	launches, err := lower.UpdateLaunches(ops, func(name string) *lower.Buffer { return p.bufs[name] })
	if err != nil {
		return fmt.Errorf("%s: %w", p.label, err)
	}
	for i := range launches {
		p.bind(&launches[i])
	}
	p.tail = launches
	p.tailH, p.tailFirst = h, first
	return nil
}

// Step implements exec.Program: one upload of n consecutive mini-batches,
// then n steps reading them in place.
func (p *program) Step(batches []float32, n int, h graph.Hyper) error {
	size := p.batch * p.visible
	if n < 1 || n > p.chunkBatches || len(batches) != n*size {
		return fmt.Errorf("%s: %d values for %d batches of %d×%d (at most %d batches)", p.label, len(batches), n, p.batch, p.visible, p.chunkBatches)
	}
	if p.closed {
		return p.closedErr()
	}
	if err := p.drv.CopyHtoD(p.ptr(p.chunk), kernels.Float32Bytes(batches)); err != nil {
		return fmt.Errorf("%s: upload data: %w", p.label, err)
	}
	defer p.pointV0(p.v0Home)
	for i := 0; i < n; i++ {
		p.pointV0(p.ptr(p.chunk) + kernels.DevicePtr(4*i*size))
		if err := p.run(h, false); err != nil {
			return err
		}
	}
	return nil
}

func (p *program) closedErr() error { return fmt.Errorf("%s: program is closed", p.label) }

// pointV0 makes the plan's launches read v0 at address at.
func (p *program) pointV0(at kernels.DevicePtr) {
	for _, f := range p.v0Fields {
		*f = at
	}
}

// run runs one step: with gather the resident program's gather of the
// mini-batch into v0, else on the data v0's arguments point at; then the
// plan and the tail. The launches are one recording, replayed with the
// step's RNG counter and data pointers (the fields of their Args).
func (p *program) run(h graph.Hyper, gather bool) error {
	first := !p.table.Present(graph.NameHiddenMean)
	if p.tail == nil || h != p.tailH || first != p.tailFirst {
		if err := p.buildTail(h, first); err != nil {
			return err
		}
		p.dropRecording()
	}
	if p.rec == nil || p.recGather != gather {
		if err := p.record(gather); err != nil {
			return err
		}
	}
	for i := range p.plan.Launches {
		if l := &p.plan.Launches[i]; l.Step != nil {
			*l.Step = p.rng.Step
		}
	}
	if err := p.rec.Replay(); err != nil {
		return fmt.Errorf("%s: step %d: %w", p.label, p.rng.Step, err)
	}
	p.rng.Step++
	if p.sparsity && h.SparsityCost != 0 {
		p.table.MarkPresent(graph.NameHiddenMean)
	}
	p.reconN++
	return nil
}

// record makes the recording of one step's launches.
func (p *program) record(gather bool) error {
	p.dropRecording()
	specs := make([]kernels.LaunchSpec, 0, 1+len(p.plan.Launches)+len(p.tail))
	if gather {
		specs = append(specs, p.gather)
	}
	for _, l := range p.plan.Launches {
		specs = append(specs, kernels.LaunchSpec{Grid: l.Grid, Block: l.Block, Args: l.Args})
	}
	for _, l := range p.tail {
		specs = append(specs, kernels.LaunchSpec{Grid: l.Grid, Block: l.Block, Args: l.Args})
	}
	rec, err := kernels.Record(p.drv, specs)
	if err != nil {
		return fmt.Errorf("%s: record the step: %w", p.label, err)
	}
	p.rec, p.recGather = rec, gather
	return nil
}

// dropRecording releases the step's recording, if any.
func (p *program) dropRecording() {
	if p.rec != nil {
		p.rec.Close()
		p.rec = nil
	}
}

// Recon implements exec.Program (a device synchronisation).
func (p *program) Recon() (float64, error) {
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
	return float64(acc[0]) / float64(p.reconN), nil
}

// ReconError implements exec.Program.
func (p *program) ReconError() (float64, error) {
	if p.reconN == 0 {
		return math.NaN(), nil
	}
	r, err := p.Recon()
	if err != nil {
		return r, err
	}
	p.reconN = 0
	if err := p.upload(p.reconAcc, []float32{0}); err != nil {
		return r, err
	}
	return r, exec.FiniteRecon(r)
}

// Close implements exec.Program.
func (p *program) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.dropRecording()
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

// Inspect returns the lowered plan of a program compiled by a Backend and
// a function that copies any of its buffers (intermediates included) to
// the host; ok is false for any other program. Tests use it to look inside
// a step, e.g. at the probabilities behind each sample.
func Inspect(p exec.Program) (plan *lower.Plan, read func(dst []float32, b *lower.Buffer) error, ok bool) {
	var dp *program
	switch q := p.(type) {
	case *program:
		dp = q
	case *resident:
		dp = q.program
	default:
		return nil, nil, false
	}
	return dp.plan, dp.download, true
}
