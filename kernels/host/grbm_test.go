//go:build cgo

package host

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// The host's Gaussian RBM kernels against the emulator running grbm.cu, on
// ragged shapes: within the transcendental ulps.
func TestGRBMKernelsMatchEmulator(t *testing.T) {
	var st emu.Slices
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(43, 44))
	blk := kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}
	close := func(name string, got, want []float32, rel float64) {
		t.Helper()
		for i := range got {
			if dd := math.Abs(float64(got[i] - want[i])); !(dd <= rel*(1+math.Abs(float64(want[i])))) {
				t.Fatalf("%s[%d] = %v, emulator %v", name, i, got[i], want[i])
			}
		}
	}
	for _, sh := range [][2]int{{1, 3}, {9, 31}, {65, 300}} {
		M, N := sh[0], sh[1]
		grid := kernels.ElementwiseGrid(M * N)
		X, Z := randSlice(r, M*N, -3, 3), randSlice(r, N, -2, 2)
		pX, pZ := d.put(X), d.put(Z)

		pOut := d.put(poison(M * N))
		d.launch(grid, &kernels.ScaleExpNegF32Args{M: int32(M), N: int32(N), X: pX, Z: pZ, Out: pOut})
		want := poison(M * N)
		if err := emu.Launch(grid, blk, &kernels.ScaleExpNegF32Args{M: int32(M), N: int32(N), X: st.F32(X), Z: st.F32(Z), Out: st.F32(want)}, &st); err != nil {
			t.Fatal(err)
		}
		close("scale_exp_neg", d.get(pOut, M*N), want, 3e-7)

		s := kernels.Stream{Seed: 3, Op: 0x47560002, Step: 11}
		d.launch(grid, &kernels.GaussianSampleF32Args{M: int32(M), N: int32(N), Mean: pX, Z: pZ, Out: pOut, Seed: s.Seed, Op: s.Op, Step: s.Step})
		if err := emu.Launch(grid, blk, &kernels.GaussianSampleF32Args{M: int32(M), N: int32(N), Mean: st.F32(X), Z: st.F32(Z), Out: st.F32(want), Seed: s.Seed, Op: s.Op, Step: s.Step}, &st); err != nil {
			t.Fatal(err)
		}
		close("gaussian_sample", d.get(pOut, M*N), want, 1e-5)

		B, C := M, 2*M+1
		V0, WP0, VK, WPK := randSlice(r, B*N, -2, 2), randSlice(r, B*N, -1, 1), randSlice(r, C*N, -2, 2), randSlice(r, C*N, -1, 1)
		b := randSlice(r, N, -1, 1)
		pG := d.put(poison(N))
		d.launch(kernels.ElementwiseGrid(N), &kernels.LogVarGradF32Args{B: int32(B), C: int32(C), N: int32(N), V0: d.put(V0), WP0: d.put(WP0), VK: d.put(VK), WPK: d.put(WPK), VBias: d.put(b), Z: pZ, Out: pG})
		wantG := poison(N)
		if err := emu.Launch(kernels.ElementwiseGrid(N), blk, &kernels.LogVarGradF32Args{B: int32(B), C: int32(C), N: int32(N), V0: st.F32(V0), WP0: st.F32(WP0), VK: st.F32(VK), WPK: st.F32(WPK), VBias: st.F32(b), Z: st.F32(Z), Out: st.F32(wantG)}, &st); err != nil {
			t.Fatal(err)
		}
		close("logvar_grad", d.get(pG, N), wantG, 3e-7)

		d.launch(grid, &kernels.ClampMinF32Args{N: int32(M * N), X: pX, Lo: float32(0.25)})
		if err := emu.Launch(grid, blk, &kernels.ClampMinF32Args{N: int32(M * N), X: st.F32(X), Lo: float32(0.25)}, &st); err != nil {
			t.Fatal(err)
		}
		close("clamp_min", d.get(pX, M*N), X, 0)
	}
}
