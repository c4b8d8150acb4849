package host

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The host driver's potts_gibbs_f32 (chains swept in blocks, site by site)
// gives the Go twin's states bit for bit: one chain, fewer chains than a
// block, ragged blocks over several workers, several sweeps, X and S the
// same buffer, W symmetric (read as its own transpose) and not symmetric
// (transposed at launch: the logits must read W[iQ+a, jQ+s_j], not
// W[jQ+s_j, iQ+a]), Q above the assembly loop's 32, with the assembly
// and with the portable Go loop.
func TestPottsGibbsMatchesTwin(t *testing.T) {
	asm := useAsm
	t.Cleanup(func() { useAsm = asm })
	for _, useAsm = range []bool{false, asm} {
		testPottsGibbsMatchesTwin(t)
	}
}

func testPottsGibbsMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 21))
	for _, c := range []struct {
		R, L, Q, sweeps, workers int
		inPlace, sym             bool
	}{
		{1, 5, 3, 2, 1, false, false},
		{7, 37, 6, 3, 2, false, true},
		{70, 12, 21, 2, 3, true, false},
		{70, 12, 21, 2, 3, true, true},
		{2*pottsRowBlock + 5, 9, 4, 4, 2, true, false},
		{5, 6, 30, 3, 2, true, false}, // lanes in all four registers
		{3, 4, 40, 2, 2, false, true},
	} {
		d := newDev(t, c.workers)
		N := c.L * c.Q
		W := randSlice(r, N*N, -0.8, 0.8)
		if c.sym {
			for i := 0; i < N; i++ {
				for k := i + 1; k < N; k++ {
					W[k*N+i] = W[i*N+k]
				}
			}
		}
		for k := range W {
			if (k/N)/c.Q == (k%N)/c.Q {
				W[k] = 0
			}
		}
		b := randSlice(r, N, -1, 1)
		X := make([]float32, c.R*N)
		for ch := 0; ch < c.R; ch++ {
			for i := 0; i < c.L; i++ {
				X[ch*N+i*c.Q+r.IntN(c.Q)] = 1
			}
		}
		rng := kernels.Stream{Seed: 3, Op: 0xB401, Step: 7}
		want := make([]float32, len(X))
		kernels.PottsGibbs(c.R, c.L, c.Q, c.sweeps, X, W, b, want, rng)
		pX := d.put(X)
		pS := pX
		if !c.inPlace {
			pS = d.put(make([]float32, len(X)))
		}
		d.launch(kernels.PottsGibbsGrid(c.R), &kernels.PottsGibbsF32Args{R: int32(c.R), L: int32(c.L), Q: int32(c.Q),
			Sweeps: int32(c.sweeps), X: pX, W: d.put(W), B: d.put(b), S: pS, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
		if got := d.get(pS, len(X)); !slices.Equal(got, want) {
			t.Errorf("R=%d L=%d Q=%d sweeps=%d, assembly %v: the host driver's states differ from the twin's", c.R, c.L, c.Q, c.sweeps, useAsm)
		}
		if sym := symmetricF32(W, N); sym != c.sym {
			t.Fatalf("symmetricF32 = %v, want %v", sym, c.sym)
		}
		if slices.Equal(want, X) {
			t.Errorf("R=%d L=%d Q=%d: the sweeps changed no state", c.R, c.L, c.Q)
		}
	}
}
