package emu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/kernels"
)

const eps32 = 1.0 / (1 << 24) // unit roundoff of float32

type gemmCase struct {
	M, N, K        int
	transA, transB bool
	alpha, beta    float32
	flags          int
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// runGemm launches gemm_f32 on random inputs and checks every output against
// GemmRef.
//
// Tolerance: the kernel rounds once per fmaf over K terms, then alpha*acc,
// +beta*c and +bias once each, so |x - x_exact| <= (K+3) u (|alpha| sum|a b|
// + |beta c| + |bias|) with u = 2^-24 (standard forward error bound for a
// recursive sum; the reference is float64, exact enough). sigmoid has slope
// <= 1/4, plus a few ulps of expf and the division: |p - p_ref| <= bound/4 +
// 4u. Samples are exact given the kernel's own p (u < p); against the
// reference p they may differ only where u lies within that bound of p.
func runGemm(t *testing.T, r *rand.Rand, c gemmCase) {
	var st Slices
	t.Helper()
	M, N, K := c.M, c.N, c.K
	A := randSlice(r, M*K, -1, 1)
	B := randSlice(r, K*N, -1, 1)
	bias := randSlice(r, N, -2, 2)
	var C0 []float32
	if c.beta != 0 {
		C0 = randSlice(r, M*N, -1, 1)
	} else {
		C0 = poison(M * N) // must not be read when beta == 0
	}
	C, P, S := append([]float32(nil), C0...), poison(M*N), poison(M*N)
	rng := kernels.Stream{Seed: r.Uint64(), Op: r.Uint32(), Step: r.Uint64()}
	wantC, wantP, wantS := append([]float32(nil), C0...), poison(M*N), poison(M*N)
	kernels.GemmRef(M, N, K, c.alpha, A, B, c.beta, wantC, c.transA, c.transB, c.flags, bias, wantP, wantS, rng)

	cArg := C
	if c.flags&kernels.GemmNoC != 0 && c.beta == 0 {
		cArg = nil // C may be NULL when it is neither read nor written
	}
	mustLaunch(t, kernels.GemmGrid(M, N), kernels.Dim3{X: 16, Y: 16, Z: 1}, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: c.alpha, A: st.F32(A), B: st.F32(B), Beta: c.beta, C: st.F32(cArg), TransA: b2i(c.transA), TransB: b2i(c.transB), Flags: int32(c.flags), Bias: st.F32(bias), P: st.F32(P), S: st.F32(S), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}, &st)

	name := fmt.Sprintf("%+v", c)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			idx := i*N + j
			var sumAbs float64
			for k := 0; k < K; k++ {
				var a, b float32
				if c.transA {
					a = A[k*M+i]
				} else {
					a = A[i*K+k]
				}
				if c.transB {
					b = B[j*K+k]
				} else {
					b = B[k*N+j]
				}
				sumAbs += math.Abs(float64(a) * float64(b))
			}
			mag := math.Abs(float64(c.alpha)) * sumAbs
			if c.beta != 0 {
				mag += math.Abs(float64(c.beta) * float64(C0[idx]))
			}
			if c.flags&kernels.GemmBias != 0 {
				mag += math.Abs(float64(bias[j]))
			}
			tolX := float64(K+3)*eps32*mag + 1e-30
			tolP := tolX
			if c.flags&kernels.GemmSigmoid != 0 {
				tolP = tolX/4 + 4*eps32
			}
			if c.flags&kernels.GemmNoC == 0 {
				if d := math.Abs(float64(C[idx] - wantC[idx])); !(d <= tolX) {
					t.Fatalf("%s: C[%d,%d] = %v, want %v (tol %g)", name, i, j, C[idx], wantC[idx], tolX)
				}
			} else if math.Float32bits(C[idx]) != math.Float32bits(C0[idx]) {
				t.Fatalf("%s: C[%d,%d] written with GemmNoC", name, i, j)
			}
			if c.flags&kernels.GemmWriteP != 0 {
				if d := math.Abs(float64(P[idx] - wantP[idx])); !(d <= tolP) {
					t.Fatalf("%s: P[%d,%d] = %v, want %v (tol %g)", name, i, j, P[idx], wantP[idx], tolP)
				}
			} else if !math.IsNaN(float64(P[idx])) {
				t.Fatalf("%s: P[%d,%d] written without GemmWriteP", name, i, j)
			}
			if c.flags&kernels.GemmSample != 0 {
				u := rng.Uniform(uint64(idx))
				if c.flags&kernels.GemmWriteP != 0 {
					if want := kernels.Bernoulli(u, P[idx]); S[idx] != want {
						t.Fatalf("%s: S[%d,%d] = %v, want %v (u=%v p=%v)", name, i, j, S[idx], want, u, P[idx])
					}
				} else if S[idx] != wantS[idx] && math.Abs(float64(u-wantP[idx])) > tolP {
					t.Fatalf("%s: S[%d,%d] = %v, want %v (u=%v p~%v)", name, i, j, S[idx], wantS[idx], u, wantP[idx])
				}
			} else if !math.IsNaN(float64(S[idx])) {
				t.Fatalf("%s: S[%d,%d] written without GemmSample", name, i, j)
			}
		}
	}
}

// Every shape from {1, 7, 16, 33, 70}^3 — ragged and exact tiles — with
// transposes, alpha, beta and epilogue flags varied pseudo-randomly.
func TestGemmShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sizes := []int{1, 7, 16, 33, 70}
	start := time.Now()
	for _, M := range sizes {
		for _, N := range sizes {
			for _, K := range sizes {
				c := gemmCase{M: M, N: N, K: K, transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
					alpha: 1, flags: r.IntN(32)}
				if c.flags&kernels.GemmSample != 0 && c.flags&kernels.GemmSigmoid == 0 {
					c.flags |= kernels.GemmSigmoid // sample against probabilities
				}
				switch r.IntN(3) {
				case 1:
					c.alpha, c.beta = -0.5, 0.75
				case 2:
					c.alpha, c.beta = 2, 1
				}
				runGemm(t, r, c)
			}
		}
	}
	t.Logf("125 shapes in %v", time.Since(start))
}

// Every transpose combination with every epilogue flag set on a ragged shape.
func TestGemmEpilogues(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for flags := 0; flags < 32; flags++ {
				runGemm(t, r, gemmCase{M: 19, N: 21, K: 35, transA: tA, transB: tB,
					alpha: 1.25, beta: float32(flags%3) * 0.5, flags: flags})
			}
		}
	}
}

// K = 0: the product is empty, x = beta*C (+ bias); M or N = 0 would be a
// zero grid, which is not a launch (callers skip it).
func TestGemmEmptyK(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	runGemm(t, r, gemmCase{M: 5, N: 3, K: 0, alpha: 1, beta: 0.5, flags: kernels.GemmBias})
}
