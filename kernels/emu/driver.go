package emu

/*
#include <stdlib.h>
#include <string.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Driver is a kernels.Driver that runs launches in the emulator. Device
// memory is C heap memory, so a DevicePtr is a real host address and the
// kernels dereference it directly, as on a GPU. Launches run synchronously;
// Synchronize only reports. Unlike a GPU it checks every copy against the
// allocation it falls in and every pointer argument for being inside one,
// so backend bugs surface as errors rather than corrupted memory.
//
// A Driver is safe for concurrent use; launches are serialised.
type Driver struct {
	mu     sync.Mutex
	allocs map[kernels.DevicePtr]alloc
	closed bool
}

var _ kernels.Driver = (*Driver)(nil)

// alloc is one C allocation; DevicePtr values are its address plus offsets.
type alloc struct {
	p    unsafe.Pointer
	size int
}

// NewDriver returns an emulated device with no memory allocated.
func NewDriver() *Driver { return &Driver{allocs: map[kernels.DevicePtr]alloc{}} }

// Alloc allocates bytes of device memory (at least 1 byte is allocated,
// 16-byte aligned, contents undefined — here zero-filled).
func (d *Driver) Alloc(bytes int) (kernels.DevicePtr, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("emu: Alloc(%d)", bytes)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, fmt.Errorf("emu: driver closed")
	}
	p := C.calloc(C.size_t(max(bytes, 1)), 1)
	if p == nil {
		return 0, fmt.Errorf("emu: out of memory allocating %d bytes", bytes)
	}
	dp := kernels.DevicePtr(uintptr(p))
	d.allocs[dp] = alloc{p, bytes}
	return dp, nil
}

// Free releases an allocation returned by Alloc.
func (d *Driver) Free(p kernels.DevicePtr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.allocs[p]
	if !ok {
		return fmt.Errorf("emu: Free(%#x): not an allocation", uint64(p))
	}
	delete(d.allocs, p)
	C.free(a.p)
	return nil
}

// find returns the host address of p, which with n bytes after it (n >= 0)
// must lie inside one allocation.
func (d *Driver) find(p kernels.DevicePtr, n int) (unsafe.Pointer, error) {
	for base, a := range d.allocs {
		if p >= base && uint64(p)+uint64(n) <= uint64(base)+uint64(a.size) {
			return unsafe.Add(a.p, int(p-base)), nil
		}
	}
	return nil, fmt.Errorf("emu: [%#x, +%d) is outside every allocation", uint64(p), n)
}

// CopyHtoD copies src to device memory at dst.
func (d *Driver) CopyHtoD(dst kernels.DevicePtr, src []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(src) == 0 {
		return nil
	}
	h, err := d.find(dst, len(src))
	if err != nil {
		return err
	}
	C.memcpy(h, unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src)))
	return nil
}

// MemsetD32 sets count 32-bit words from dst on to value
// (kernels.Memsetter).
func (d *Driver) MemsetD32(dst kernels.DevicePtr, value uint32, count int) error {
	if count < 0 {
		return fmt.Errorf("emu: MemsetD32 of %d words", count)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if count == 0 {
		return nil
	}
	h, err := d.find(dst, 4*count)
	if err != nil {
		return err
	}
	w := unsafe.Slice((*uint32)(h), count)
	for i := range w {
		w[i] = value
	}
	return nil
}

// CopyDtoH copies device memory at src to dst.
func (d *Driver) CopyDtoH(dst []byte, src kernels.DevicePtr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(dst) == 0 {
		return nil
	}
	h, err := d.find(src, len(dst))
	if err != nil {
		return err
	}
	C.memcpy(unsafe.Pointer(unsafe.SliceData(dst)), h, C.size_t(len(dst)))
	return nil
}

// Launch runs the kernel of a with the table's block shape over grid
// (kernels.CheckLaunch); every non-NULL pointer parameter must lie inside
// an allocation of d.
func (d *Driver) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	k, err := kernels.CheckLaunch(grid, block, a)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("emu: driver closed")
	}
	for i, p := range k.Args {
		if !p.Type.IsPtr() {
			continue
		}
		if v := kernels.DevicePtr(kernels.Slot(p.Type, a.Addr(i))); v != 0 {
			if _, err := d.find(v, 0); err != nil {
				return fmt.Errorf("emu: %s: argument %d (%s): %w", k.Name, i, p.Name, err)
			}
		}
	}
	return launch(k, grid, block, a)
}

// Synchronize returns nil: emulated launches complete before Launch returns.
func (d *Driver) Synchronize() error { return nil }

// Close frees all device memory. The Driver cannot be used afterwards.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.allocs {
		C.free(a.p)
	}
	d.allocs = nil
	d.closed = true
	return nil
}
