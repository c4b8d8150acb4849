package emu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// ulpDiff is the distance of two float32 in units in the last place.
func ulpDiff(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// The Gaussian RBM kernels of grbm.cu against their Go twins (kernels.*) on
// ragged shapes: equal up to the transcendental functions' ulps (expf, logf,
// cosf from glibc here, float64-rounded there) and what they propagate into.
func TestGRBMKernelsMatchReference(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(41, 42))
	for _, sh := range [][2]int{{1, 1}, {7, 13}, {33, 257}, {100, 784}} {
		M, N := sh[0], sh[1]
		grid := kernels.ElementwiseGrid(M * N)
		blk := d1(kernels.ElementwiseBlock)
		X, Z := randSlice(r, M*N, -3, 3), randSlice(r, N, -2, 2)

		got, want := poison(M*N), make([]float32, M*N)
		mustLaunch(t, grid, blk, &kernels.ScaleExpNegF32Args{M: int32(M), N: int32(N), X: st.F32(X), Z: st.F32(Z), Out: st.F32(got)}, &st)
		kernels.ScaleExpNeg(want, X, Z)
		for i := range got {
			if ulpDiff(got[i], want[i]) > 2 {
				t.Fatalf("%d×%d scale_exp_neg[%d] = %v, reference %v", M, N, i, got[i], want[i])
			}
		}

		s := kernels.Stream{Seed: 99, Op: 0x47560001, Step: 5}
		got = poison(M * N)
		mustLaunch(t, grid, blk, &kernels.GaussianSampleF32Args{M: int32(M), N: int32(N), Mean: st.F32(X), Z: st.F32(Z), Out: st.F32(got), Seed: s.Seed, Op: s.Op, Step: s.Step}, &st)
		kernels.SampleGaussian(want, X, Z, s)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%d×%d gaussian_sample[%d] = %v, reference %v", M, N, i, got[i], want[i])
			}
		}

		B, C := M, M+3
		V0, WP0 := randSlice(r, B*N, -2, 2), randSlice(r, B*N, -1, 1)
		VK, WPK := randSlice(r, C*N, -2, 2), randSlice(r, C*N, -1, 1)
		b := randSlice(r, N, -1, 1)
		gotG, wantG := poison(N), make([]float32, N)
		mustLaunch(t, kernels.ElementwiseGrid(N), blk, &kernels.LogVarGradF32Args{B: int32(B), C: int32(C), N: int32(N), V0: st.F32(V0), WP0: st.F32(WP0), VK: st.F32(VK), WPK: st.F32(WPK), VBias: st.F32(b), Z: st.F32(Z), Out: st.F32(gotG)}, &st)
		kernels.LogVarGrad(wantG, B, C, V0, WP0, VK, WPK, b, Z)
		for i := range gotG {
			if ulpDiff(gotG[i], wantG[i]) > 2 {
				t.Fatalf("B=%d C=%d N=%d logvar_grad[%d] = %v, reference %v", B, C, N, i, gotG[i], wantG[i])
			}
		}
		// The twin against float64 arithmetic: the kernel computes the
		// documented statistic.
		for c := 0; c < N; c++ {
			var pos, neg float64
			for i := 0; i < B; i++ {
				v, d := float64(V0[i*N+c]), float64(V0[i*N+c]-b[c])
				pos += 0.5*d*d - v*float64(WP0[i*N+c])
			}
			for i := 0; i < C; i++ {
				v, d := float64(VK[i*N+c]), float64(VK[i*N+c]-b[c])
				neg += 0.5*d*d - v*float64(WPK[i*N+c])
			}
			exact := math.Exp(-float64(Z[c])) * (pos/float64(B) - neg/float64(C))
			if math.Abs(exact-float64(wantG[c])) > 1e-4*(1+math.Abs(exact)) {
				t.Fatalf("logvar grad[%d] = %v, float64 %v", c, wantG[c], exact)
			}
		}

		Y := randSlice(r, M*N, -3, 3)
		Y[0] = float32(math.NaN())
		Y2 := append([]float32(nil), Y...)
		mustLaunch(t, grid, blk, &kernels.ClampMinF32Args{N: int32(M * N), X: st.F32(Y), Lo: float32(-0.5)}, &st)
		kernels.ClampMin(Y2, -0.5)
		for i := range Y {
			if math.Float32bits(Y[i]) != math.Float32bits(Y2[i]) {
				t.Fatalf("clamp_min[%d] = %v, reference %v", i, Y[i], Y2[i])
			}
		}
		if !math.IsNaN(float64(Y[0])) {
			t.Fatalf("clamp_min turned NaN into %v", Y[0])
		}
	}
}
