package host

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The vector reduction steps must give the scalar definitions' bits: the
// assembly loops of sqDiffAcc and treeSum against sqDiffAccGo and a scalar
// tree, over lengths that leave every tail size, with large, tiny and
// non-finite values mixed in.
func TestReductionStepsMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -3e38, 3e38, float32(math.Inf(1)), float32(math.NaN())}
	for _, n := range []int{0, 1, 3, 4, 5, 8, 63, 64, 255, 256} {
		a, b, red := randSlice(r, n, -2, 2), randSlice(r, n, -2, 2), randSlice(r, n, 0, 100)
		for i := 0; i < n; i += 7 {
			a[i] = special[(i/7)%len(special)]
		}
		want := clone(red)
		sqDiffAccGo(a, b, want)
		got := clone(red)
		sqDiffAcc(a, b, got)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n=%d: sqDiffAcc[%d] = %v, scalar %v", n, i, got[i], want[i])
			}
		}
	}
	for trial := 0; trial < 20; trial++ {
		var leaves [redThreads]float32
		for i := range leaves {
			leaves[i] = float32(r.NormFloat64()) * float32(math.Pow(10, float64(r.IntN(8))))
		}
		want := leaves
		for h := redThreads / 2; h > 0; h /= 2 {
			for i := 0; i < h; i++ {
				want[i] = want[i] + want[i+h]
			}
		}
		got := leaves
		if s := treeSum(&got); math.Float32bits(s) != math.Float32bits(want[0]) {
			t.Fatalf("trial %d: treeSum = %v, scalar tree %v", trial, s, want[0])
		}
	}
}

// colSumScalar is col_sum_f32's order written out element by element: row
// i goes to partial i mod 8, then the fixed tree, alpha, and beta·out
// when beta != 0.
func colSumScalar(M, N int, alpha float32, X []float32, beta float32, out []float32) {
	for c := 0; c < N; c++ {
		var s [8]float32
		for i := 0; i < M; i++ {
			s[i&7] = s[i&7] + X[i*N+c]
		}
		r := alpha * ((s[0] + s[4] + (s[2] + s[6])) + (s[1] + s[5] + (s[3] + s[7])))
		if beta != 0 {
			r = r + beta*out[c]
		}
		out[c] = r
	}
}

// The host col_sum (assembly for whole groups of 8 columns, Go for the
// rest) against colSumScalar, bit for bit, over row counts that end on
// every partial and column counts that leave every tail.
func TestColSumBits(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(43, 44))
	for _, M := range []int{1, 7, 8, 9, 15, 100} {
		for _, N := range []int{1, 8, 13, 64, 65, 500, 513} {
			for _, beta := range []float32{0, float32(math.Copysign(0, -1)), 1, -0.5} {
				X := randSlice(r, M*N, -1, 1)
				for i := 0; i < len(X); i += 11 {
					X[i] *= 1e6
				}
				out := randSlice(r, N, -1, 1)
				want := clone(out)
				alpha := 1 / float32(M)
				colSumScalar(M, N, alpha, X, beta, want)
				pOut := d.put(out)
				d.launch(kernels.ColSumGrid(N), &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: alpha, X: d.put(X), Beta: beta, Out: pOut})
				for j, g := range d.get(pOut, N) {
					if math.Float32bits(g) != math.Float32bits(want[j]) {
						t.Fatalf("M=%d N=%d beta=%v: out[%d] = %v, scalar %v", M, N, beta, j, g, want[j])
					}
				}
			}
		}
	}
}
