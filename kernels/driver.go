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
// launches of the kernels in the launch table. The real one
// (kernels/cudadrv) wraps the CUDA driver API and loads the embedded PTX;
// the emulated one (kernels/emu) runs the same .cu sources on CPU threads,
// and the host one (kernels/host) runs Go twins of them, so the whole
// backend is testable without a GPU.
//
// A launch is typed: a names the kernel and holds its parameters (one of
// the generated *…Args structs, e.g. *GemmF32Args), so parameter counts and
// types are checked by the compiler. Launch returns an error, without
// launching, for a kernel it does not know, a grid or block the kernel
// cannot run with (CheckLaunch) or a pointer it cannot use. Launches are
// asynchronous on a GPU; Synchronize waits for all of them and reports a
// failure of any. Copies are synchronous as the caller sees them: CopyHtoD
// returns once src may be reused, ordered after earlier launches and before
// later ones (a GPU driver may still be transferring the staged bytes), and
// CopyDtoH returns with dst holding the data, after earlier launches.
type Driver interface {
	Alloc(bytes int) (DevicePtr, error)
	Free(p DevicePtr) error
	CopyHtoD(dst DevicePtr, src []byte) error
	CopyDtoH(dst []byte, src DevicePtr) error
	Launch(grid, block Dim3, a Args) error
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

// Uint64Bytes views s as bytes (no copy), for Driver copies: in the host's
// byte order, which on every host with a CUDA driver (amd64, arm64) is
// little-endian, so word i is the 32-bit words 2i (low half) and 2i+1.
func Uint64Bytes(s []uint64) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 8*len(s))
}

// CheckLaunch validates a launch before a driver runs it: a is non-nil
// and names a kernel of the launch table, block is the table's block
// (CheckBlock) and grid is valid (CheckGrid). It returns the kernel's table
// entry. Parameter counts and types need no check: Args are typed.
func CheckLaunch(grid, block Dim3, a Args) (Kernel, error) {
	k, err := LookupArgs(a)
	if err != nil {
		return k, err
	}
	if err := CheckBlock(k, block); err != nil {
		return k, err
	}
	return k, CheckGrid(k.Name, grid)
}

// LookupArgs returns the launch-table entry of a's kernel, or an error for
// nil arguments or a kernel that is not in the table.
func LookupArgs(a Args) (Kernel, error) {
	if a == nil {
		return Kernel{}, fmt.Errorf("kernels: launch without arguments")
	}
	k, ok := Lookup(a.Kernel())
	if !ok {
		return k, fmt.Errorf("kernels: unknown kernel %q", a.Kernel())
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

// Memsetter is implemented by drivers that fill device memory without a
// host buffer of the same size (cuMemsetD32 on a GPU). Callers fall back
// to copying zeros for a driver without it (ZeroD32).
type Memsetter interface {
	// MemsetD32 sets count 32-bit words from dst on to value, ordered
	// after earlier launches like a copy.
	MemsetD32(dst DevicePtr, value uint32, count int) error
}

// ZeroD32 sets count 32-bit words from dst on to value with d's MemsetD32,
// or, for a driver without one, by copying a host buffer in pieces of at
// most 1 MiB.
func ZeroD32(d Driver, dst DevicePtr, value uint32, count int) error {
	if count < 0 {
		return fmt.Errorf("kernels: MemsetD32 of %d words", count)
	}
	if m, ok := d.(Memsetter); ok {
		return m.MemsetD32(dst, value, count)
	}
	const piece = 1 << 18 // words
	buf := make([]uint32, min(count, piece))
	for i := range buf {
		buf[i] = value
	}
	for done := 0; done < count; {
		n := min(piece, count-done)
		if err := d.CopyHtoD(dst+DevicePtr(4*done), Uint32Bytes(buf[:n])); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// LaunchSpec is one launch of a recorded sequence: grid, block and the
// typed arguments, which the caller keeps and may change between replays.
type LaunchSpec struct {
	Grid, Block Dim3
	Args        Args
}

// Recorder is implemented by drivers that turn a fixed list of launches
// into one submission recorded once and replayed every step (a CUDA graph
// on a GPU), so that a step of many small kernels is not bound by the
// host's launch overhead.
type Recorder interface {
	// Record checks every launch as Launch would (CheckLaunch, pointers)
	// and returns a recording of the list, in order.
	Record(launches []LaunchSpec) (Recording, error)
}

// Recording is a recorded list of launches.
type Recording interface {
	// Replay enqueues the launches in order, each with the values its
	// Args hold now (the caller changes RNG steps and data pointers
	// between replays): the same work as Launch of each in turn.
	Replay() error
	// Close releases the recording; the Args stay the caller's.
	Close() error
}

// Record returns a recording of launches on d: d's own when d is a
// Recorder, else a Recording whose Replay calls d.Launch for each. Either
// way every launch is checked now (CheckLaunch).
func Record(d Driver, launches []LaunchSpec) (Recording, error) {
	for i, l := range launches {
		if _, err := CheckLaunch(l.Grid, l.Block, l.Args); err != nil {
			return nil, fmt.Errorf("record launch %d: %w", i, err)
		}
	}
	if r, ok := d.(Recorder); ok {
		return r.Record(launches)
	}
	return &sequence{d: d, launches: append([]LaunchSpec(nil), launches...)}, nil
}

// sequence is the Recording of a driver that is not a Recorder.
type sequence struct {
	d        Driver
	launches []LaunchSpec
	closed   bool
}

func (s *sequence) Replay() error {
	if s.closed {
		return fmt.Errorf("kernels: replay of a closed recording")
	}
	for i, l := range s.launches {
		if err := s.d.Launch(l.Grid, l.Block, l.Args); err != nil {
			return fmt.Errorf("replay launch %d: %w", i, err)
		}
	}
	return nil
}

func (s *sequence) Close() error { s.closed = true; return nil }

// Float32Offsets lays float32 buffers of the given lengths out one after
// the other in one allocation, each starting at a multiple of 256 bytes
// (the alignment cudaMalloc gives): off[i] is buffer i's offset from the
// allocation's base and total the bytes to Alloc.
func Float32Offsets(lengths []int) (off []DevicePtr, total int) {
	off = make([]DevicePtr, len(lengths))
	for i, n := range lengths {
		off[i] = DevicePtr(total)
		total += (4*n + 255) / 256 * 256
	}
	return off, total
}
