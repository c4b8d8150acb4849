//go:build cgo

package host

import (
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// symmetric returns an n×n symmetric matrix with zero diagonal and entries
// uniform in [-s, s].
func symmetric(r *rand.Rand, n int, s float32) []float32 {
	w := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			x := (2*r.Float32() - 1) * s
			w[i*n+j], w[j*n+i] = x, x
		}
	}
	return w
}

// bm_gibbs_f32 three ways — the Go twin (the contract), the host driver and
// the emulator running bm.cu — on ragged sizes (N below, at and above the
// block of 128, not multiples of it), clamped and free rows, sampling and
// mean-field: samples identical, mean-field values within 2 ulp (expf).
// Sequential sweeps propagate a flipped sample, so a near-tie (|u − p| ≤ 2
// ulp) would be reported rather than excused; none occurs for these seeds.
func TestBMGibbsMatchesEmulatorAndTwin(t *testing.T) {
	var st emu.Slices
	d := newDev(t, 3)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ R, N, Nin, first, sweeps int }{
		{3, 7, 7, 0, 2},  // free-running chains, N < block
		{4, 13, 9, 9, 3}, // visibles clamped, hidden swept
		{2, 130, 100, 100, 1},
		{2, 257, 257, 0, 1}, // two strided passes per thread plus a ragged tail
		{1, 1, 1, 0, 2},
		{2, 5, 5, 5, 1}, // nothing to sweep: a copy
	} {
		for _, mf := range []bool{false, true} {
			W, b := symmetric(r, c.N, 1), randSlice(r, c.N, -1, 1)
			X := make([]float32, c.R*c.Nin)
			for i := range X {
				X[i] = float32(r.IntN(2))
			}
			rng := kernels.Stream{Seed: 9, Op: 0xB1, Step: 4}
			want := poison(c.R * c.N)
			kernels.BMGibbs(c.R, c.N, c.Nin, c.first, c.sweeps, mf, X, W, b, want, rng)

			pS := d.put(poison(c.R * c.N))
			d.launch(kernels.BMGibbsGrid(c.R), &kernels.BMGibbsF32Args{R: int32(c.R), N: int32(c.N), Nin: int32(c.Nin), First: int32(c.first), Sweeps: int32(c.sweeps), MeanField: b2i(mf), X: d.put(X), W: d.put(W), B: d.put(b), S: pS, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
			host := d.get(pS, c.R*c.N)

			emuS := poison(c.R * c.N)
			if err := emu.Launch(kernels.BMGibbsGrid(c.R), kernels.Dim3{X: kernels.BMBlock, Y: 1, Z: 1}, &kernels.BMGibbsF32Args{R: int32(c.R), N: int32(c.N), Nin: int32(c.Nin), First: int32(c.first), Sweeps: int32(c.sweeps), MeanField: b2i(mf), X: st.F32(X), W: st.F32(W), B: st.F32(b), S: st.F32(emuS), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}, &st); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if host[i] != want[i] {
					t.Fatalf("%+v meanField=%v: host S[%d] = %v, twin %v", c, mf, i, host[i], want[i])
				}
				if ulps(emuS[i], want[i]) > 2 {
					t.Fatalf("%+v meanField=%v: emulator S[%d] = %v, twin %v", c, mf, i, emuS[i], want[i])
				}
				if !mf && emuS[i] != want[i] {
					t.Fatalf("%+v: emulator sample S[%d] = %v, twin %v", c, i, emuS[i], want[i])
				}
			}
			for row := 0; row < c.R; row++ {
				for j := 0; j < c.Nin; j++ {
					if j < c.first && want[row*c.N+j] != X[row*c.Nin+j] {
						t.Fatalf("%+v: clamped unit %d of row %d changed", c, j, row)
					}
				}
			}
		}
	}
}

func TestBMMask(t *testing.T) {
	var st emu.Slices
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(7, 8))
	n := 1000
	G, M := randSlice(r, n, -1, 1), make([]float32, n)
	for i := range M {
		M[i] = float32(r.IntN(2))
	}
	want := make([]float32, n)
	kernels.BMMask(G, M, want)
	pOut := d.put(poison(n))
	d.launch(kernels.ElementwiseGrid(n), &kernels.BMMaskF32Args{N: int32(n), G: d.put(G), M: d.put(M), Out: pOut})
	emuOut := poison(n)
	if err := emu.Launch(kernels.ElementwiseGrid(n), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}, &kernels.BMMaskF32Args{N: int32(n), G: st.F32(G), M: st.F32(M), Out: st.F32(emuOut)}, &st); err != nil {
		t.Fatal(err)
	}
	for i, h := range d.get(pOut, n) {
		if h != want[i] || emuOut[i] != want[i] {
			t.Fatalf("out[%d]: host %v, emulator %v, twin %v", i, h, emuOut[i], want[i])
		}
	}
}

// A grid that does not cover the rows is an error, not rows left unsampled.
func TestBMGibbsGridChecked(t *testing.T) {
	d := newDev(t, 1)
	k, _ := kernels.Lookup(kernels.BMGibbsF32)
	S := d.put(make([]float32, 6))
	err := d.Launch(kernels.Dim3{X: 1, Y: 1, Z: 1}, k.Block, &kernels.BMGibbsF32Args{R: int32(2), N: int32(3), Nin: int32(3), First: int32(0), Sweeps: int32(1), MeanField: int32(0), X: d.put(make([]float32, 6)), W: d.put(make([]float32, 9)), B: d.put(make([]float32, 3)), S: S, Seed: uint64(1), Op: uint32(1), Step: uint64(0)})
	if err == nil {
		t.Fatal("grid of 1 block for 2 rows accepted")
	}
}
