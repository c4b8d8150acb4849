package emu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// potts_visible_f32 of prbm.cu against its Go twin kernels.PottsVisible:
// the one-hot draws bit for bit and the probabilities within an ulp of
// expf's (the emulator's expf is the C library's), on ragged row and site
// counts across the block size and q from 2 to 21, with logits spread wide
// enough that some states have weight 0.
func TestPottsVisibleMatchesReference(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(71, 72))
	for _, c := range []struct {
		R, L, Q int
		scale   float32
	}{{1, 1, 2, 1}, {3, 5, 4, 2}, {7, 33, 5, 3}, {5, 40, 21, 4}, {2, 300, 3, 60}} {
		N := c.L * c.Q
		A := randSlice(r, c.R*N, -c.scale, c.scale)
		rng := kernels.Stream{Seed: 9, Op: 0xB501, Step: 4}
		for _, mode := range []int{kernels.PottsVisibleSample, kernels.PottsVisibleProbs} {
			got, want := poison(c.R*N), make([]float32, c.R*N)
			mustLaunch(t, kernels.PottsVisibleGrid(c.R, c.L), d1(kernels.ElementwiseBlock), &kernels.PottsVisibleF32Args{
				R: int32(c.R), L: int32(c.L), Q: int32(c.Q), Mode: int32(mode),
				A: st.F32(A), S: st.F32(got), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}, &st)
			kernels.PottsVisible(c.R, c.L, c.Q, mode, A, want, rng)
			for k := range got {
				if mode == kernels.PottsVisibleSample && math.Float32bits(got[k]) != math.Float32bits(want[k]) {
					t.Fatalf("%+v sample: S[%d] = %v, reference %v", c, k, got[k], want[k])
				}
				if d := math.Abs(float64(got[k] - want[k])); d > 4e-7*math.Max(1, float64(want[k])) {
					t.Fatalf("%+v mode %d: S[%d] = %v, reference %v", c, mode, k, got[k], want[k])
				}
			}
			for e := 0; e < c.R*c.L; e++ {
				var s float32
				for a := 0; a < c.Q; a++ {
					s += got[e*c.Q+a]
				}
				if math.Abs(float64(s-1)) > 1e-5 {
					t.Fatalf("%+v mode %d: site %d sums to %v", c, mode, e, s)
				}
			}
		}
	}
}
