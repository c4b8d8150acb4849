//go:build cgo

package host

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// potts_visible_f32 on the host driver (workers splitting the sites) against
// the emulator running prbm.cu and against the Go twin: the draws bit for
// bit, the probabilities bit for bit with the twin and within 2 ulp of the
// emulator (expf).
func TestPottsVisibleMatchesEmulator(t *testing.T) {
	var st emu.Slices
	d := newDev(t, 3)
	r := rand.New(rand.NewPCG(81, 82))
	for _, c := range []struct{ R, L, Q int }{{1, 1, 2}, {4, 9, 3}, {13, 70, 21}, {100, 7, 5}} {
		n := c.R * c.L * c.Q
		A := randSlice(r, n, -5, 5)
		rng := kernels.Stream{Seed: 3, Op: 0xB501, Step: 2}
		for _, mode := range []int32{kernels.PottsVisibleSample, kernels.PottsVisibleProbs} {
			grid := kernels.PottsVisibleGrid(c.R, c.L)
			S := d.put(poison(n))
			d.launch(grid, &kernels.PottsVisibleF32Args{R: int32(c.R), L: int32(c.L), Q: int32(c.Q), Mode: mode,
				A: d.put(A), S: S, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
			got := d.get(S, n)
			em := poison(n)
			if err := emu.Launch(grid, kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}, &kernels.PottsVisibleF32Args{
				R: int32(c.R), L: int32(c.L), Q: int32(c.Q), Mode: mode, A: st.F32(A), S: st.F32(em),
				Seed: rng.Seed, Op: rng.Op, Step: rng.Step}, &st); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, n)
			kernels.PottsVisible(c.R, c.L, c.Q, int(mode), A, want, rng)
			for k := range got {
				if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
					t.Fatalf("%+v mode %d: S[%d] = %v, Go twin %v", c, mode, k, got[k], want[k])
				}
				if mode == kernels.PottsVisibleSample && got[k] != em[k] || ulps(got[k], em[k]) > 2 {
					t.Fatalf("%+v mode %d: S[%d] = %v, emulator %v", c, mode, k, got[k], em[k])
				}
			}
		}
	}
}
