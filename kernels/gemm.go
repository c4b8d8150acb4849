package kernels

import "fmt"

// The GEMM kernels of gemm.cu share one parameter list and one contract
// (GemmRef): the baseline gemm_f32, one 16 x 16 output tile per block of
// 16 x 16 threads, and the register-blocked gemm_f32_128x128 and
// gemm_f32_64x64, one 128 x 128 or 64 x 64 tile per block of 16 x 16
// threads. All three give the same C, P and S to the bit: each output is
// summed by fmaf in increasing k from 0, and the epilogue is one function.
// They differ only in speed and in the grid that covers an M x N output.

// GemmKernels lists the GEMM kernels, baseline first.
var GemmKernels = []string{GemmF32, GemmF32x128, GemmF32x64}

// GemmTileOf returns the side of the square output tile one block of GEMM
// kernel computes (16, 128 or 64), and false if kernel is not a GEMM
// kernel.
func GemmTileOf(kernel string) (int, bool) {
	switch kernel {
	case GemmF32:
		return GemmTile, true
	case GemmF32x128:
		return GemmTileBig, true
	case GemmF32x64:
		return GemmTileSmall, true
	}
	return 0, false
}

// GemmGridOf returns the grid of a launch of GEMM kernel with an M x N
// output: (ceil(N/tile), ceil(M/tile), 1), at least 1 x 1. It is an error
// for a kernel that is not a GEMM kernel, for negative sizes, and for a
// grid past CUDA's limits (more than 65535 rows of tiles).
func GemmGridOf(kernel string, M, N int) (Dim3, error) {
	tile, ok := GemmTileOf(kernel)
	if !ok {
		return Dim3{}, fmt.Errorf("kernels: %q is not a GEMM kernel", kernel)
	}
	if M < 0 || N < 0 {
		return Dim3{}, fmt.Errorf("kernels: %s: negative output %dx%d", kernel, M, N)
	}
	g := Dim3{atLeast1(ceilDiv(N, tile)), atLeast1(ceilDiv(M, tile)), 1}
	if err := CheckGrid(kernel, g); err != nil {
		return Dim3{}, fmt.Errorf("kernels: %s: a %dx%d output needs grid %v, past CUDA's limits", kernel, M, N, g)
	}
	return g, nil
}

// GemmBlocks returns how many blocks GEMM kernel launches for an M x N
// output (its grid's X*Y), or 0 for a kernel that is not a GEMM kernel.
func GemmBlocks(kernel string, M, N int) int {
	tile, ok := GemmTileOf(kernel)
	if !ok {
		return 0
	}
	return atLeast1(ceilDiv(N, tile)) * atLeast1(ceilDiv(M, tile))
}

// GemmAs returns g as the arguments of GEMM kernel (g itself for gemm_f32):
// the same memory under the kernel's generated type, so that the addresses
// of g's fields are the parameter fields of the returned Args.
func GemmAs(kernel string, g *GemmF32Args) (Args, error) {
	switch kernel {
	case GemmF32:
		return g, nil
	case GemmF32x128:
		return (*GemmF32x128Args)(g), nil
	case GemmF32x64:
		return (*GemmF32x64Args)(g), nil
	}
	return nil, fmt.Errorf("kernels: %q is not a GEMM kernel", kernel)
}

// GemmArgsOf returns the arguments of any GEMM kernel as *GemmF32Args (the
// same memory), and false for the arguments of another kernel.
func GemmArgsOf(a Args) (*GemmF32Args, bool) {
	switch a := a.(type) {
	case *GemmF32Args:
		return a, a != nil
	case *GemmF32x128Args:
		return (*GemmF32Args)(a), a != nil
	case *GemmF32x64Args:
		return (*GemmF32Args)(a), a != nil
	}
	return nil, false
}

// GemmModel is the napkin-maths speed of a GEMM kernel on an H100/H200
// SXM-class GPU (bench/README.md, "GEMM kernels: cost model"): the
// fraction of one SM's float32 FMA peak that the kernel reaches with one
// block on the SM (One) and with as many as fit (Full). They are
// estimates from the kernels' instruction mix, to be replaced by
// measurements.
type GemmModel struct {
	Kernel    string
	One, Full float64
}

// GemmModels are the models of the GEMM kernels:
//
//   - gemm_f32: two shared-memory loads per FMA, so the shared-memory
//     pipe (one warp-wide load per clock) caps it at 1/8 of the FMA peak;
//     one block alone, latency-bound on its single accumulator chain,
//     reaches about half of that.
//   - gemm_f32_64x64: 16 FMAs per two float4 fragment loads, 65–69
//     registers (3 blocks per SM): about half the peak when full, a
//     quarter with one block.
//   - gemm_f32_128x128: 64 FMAs per four float4 fragment loads, 128
//     registers (2 blocks per SM); its next tile's global loads are not in
//     flight during the multiply (that would spill), so one block alone
//     waits on them: 0.4 of the peak, 0.7 with two.
var GemmModels = []GemmModel{
	{GemmF32, 0.06, 0.125},
	{GemmF32x64, 0.25, 0.50},
	{GemmF32x128, 0.40, 0.70},
}

// Constants of the GPU that the GEMM cost model and the automatic kernel
// choice (engine/lower) are sized for: an H100 or H200 SXM.
const (
	ModelSMs       = 132                    // streaming multiprocessors
	ModelClockHz   = 1.98e9                 // boost clock
	ModelSMPeakFMA = 128 * 2 * ModelClockHz // float32 FLOP/s of one SM by FFMA (≈ 0.51 T; 67 T for 132)
)

// GemmSeconds returns the model's compute time of an M x N x K product on
// GEMM kernel (0 for another kernel): the busiest SM runs n =
// ceil(blocks/ModelSMs) full tiles (ragged edges are computed padded) of
// 2·tile²·K FLOPs at min(n·One, Full) of its peak. Memory traffic,
// launch overhead and the epilogue are not in it (see bench/README.md).
func GemmSeconds(kernel string, M, N, K int) float64 {
	tile, ok := GemmTileOf(kernel)
	if !ok {
		return 0
	}
	var m GemmModel
	for _, g := range GemmModels {
		if g.Kernel == kernel {
			m = g
		}
	}
	n := ceilDiv(GemmBlocks(kernel, M, N), ModelSMs)
	rate := min(float64(n)*m.One, m.Full) * ModelSMPeakFMA
	return float64(n) * 2 * float64(tile*tile) * float64(K) / rate
}
