package cudadrv

import (
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Shape of the potts_visible cases: rows, sites (R·L above the 256-thread
// block), states.
const prbmR, prbmL, prbmQ = 7, 45, 21

// prbmCases are the gpuCases of prbm.cu: the categorical visible layer of a
// Potts–Bernoulli RBM, drawn one-hot (0/1: compared exactly; a draw moves
// only if expf's last bit meets a tie of the uniform with a partial sum)
// and as softmax probabilities (expf and a division: a few ulps).
func prbmCases(rnd func(int, float32, float32) []float32, poison func(int) []float32) []gpuCase {
	n := prbmR * prbmL * prbmQ
	d1 := func(x int) kernels.Dim3 { return kernels.Dim3{X: x, Y: 1, Z: 1} }
	grid, blk := kernels.PottsVisibleGrid(prbmR, prbmL), d1(kernels.ElementwiseBlock)
	return []gpuCase{
		{"potts_visible sample", grid, blk, [][]float32{rnd(n, -4, 4), poison(n)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PottsVisibleF32Args{R: prbmR, L: prbmL, Q: prbmQ, Mode: kernels.PottsVisibleSample, A: p[0], S: p[1], Seed: 5, Op: 0xB501, Step: 9}
		}, 0, nil},
		{"potts_visible probs", grid, blk, [][]float32{rnd(n, -4, 4), poison(n)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PottsVisibleF32Args{R: prbmR, L: prbmL, Q: prbmQ, Mode: kernels.PottsVisibleProbs, A: p[0], S: p[1], Seed: 5, Op: 0xB502, Step: 9}
		}, 8, nil},
	}
}

// checkPrbmTwins compares a potts_visible case's draws with the Go twin run
// on its inputs, bit for bit (the probabilities are compared with the
// emulator within the case's ulps).
func checkPrbmTwins(t *testing.T, c gpuCase, out [][]float32) {
	t.Helper()
	if c.kernel() != kernels.PottsVisibleF32 {
		return
	}
	a := c.args(make([]kernels.DevicePtr, len(c.bufs))).(*kernels.PottsVisibleF32Args)
	if a.Mode != kernels.PottsVisibleSample {
		return
	}
	want := make([]float32, len(c.bufs[0]))
	kernels.PottsVisible(prbmR, prbmL, prbmQ, kernels.PottsVisibleSample, c.bufs[0], want, kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step})
	got := out[len(out)-1]
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s [%d] = %v, Go twin %v", c.name, i, got[i], want[i])
		}
	}
}
