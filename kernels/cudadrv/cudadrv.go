//go:build cuda

package cudadrv

import (
	"fmt"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Driver runs the launch table on one CUDA device. A CUDA context is current
// per OS thread, so every call is executed by one goroutine locked to its
// thread, which owns the context; methods may be called from any goroutine.
// Launches are asynchronous (default stream, in order); copies are
// synchronous with respect to them.
type Driver struct {
	work chan func()
	done chan struct{}
	fns  map[string]cu.Function // filled by the owner goroutine before New returns
}

var _ kernels.Driver = (*Driver)(nil)

// New creates a context on device ordinal and loads every embedded PTX module.
func New(ordinal int) (*Driver, error) {
	d := &Driver{work: make(chan func()), done: make(chan struct{}), fns: map[string]cu.Function{}}
	ready := make(chan error, 1)
	go d.run(ordinal, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// run is the owner goroutine: it creates the context, loads the modules,
// then executes calls until Close.
func (d *Driver) run(ordinal int, ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(d.done)
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		ready <- fmt.Errorf("cudadrv: device %d: %w", ordinal, err)
		return
	}
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		ready <- fmt.Errorf("cudadrv: context on device %d: %w", ordinal, err)
		return
	}
	defer ctx.Destroy()
	var mods []cu.Module
	defer func() {
		for _, m := range mods {
			m.Unload()
		}
	}()
	for _, name := range kernels.PTXModules() {
		src, err := kernels.PTX(name)
		if err != nil {
			ready <- err
			return
		}
		mod, err := cu.LoadData(string(src))
		if err != nil {
			ready <- fmt.Errorf("cudadrv: loading PTX module %s: %w", name, err)
			return
		}
		mods = append(mods, mod)
		for _, k := range kernels.Kernels {
			if k.Module != name {
				continue
			}
			fn, err := mod.Function(k.Name)
			if err != nil {
				ready <- fmt.Errorf("cudadrv: %s in module %s: %w", k.Name, name, err)
				return
			}
			d.fns[k.Name] = fn
		}
	}
	ready <- nil
	for f := range d.work {
		f()
	}
	cu.Synchronize()
}

// do runs f on the owner goroutine and returns its error.
func (d *Driver) do(f func() error) (err error) {
	errc := make(chan error, 1)
	defer func() {
		if recover() != nil { // send on closed channel: Close was called
			err = fmt.Errorf("cudadrv: driver closed")
		}
	}()
	d.work <- func() { errc <- f() }
	return <-errc
}

// Alloc allocates bytes of device memory with cuMemAlloc.
func (d *Driver) Alloc(bytes int) (kernels.DevicePtr, error) {
	var p cu.DevicePtr
	err := d.do(func() (err error) {
		p, err = cu.MemAlloc(int64(max(bytes, 1)))
		return err
	})
	return kernels.DevicePtr(p), err
}

// Free releases memory from Alloc.
func (d *Driver) Free(p kernels.DevicePtr) error {
	return d.do(func() error { return cu.MemFree(cu.DevicePtr(p)) })
}

// CopyHtoD copies src to device memory at dst (synchronous).
func (d *Driver) CopyHtoD(dst kernels.DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return d.do(func() error {
		return cu.MemcpyHtoD(cu.DevicePtr(dst), unsafe.Pointer(unsafe.SliceData(src)), int64(len(src)))
	})
}

// CopyDtoH copies device memory at src to dst (synchronous).
func (d *Driver) CopyDtoH(dst []byte, src kernels.DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	return d.do(func() error {
		return cu.MemcpyDtoH(unsafe.Pointer(unsafe.SliceData(dst)), cu.DevicePtr(src), int64(len(dst)))
	})
}

// Launch enqueues kernel with the table's block shape over grid. Pointer
// arguments are DevicePtr (or nil for NULL); scalars int32, uint32, uint64,
// float32. Errors of the kernel itself surface at Synchronize.
func (d *Driver) Launch(kernel string, grid, block kernels.Dim3, args ...any) error {
	k, err := kernels.CheckArgs(kernel, args, func(v any, _ kernels.ArgType) bool {
		_, ok := v.(kernels.DevicePtr)
		return ok || v == nil
	})
	if err != nil {
		return err
	}
	if err := kernels.CheckBlock(k, block); err != nil {
		return err
	}
	if err := kernels.CheckGrid(kernel, grid); err != nil {
		return err
	}
	fn, ok := d.fns[kernel]
	if !ok {
		return fmt.Errorf("cudadrv: %s not loaded", kernel)
	}
	// One 8-byte slot per parameter (cu copies 8 bytes from each; the driver
	// reads the parameter's own size from the low end, little-endian).
	slots := make([]uint64, len(args))
	params := make([]unsafe.Pointer, len(args))
	for i, v := range args {
		switch v := v.(type) {
		case int32:
			slots[i] = uint64(uint32(v))
		case uint32:
			slots[i] = uint64(v)
		case uint64:
			slots[i] = v
		case float32:
			*(*float32)(unsafe.Pointer(&slots[i])) = v
		case kernels.DevicePtr:
			slots[i] = uint64(v)
		case nil:
			slots[i] = 0
		}
		params[i] = unsafe.Pointer(&slots[i])
	}
	return d.do(func() error {
		return fn.Launch(grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, cu.Stream{}, params)
	})
}

// Synchronize waits for all launched work and returns its first error.
func (d *Driver) Synchronize() error { return d.do(cu.Synchronize) }

// Close waits for outstanding work, unloads the modules and destroys the
// context. The Driver cannot be used afterwards.
func (d *Driver) Close() error {
	close(d.work)
	<-d.done
	return nil
}
