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
	Ordinal      int    // the N of cuda:N (cuDeviceGet ordinal)
	Name         string // e.g. "NVIDIA H100 80GB HBM3"
	Memory       int64  // total device memory in bytes
	Major, Minor int    // compute capability
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
// kernels.Driver.
//
// It owns a CUDA context (cuCtxCreate) that is never left current on any
// thread: every call pushes it on the calling OS thread, does its work and
// pops it, in one cgo call. So methods may be called from any goroutine,
// concurrently, without locking goroutines to threads, and other CUDA users
// in the process see their own current context untouched. Launches go to the
// default stream and run in order; copies are synchronous with respect to
// them (cuMemcpy on the default stream). A fault inside a kernel surfaces at
// the next Synchronize or copy and, as always in CUDA, poisons the context.
//
// Device memory comes from cuMemAlloc only (no managed memory).
type Driver struct {
	dev Device
	ctx context

	mu     sync.RWMutex // write-locked by Close only
	closed bool
	mods   []module
	fns    map[string]function
}

var _ kernels.Driver = (*Driver)(nil)

// New creates a context on device ordinal and loads every embedded PTX
// module (kernels.PTXModules), which the driver JIT-compiles for this GPU.
// It returns an error wrapping ErrNoDriver when the driver cannot be loaded
// or initialised, and the JIT error log when a module does not compile
// (e.g. PTX newer than the driver supports).
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
	ctx, err := newContext(cdev)
	if err != nil {
		return nil, fmt.Errorf("cudadrv: device %d (%s): %w", ordinal, dev.Name, err)
	}
	d := &Driver{dev: dev, ctx: ctx, fns: map[string]function{}}
	if err := d.loadModules(); err != nil {
		d.release()
		return nil, err
	}
	return d, nil
}

// loadModules loads the embedded PTX and looks up every launch-table kernel.
func (d *Driver) loadModules() error {
	for _, name := range kernels.PTXModules() {
		src, err := kernels.PTX(name)
		if err != nil {
			return err
		}
		mod, err := d.ctx.loadModule(src)
		if err != nil {
			v, _ := driverVersion()
			return fmt.Errorf("cudadrv: loading PTX module %s on device %d (%s, sm_%d%d, driver CUDA %d.%d): %w",
				name, d.dev.Ordinal, d.dev.Name, d.dev.Major, d.dev.Minor, v/1000, v%1000/10, err)
		}
		d.mods = append(d.mods, mod)
	}
	for _, k := range kernels.Kernels {
		i := indexOf(kernels.PTXModules(), k.Module)
		if i < 0 {
			return fmt.Errorf("cudadrv: kernel %s: no PTX module %s", k.Name, k.Module)
		}
		fn, err := d.ctx.function(d.mods[i], k.Name)
		if err != nil {
			return fmt.Errorf("cudadrv: kernel %s in PTX module %s: %w", k.Name, k.Module, err)
		}
		d.fns[k.Name] = fn
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
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
	return kernels.DevicePtr(p), nil
}

func gib(n int64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }

// Free releases memory from Alloc; Free(0) does nothing.
func (d *Driver) Free(p kernels.DevicePtr) error {
	if p == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.free(uint64(p)); err != nil {
		return fmt.Errorf("cudadrv: Free(%#x): %w", uint64(p), err)
	}
	return nil
}

// CopyHtoD copies src to device memory at dst. It returns once src may be
// reused; the copy is ordered after earlier launches.
func (d *Driver) CopyHtoD(dst kernels.DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.htod(uint64(dst), src); err != nil {
		return fmt.Errorf("cudadrv: CopyHtoD(%#x, %d bytes): %w", uint64(dst), len(src), err)
	}
	return nil
}

// CopyDtoH copies device memory at src to dst, after earlier launches
// finish; it reports their failure too.
func (d *Driver) CopyDtoH(dst []byte, src kernels.DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.dtoh(dst, uint64(src)); err != nil {
		return fmt.Errorf("cudadrv: CopyDtoH(%d bytes, %#x): %w", len(dst), uint64(src), err)
	}
	return nil
}

// marshal returns one 8-byte slot per parameter of a (k's table entry),
// each holding the value in its low bytes (little-endian), as
// cuLaunchKernel reads parameters of 4 or 8 bytes.
func marshal(k kernels.Kernel, a kernels.Args) []uint64 {
	slots := make([]uint64, len(k.Args))
	for i, p := range k.Args {
		slots[i] = kernels.Slot(p.Type, a.Addr(i))
	}
	return slots
}

// Launch enqueues the kernel of a with the table's block shape over grid
// (kernels.CheckLaunch); a failed check is an error and nothing is
// launched. Errors of the kernel itself surface at Synchronize.
func (d *Driver) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	k, err := kernels.CheckLaunch(grid, block, a)
	if err != nil {
		return err
	}
	if len(k.Args) > maxParams {
		return fmt.Errorf("cudadrv: %s: %d parameters, at most %d supported", k.Name, len(k.Args), maxParams)
	}
	slots := marshal(k, a)
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	fn, ok := d.fns[k.Name]
	if !ok {
		return fmt.Errorf("cudadrv: %s not loaded", k.Name)
	}
	if err := d.ctx.launch(fn, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, slots); err != nil {
		return fmt.Errorf("cudadrv: launch %s grid %v block %v: %w", k.Name, grid, block, err)
	}
	return nil
}

// Synchronize waits for all launched work and returns its first error.
func (d *Driver) Synchronize() error {
	if err := d.use(); err != nil {
		return err
	}
	defer d.done()
	if err := d.ctx.synchronize(); err != nil {
		return fmt.Errorf("cudadrv: device %d: %w", d.dev.Ordinal, err)
	}
	return nil
}

// Close waits for outstanding work, unloads the modules and destroys the
// context, which frees all its device memory. Later calls of any method
// fail; a second Close returns nil.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.ctx.synchronize()
	if rerr := d.release(); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("cudadrv: closing device %d: %w", d.dev.Ordinal, err)
	}
	return nil
}

// release unloads the modules and destroys the context; it returns the
// first error.
func (d *Driver) release() error {
	var first error
	for _, m := range d.mods {
		if err := d.ctx.unload(m); err != nil && first == nil {
			first = err
		}
	}
	d.mods, d.fns = nil, nil
	if err := d.ctx.destroy(); err != nil && first == nil {
		first = err
	}
	return first
}
