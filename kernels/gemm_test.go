package kernels

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

func TestGemmGridOf(t *testing.T) {
	for _, c := range []struct {
		kernel string
		M, N   int
		want   Dim3
	}{
		{GemmF32, 100, 500, Dim3{32, 7, 1}},
		{GemmF32x128, 100, 500, Dim3{4, 1, 1}},
		{GemmF32x128, 128, 129, Dim3{2, 1, 1}},
		{GemmF32x64, 129, 64, Dim3{1, 3, 1}},
		{GemmF32x64, 0, 0, Dim3{1, 1, 1}},
		{GemmF32x128, 65535 * 128, 1, Dim3{1, 65535, 1}},
	} {
		got, err := GemmGridOf(c.kernel, c.M, c.N)
		if err != nil || got != c.want {
			t.Errorf("GemmGridOf(%s, %d, %d) = %v, %v; want %v", c.kernel, c.M, c.N, got, err, c.want)
		}
		if b := GemmBlocks(c.kernel, c.M, c.N); b != c.want.X*c.want.Y {
			t.Errorf("GemmBlocks(%s, %d, %d) = %d, want %d", c.kernel, c.M, c.N, b, c.want.X*c.want.Y)
		}
	}
	if g := GemmGrid(100, 500); g != (Dim3{32, 7, 1}) {
		t.Errorf("GemmGrid(100, 500) = %v", g)
	}
	for _, c := range []struct {
		kernel string
		M, N   int
		want   string
	}{
		{SumF32, 1, 1, "not a GEMM kernel"},
		{GemmF32x64, -1, 1, "negative"},
		{GemmF32, 65536 * 16, 1, "past CUDA's limits"},
	} {
		if _, err := GemmGridOf(c.kernel, c.M, c.N); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GemmGridOf(%s, %d, %d): %v, want %q", c.kernel, c.M, c.N, err, c.want)
		}
	}
}

// GemmAs and GemmArgsOf view one GemmF32Args as every GEMM kernel's
// arguments: the same parameter addresses, the kernel's name.
func TestGemmAs(t *testing.T) {
	g := &GemmF32Args{M: 3, N: 4, K: 5, Flags: GemmSample}
	for _, name := range GemmKernels {
		a, err := GemmAs(name, g)
		if err != nil {
			t.Fatal(err)
		}
		if a.Kernel() != name {
			t.Errorf("GemmAs(%s).Kernel() = %s", name, a.Kernel())
		}
		k, _ := Lookup(name)
		if k.Signature() != (Kernel{Args: gemmArgs}).Signature() || k.Module != "gemm" {
			t.Errorf("%s: not gemm_f32's parameters", name)
		}
		for i := range k.Args {
			if a.Addr(i) != g.Addr(i) {
				t.Errorf("%s: parameter %d at %p, gemm_f32's at %p", name, i, a.Addr(i), g.Addr(i))
			}
		}
		back, ok := GemmArgsOf(a)
		if !ok || unsafe.Pointer(back) != unsafe.Pointer(g) {
			t.Errorf("GemmArgsOf(GemmAs(%s)) = %p, %v; want %p", name, back, ok, g)
		}
	}
	if _, err := GemmAs(SumF32, g); err == nil {
		t.Error("GemmAs(sum_f32) accepted")
	}
	if _, ok := GemmArgsOf(&SumF32Args{}); ok {
		t.Error("GemmArgsOf(*SumF32Args) ok")
	}
	if _, ok := GemmArgsOf((*GemmF32x64Args)(nil)); ok {
		t.Error("GemmArgsOf(nil) ok")
	}
}

// GemmSeconds against the model worked by hand (bench/README.md).
func TestGemmSeconds(t *testing.T) {
	peak := ModelSMPeakFMA
	for _, c := range []struct {
		kernel  string
		M, N, K int
		want    float64
	}{
		// 8 x 32 = 256 tiles of 16: 2 per SM at min(2·0.06, 0.125) = 0.12.
		{GemmF32, 128, 500, 784, 2 * 2 * 256 * 784 / (0.12 * peak)},
		// 2 x 8 = 16 tiles of 64: 1 per SM at 0.25.
		{GemmF32x64, 128, 500, 784, 2 * 4096 * 784 / (0.25 * peak)},
		// 32 x 32 = 1024 tiles of 128: 8 per SM at 0.7.
		{GemmF32x128, 4096, 4096, 4096, 8 * 2 * 16384 * 4096 / (0.7 * peak)},
		{SumF32, 1, 1, 1, 0},
	} {
		if got := GemmSeconds(c.kernel, c.M, c.N, c.K); math.Abs(got-c.want) > 1e-12*max(1, c.want) {
			t.Errorf("GemmSeconds(%s, %d, %d, %d) = %g, want %g", c.kernel, c.M, c.N, c.K, got, c.want)
		}
	}
	if len(GemmModels) != len(GemmKernels) {
		t.Errorf("%d models for %d GEMM kernels", len(GemmModels), len(GemmKernels))
	}
}
