package emu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// randomPotts returns symmetric couplings with zero diagonal blocks, fields
// and R random one-hot rows of L sites of Q states.
func randomPotts(r *rand.Rand, R, L, Q int, scale float32) (W, b, X []float32) {
	N := L * Q
	W, b, X = make([]float32, N*N), make([]float32, N), make([]float32, R*N)
	for k := 0; k < N; k++ {
		for l := k + 1; l < N; l++ {
			if k/Q != l/Q {
				v := scale * float32(r.NormFloat64())
				W[k*N+l], W[l*N+k] = v, v
			}
		}
		b[k] = float32(r.NormFloat64())
	}
	for c := 0; c < R; c++ {
		for i := 0; i < L; i++ {
			X[c*N+i*Q+r.IntN(Q)] = 1
		}
	}
	return W, b, X
}

// The Potts sweep of potts.cu against its Go twin kernels.PottsGibbs: the
// same states bit for bit (the logits are plain float32 sums in one order;
// only expf may differ by an ulp, which would move a draw only at a tie
// of the uniform with a partial sum — none occurs in these cases), on
// ragged chain counts, site counts across the block size and q from 2 to 21.
func TestPottsGibbsMatchesReference(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(61, 62))
	for _, c := range []struct{ R, L, Q, sweeps int }{{1, 1, 2, 1}, {3, 5, 4, 2}, {7, 33, 5, 3}, {5, 40, 21, 2}, {2, 70, 3, 1}} {
		N := c.L * c.Q
		W, b, X := randomPotts(r, c.R, c.L, c.Q, 0.5)
		rng := kernels.Stream{Seed: 7, Op: 0x1440, Step: 3}
		got, want := poison(c.R*N), make([]float32, c.R*N)
		mustLaunch(t, kernels.PottsGibbsGrid(c.R), d1(kernels.PottsBlock), &kernels.PottsGibbsF32Args{
			R: int32(c.R), L: int32(c.L), Q: int32(c.Q), Sweeps: int32(c.sweeps),
			X: st.F32(X), W: st.F32(W), B: st.F32(b), S: st.F32(got), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}, &st)
		kernels.PottsGibbs(c.R, c.L, c.Q, c.sweeps, X, W, b, want, rng)
		changed := 0
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: S[%d] = %v, reference %v", c, i, got[i], want[i])
			}
			if got[i] != X[i] {
				changed++
			}
		}
		if c.L > 1 && changed == 0 {
			t.Fatalf("%+v: the sweep changed no state", c)
		}
		for row := 0; row < c.R; row++ {
			for i := 0; i < c.L; i++ {
				var s float32
				for a := 0; a < c.Q; a++ {
					s += got[row*N+i*c.Q+a]
				}
				if s != 1 {
					t.Fatalf("%+v: chain %d site %d is not one-hot (sum %v)", c, row, i, s)
				}
			}
		}
	}
}

// potts_grad_f32 against kernels.PottsGrad: bit for bit (no transcendental
// functions), with the diagonal blocks zero when Q > 0 and kept when Q = 0.
func TestPottsGradMatchesReference(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(63, 64))
	for _, c := range []struct{ rows, cols, Q int }{{1, 1, 0}, {1, 35, 0}, {35, 35, 5}, {84, 84, 21}, {300, 300, 3}} {
		n := c.rows * c.cols
		F, X := randSlice(r, n, -1, 1), randSlice(r, n, 0, 50)
		alpha := float32(1) / 37
		got, want := poison(n), make([]float32, n)
		mustLaunch(t, kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), &kernels.PottsGradF32Args{
			N: int32(n), Cols: int32(c.cols), Q: int32(c.Q), Alpha: alpha, F: st.F32(F), X: st.F32(X), Out: st.F32(got)}, &st)
		kernels.PottsGrad(c.cols, c.Q, alpha, F, X, want)
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("%+v: out[%d] = %v, reference %v", c, k, got[k], want[k])
			}
			blk := c.Q > 0 && (k/c.cols)/c.Q == (k%c.cols)/c.Q
			if blk != (want[k] == 0) && blk {
				t.Fatalf("%+v: out[%d] = %v inside a diagonal block", c, k, want[k])
			}
		}
	}
}
