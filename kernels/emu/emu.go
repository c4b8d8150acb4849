// Package emu runs the CUDA kernels of package kernels on the CPU: the very
// same kernels/*.cu sources, compiled as C++ under a small header
// (cuda_emu.h) that maps threadIdx/blockIdx/__syncthreads/__shared__/atomics
// to fibers and a barrier. Tests of the kernels and of the whole CUDA
// backend run through it on machines without a GPU.
//
// Two APIs: Launch, which takes Go slices staged by Slices as device
// buffers (for kernel tests), and Driver, a kernels.Driver whose device memory is C heap memory
// (for the backend).
//
// Execution: a launch runs its blocks one at a time (shared memory is static
// storage); the CUDA threads of a block are fibers on the calling OS thread,
// switched at __syncthreads; launches are serialised. It is slow — use small
// problems — and exact: integer and float semantics
// are those of the GPU except expf/log1pf, which come from the C library
// (see cuda_emu.h). The C++ is compiled with fp-contract=off (a pragma in emu.cc) to match the
// PTX, which is built with -fmad=false.
package emu

/*
#cgo CXXFLAGS: -std=c++17 -O2 -fno-fast-math -Wno-unknown-pragmas -I${SRCDIR}/..
#cgo LDFLAGS: -lm -lpthread
#include <stdlib.h>
int emu_signature(const char* name, char* buf, int buflen);
void emu_kernel_names(char* buf, int buflen);
int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz, void** args);
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Signature returns the argument codes of the compiled kernel (see
// kernels.ArgType.Code), as the C++ compiler sees its parameter list.
func Signature(kernel string) (string, error) {
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	var buf [128]C.char
	if C.emu_signature(name, &buf[0], C.int(len(buf))) != 0 {
		return "", fmt.Errorf("emu: kernel %q is not compiled into the emulator", kernel)
	}
	return C.GoString(&buf[0]), nil
}

// KernelNames returns the kernels compiled into the emulator.
func KernelNames() []string {
	var buf [4096]C.char
	C.emu_kernel_names(&buf[0], C.int(len(buf)))
	return strings.Fields(C.GoString(&buf[0]))
}

// Launch runs the kernel of a over grid and block, like cuLaunchKernel
// followed by a synchronise. Pointer parameters are addresses the kernel
// can dereference: Go slices staged by s (Slices.F32, Slices.U32), a
// kernels.DevicePtr from Driver, or 0 for NULL; s may be nil. Staged
// slices are copied back after the launch and released whatever happens;
// a write past the end (or before the start) of one is an error.
//
// Unlike Driver.Launch, block need not be the table's block: tests may use
// smaller ones where a kernel allows it (see the .cu comments).
func Launch(grid, block kernels.Dim3, a kernels.Args, s *Slices) error {
	defer s.release()
	k, err := kernels.LookupArgs(a)
	if err != nil {
		return err
	}
	if err := kernels.CheckGrid(k.Name, grid); err != nil {
		return err
	}
	if err := launch(k, grid, block, a); err != nil {
		return err
	}
	return s.unstage(k, a)
}

// Slices stages Go slices in C memory for one Launch: the kernel never
// touches Go memory (an out-of-range write would corrupt the Go heap, and
// be found only by a later garbage collection). Each staged copy has guard
// zones on both sides, checked after the launch. The zero value is ready
// to use; Launch empties it.
type Slices struct{ bufs []hostBuf }

// F32 stages x and returns the address of its copy (0, NULL, for an empty
// slice).
func (s *Slices) F32(x []float32) kernels.DevicePtr { return kernels.DevicePtr(stage(&s.bufs, x)) }

// U32 is F32 for an unsigned int* parameter.
func (s *Slices) U32(x []uint32) kernels.DevicePtr { return kernels.DevicePtr(stage(&s.bufs, x)) }

// release frees the staged copies.
func (s *Slices) release() {
	if s == nil {
		return
	}
	for _, b := range s.bufs {
		C.free(b.c)
	}
	s.bufs = nil
}

// unstage checks the guard zones of the staged copies and copies the
// kernel's results back, naming the parameter of a bad one.
func (s *Slices) unstage(k kernels.Kernel, a kernels.Args) error {
	if s == nil {
		return nil
	}
	for _, b := range s.bufs {
		if err := b.unstage(); err != nil {
			name := "?"
			for i, p := range k.Args {
				if p.Type.IsPtr() && kernels.Slot(p.Type, a.Addr(i)) == uint64(uintptr(b.c)+guardBytes) {
					name = p.Name
				}
			}
			return fmt.Errorf("emu: %s: argument %s: %w", k.Name, name, err)
		}
	}
	return nil
}

func launch(k kernels.Kernel, grid, block kernels.Dim3, a kernels.Args) error {
	if err := checkSignature(k); err != nil {
		return err
	}
	if block.X < 1 || block.Y < 1 || block.Z < 1 || block.Threads() > 1024 {
		return fmt.Errorf("emu: %s: invalid block %v", k.Name, block)
	}
	// The parameter array lives in C memory: slot i (8 bytes) holds the
	// value of parameter i and params[i] points at slot i, as
	// cuLaunchKernel's kernelParams.
	//
	// Every store into C memory is an integer store: a pointer store would
	// run the garbage collector's write barrier, which reads the slot's old
	// content as a pointer — whatever malloc left there — and can report it
	// as a bad heap pointer or mark a free object.
	n := len(k.Args)
	mem := C.calloc(C.size_t(2*max(n, 1)), 8)
	defer C.free(mem)
	slots := unsafe.Slice((*uint64)(mem), 2*max(n, 1))
	params := unsafe.Slice((*uintptr)(unsafe.Add(mem, 8*n)), n)
	for i, p := range k.Args {
		slots[i] = kernels.Slot(p.Type, a.Addr(i))
		params[i] = uintptr(unsafe.Pointer(&slots[i]))
	}
	name := C.CString(k.Name)
	defer C.free(unsafe.Pointer(name))
	var p0 *unsafe.Pointer
	if n > 0 {
		p0 = (*unsafe.Pointer)(unsafe.Pointer(&params[0]))
	}
	rc := C.emu_launch(name, C.int(grid.X), C.int(grid.Y), C.int(grid.Z),
		C.int(block.X), C.int(block.Y), C.int(block.Z), p0)
	if rc != 0 {
		return fmt.Errorf("emu: %s: launch failed (code %d)", k.Name, int(rc))
	}
	return nil
}

// guardBytes is the size of the guard zone on each side of a staged buffer.
const guardBytes = 4096

// guardByte fills the guard zones.
const guardByte = 0xA5

// hostBuf is a Go slice staged in C memory for a launch.
type hostBuf struct {
	c     unsafe.Pointer // guard, data, guard
	bytes int
	back  []byte // the Go slice's bytes
}

// stage copies s into a new C buffer between two guard zones, records it
// in bufs and returns the address of the copy (0 for an empty slice: NULL).
func stage[T float32 | uint32](bufs *[]hostBuf, s []T) uintptr {
	if len(s) == 0 {
		return 0
	}
	n := len(s) * 4
	c := C.malloc(C.size_t(n + 2*guardBytes))
	all := unsafe.Slice((*byte)(c), n+2*guardBytes)
	for i := range guardBytes {
		all[i], all[guardBytes+n+i] = guardByte, guardByte
	}
	back := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n)
	copy(all[guardBytes:], back)
	*bufs = append(*bufs, hostBuf{c: c, bytes: n, back: back})
	return uintptr(c) + guardBytes
}

// unstage checks b's guard zones and copies the kernel's results back.
func (b hostBuf) unstage() error {
	all := unsafe.Slice((*byte)(b.c), b.bytes+2*guardBytes)
	for i := range guardBytes {
		if all[i] != guardByte || all[guardBytes+b.bytes+i] != guardByte {
			return fmt.Errorf("the kernel wrote outside its %d-byte buffer", b.bytes)
		}
	}
	copy(b.back, all[guardBytes:guardBytes+b.bytes])
	return nil
}

// checkSignature makes sure the Go launch table and the compiled .cu agree
// on the parameter list, so a stale table cannot smash a parameter.
func checkSignature(k kernels.Kernel) error {
	got, err := Signature(k.Name)
	if err != nil {
		return err
	}
	if want := k.Signature(); got != want {
		return fmt.Errorf("emu: %s: compiled signature %q, launch table %q", k.Name, got, want)
	}
	return nil
}
