package cudadrv

import (
	"math/rand/v2"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Shape of the potts_gibbs case: chains, sites (above the 32-thread
// block), states.
const pottsR, pottsL, pottsQ = 5, 37, 6

// pottsCases are the gpuCases of potts.cu: a sweep of one-hot chains with
// couplings symmetric and zero on the diagonal blocks (the states are 0/1:
// compared exactly), and the block-masked gradient.
func pottsCases(rnd func(int, float32, float32) []float32, r *rand.Rand, poison func(int) []float32) []gpuCase {
	N := pottsL * pottsQ
	W := symmetric(rnd(N*N, -0.5, 0.5), N)
	for k := range W {
		if (k/N)/pottsQ == (k%N)/pottsQ {
			W[k] = 0
		}
	}
	X := make([]float32, pottsR*N)
	for c := 0; c < pottsR; c++ {
		for i := 0; i < pottsL; i++ {
			X[c*N+i*pottsQ+r.IntN(pottsQ)] = 1
		}
	}
	const rows = 90
	return []gpuCase{
		{"potts_gibbs", kernels.PottsGibbsGrid(pottsR), d1(kernels.PottsBlock), [][]float32{X, W, rnd(N, -1, 1), poison(pottsR * N)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PottsGibbsF32Args{R: pottsR, L: pottsL, Q: pottsQ, Sweeps: 3, X: p[0], W: p[1], B: p[2], S: p[3], Seed: 5, Op: 0xB401, Step: 9}
		}, 0, nil},
		{"potts_grad", kernels.ElementwiseGrid(rows * rows), d1(kernels.ElementwiseBlock), [][]float32{rnd(rows*rows, -1, 1), rnd(rows*rows, 0, 40), poison(rows * rows)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PottsGradF32Args{N: rows * rows, Cols: rows, Q: 6, Alpha: 1.0 / 37, F: p[0], X: p[1], Out: p[2]}
		}, 0, nil},
	}
}
