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

func mustLaunch(t *testing.T, kernel string, grid, block kernels.Dim3, args ...any) {
	t.Helper()
	if err := Launch(kernel, grid, block, args...); err != nil {
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
	out := make([]float32, 4)
	cases := []struct {
		name string
		args []any
		want string
	}{
		{"count", []any{int32(4), out}, "arguments"},
		{"int for int32", []any{4, out, nil, uint64(1), uint32(0), uint64(0)}, "argument 0"},
		{"uint32 slice for float*", []any{int32(4), []uint32{1}, nil, uint64(1), uint32(0), uint64(0)}, "argument 1"},
	}
	for _, c := range cases {
		err := Launch(kernels.PhiloxFillF32, d1(1), d1(32), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if err := Launch("nope", d1(1), d1(1)); err == nil {
		t.Error("unknown kernel accepted")
	}
	if err := Launch(kernels.SumF32, d1(1), d1(2048), int32(0), out, float32(1), out); err == nil {
		t.Error("2048-thread block accepted")
	}
}

// The device Philox (philox.cuh) must give exactly kernels.Stream's words
// and uniforms, for several streams including ones with 64-bit seed and step
// halves set, and grid shapes that leave threads idle.
func TestPhiloxMatchesGo(t *testing.T) {
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
			mustLaunch(t, kernels.PhiloxFillF32, kernels.ElementwiseGrid(n), d1(64),
				int32(n), U, W, s.Seed, s.Op, s.Step)
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
	r := rand.New(rand.NewPCG(1, 2))
	n := 777
	P := randSlice(r, n, 0, 1)
	P[0], P[1] = 0, 1 // never / always
	S := poison(n)
	s := kernels.Stream{Seed: 9, Op: 3, Step: 11}
	mustLaunch(t, kernels.BernoulliF32, d1(3), d1(128), int32(n), P, S, s.Seed, s.Op, s.Step)
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
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 255, 256, 1000} {
		param := randSlice(r, n, -1, 1)
		vel := randSlice(r, n, -0.1, 0.1)
		grad := randSlice(r, n, -0.5, 0.5)
		wp, wv := append([]float32(nil), param...), append([]float32(nil), vel...)
		lr, mom, wd := float32(0.037), float32(0.9), float32(2e-4)
		kernels.SGDUpdate(wp, wv, grad, lr, mom, wd)
		// A grid smaller than n/block exercises the grid-stride loop.
		mustLaunch(t, kernels.SGDUpdateF32, d1(2), d1(64), int32(n), param, vel, grad, lr, mom, wd)
		for i := 0; i < n; i++ {
			if math.Float32bits(param[i]) != math.Float32bits(wp[i]) ||
				math.Float32bits(vel[i]) != math.Float32bits(wv[i]) {
				t.Fatalf("n=%d i=%d: param %v vel %v, want %v %v", n, i, param[i], vel[i], wp[i], wv[i])
			}
		}
	}
}
