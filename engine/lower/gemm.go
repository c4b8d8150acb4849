package lower

import (
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// GemmMode says which GEMM kernel (kernels.GemmKernels: the same function,
// different tilings) each matrix product of a plan launches.
type GemmMode int

// GEMM modes. The zero value takes the mode from $RBMGPU_GEMM.
const (
	GemmFromEnv  GemmMode = iota // $RBMGPU_GEMM (EnvGemm), GemmAuto when unset
	GemmAuto                     // per product shape: GemmKernelFor
	GemmBaseline                 // gemm_f32 everywhere (RBMGPU_GEMM=baseline)
	GemmBig                      // gemm_f32_128x128 everywhere (RBMGPU_GEMM=128x128)
	GemmSmall                    // gemm_f32_64x64 everywhere (RBMGPU_GEMM=64x64)
)

// EnvGemm is the environment variable of the default GemmMode: "auto" (or
// unset), "baseline", "128x128" or "64x64". It is read once, at the first
// lowering that needs it.
const EnvGemm = "RBMGPU_GEMM"

// String returns the RBMGPU_GEMM spelling of m ("env" for GemmFromEnv).
func (m GemmMode) String() string {
	switch m {
	case GemmFromEnv:
		return "env"
	case GemmAuto:
		return "auto"
	case GemmBaseline:
		return "baseline"
	case GemmBig:
		return "128x128"
	case GemmSmall:
		return "64x64"
	}
	return fmt.Sprintf("GemmMode(%d)", int(m))
}

// ParseGemmMode parses a value of RBMGPU_GEMM; "" is GemmAuto.
func ParseGemmMode(s string) (GemmMode, error) {
	switch s {
	case "", "auto":
		return GemmAuto, nil
	case "baseline":
		return GemmBaseline, nil
	case "128x128":
		return GemmBig, nil
	case "64x64":
		return GemmSmall, nil
	}
	return 0, fmt.Errorf("%s=%q: want auto, baseline, 128x128 or 64x64", EnvGemm, s)
}

var envGemm = sync.OnceValues(func() (GemmMode, error) { return ParseGemmMode(os.Getenv(EnvGemm)) })

// resolve returns m with GemmFromEnv replaced by the environment's mode.
func (m GemmMode) resolve() (GemmMode, error) {
	switch m {
	case GemmFromEnv:
		return envGemm()
	case GemmAuto, GemmBaseline, GemmBig, GemmSmall:
		return m, nil
	}
	return 0, fmt.Errorf("lower: unknown %v", m)
}

// TargetSMs is the number of streaming multiprocessors the automatic GEMM
// choice sizes grids for: an H100 or H200 SXM (132).
const TargetSMs = 132

// GemmKernelFor returns the GEMM kernel GemmAuto launches for an M x N
// output (the choice depends on the grid only, not on K):
//
//   - gemm_f32_128x128 when it has at least 3/4 · TargetSMs blocks (99):
//     with about one 128 x 128 tile per SM or more, the large tile's
//     arithmetic intensity wins over leaving a quarter of the SMs idle;
//   - else gemm_f32_64x64 when it has at least TargetSMs/2 blocks (66);
//   - else gemm_f32, whose 16 x 16 tiles spread a small product over
//     every SM: at B = 128 and 784 x 500 the 64 x 64 kernel would occupy
//     16 SMs.
//
// bench/README.md derives the thresholds from the cost model of each
// kernel.
func GemmKernelFor(M, N int) string {
	switch {
	case kernels.GemmBlocks(kernels.GemmF32x128, M, N) >= TargetSMs*3/4:
		return kernels.GemmF32x128
	case kernels.GemmBlocks(kernels.GemmF32x64, M, N) >= TargetSMs/2:
		return kernels.GemmF32x64
	}
	return kernels.GemmF32
}

// gemmKernel returns the kernel mode m launches for an M x N output.
func gemmKernel(m GemmMode, M, N int) string {
	switch m {
	case GemmBaseline:
		return kernels.GemmF32
	case GemmBig:
		return kernels.GemmF32x128
	case GemmSmall:
		return kernels.GemmF32x64
	}
	return GemmKernelFor(M, N)
}

// i32 converts a size to a kernel's int parameter, or fails: a size past
// 2³¹−1 (or negative) would wrap, and the kernel would silently compute
// something else.
func i32(kernel, what string, n int) (int32, error) {
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s: %s = %d does not fit the kernel's int parameter (at most %d)", kernel, what, n, math.MaxInt32)
	}
	return int32(n), nil
}
