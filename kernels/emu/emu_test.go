package emu

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// poison returns n NaNs: outputs start poisoned so that an element a kernel
// fails to write shows up as a NaN mismatch.
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

func d1(x int) kernels.Dim3 { return kernels.Dim3{X: x, Y: 1, Z: 1} }

func mustLaunch(t *testing.T, grid, block kernels.Dim3, a kernels.Args, st *Slices) {
	t.Helper()
	if err := Launch(grid, block, a, st); err != nil {
		t.Fatal(err)
	}
}

// The launch table, the C++ signatures of the compiled .cu and the
// emulator's kernel list must agree.
func TestSignaturesMatchLaunchTable(t *testing.T) {
	names := KernelNames()
	if len(names) != len(kernels.Kernels) {
		t.Errorf("emulator has %d kernels %v, launch table %d", len(names), names, len(kernels.Kernels))
	}
	for _, k := range kernels.Kernels {
		got, err := Signature(k.Name)
		if err != nil {
			t.Error(err)
			continue
		}
		if got != k.Signature() {
			t.Errorf("%s: compiled %q, table %q", k.Name, got, k.Signature())
		}
	}
}

func TestLaunchRejectsBadArgs(t *testing.T) {
	// Counts and types of parameters are checked by the compiler (typed
	// Args); what is left is the kernel, the grid and the block.
	out := make([]float32, 4)
	var st Slices
	if err := Launch(d1(1), d1(1), nil, &st); err == nil {
		t.Error("launch without arguments accepted")
	}
	if err := Launch(kernels.Dim3{X: 0, Y: 1, Z: 1}, d1(32), &kernels.PhiloxFillF32Args{N: 4, U: st.F32(out)}, &st); err == nil || !strings.Contains(err.Error(), "invalid grid") {
		t.Errorf("empty grid: err = %v", err)
	}
	if len(st.bufs) != 0 {
		t.Error("a rejected launch kept its staged slices")
	}
	if err := Launch(d1(1), d1(2048), &kernels.SumF32Args{N: int32(0), X: st.F32(out), Alpha: float32(1), Out: st.F32(out)}, &st); err == nil {
		t.Error("2048-thread block accepted")
	}
}

// The device Philox (philox.cuh) must give exactly kernels.Stream's words
// and uniforms, for several streams including ones with 64-bit seed and step
// halves set, and grid shapes that leave threads idle.
func TestPhiloxMatchesGo(t *testing.T) {
	var st Slices
	streams := []kernels.Stream{
		{},
		{Seed: 42, Op: 1, Step: 0},
		{Seed: 0x1234_5678_9abc_def0, Op: 7, Step: 1<<32 + 3},
		{Seed: math.MaxUint64, Op: math.MaxUint32, Step: math.MaxUint64},
	}
	for _, s := range streams {
		for _, n := range []int{1, 5, 1000} {
			U, W := poison(n), make([]uint32, n)
			for i := range W {
				W[i] = 0xdeadbeef
			}
			mustLaunch(t, kernels.ElementwiseGrid(n), d1(64), &kernels.PhiloxFillF32Args{N: int32(n), U: st.F32(U), W: st.U32(W), Seed: s.Seed, Op: s.Op, Step: s.Step}, &st)
			for i := 0; i < n; i++ {
				if W[i] != s.Word(uint64(i)) {
					t.Fatalf("%+v word %d: got %08x want %08x", s, i, W[i], s.Word(uint64(i)))
				}
				if math.Float32bits(U[i]) != math.Float32bits(s.Uniform(uint64(i))) {
					t.Fatalf("%+v uniform %d: got %v want %v", s, i, U[i], s.Uniform(uint64(i)))
				}
			}
		}
	}
}

func TestBernoulliMatchesGo(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(1, 2))
	n := 777
	P := randSlice(r, n, 0, 1)
	P[0], P[1] = 0, 1 // never / always
	S := poison(n)
	s := kernels.Stream{Seed: 9, Op: 3, Step: 11}
	mustLaunch(t, d1(3), d1(128), &kernels.BernoulliF32Args{N: int32(n), P: st.F32(P), S: st.F32(S), Seed: s.Seed, Op: s.Op, Step: s.Step}, &st)
	for i := range S {
		if want := kernels.Bernoulli(s.Uniform(uint64(i)), P[i]); S[i] != want {
			t.Fatalf("S[%d] = %v, want %v (p=%v)", i, S[i], want, P[i])
		}
	}
	if S[0] != 0 || S[1] != 1 {
		t.Errorf("p=0 gave %v, p=1 gave %v", S[0], S[1])
	}
}

// sgd_update_f32 is defined operation by operation, so it must equal the Go
// twin bit for bit.
func TestSGDUpdateBitExact(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 255, 256, 1000} {
		param := randSlice(r, n, -1, 1)
		vel := randSlice(r, n, -0.1, 0.1)
		grad := randSlice(r, n, -0.5, 0.5)
		wp, wv := append([]float32(nil), param...), append([]float32(nil), vel...)
		lr, mom, wd := float32(0.037), float32(0.9), float32(2e-4)
		kernels.SGDUpdate(wp, wv, grad, lr, mom, wd)
		// A grid smaller than n/block exercises the grid-stride loop.
		mustLaunch(t, d1(2), d1(64), &kernels.SGDUpdateF32Args{N: int32(n), Param: st.F32(param), Vel: st.F32(vel), Grad: st.F32(grad), Lr: lr, Momentum: mom, WeightDecay: wd}, &st)
		for i := 0; i < n; i++ {
			if math.Float32bits(param[i]) != math.Float32bits(wp[i]) ||
				math.Float32bits(vel[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("n=%d i=%d: param %v vel %v, want %v %v", n, i, param[i], vel[i], wp[i], wv[i])
			}
		}
	}
}

// l1_grad_f32 equals its Go twin bit for bit, sign(0) = 0 included.
func TestL1GradBitExact(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 255, 1000} {
		x := randSlice(r, n, -1, 1)
		x[0] = 0
		g := randSlice(r, n, -0.5, 0.5)
		want := append([]float32(nil), g...)
		kernels.L1Grad(want, x, 0.013)
		mustLaunch(t, d1(2), d1(64), &kernels.L1GradF32Args{N: int32(n), G: st.F32(g), X: st.F32(x), L1: 0.013}, &st)
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d i=%d: %v, want %v", n, i, g[i], want[i])
			}
		}
	}
}
