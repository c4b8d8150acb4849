package host

import (
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// BenchmarkColSum784x100 is one bias-gradient reduction of a CD-1 step of
// a 784-visible RBM at batch 100: the column sums of a 100×784 matrix.
func BenchmarkColSum784x100(b *testing.B) {
	d := newDev(b, gomaxprocs())
	r := rand.New(rand.NewPCG(3, 4))
	const M, N = 100, 784
	pX, pOut := d.put(randSlice(r, M*N, 0, 1)), d.put(make([]float32, N))
	a := &kernels.ColSumF32Args{M: M, N: N, Alpha: 1, X: pX, Beta: 1, Out: pOut}
	k, _ := kernels.Lookup(a.Kernel())
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Launch(kernels.ColSumGrid(N), k.Block, a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSqDiff784x100 is the reconstruction error of a CD-1 step at
// batch 100 on 784 visible units: sq_diff_partial_f32 then sum_f32 over
// 78,400 elements.
func BenchmarkSqDiff784x100(b *testing.B) {
	d := newDev(b, gomaxprocs())
	r := rand.New(rand.NewPCG(5, 6))
	const n = 100 * 784
	grid := kernels.SqDiffGrid(n)
	pA, pB := d.put(randSlice(r, n, 0, 1)), d.put(randSlice(r, n, 0, 1))
	pPart, pOut := d.put(make([]float32, grid.X)), d.put(make([]float32, 1))
	sq := &kernels.SqDiffPartialF32Args{N: n, A: pA, B: pB, Partial: pPart}
	sum := &kernels.SumF32Args{N: int32(grid.X), Alpha: 1, X: pPart, Out: pOut}
	ks, _ := kernels.Lookup(sq.Kernel())
	kt, _ := kernels.Lookup(sum.Kernel())
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Launch(grid, ks.Block, sq); err != nil {
			b.Fatal(err)
		}
		if err := d.Launch(kernels.Dim3{X: 1, Y: 1, Z: 1}, kt.Block, sum); err != nil {
			b.Fatal(err)
		}
	}
}
