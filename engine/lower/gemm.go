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

// GemmKernelFor returns the GEMM kernel GemmAuto launches for an M x N
// output: the fastest by the cost model kernels.GemmSeconds (sized for
// the 132 SMs of an H100/H200), the larger tile on a tie. The choice does
// not depend on K (every kernel's time is proportional to it). In effect:
//
//   - gemm_f32 while the output has fewer than about 66 (half the SMs)
//     tiles of 64 x 64 — e.g. the B = 128 conditionals of a 784 x 500 RBM,
//     where gemm_f32_64x64 would run on 16 SMs;
//   - gemm_f32_64x64 up to about two 128 x 128 tiles per SM (square
//     outputs from ≈ 496 to ≈ 1600);
//   - gemm_f32_128x128 beyond.
func GemmKernelFor(M, N int) string {
	best, bestT := "", 0.0
	for _, k := range []string{kernels.GemmF32x128, kernels.GemmF32x64, kernels.GemmF32} {
		if t := kernels.GemmSeconds(k, M, N, 1); best == "" || t < bestT*(1-1e-9) {
			best, bestT = k, t
		}
	}
	return best
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

// fitInt32 checks that the rows, columns and element counts of shapes (the
// inputs and output of a custom op's launch, which the op converts to its
// kernel's int parameters) fit an int.
func fitInt32(op string, shapes [][2]int) error {
	for i, sh := range shapes {
		for _, d := range []struct {
			what string
			n    int
		}{{"rows", sh[0]}, {"columns", sh[1]}, {"elements", sh[0] * sh[1]}} {
			if _, err := i32(op, fmt.Sprintf("%s of operand %d", d.what, i), d.n); err != nil {
				return err
			}
		}
	}
	return nil
}
