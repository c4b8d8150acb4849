package host

import "github.com/rbmgpu/rbmgpu/kernels/host/internal/openblas"

// BLAS says which GEMM the package uses: its own, pure Go with an AVX2/FMA
// Go-assembly micro-kernel where the CPU has one (launches always use it:
// its accumulation order is gemm.cu's). Built with the tag openblas (and
// cgo), OpenBLAS is linked too, as the benchmarks' ceiling, and named.
func BLAS() string {
	if openblas.Available {
		return ownGemm() + "; OpenBLAS linked (benchmark ceiling)"
	}
	return ownGemm()
}
