package host

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMicroKernel measures the 6x16 micro-kernel alone on packed
// panels of depth 256 that stay in L1: its flop rate on one core is the
// ceiling for everything above it.
func BenchmarkMicroKernel(b *testing.B) {
	const k = 256
	r := rand.New(rand.NewPCG(1, 2))
	a, bb := randSlice(r, k*mr, -1, 1), randSlice(r, k*nr, -1, 1)
	out := make([]float32, mr*nr)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		microKernel(k, a, bb, out, nr, 1, 0, nil, 0, nil)
	}
	reportRates(b, 2*mr*nr*k*float64(b.N), cpuSeconds()-cpu0, 1)
}
