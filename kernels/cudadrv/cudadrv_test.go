//go:build cuda

package cudadrv

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// On a GPU: the same launches through the CUDA driver and the emulator give
// the same bits (gemm C, Philox words, SGD update), and P within a few ulps
// (CUDA's expf vs the C library's). Skipped where no device opens.
func TestGPUMatchesEmulator(t *testing.T) {
	gpu, err := New(0)
	if err != nil {
		t.Skip(err)
	}
	defer gpu.Close()
	cpu := emu.NewDriver()
	defer cpu.Close()
	r := rand.New(rand.NewPCG(1, 2))
	M, N, K := 67, 129, 45
	A, B, bias := rnd(r, M*K), rnd(r, K*N), rnd(r, N)
	flags := int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample)
	var outs [2][3][]float32
	for di, d := range []kernels.Driver{gpu, cpu} {
		up := func(s []float32) kernels.DevicePtr {
			p, err := d.Alloc(4 * len(s))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.CopyHtoD(p, kernels.Float32Bytes(s)); err != nil {
				t.Fatal(err)
			}
			return p
		}
		dA, dB, dBias, dC, dP, dS := up(A), up(B), up(bias), up(make([]float32, M*N)), up(make([]float32, M*N)), up(make([]float32, M*N))
		// transB = 1 reads the K x N buffer as N x K: only the indexing changes.
		if err := d.Launch(kernels.GemmF32, kernels.GemmGrid(M, N), kernels.Dim3{X: 16, Y: 16, Z: 1},
			int32(M), int32(N), int32(K), float32(1), dA, dB, float32(0), dC, int32(0), int32(1), flags,
			dBias, dP, dS, uint64(3), uint32(4), uint64(5)); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		for i, p := range []kernels.DevicePtr{dC, dP, dS} {
			outs[di][i] = make([]float32, M*N)
			if err := d.CopyDtoH(kernels.Float32Bytes(outs[di][i]), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < M*N; i++ {
		if math.Float32bits(outs[0][0][i]) != math.Float32bits(outs[1][0][i]) {
			t.Fatalf("C[%d]: gpu %v emu %v", i, outs[0][0][i], outs[1][0][i])
		}
		if d := math.Abs(float64(outs[0][1][i] - outs[1][1][i])); d > 4.0/(1<<24) {
			t.Fatalf("P[%d]: gpu %v emu %v", i, outs[0][1][i], outs[1][1][i])
		}
		u := kernels.Stream{Seed: 3, Op: 4, Step: 5}.Uniform(uint64(i))
		if outs[0][2][i] != kernels.Bernoulli(u, outs[0][1][i]) {
			t.Fatalf("S[%d]: gpu %v, u=%v p=%v", i, outs[0][2][i], u, outs[0][1][i])
		}
	}
}

func rnd(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}
