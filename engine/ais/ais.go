// Package ais estimates the log partition function of an RBM by annealed
// importance sampling on any executor: as kernel launches (all chains and
// log weights resident on the device) where the backend has a kernel
// driver, with models.RBM.AIS (float64 weights) on the tape.
package ais

import (
	"context"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// Estimate estimates log Z of m by annealed importance sampling (see
// models.RBM.AIS for the method and its defaults) on the given backend:
// a backend with a kernel driver (CUDA, the emulator, the default CPU
// backend Host) runs the annealing as kernel launches, with all M chains
// and log weights resident on the device; the reference backend CPU{}
// (and a nil backend) uses models.RBM.AIS, which keeps the weights in
// float64.
func Estimate(ctx context.Context, b exec.Backend, m *models.RBM, cfg models.AISConfig) (models.AISResult, error) {
	if b == nil {
		return m.AIS(ctx, cfg)
	}
	drv, release, ok := b.KernelDriver()
	if !ok {
		return m.AIS(ctx, cfg)
	}
	defer release()
	return OnDriver(ctx, drv, m, cfg)
}

// OnDriver runs AIS as a sequence of launches of the kernel table on drv.
// The draws follow models.RBM.AIS exactly (Philox op ids OpAISBase,
// OpAISHidden, OpAISVisible; step k; element run·V+i or run·H+j), so the
// two differ only where float32 and float64 probabilities straddle a
// uniform. Per β step k (β_{k−1} → β_k), with v the M×V chain states:
//
//	X₁ = β_k(vW + c)                     gemm; fused: h ~ σ(X₁)
//	X₀ = (β_{k−1}/β_k)·X₁                 axpby
//	b₁ = b_A + β_k(b − b_A)               2 axpbys (b₀ is the previous b₁)
//	log w += F(v; b₀, X₀) − F(v; b₁, X₁)   free_energy twice, 2 axpbys
//	v ~ σ(β_k hWᵀ + b₁)                   gemm with fused sample
//
// where F(v; b, X) = −vᵀb − Σ_j softplus(X_j) = −log p*_β(v) up to the
// hidden units summed out. The log weights accumulate in float32 on the
// device and are read back once at the end.
func OnDriver(ctx context.Context, drv kernels.Driver, m *models.RBM, cfg models.AISConfig) (models.AISResult, error) {
	if err := m.Validate(); err != nil {
		return models.AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	M := cfg.Runs
	if M == 0 {
		M = models.DefaultAISRuns
	}
	if M < 1 {
		return models.AISResult{}, fmt.Errorf("AIS: Runs = %d: need at least one run", M)
	}
	betas := cfg.Betas
	if len(betas) == 0 {
		betas = models.DefaultBetas()
	}
	if err := models.CheckBetas(betas); err != nil {
		return models.AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	V, H := m.V, m.H
	baseB := make([]float32, V)
	if cfg.BaseVBias != nil {
		if len(cfg.BaseVBias) != V {
			return models.AISResult{}, fmt.Errorf("AIS: BaseVBias has %d elements, want V = %d", len(cfg.BaseVBias), V)
		}
		copy(baseB, cfg.BaseVBias)
		for i, x := range baseB {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return models.AISResult{}, fmt.Errorf("AIS: BaseVBias[%d] = %v is not finite", i, x)
			}
		}
	}
	logZBase := float64(H) * math.Ln2
	for _, b := range baseB {
		logZBase += models.Softplus(float64(b))
	}

	// Device memory: one allocation, carved into the buffers below.
	sizes := []int{V * H, H, V, V, V, M * V, M * H, M * H, M * H, V, V, M, M, M}
	const (
		bW = iota
		bC
		bB
		bBase
		bD
		bV
		bX1
		bX0
		bS
		bVb1
		bVb0
		bF1
		bF0
		bLW
	)
	off, total := kernels.Float32Offsets(sizes)
	base, err := drv.Alloc(total)
	if err != nil {
		return models.AISResult{}, fmt.Errorf("AIS: allocate %d bytes: %w", total, err)
	}
	defer drv.Free(base)
	ptr := func(i int) kernels.DevicePtr { return base + off[i] }
	up := func(i int, x []float32) error { return drv.CopyHtoD(ptr(i), kernels.Float32Bytes(x)) }
	d := make([]float32, V)
	for i := range d {
		d[i] = m.VBias[i] - baseB[i]
	}
	// v ~ p_A, drawn on the host with the same stream as models.RBM.AIS.
	v := make([]float32, M*V)
	s := kernels.Stream{Seed: cfg.Seed, Op: models.OpAISBase}
	for e := range v {
		if s.Uniform(uint64(e)) < float32(models.Sigmoid(float64(baseB[e%V]))) {
			v[e] = 1
		}
	}
	for _, u := range []struct {
		i int
		x []float32
	}{{bW, m.W}, {bC, m.HBias}, {bB, m.VBias}, {bBase, baseB}, {bD, d}, {bV, v}, {bVb0, baseB}, {bLW, make([]float32, M)}} {
		if err := up(u.i, u.x); err != nil {
			return models.AISResult{}, fmt.Errorf("AIS: upload: %w", err)
		}
	}
	axpby := func(n int, alpha float32, x int, beta float32, out int) error {
		return drv.Launch(kernels.ColSumGrid(n), kernels.Dim3{X: 32, Y: 8, Z: 1},
			&kernels.ColSumF32Args{M: 1, N: int32(n), Alpha: alpha, X: ptr(x), Beta: beta, Out: ptr(out)})
	}
	gemm := func(Mr, N, K int, alpha float32, a, b int, transB int32, flags int32, bias, C, S int, op uint32, step uint64) error {
		cp := kernels.DevicePtr(0)
		if C >= 0 {
			cp = ptr(C)
		}
		sp := kernels.DevicePtr(0)
		if S >= 0 {
			sp = ptr(S)
		}
		return drv.Launch(kernels.GemmGrid(Mr, N), kernels.Dim3{X: kernels.GemmTile, Y: kernels.GemmTile, Z: 1},
			&kernels.GemmF32Args{M: int32(Mr), N: int32(N), K: int32(K), Alpha: alpha, A: ptr(a), B: ptr(b), C: cp,
				TransB: transB, Flags: flags, Bias: ptr(bias), S: sp, Seed: cfg.Seed, Op: op, Step: step})
	}
	freeEnergy := func(X, vb, F int) error {
		return drv.Launch(kernels.FreeEnergyGrid(M), kernels.Dim3{X: kernels.ReduceMaxThreads, Y: 1, Z: 1},
			&kernels.FreeEnergyF32Args{M: int32(M), Nv: int32(V), Nh: int32(H), V: ptr(bV), Vbias: ptr(vb), X: ptr(X), F: ptr(F)})
	}
	cb := bX0 // scratch for β_k·c before X0 is formed (its first H values)
	K := len(betas) - 1
	vb1, vb0 := bVb1, bVb0
	for k := 1; k <= K; k++ {
		if k%64 == 0 {
			if err := ctx.Err(); err != nil {
				return models.AISResult{}, fmt.Errorf("AIS: %w", err)
			}
		}
		bk, bprev := float32(betas[k]), float32(betas[k-1])
		step := uint64(k)
		flags := int32(kernels.GemmBias)
		if k < K {
			flags |= kernels.GemmSigmoid | kernels.GemmSample
		}
		steps := []func() error{
			func() error { return axpby(H, bk, bC, 0, cb) },
			func() error {
				return gemm(M, H, V, bk, bV, bW, 0, flags, cb, bX1, bS, models.OpAISHidden, step)
			},
			func() error { return axpby(M*H, bprev/bk, bX1, 0, bX0) },
			func() error { return axpby(V, bk, bD, 0, vb1) },
			func() error { return axpby(V, 1, bBase, 1, vb1) },
			func() error { return freeEnergy(bX1, vb1, bF1) },
			func() error { return freeEnergy(bX0, vb0, bF0) },
			func() error { return axpby(M, 1, bF0, 1, bLW) },
			func() error { return axpby(M, -1, bF1, 1, bLW) },
		}
		if k < K {
			steps = append(steps, func() error {
				return gemm(M, V, H, bk, bS, bW, 1, kernels.GemmBias|kernels.GemmSigmoid|kernels.GemmSample|kernels.GemmNoC,
					vb1, -1, bV, models.OpAISVisible, step)
			})
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return models.AISResult{}, fmt.Errorf("AIS: step %d: %w", k, err)
			}
		}
		vb1, vb0 = vb0, vb1
	}
	if err := drv.Synchronize(); err != nil {
		return models.AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	lw32 := make([]float32, M)
	if err := drv.CopyDtoH(kernels.Float32Bytes(lw32), ptr(bLW)); err != nil {
		return models.AISResult{}, fmt.Errorf("AIS: download: %w", err)
	}
	lw := make([]float64, M)
	for i, x := range lw32 {
		lw[i] = float64(x)
	}
	res := models.AISResult{LogZBase: logZBase, Runs: M, Steps: K, LogWeights: lw}
	res.LogZ, res.LogZLo, res.LogZHi = models.AISEstimate(logZBase, lw)
	return res, nil
}
