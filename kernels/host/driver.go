// Package host is a kernels.Driver whose device is the CPU: "device memory"
// is ordinary Go memory and Launch runs fast Go (and, on amd64, AVX2
// assembly) implementations of every kernel in kernels.Kernels, with the
// semantics of the .cu sources. The CPU backend can therefore execute the
// very same lowered launch plan as the CUDA backend, at CPU speed rather
// than the emulator's.
//
// Execution: launches run synchronously on a persistent pool of
// runtime.GOMAXPROCS(0) workers (the calling goroutine is one of them) and
// allocate nothing once scratch buffers have grown to the problem size.
// Work is split into fixed tasks that each own their outputs and sum in a
// fixed order, so results do not depend on the number of workers or on
// scheduling.
//
// Numerics: gemm_f32's accumulator is one fused multiply-add per k in
// increasing k (as gemm.cu), so C is bit-identical to the GPU and emulator
// on amd64 with AVX2/FMA — also when a sparse left operand's zero terms are
// skipped (sparse.go), since fma(0, b, acc) = acc for finite b; the reductions follow the .cu summation trees for
// the table geometry; sgd_update_f32 and the Philox streams are bit-exact.
// expf/log1pf are correctly rounded (see math.go), so sigmoid outputs differ
// from the GPU's by at most the GPU's expf error.
package host

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Driver is a kernels.Driver on host memory. A DevicePtr is base+offset in a
// synthetic address space: allocations get increasing, 64-byte aligned
// bases separated by unmapped gaps and never reused, so an out-of-range or
// freed pointer is always detected. Every range a kernel will touch is
// checked against the allocation its pointer falls in before the launch
// runs; a bad one is an error, never a write outside the allocation.
//
// A Driver is safe for concurrent use; launches are serialised. Close stops
// its worker goroutines.
type Driver struct {
	mu      sync.Mutex
	regions []region // sorted by base
	next    uint64   // base of the next allocation
	closed  bool

	pool *pool
	ws   []workerScratch // per worker
	gemm gemmJob
	ew   elemJob
	red  reduceJob
	bm   bmJob
	gj   grbmJob
	pj   pottsJob
	pv   pottsVisibleJob
	pts  ptSampleJob
}

var _ kernels.Driver = (*Driver)(nil)

// region is one allocation: bytes of memory at base, viewed as bytes and as
// float32 (the backing array is 64-byte aligned).
type region struct {
	base kernels.DevicePtr
	size int
	mem  []byte
	f32  []float32
}

// firstBase is the address of the first allocation: non-zero (0 is NULL)
// and far from small integers that a confused caller could pass.
const firstBase = 1 << 32

// NewDriver returns a host device with no memory allocated and a worker
// pool of runtime.GOMAXPROCS(0) goroutines.
func NewDriver() *Driver { return newDriver(gomaxprocs()) }

// newDriver returns a Driver with n workers (tests vary n).
func newDriver(n int) *Driver {
	n = max(n, 1)
	d := &Driver{next: firstBase, pool: newPool(n), ws: make([]workerScratch, n)}
	d.gemm.d, d.ew.d, d.red.d = d, d, d
	return d
}

// Workers returns the number of workers a launch runs on.
func (d *Driver) Workers() int { return d.pool.n }

// Alloc allocates bytes of memory (zero-filled, 64-byte aligned).
func (d *Driver) Alloc(bytes int) (kernels.DevicePtr, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("host: Alloc(%d): negative size", bytes)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, errClosed
	}
	// Allocate as []float32 so the GC knows the memory holds no pointers,
	// with slack to align the start to 64 bytes.
	back := make([]float32, (bytes+3)/4+16)
	off := 0
	if mis := uintptr(unsafe.Pointer(unsafe.SliceData(back))) % 64; mis != 0 {
		off = int(64-mis) / 4
	}
	f32 := back[off : off+(bytes+3)/4]
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f32))), len(f32)*4)[:bytes]
	base := kernels.DevicePtr(d.next)
	// The next base is past this one and a 64-byte unmapped gap, rounded
	// up to 64: no range can run from one allocation into the next.
	d.next += uint64(bytes+64+63) &^ 63
	d.regions = append(d.regions, region{base: base, size: bytes, mem: mem, f32: f32[:bytes/4]})
	return base, nil
}

// Free releases an allocation returned by Alloc.
func (d *Driver) Free(p kernels.DevicePtr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.index(p)
	if i < 0 || d.regions[i].base != p {
		return fmt.Errorf("host: Free(%#x): not an allocation", uint64(p))
	}
	d.regions = append(d.regions[:i], d.regions[i+1:]...)
	return nil
}

// index returns the index of the region whose [base, base+size] contains p
// (the end address included, for empty ranges), or -1.
func (d *Driver) index(p kernels.DevicePtr) int {
	lo, hi := 0, len(d.regions) // first region with base > p
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.regions[m].base > p {
			hi = m
		} else {
			lo = m + 1
		}
	}
	i := lo - 1
	if i < 0 || uint64(p)-uint64(d.regions[i].base) > uint64(d.regions[i].size) {
		return -1
	}
	return i
}

// bytesAt returns the n bytes at p, which must lie inside one allocation.
func (d *Driver) bytesAt(p kernels.DevicePtr, n int) ([]byte, error) {
	i := d.index(p)
	if i < 0 {
		return nil, fmt.Errorf("host: %#x is not in any allocation", uint64(p))
	}
	r := &d.regions[i]
	off := int(p - r.base)
	if n > r.size-off {
		return nil, fmt.Errorf("host: [%#x, +%d bytes) runs past the end of the %d-byte allocation at %#x",
			uint64(p), n, r.size, uint64(r.base))
	}
	return r.mem[off : off+n], nil
}

// floats resolves the float32 buffer [p, p+4n) of a kernel argument. NULL
// (p == 0) is accepted for n == 0 only; a non-NULL p must be inside a live
// allocation and 4-byte aligned even when n == 0, as the emulator checks.
func (d *Driver) floats(kernel, arg string, p kernels.DevicePtr, n int) ([]float32, error) {
	if p == 0 {
		if n == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("host: %s: %s is NULL but %d elements are accessed", kernel, arg, n)
	}
	i := d.index(p)
	if i < 0 {
		return nil, fmt.Errorf("host: %s: %s = %#x is not in any allocation", kernel, arg, uint64(p))
	}
	r := &d.regions[i]
	off := int(p - r.base)
	if off%4 != 0 {
		return nil, fmt.Errorf("host: %s: %s = %#x is not 4-byte aligned", kernel, arg, uint64(p))
	}
	if n < 0 || n > (r.size-off)/4 {
		return nil, fmt.Errorf("host: %s: %s: %d elements at %#x run past the end of the %d-byte allocation at %#x",
			kernel, arg, n, uint64(p), r.size, uint64(r.base))
	}
	return r.f32[off/4 : off/4+n], nil
}

// uint32s is floats for a unsigned int* argument (same memory, other type).
func (d *Driver) uint32s(kernel, arg string, p kernels.DevicePtr, n int) ([]uint32, error) {
	f, err := d.floats(kernel, arg, p, n)
	if err != nil || len(f) == 0 {
		return nil, err
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(f))), len(f)), nil
}

// CopyHtoD copies src to device memory at dst.
func (d *Driver) CopyHtoD(dst kernels.DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.bytesAt(dst, len(src))
	if err != nil {
		return err
	}
	copy(b, src)
	return nil
}

// MemsetD32 sets count 32-bit words from dst on to value
// (kernels.Memsetter).
func (d *Driver) MemsetD32(dst kernels.DevicePtr, value uint32, count int) error {
	if count <= 0 {
		if count < 0 {
			return fmt.Errorf("host: MemsetD32 of %d words", count)
		}
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.bytesAt(dst, 4*count)
	if err != nil {
		return err
	}
	w := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), count)
	for i := range w {
		w[i] = value
	}
	return nil
}

// CopyDtoH copies device memory at src to dst.
func (d *Driver) CopyDtoH(dst []byte, src kernels.DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.bytesAt(src, len(dst))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

// Float32s returns the float32 view of n elements of device memory at p, for
// callers on the host that want to read or write device buffers without a
// copy (the memory is host memory). It is valid until p is freed and must
// not be used concurrently with a launch that writes it.
func (d *Driver) Float32s(p kernels.DevicePtr, n int) ([]float32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.floats("Float32s", "p", p, n)
}

// Synchronize returns nil: launches complete before Launch returns.
func (d *Driver) Synchronize() error { return nil }

// Close frees all memory and stops the workers. The Driver cannot be used
// afterwards.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.regions = nil
		d.pool.stop()
	}
	return nil
}

var errClosed = fmt.Errorf("host: driver closed")

// Launch runs the kernel of a to completion. block must be the table's
// block and grid valid (kernels.CheckLaunch); pointer parameters must lie
// in live allocations for the ranges the kernel touches, and may be NULL
// only where the kernel touches nothing. The grid matters only where the
// .cu result depends on it: gemm_f32 and col_sum_f32 must cover their
// output (an uncovered part would be left unwritten on a GPU; here it is
// an error), and sq_diff_partial_f32 writes grid.X partial sums, each over
// the elements its block would sum on a GPU (the GEMM kernels: the grid of
// their tile, kernels.GemmGridOf). The other kernels are
// grid-stride loops whose result is the same for every grid.
func (d *Driver) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	if _, err := kernels.CheckLaunch(grid, block, a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	switch a := a.(type) {
	case *kernels.GemmF32Args, *kernels.GemmF32x128Args, *kernels.GemmF32x64Args:
		g, _ := kernels.GemmArgsOf(a) // the same function whatever the tiling
		return d.launchGemm(grid, a.Kernel(), g)
	case *kernels.ColSumF32Args:
		return d.launchColSum(grid, a)
	case *kernels.SqDiffPartialF32Args:
		return d.launchSqDiff(grid, a)
	case *kernels.SumF32Args:
		return d.launchSum(a)
	case *kernels.FreeEnergyF32Args:
		return d.launchFreeEnergy(a)
	case *kernels.SGDUpdateF32Args:
		return d.launchSGD(a)
	case *kernels.BernoulliF32Args:
		return d.launchBernoulli(a)
	case *kernels.PhiloxFillF32Args:
		return d.launchPhiloxFill(a)
	case *kernels.GatherRowsF32Args:
		return d.launchGatherRows(a)
	case *kernels.GatherRowsU8Args:
		return d.launchGatherRowsU8(a)
	case *kernels.GatherRowsBitsArgs:
		return d.launchGatherRowsBits(a)
	case *kernels.BMGibbsF32Args:
		return d.launchBMGibbs(grid, a)
	case *kernels.BMMaskF32Args:
		return d.launchBMMask(a)
	case *kernels.ScaleExpNegF32Args:
		return d.launchScaleExpNeg(kernels.ScaleExpNegF32, a.M, a.N, a.X, a.Z, a.Out, nil)
	case *kernels.GaussianSampleF32Args:
		rng := kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
		return d.launchScaleExpNeg(kernels.GaussianSampleF32, a.M, a.N, a.Mean, a.Z, a.Out, &rng)
	case *kernels.LogVarGradF32Args:
		return d.launchLogVarGrad(a)
	case *kernels.ClampMinF32Args:
		return d.launchClampMin(a)
	case *kernels.L1GradF32Args:
		return d.launchL1Grad(a)
	case *kernels.PottsGibbsF32Args:
		return d.launchPottsGibbs(grid, a)
	case *kernels.PottsGradF32Args:
		return d.launchPottsGrad(a)
	case *kernels.PottsVisibleF32Args:
		return d.launchPottsVisible(a)
	case *kernels.PTSampleF32Args, *kernels.PTEnergyF32Args, *kernels.PTSwapF32Args, *kernels.PTAcceptF32Args,
		*kernels.PTRowsF32Args:
		return d.launchPT(a)
	}
	return fmt.Errorf("host: kernel %q has no host implementation", a.Kernel())
}

// dims converts int32 size arguments, rejecting negative ones: a GPU would
// run an empty or partly empty loop, but a negative size is always a bug in
// the caller.
func dims(kernel string, vals ...int32) error {
	for _, v := range vals {
		if v < 0 {
			return fmt.Errorf("host: %s: negative size %d", kernel, v)
		}
	}
	return nil
}
