package host

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

type gemmCase struct {
	M, N, K        int
	transA, transB bool
	alpha, beta    float32
	flags          int
}

// gemmResult is one launch's inputs and outputs (host copies).
type gemmResult struct {
	A, B, bias, C0 []float32
	C, P, S        []float32
	rng            kernels.Stream
}

// gemmInputs draws random inputs for c; C is poisoned when beta == 0 (it
// must not be read), P and S always (they must be written exactly where
// the flags say).
func gemmInputs(r *rand.Rand, c gemmCase) gemmResult {
	M, N, K := c.M, c.N, c.K
	g := gemmResult{A: randSlice(r, M*K, -1, 1), B: randSlice(r, K*N, -1, 1), bias: randSlice(r, N, -2, 2)}
	if c.beta != 0 {
		g.C0 = randSlice(r, M*N, -1, 1)
	} else {
		g.C0 = poison(M * N)
	}
	g.rng = kernels.Stream{Seed: r.Uint64(), Op: r.Uint32(), Step: r.Uint64()}
	return g
}

// gemmLaunch runs c on d with inputs g and returns C, P, S.
func gemmLaunch(d dev, c gemmCase, g gemmResult) (C, P, S []float32) {
	M, N, K := c.M, c.N, c.K
	pA, pB, pBias := d.put(g.A), d.put(g.B), d.put(g.bias)
	pC, pP, pS := d.put(g.C0), d.put(poison(M*N)), d.put(poison(M*N))
	cArg := pC
	if c.flags&kernels.GemmNoC != 0 && c.beta == 0 {
		cArg = 0 // C may be NULL when neither read nor written
	}
	d.launch(kernels.GemmGrid(M, N), &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: c.alpha, A: pA, B: pB, Beta: c.beta, C: cArg, TransA: b2i(c.transA), TransB: b2i(c.transB), Flags: int32(c.flags), Bias: pBias, P: pP, S: pS, Seed: g.rng.Seed, Op: g.rng.Op, Step: g.rng.Step})
	return d.get(pC, M*N), d.get(pP, M*N), d.get(pS, M*N)
}

// checkGemm checks a launch against kernels.GemmRef.
//
// Tolerance (as kernels/emu's tests): the kernel rounds once per fmaf over
// K terms, then alpha*acc, +beta*c and +bias once each, so |x - x_exact| <=
// (K+3) u (|alpha| sum|a b| + |beta c| + |bias|), u = 2^-24. sigmoid has
// slope <= 1/4, plus an ulp or two of expf and the division: |p - p_ref| <=
// bound/4 + 4u. Samples are exact given the kernel's own p (u < p); against
// the reference p they may differ only where u lies within that bound of p,
// and such near-ties are counted.
func checkGemm(t *testing.T, c gemmCase, g gemmResult, C, P, S []float32) (nearTies int) {
	t.Helper()
	M, N, K := c.M, c.N, c.K
	wantC, wantP, wantS := clone(g.C0), poison(M*N), poison(M*N)
	kernels.GemmRef(M, N, K, c.alpha, g.A, g.B, c.beta, wantC, c.transA, c.transB, c.flags, g.bias, wantP, wantS, g.rng)
	name := fmt.Sprintf("%+v", c)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			idx := i*N + j
			var sumAbs float64
			for k := 0; k < K; k++ {
				a, b := g.A[i*K+k], g.B[k*N+j]
				if c.transA {
					a = g.A[k*M+i]
				}
				if c.transB {
					b = g.B[j*K+k]
				}
				sumAbs += math.Abs(float64(a) * float64(b))
			}
			mag := math.Abs(float64(c.alpha)) * sumAbs
			if c.beta != 0 {
				mag += math.Abs(float64(c.beta) * float64(g.C0[idx]))
			}
			if c.flags&kernels.GemmBias != 0 {
				mag += math.Abs(float64(g.bias[j]))
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
			} else if math.Float32bits(C[idx]) != math.Float32bits(g.C0[idx]) {
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
				u := g.rng.Uniform(uint64(idx))
				if c.flags&kernels.GemmWriteP != 0 {
					// Exact: the sample is u < p for the p written.
					if want := kernels.Bernoulli(u, P[idx]); S[idx] != want {
						t.Fatalf("%s: S[%d,%d] = %v, want %v (u=%v p=%v)", name, i, j, S[idx], want, u, P[idx])
					}
				}
				if S[idx] != wantS[idx] {
					if math.Abs(float64(u-wantP[idx])) > tolP {
						t.Fatalf("%s: S[%d,%d] = %v, want %v (u=%v p~%v)", name, i, j, S[idx], wantS[idx], u, wantP[idx])
					}
					nearTies++
				}
			} else if !math.IsNaN(float64(S[idx])) {
				t.Fatalf("%s: S[%d,%d] written without GemmSample", name, i, j)
			}
		}
	}
	return nearTies
}

func runGemm(t *testing.T, d dev, r *rand.Rand, c gemmCase) int {
	t.Helper()
	g := gemmInputs(r, c)
	C, P, S := gemmLaunch(d, c, g)
	return checkGemm(t, c, g, C, P, S)
}

// kernelVariants runs f with the assembly micro-kernel (where the CPU has
// it) and with the portable Go one.
func kernelVariants(t *testing.T, f func(t *testing.T)) {
	asm := useAsm
	t.Cleanup(func() { useAsm = asm })
	for _, v := range []bool{true, false} {
		if v && !asm {
			continue
		}
		useAsm = v
		t.Run(fmt.Sprintf("asm=%v", v), f)
	}
}

// Ragged and exact-tile shapes from {1, 7, 16, 33, 70, 100, 513}, with
// transposes, alpha, beta and epilogue flags varied pseudo-randomly.
func TestGemmShapes(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		d := newDev(t, 3)
		r := rand.New(rand.NewPCG(5, 6))
		sizes := []int{1, 7, 16, 33, 70, 100, 513}
		ties, samples := 0, 0
		for _, M := range sizes {
			for _, N := range sizes {
				for _, K := range sizes {
					if M*N*K > 600_000 {
						continue // keep the float64 reference quick
					}
					c := gemmCase{M: M, N: N, K: K, transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
						alpha: 1, flags: r.IntN(32)}
					switch r.IntN(3) {
					case 1:
						c.alpha, c.beta = -0.5, 0.75
					case 2:
						c.alpha, c.beta = 2, 1
					}
					ties += runGemm(t, d, r, c)
					if c.flags&kernels.GemmSample != 0 {
						samples += M * N
					}
				}
			}
		}
		t.Logf("samples differing from the float64 reference at near-ties: %d of %d", ties, samples)
		if ties > samples/100000+2 {
			t.Errorf("%d near-tie sample differences, expected ~0", ties)
		}
	})
}

// Every transpose combination with every epilogue flag on ragged shapes.
func TestGemmEpilogues(t *testing.T) {
	kernelVariants(t, func(t *testing.T) {
		d := newDev(t, 2)
		r := rand.New(rand.NewPCG(7, 8))
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for flags := 0; flags < 32; flags++ {
					runGemm(t, d, r, gemmCase{M: 19, N: 37, K: 35, transA: tA, transB: tB,
						alpha: 1.25, beta: float32(flags%3) * 0.5, flags: flags})
				}
			}
		}
	})
}

// K = 0 (x = beta*C + bias) and empty outputs.
func TestGemmEmpty(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(9, 10))
	runGemm(t, d, r, gemmCase{M: 5, N: 3, K: 0, alpha: 1, beta: 0.5, flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP})
	runGemm(t, d, r, gemmCase{M: 0, N: 3, K: 4, alpha: 1, flags: 31})
	runGemm(t, d, r, gemmCase{M: 3, N: 0, K: 4, alpha: 1, flags: 31})
}

// The results must not depend on the number of workers: every output is
// summed in a fixed order whoever computes it.
func TestGemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	c := gemmCase{M: 100, N: 513, K: 70, transB: true, alpha: 0.3, beta: 0.7,
		flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample}
	g := gemmInputs(r, c)
	var ref [3][]float32
	for i, w := range []int{1, 2, 3, 8} {
		C, P, S := gemmLaunch(newDev(t, w), c, g)
		if i == 0 {
			ref = [3][]float32{C, P, S}
			continue
		}
		for o, got := range [3][]float32{C, P, S} {
			for e := range got {
				if math.Float32bits(got[e]) != math.Float32bits(ref[o][e]) {
					t.Fatalf("%d workers: output %d element %d = %v, 1 worker %v", w, o, e, got[e], ref[o][e])
				}
			}
		}
	}
}

// The assembly and Go micro-kernels agree exactly on C except for the Go
// kernel's rare double rounding (an ulp on a few elements at most).
func TestMicroKernelsAgree(t *testing.T) {
	if !useAsm {
		t.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(13, 14))
	c := gemmCase{M: 70, N: 100, K: 513, alpha: 1}
	g := gemmInputs(r, c)
	C1, _, _ := gemmLaunch(newDev(t, 2), c, g)
	useAsm = false
	C2, _, _ := gemmLaunch(newDev(t, 2), c, g)
	useAsm = true
	diff := 0
	for i := range C1 {
		if C1[i] != C2[i] {
			diff++
			if d := math.Abs(float64(C1[i] - C2[i])); d > 8*eps32*math.Abs(float64(C1[i]))+1e-6 {
				t.Fatalf("C[%d]: asm %v, go %v", i, C1[i], C2[i])
			}
		}
	}
	t.Logf("%d of %d elements differ by double rounding", diff, len(C1))
}
