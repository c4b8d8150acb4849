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
