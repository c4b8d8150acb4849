package emu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// gemmInputs are the operands of one GEMM case, shared by every kernel run
// on it.
type gemmInputs struct {
	A, B, bias, C0 []float32
	rng            kernels.Stream
}

func newGemmInputs(r *rand.Rand, c gemmCase) gemmInputs {
	in := gemmInputs{
		A:    randSlice(r, c.M*c.K, -1, 1),
		B:    randSlice(r, c.K*c.N, -1, 1),
		bias: randSlice(r, c.N, -2, 2),
		rng:  kernels.Stream{Seed: r.Uint64(), Op: r.Uint32(), Step: r.Uint64()},
	}
	if c.beta != 0 {
		in.C0 = randSlice(r, c.M*c.N, -1, 1)
	} else {
		in.C0 = poison(c.M * c.N) // must not be read when beta == 0
	}
	return in
}

// stageAt stages x at a float offset of off (0 or 1) from a 16-byte
// aligned address, so that off = 1 makes every float4 load unaligned and
// the kernel must take its scalar path. It returns the device pointer and
// the slice the result is copied back into.
func stageAt(st *Slices, x []float32, off int) (kernels.DevicePtr, []float32) {
	if len(x) == 0 {
		return 0, x
	}
	buf := make([]float32, len(x)+off)
	copy(buf[off:], x)
	return st.F32(buf) + kernels.DevicePtr(4*off), buf[off:]
}

// runGemmKernel runs GEMM kernel on c and in through the emulator and
// returns C, P and S (P and S start as NaN; C is in.C0, NULL when the
// kernel may neither read nor write it). With misalign, every operand is
// staged 4 bytes past a 16-byte boundary.
func runGemmKernel(t *testing.T, kernel string, c gemmCase, in gemmInputs, misalign bool) (C, P, S []float32) {
	t.Helper()
	var st Slices
	off := 0
	if misalign {
		off = 1
	}
	M, N := c.M, c.N
	g := &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(c.K), Alpha: c.alpha, Beta: c.beta,
		TransA: b2i(c.transA), TransB: b2i(c.transB), Flags: int32(c.flags),
		Seed: in.rng.Seed, Op: in.rng.Op, Step: in.rng.Step}
	g.A, _ = stageAt(&st, in.A, off)
	g.B, _ = stageAt(&st, in.B, off)
	g.Bias, _ = stageAt(&st, in.bias, off)
	C = append([]float32(nil), in.C0...)
	if c.flags&kernels.GemmNoC == 0 || c.beta != 0 {
		g.C, C = stageAt(&st, C, off)
	}
	g.P, P = stageAt(&st, poison(M*N), off)
	g.S, S = stageAt(&st, poison(M*N), off)
	a, err := kernels.GemmAs(kernel, g)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := kernels.GemmGridOf(kernel, M, N)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := kernels.Lookup(kernel)
	mustLaunch(t, grid, k.Block, a, &st)
	return C, P, S
}

// sameBits reports the first index where x and y differ in their bits, or
// -1.
func sameBits(x, y []float32) int {
	if len(x) != len(y) {
		return 0
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// checkBlockedGemm runs c on gemm_f32 and on every blocked kernel, aligned
// and misaligned, and requires identical bits of C, P and S.
func checkBlockedGemm(t *testing.T, r *rand.Rand, c gemmCase) {
	t.Helper()
	in := newGemmInputs(r, c)
	wC, wP, wS := runGemmKernel(t, kernels.GemmF32, c, in, false)
	for _, kernel := range []string{kernels.GemmF32x128, kernels.GemmF32x64} {
		for _, misalign := range []bool{false, true} {
			C, P, S := runGemmKernel(t, kernel, c, in, misalign)
			for _, o := range []struct {
				name      string
				got, want []float32
			}{{"C", C, wC}, {"P", P, wP}, {"S", S, wS}} {
				if i := sameBits(o.got, o.want); i >= 0 {
					t.Fatalf("%s %+v misaligned=%v: %s[%d,%d] = %v (%#x), gemm_f32 %v (%#x)", kernel, c, misalign,
						o.name, i/max(c.N, 1), i%max(c.N, 1), o.got[i], math.Float32bits(o.got[i]),
						o.want[i], math.Float32bits(o.want[i]))
				}
			}
		}
	}
}

// The blocked kernels equal gemm_f32 bit for bit on ragged and exact tile
// shapes (1 to a few hundred, around the 64 and 128 tile edges), with
// every transpose combination, alpha/beta and epilogue flags varied
// pseudo-randomly, from aligned operands (float4 loads where the row
// length is a multiple of 4) and misaligned ones (scalar loads).
func TestBlockedGemmMatchesBaseline(t *testing.T) {
	shapes := [][3]int{ // M, N, K
		{1, 1, 1}, {3, 17, 1}, {17, 3, 5}, {1, 200, 17}, {200, 1, 64},
		{64, 64, 64}, {127, 129, 17}, {128, 128, 128}, {129, 127, 3}, {65, 63, 200},
		{200, 130, 33}, {100, 200, 127}, {13, 500, 112}, {129, 65, 129},
	}
	if testing.Short() {
		shapes = [][3]int{{1, 1, 1}, {17, 3, 5}, {64, 64, 64}, {129, 127, 3}, {65, 63, 200}}
	}
	r := rand.New(rand.NewPCG(41, 42))
	start := time.Now()
	n := 0
	for _, s := range shapes {
		for tr := 0; tr < 4; tr++ {
			c := gemmCase{M: s[0], N: s[1], K: s[2], transA: tr&1 != 0, transB: tr&2 != 0, alpha: 1, flags: r.IntN(32)}
			switch r.IntN(3) {
			case 1:
				c.alpha, c.beta = -0.5, 0.75
			case 2:
				c.alpha, c.beta = 2, 1
			}
			checkBlockedGemm(t, r, c)
			n++
		}
	}
	t.Logf("%d cases in %v", n, time.Since(start))
}

// Every epilogue flag combination, with beta = 0 (C not read: it holds
// NaN) and beta != 0, for every transpose combination, on a shape ragged
// against both tiles.
func TestBlockedGemmEpilogues(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for tr := 0; tr < 4; tr++ {
		for flags := 0; flags < 32; flags++ {
			for _, beta := range []float32{0, -0.5} {
				name := fmt.Sprintf("trans%d/flags%d/beta%v", tr, flags, beta)
				c := gemmCase{M: 67, N: 45, K: 21, transA: tr&1 != 0, transB: tr&2 != 0, alpha: 1.25, beta: beta, flags: flags}
				if testing.Short() && (flags%5 != 0) {
					continue
				}
				t.Run(name, func(t *testing.T) { checkBlockedGemm(t, r, c) })
			}
		}
	}
}

// K = 0: the sum is empty (acc = 0), so x = beta*C (+ bias) on every
// kernel; and a product with one row and one column.
func TestBlockedGemmDegenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	checkBlockedGemm(t, r, gemmCase{M: 5, N: 3, K: 0, alpha: 1, beta: 0.5, flags: kernels.GemmBias})
	checkBlockedGemm(t, r, gemmCase{M: 130, N: 70, K: 0, alpha: 1, flags: 31})
	checkBlockedGemm(t, r, gemmCase{M: 1, N: 1, K: 300, transA: true, alpha: 1, flags: kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample})
}

// The blocked kernels also meet the contract itself (GemmRef, within the
// forward error bound of runGemm's checks) on a shape of the RBM step.
func TestBlockedGemmContract(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	c := gemmCase{M: 20, N: 100, K: 784, alpha: 1, flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample | kernels.GemmNoC}
	in := newGemmInputs(r, c)
	want, _, _ := runGemmKernel(t, kernels.GemmF32, gemmCase{M: c.M, N: c.N, K: c.K, alpha: 1}, in, false)
	for _, kernel := range []string{kernels.GemmF32x128, kernels.GemmF32x64} {
		got, _, _ := runGemmKernel(t, kernel, gemmCase{M: c.M, N: c.N, K: c.K, alpha: 1}, in, false)
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("%s: C[%d] = %v, gemm_f32 %v", kernel, i, got[i], want[i])
		}
		_, P, S := runGemmKernel(t, kernel, c, in, false)
		for i := range P {
			x := float64(want[i]) + float64(in.bias[i%c.N])
			p := 1 / (1 + math.Exp(-x))
			if math.Abs(float64(P[i])-p) > 1e-5 {
				t.Fatalf("%s: P[%d] = %v, want %v", kernel, i, P[i], p)
			}
			if S[i] != kernels.Bernoulli(in.rng.Uniform(uint64(i)), P[i]) {
				t.Fatalf("%s: S[%d] = %v for p = %v", kernel, i, S[i], P[i])
			}
		}
	}
}
