package host

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

const eps32 = 1.0 / (1 << 24) // unit roundoff of float32

// dev wraps a Driver with test helpers that fail the test on error.
type dev struct {
	*Driver
	t testing.TB
}

func newDev(t testing.TB, workers int) dev {
	d := newDriver(workers)
	t.Cleanup(func() { d.Close() })
	return dev{d, t}
}

// put allocates device memory holding s (nil for an empty s: NULL).
func (d dev) put(s []float32) kernels.DevicePtr {
	d.t.Helper()
	if len(s) == 0 {
		return 0
	}
	p, err := d.Alloc(4 * len(s))
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.CopyHtoD(p, kernels.Float32Bytes(s)); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// get copies n float32 at p back.
func (d dev) get(p kernels.DevicePtr, n int) []float32 {
	d.t.Helper()
	s := make([]float32, n)
	if n == 0 {
		return s
	}
	if err := d.CopyDtoH(kernels.Float32Bytes(s), p); err != nil {
		d.t.Fatal(err)
	}
	return s
}

// launch runs a over grid with the table's block.
func (d dev) launch(grid kernels.Dim3, a kernels.Args) {
	d.t.Helper()
	k, _ := kernels.Lookup(a.Kernel())
	if err := d.Launch(grid, k.Block, a); err != nil {
		d.t.Fatalf("%s: %v", a.Kernel(), err)
	}
}

func poison(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
