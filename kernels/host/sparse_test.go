package host

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// withSparseMode runs f with sparseMode set to m.
func withSparseMode(m int, f func()) {
	old := sparseMode
	defer func() { sparseMode = old }()
	sparseMode = m
	f()
}

// sparsify zeroes each element of s with probability 1-density; binary
// makes the survivors 1 (sampled states), otherwise they keep their values.
func sparsify(r *rand.Rand, s []float32, density float64, binary bool) {
	for i := range s {
		switch {
		case r.Float64() >= density:
			s[i] = 0
		case binary:
			s[i] = 1
		}
	}
}

// The sparse path must give the dense path's bits on C, P and S, for every
// transpose, epilogue and ragged shape (column tails of 1..95, row groups
// and K blocks cut short), with the assembly and the Go kernels.
func TestSparseMatchesDense(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		d := newDev(t, 3)
		r := rand.New(rand.NewPCG(41, 42))
		shapes := [][3]int{{1, 1, 2}, {17, 96, 48}, {33, 97, 49}, {100, 500, 784}, {7, 191, 100}, {100, 20, 33}, {40, 784, 500}}
		for _, sh := range shapes {
			for _, density := range []float64{0, 0.05, 0.3, 0.5} {
				for v := 0; v < 4; v++ {
					c := gemmCase{M: sh[0], N: sh[1], K: sh[2], transA: v&1 != 0, transB: v&2 != 0,
						alpha: 0.75, flags: r.IntN(32)}
					if r.IntN(2) == 1 {
						c.beta = -0.5
					}
					g := gemmInputs(r, c)
					sparsify(r, g.A, density, density == 0.5)
					var dense, sparse [3][]float32
					withSparseMode(1, func() { dense[0], dense[1], dense[2] = gemmLaunch(d, c, g) })
					withSparseMode(2, func() {
						sparse[0], sparse[1], sparse[2] = gemmLaunch(d, c, g)
						if !d.gemm.sp.ran {
							t.Fatalf("%+v: sparse path did not run", c)
						}
					})
					for o := range dense {
						for e := range dense[o] {
							a, b := dense[o][e], sparse[o][e]
							if math.Float32bits(a) != math.Float32bits(b) && !(math.IsNaN(float64(a)) && math.IsNaN(float64(b))) {
								t.Fatalf("%+v density %v: output %d[%d]: sparse %v, dense %v", c, density, o, e, b, a)
							}
						}
					}
				}
			}
		}
	})
}

// A launch whose row blocks differ in density (images: empty border
// pixels, full centre ones) runs mixed: the dense blocks on the packed
// kernel, the others sparse, with the dense path's bits on C, P and S; with
// B transposed it stays all dense; all-dense and all-sparse operands are
// not mixed.
func TestSparseMixedBlocks(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		d := newDev(t, 3)
		r := rand.New(rand.NewPCG(51, 52))
		for _, sh := range [][3]int{{784, 500, 100}, {130, 97, 49}, {61, 33, 20}, {250, 200, 64}} {
			for v := 0; v < 4; v++ {
				c := gemmCase{M: sh[0], N: sh[1], K: sh[2], transA: v&1 != 0, transB: v&2 != 0,
					alpha: 0.5, flags: r.IntN(32)}
				if v >= 2 {
					c.beta = 1
				}
				g := gemmInputs(r, c)
				// Row i of op(A) is dense in every other block of spRows rows.
				denseRow := func(i int) bool { return (i/spRows)%2 == 0 }
				for e := range g.A {
					i := e / c.K
					if c.transA {
						i = e % c.M
					}
					sparsify(r, g.A[e:e+1], map[bool]float64{true: 0.9, false: 0.2}[denseRow(i)], v == 1)
				}
				var dense, mixed [3][]float32
				withSparseMode(1, func() { dense[0], dense[1], dense[2] = gemmLaunch(d, c, g) })
				mixed[0], mixed[1], mixed[2] = gemmLaunch(d, c, g)
				wantMixed := !c.transB
				if d.gemm.sp.mixed != wantMixed || d.gemm.sp.ran != wantMixed {
					t.Fatalf("%+v: mixed %v, sparse ran %v; want %v", c, d.gemm.sp.mixed, d.gemm.sp.ran, wantMixed)
				}
				for o := range dense {
					for e := range dense[o] {
						a, b := dense[o][e], mixed[o][e]
						if math.Float32bits(a) != math.Float32bits(b) && !(math.IsNaN(float64(a)) && math.IsNaN(float64(b))) {
							t.Fatalf("%+v: output %d[%d]: mixed %v, dense %v", c, o, e, b, a)
						}
					}
				}
			}
		}
		for _, density := range []float64{0.2, 1} {
			c := gemmCase{M: 784, N: 500, K: 100, transA: true, alpha: 1}
			g := gemmInputs(r, c)
			sparsify(r, g.A, density, true)
			gemmLaunch(d, c, g)
			if d.gemm.sp.mixed || d.gemm.sp.ran != (density < 1) {
				t.Errorf("uniform density %v: mixed %v, sparse ran %v", density, d.gemm.sp.mixed, d.gemm.sp.ran)
			}
		}
	})
}

// The sparse tiles read op(B) at a stride that is not a multiple of 1 KiB:
// a small B is copied to that stride when its own is one, a large one is
// read in place, B^T is transposed to it anyway. The bits stay the dense
// path's.
func TestSparseAlignedStride(t *testing.T) {
	for _, c := range []struct{ n, want int }{{1, 1}, {96, 96}, {255, 255}, {256, 272}, {500, 500}, {512, 528}, {784, 784}, {1024, 1040}} {
		if got := alignedStride(c.n); got != c.want {
			t.Errorf("alignedStride(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(53, 54))
	for _, c := range []struct {
		M, N, K int
		transB  bool
		density float64
		padded  bool
		ldb     int
	}{
		{784, 512, 100, false, 0.3, true, 528},  // transA below: a gradient product
		{100, 512, 784, false, 0.3, false, 512}, // the weights: read in place
		{100, 500, 784, false, 0.3, false, 500},
		{100, 512, 784, true, 0.3, false, 528},
	} {
		gc := gemmCase{M: c.M, N: c.N, K: c.K, transA: c.M == 784, transB: c.transB, alpha: 1}
		g := gemmInputs(r, gc)
		sparsify(r, g.A, c.density, true)
		var want, got [3][]float32
		withSparseMode(1, func() { want[0], want[1], want[2] = gemmLaunch(d, gc, g) })
		got[0], got[1], got[2] = gemmLaunch(d, gc, g)
		if sp := &d.gemm.sp; !sp.ran || sp.padded != c.padded || sp.ldb != c.ldb {
			t.Errorf("%+v: sparse ran %v, padded %v, stride %d; want true, %v, %d", c, sp.ran, sp.padded, sp.ldb, c.padded, c.ldb)
		}
		for o := range want {
			for e := range want[o] {
				if math.Float32bits(want[o][e]) != math.Float32bits(got[o][e]) {
					t.Fatalf("%+v: output %d[%d]: %v, dense path %v", c, o, e, got[o][e], want[o][e])
				}
			}
		}
	}
}

// The sparse path against the float64 reference on the shapes of
// TestGemmShapes (so also on dense A, which mode 2 forces through it).
func TestSparseShapes(t *testing.T) {
	withSparseMode(2, func() {
		kernelVariants(t, func(t *testing.T) {
			d := newDev(t, 2)
			r := rand.New(rand.NewPCG(43, 44))
			for _, M := range []int{1, 16, 33, 100} {
				for _, N := range []int{1, 8, 95, 96, 200} {
					for _, K := range []int{2, 47, 48, 100} {
						c := gemmCase{M: M, N: N, K: K, transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
							alpha: 1, beta: float32(r.IntN(2)), flags: r.IntN(32)}
						runGemm(t, d, r, c)
					}
				}
			}
		})
	})
}

// Automatic choice: sparse operands take the sparse path, dense ones the
// packed path, with the lower limit when B must be transposed.
func TestSparseChoice(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(45, 46))
	for _, tc := range []struct {
		density float64
		transB  bool
		want    bool
	}{{0.31, false, true}, {0.5, false, true}, {1, false, false}, {0.31, true, true}, {0.5, true, false}} {
		c := gemmCase{M: 100, N: 500, K: 784, transB: tc.transB, alpha: 1}
		g := gemmInputs(r, c)
		sparsify(r, g.A, tc.density, true)
		gemmLaunch(d, c, g)
		if got := d.gemm.sp.ran; got != tc.want {
			t.Errorf("density %v, transB %v: sparse path ran = %v, want %v", tc.density, tc.transB, got, tc.want)
		}
	}
}

// The sparse kernels on the CD-1 step's products at the densities of
// binarized Fashion-MNIST (0.31) and of fair bits (0.5), against the dense
// path on the same inputs.
func BenchmarkSparseGemm(b *testing.B) {
	for _, s := range cd1Shapes {
		for _, density := range []float64{0.31, 0.5, 1} {
			for _, mode := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/density=%v/%s", s.M, s.N, s.K, s.transA, s.transB, density, map[int]string{1: "dense", 2: "sparse"}[mode])
				b.Run(name, func(b *testing.B) {
					withSparseMode(mode, func() { benchSparse(b, s, density) })
				})
			}
		}
	}
}

func benchSparse(b *testing.B, s gemmShape, density float64) {
	d := newDev(b, gomaxprocs())
	r := rand.New(rand.NewPCG(1, 2))
	A := randSlice(r, s.M*s.K, 0, 1)
	sparsify(r, A, density, true)
	pA, pB, pC := d.put(A), d.put(randSlice(r, s.K*s.N, -1, 1)), d.put(make([]float32, s.M*s.N))
	args := &kernels.GemmF32Args{M: int32(s.M), N: int32(s.N), K: int32(s.K), Alpha: float32(1), A: pA, B: pB, Beta: float32(0), C: pC, TransA: b2i(s.transA), TransB: b2i(s.transB), Flags: int32(0), Bias: pC, P: pC, S: pC, Seed: uint64(0), Op: uint32(0), Step: uint64(0)}
	grid, block := kernels.GemmGrid(s.M, s.N), kernels.Dim3{X: 16, Y: 16, Z: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Launch(grid, block, args); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(s.M*s.N*s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// csrRow keeps exactly the elements that are not ±0 (NaN and Inf
// included), in order, with the count before every K block.
func TestCSRRow(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(47, 48))
		special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1)), 1, -2.5, 1e-45}
		for _, K := range []int{1, 7, 8, 9, 63, 64, 65, 200, 784} {
			row := make([]float32, K)
			for k := range row {
				row[k] = special[r.IntN(len(special))]
			}
			nkb := (K + spKC - 1) / spKC
			idx, val, off := make([]int32, K), make([]float32, K), make([]int32, nkb+1)
			n := csrRow(row, idx, val, off)
			var wantIdx []int32
			wantOff := make([]int32, nkb+1)
			for k, a := range row {
				if k%spKC == 0 {
					wantOff[k/spKC] = int32(len(wantIdx))
				}
				if a != 0 || math.IsNaN(float64(a)) {
					wantIdx = append(wantIdx, int32(k))
				}
			}
			wantOff[nkb] = int32(len(wantIdx))
			if int(n) != len(wantIdx) {
				t.Fatalf("K=%d: count %d, want %d", K, n, len(wantIdx))
			}
			for i, k := range wantIdx {
				if idx[i] != k || math.Float32bits(val[i]) != math.Float32bits(row[k]) {
					t.Fatalf("K=%d: nonzero %d = (%d, %v), want (%d, %v)", K, i, idx[i], val[i], k, row[k])
				}
			}
			for kb := range wantOff {
				if off[kb] != wantOff[kb] {
					t.Fatalf("K=%d: off[%d] = %d, want %d", K, kb, off[kb], wantOff[kb])
				}
			}
		}
	})
}

// The epilogue's samples (AVX2 Philox where the CPU has it) are exactly
// kernels.Stream's Bernoulli draws, at any start and length, including
// block counters that wrap past 2^32.
func TestEpilogueSamples(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(49, 50))
		for trial := 0; trial < 200; trial++ {
			n := 1 + r.IntN(spCols)
			e0 := uint64(r.IntN(1000))
			if trial%3 == 0 {
				e0 = 4 * (1<<32 - uint64(r.IntN(8))) // counters wrap within the run
			}
			rng := kernels.Stream{Seed: r.Uint64(), Op: r.Uint32(), Step: r.Uint64()}
			p := randSlice(r, n, -0.1, 1.1)
			if trial%5 == 0 {
				p[r.IntN(n)] = float32(math.NaN())
			}
			S := poison(n)
			epilogue(p, false, nil, S, rng, e0)
			for c := range p {
				want := float32(0)
				if rng.Uniform(e0+uint64(c)) < p[c] {
					want = 1
				}
				if S[c] != want {
					t.Fatalf("trial %d (n %d, e0 %d): S[%d] = %v, want %v (p %v)", trial, n, e0, c, S[c], want, p[c])
				}
			}
		}
	})
}
