package kernels

import (
	"fmt"
	"unsafe"
)

// DevicePtr is an address in device memory (CUdeviceptr on a GPU; a host
// address in the emulator). Zero is the null pointer. Offsets into an
// allocation are plain additions of byte counts.
type DevicePtr uint64

// Driver is what the CUDA backend needs from a device: memory, copies and
// launches of the kernels in the launch table, by name. The real one
// (kernels/cudadrv, build tag cuda) wraps the CUDA driver API and loads the
// embedded PTX; the emulated one (kernels/emu) runs the same .cu sources on
// CPU threads, so the whole backend is testable without a GPU.
//
// Launch arguments follow Kernel.Args in order: DevicePtr for pointer
// parameters, and int32, uint32, uint64, float32 for scalars; Launch returns
// an error, without launching, on a count or type mismatch. Launches are
// asynchronous on a GPU; Synchronize waits for all of them and reports a
// failure of any. Copies are synchronous.
type Driver interface {
	Alloc(bytes int) (DevicePtr, error)
	Free(p DevicePtr) error
	CopyHtoD(dst DevicePtr, src []byte) error
	CopyDtoH(dst []byte, src DevicePtr) error
	Launch(kernel string, grid, block Dim3, args ...any) error
	Synchronize() error
	Close() error
}

// Args are the typed parameters of one kernel launch. The implementations
// are the generated pointer types *GemmF32Args, *SumF32Args, … (args_gen.go),
// one per launch-table entry, whose fields are the kernel's parameters in
// table order. Addr gives launchers the parameters in that order without
// allocating: the address of parameter i, of the Go type that passes its
// ArgType (int32, uint32, uint64, float32, or DevicePtr for pointers).
type Args interface {
	// Kernel returns the name of the kernel (a launch-table name).
	Kernel() string
	// Addr returns the address of parameter i, nil past the last one.
	Addr(i int) unsafe.Pointer
}

// Slot returns the value of the parameter of type t at p in the low bytes
// of an 8-byte slot (little-endian), as cuLaunchKernel reads 4- and 8-byte
// parameters: int32 as its uint32 bits, float32 as its IEEE bits, uint32,
// uint64 and pointers as themselves. p is an address from Args.Addr.
func Slot(t ArgType, p unsafe.Pointer) uint64 {
	switch t {
	case Int32, Uint32, Float32:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// Float32Bytes views s as bytes (no copy), for Driver copies.
func Float32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

// Uint32Bytes views s as bytes (no copy), for Driver copies.
func Uint32Bytes(s []uint32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

// CheckArgs validates launch arguments against the launch table: the
// kernel exists and args match Kernel.Args in count and type. isPtr reports
// whether an argument value is an acceptable device pointer for a parameter
// of the given pointer type; each driver decides what a pointer is
// (DevicePtr on a GPU; host slices too in the emulator).
func CheckArgs(kernel string, args []any, isPtr func(v any, t ArgType) bool) (Kernel, error) {
	k, ok := Lookup(kernel)
	if !ok {
		return k, fmt.Errorf("kernels: unknown kernel %q", kernel)
	}
	if len(args) != len(k.Args) {
		return k, fmt.Errorf("kernels: %s: %d arguments, want %d", kernel, len(args), len(k.Args))
	}
	for i, p := range k.Args {
		v := args[i]
		ok := false
		switch p.Type {
		case Int32:
			_, ok = v.(int32)
		case Uint32:
			_, ok = v.(uint32)
		case Uint64:
			_, ok = v.(uint64)
		case Float32:
			_, ok = v.(float32)
		case PtrFloat32, PtrUint32:
			ok = isPtr(v, p.Type)
		}
		if !ok {
			return k, fmt.Errorf("kernels: %s: argument %d (%s) is %T, want %v", kernel, i, p.Name, v, p.Type)
		}
	}
	return k, nil
}

// CheckGrid validates a grid shape: X in [1, 2^31), Y and Z in [1, 65535].
func CheckGrid(kernel string, grid Dim3) error {
	if grid.X < 1 || grid.Y < 1 || grid.Z < 1 || grid.Y > 65535 || grid.Z > 65535 || grid.X > 1<<31-1 {
		return fmt.Errorf("kernels: %s: invalid grid %v", kernel, grid)
	}
	return nil
}

// CheckBlock requires block to be the kernel's table Block: the shared
// memory sizes and reduction trees in the .cu files assume it. Drivers
// enforce it; the emulator's low-level emu.Launch does not (tests use
// smaller power-of-two blocks with the reductions to run faster).
func CheckBlock(k Kernel, block Dim3) error {
	if block != k.Block {
		return fmt.Errorf("kernels: %s: block %v, want %v", k.Name, block, k.Block)
	}
	return nil
}
