//go:build cgo

package cudadrv

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Device describes one CUDA device as the driver reports it.
type Device struct {
	Ordinal      int         // the N of cuda:N (cuDeviceGet ordinal)
	Name         string      // e.g. "NVIDIA H100 80GB HBM3"
	Memory       int64       // total device memory in bytes
	Major, Minor int         // compute capability
	ComputeMode  ComputeMode // CU_DEVICE_ATTRIBUTE_COMPUTE_MODE
}

// ComputeMode is a device's compute mode (CUcomputemode): who may create
// contexts on it.
type ComputeMode int

// The compute modes of CUcomputemode.
const (
	ComputeDefault          ComputeMode = 0 // any number of contexts and processes
	ComputeProhibited       ComputeMode = 2 // no contexts at all
	ComputeExclusiveProcess ComputeMode = 3 // one process at a time, any number of its threads
)

// String returns the mode as nvidia-smi names it ("Default",
// "Exclusive_Process", "Prohibited"), or "mode N" for another value.
func (m ComputeMode) String() string {
	switch m {
	case ComputeDefault:
		return "Default"
	case ComputeProhibited:
		return "Prohibited"
	case ComputeExclusiveProcess:
		return "Exclusive_Process"
	}
	return fmt.Sprintf("mode %d", int(m))
}

// Devices lists the CUDA devices. It returns an error wrapping ErrNoDriver
// when libcuda.so.1 cannot be loaded or cuInit fails (no GPU).
func Devices() ([]Device, error) {
	n, err := deviceCount()
	if err != nil {
		return nil, err
	}
	devs := make([]Device, n)
	for i := range devs {
		if _, devs[i], err = deviceInfo(i); err != nil {
			return nil, err
		}
	}
	return devs, nil
}

// DriverVersion returns the CUDA version the installed driver supports, as
// 1000*major + 10*minor (12040 is CUDA 12.4), or an error wrapping
// ErrNoDriver.
func DriverVersion() (int, error) { return driverVersion() }

// Driver runs the launch table on one CUDA device; it implements
// kernels.Driver, kernels.Memsetter and kernels.Recorder.
//
// It uses the device's primary context, retained once per process and
// device however many Drivers are open on it (primary.go), and never left
// current on any thread: every call pushes it on the calling OS thread,
// does its work and pops it, in one cgo call. So methods may be called from
// any goroutine, concurrently, without locking goroutines to threads, and
// other CUDA users in the process see their own current context untouched.
//
// All the Driver's work goes to one stream of its own, in the order of the
// calls: launches, graph replays, memsets and copies, so each runs after
// the work queued before it. The stream is non-blocking: work others queue
// on the legacy default stream neither waits for it nor holds it up. Copies stage through
// pinned host buffers (cuMemHostAlloc) with asynchronous copies, so
// CopyHtoD returns once src may be reused, without waiting for earlier
// launches unless every staging buffer is still in flight, and CopyDtoH
// waits for the stream up to its copy. A fault inside a kernel surfaces at
// the next Synchronize or CopyDtoH and, as always in CUDA, poisons the
// context.
//
// Device memory comes from cuMemAlloc only (no managed memory); Close frees
// what was not freed.
type Driver struct {
	dev    Device
	prim   *primary
	ctx    context
	stream stream

	mu     sync.RWMutex // write-locked by Close only
	closed bool

	amu    sync.Mutex     // guards allocs
	allocs map[uint64]int // live allocations: address → bytes

	stage staging

	rmu  sync.Mutex // guards recs
	recs map[*recording]bool
}

var (
	_ kernels.Driver    = (*Driver)(nil)
	_ kernels.Memsetter = (*Driver)(nil)
	_ kernels.Recorder  = (*Driver)(nil)
)

// New opens device ordinal: it retains the device's primary context (and
// on the first New of the device in the process loads every embedded PTX
// module, kernels.PTXModules, which the driver JIT-compiles for this GPU)
// and creates the Driver's stream. It returns an error wrapping ErrNoDriver
// when the driver cannot be loaded or initialised, and the JIT error log
// when a module does not compile (e.g. PTX newer than the driver supports).
func New(ordinal int) (*Driver, error) {
	n, err := deviceCount()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cudadrv: no device %d: the driver reports %d CUDA device(s)", ordinal, n)
	}
	cdev, dev, err := deviceInfo(ordinal)
	if err != nil {
		return nil, err
	}
	p, err := retain(ordinal, cdev, dev)
	if err != nil {
		return nil, err
	}
	s, err := p.ctx.newStream()
	if err != nil {
		err = fmt.Errorf("cudadrv: device %d (%s): %w", ordinal, dev.Name, err)
		if rerr := p.release(); rerr != nil {
			err = fmt.Errorf("%w; %w", err, rerr)
		}
		return nil, err
	}
	return &Driver{dev: dev, prim: p, ctx: p.ctx, stream: s, allocs: map[uint64]int{}, recs: map[*recording]bool{}}, nil
}

// Device returns the properties of the driver's device.
func (d *Driver) Device() Device { return d.dev }

// errClosed is returned by every method after Close.
var errClosed = errors.New("cudadrv: driver closed")

// use read-locks d for one operation; it fails after Close.
func (d *Driver) use() error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return errClosed
	}
	return nil
}

func (d *Driver) done() { d.mu.RUnlock() }

// Alloc allocates bytes of device memory with cuMemAlloc (at least 1 byte;
// 256-byte aligned; contents undefined). Running out of device memory is an
// error naming the requested size and the memory free.
func (d *Driver) Alloc(bytes int) (kernels.DevicePtr, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("cudadrv: Alloc(%d): negative size", bytes)
	}
	if err := d.use(); err != nil {
		return 0, err
	}
	defer d.done()
	p, err := d.ctx.alloc(max(bytes, 1))
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Code == errOutOfMemory {
			free, total, ierr := d.ctx.memInfo()
			if ierr != nil {
				return 0, fmt.Errorf("cudadrv: Alloc(%d bytes) on device %d: out of device memory", bytes, d.dev.Ordinal)
			}
			return 0, fmt.Errorf("cudadrv: Alloc(%d bytes) on device %d: out of device memory (%s free of %s)",
				bytes, d.dev.Ordinal, gib(free), gib(total))
		}
		return 0, fmt.Errorf("cudadrv: Alloc(%d bytes) on device %d: %w", bytes, d.dev.Ordinal, err)
	}
	d.amu.Lock()
	d.allocs[p] = max(bytes, 1)
	d.amu.Unlock()
	return kernels.DevicePtr(p), nil
}

func gib(n int64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }

// Free releases memory from Alloc once the work queued before it is done
// (the stream is synchronised first, so no launch still uses it); Free(0)
// does nothing, and a pointer this Driver did not allocate is an error.
func (d *Driver) Free(p kernels.DevicePtr) error {
	if p == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	d.amu.Lock()
	_, ok := d.allocs[uint64(p)]
	delete(d.allocs, uint64(p))
	d.amu.Unlock()
	if !ok {
		return fmt.Errorf("cudadrv: Free(%#x): not an allocation of this driver", uint64(p))
	}
	if err := d.ctx.streamSync(d.stream); err != nil {
		return fmt.Errorf("cudadrv: Free(%#x): %w", uint64(p), err)
	}
	if err := d.ctx.free(uint64(p)); err != nil {
		return fmt.Errorf("cudadrv: Free(%#x): %w", uint64(p), err)
	}
	return nil
}

// CopyHtoD copies src to device memory at dst, ordered after earlier
// launches. It returns once src may be reused: src is copied into pinned
// staging buffers and the device copies are queued on the stream, so the
// host waits for the GPU only when every staging buffer is still in
// flight.
func (d *Driver) CopyHtoD(dst kernels.DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.stage.htod(d.ctx, d.stream, uint64(dst), src); err != nil {
		return fmt.Errorf("cudadrv: CopyHtoD(%#x, %d bytes): %w", uint64(dst), len(src), err)
	}
	return nil
}

// CopyDtoH copies device memory at src to dst after the work queued before
// it finishes, and reports the failure of that work too. dst holds the data
// on return.
func (d *Driver) CopyDtoH(dst []byte, src kernels.DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.stage.dtoh(d.ctx, d.stream, dst, uint64(src)); err != nil {
		return fmt.Errorf("cudadrv: CopyDtoH(%d bytes, %#x): %w", len(dst), uint64(src), err)
	}
	return nil
}

// MemsetD32 queues setting count 32-bit words from dst on to value
// (cuMemsetD32Async on the Driver's stream): ordered after earlier launches
// and before later ones, like a copy, without a host buffer
// (kernels.Memsetter).
func (d *Driver) MemsetD32(dst kernels.DevicePtr, value uint32, count int) error {
	if count < 0 {
		return fmt.Errorf("cudadrv: MemsetD32 of %d words", count)
	}
	if count == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.memsetD32Async(uint64(dst), value, count, d.stream); err != nil {
		return fmt.Errorf("cudadrv: MemsetD32(%#x, %#x, %d words): %w", uint64(dst), value, count, err)
	}
	return nil
}

// marshal writes into slots one 8-byte slot per parameter of a (k's table
// entry), each holding the value in its low bytes (little-endian), as
// cuLaunchKernel reads parameters of 4 or 8 bytes.
func marshal(slots []uint64, k kernels.Kernel, a kernels.Args) {
	for i, p := range k.Args {
		slots[i] = kernels.Slot(p.Type, a.Addr(i))
	}
}

// checkLaunch validates a launch for this driver: the launch-table checks
// (kernels.CheckLaunch), the parameter count and the dimensions as C
// unsigned ints.
func checkLaunch(grid, block kernels.Dim3, a kernels.Args) (kernels.Kernel, [6]uint32, error) {
	k, err := kernels.CheckLaunch(grid, block, a)
	if err != nil {
		return k, [6]uint32{}, err
	}
	if len(k.Args) > maxParams {
		return k, [6]uint32{}, fmt.Errorf("cudadrv: %s: %d parameters, at most %d supported", k.Name, len(k.Args), maxParams)
	}
	dm, err := dims(grid, block)
	if err != nil {
		return k, dm, fmt.Errorf("cudadrv: %s: %w", k.Name, err)
	}
	return k, dm, nil
}

// Launch enqueues the kernel of a with the table's block shape over grid
// (kernels.CheckLaunch) on the Driver's stream; a failed check is an error
// and nothing is launched. Errors of the kernel itself surface at
// Synchronize.
func (d *Driver) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	k, dm, err := checkLaunch(grid, block, a)
	if err != nil {
		return err
	}
	var buf [maxParams]uint64
	slots := buf[:len(k.Args)]
	marshal(slots, k, a)
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	fn, ok := d.prim.fns[k.Name]
	if !ok {
		return fmt.Errorf("cudadrv: %s not loaded", k.Name)
	}
	if err := d.ctx.launch(fn, dm, d.stream, slots); err != nil {
		return fmt.Errorf("cudadrv: launch %s grid %v block %v: %w", k.Name, grid, block, err)
	}
	return nil
}

// Synchronize waits for all work queued on the Driver's stream and returns
// its first error (cuStreamSynchronize).
func (d *Driver) Synchronize() error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.streamSync(d.stream); err != nil {
		return fmt.Errorf("cudadrv: device %d: %w", d.dev.Ordinal, err)
	}
	return nil
}

// Close waits for outstanding work, destroys the recordings still open,
// frees the device memory not freed and the staging buffers, destroys the
// stream and releases the primary context (the last Driver of the device
// unloads the modules). Later calls of any method fail; a second Close
// returns nil.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	keep(d.ctx.streamSync(d.stream))
	d.rmu.Lock()
	for r := range d.recs {
		keep(r.destroy())
	}
	d.recs = nil
	d.rmu.Unlock()
	d.amu.Lock()
	for p := range d.allocs {
		keep(d.ctx.free(p))
	}
	d.allocs = nil
	d.amu.Unlock()
	keep(d.stage.free(d.ctx))
	keep(d.ctx.streamDestroy(d.stream))
	keep(d.prim.release())
	if len(errs) > 0 {
		return fmt.Errorf("cudadrv: closing device %d: %w", d.dev.Ordinal, errors.Join(errs...))
	}
	return nil
}
