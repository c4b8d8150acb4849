//go:build cgo

package host

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// ptCase is one stacked-replica shape: R replicas of C chains, V visible
// and H hidden units.
type ptCase struct{ R, C, V, H int }

// binary returns n values in {0, 1}.
func binary(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		if r.IntN(2) == 1 {
			x[i] = 1
		}
	}
	return x
}

func sameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}

// The parallel-tempering kernels of pt.cu give the same bits in the
// emulator (the .cu source), through the host driver, and in their Go
// twins (kernels.PTSample, PTEnergy, PTSwap, PTAccept: what the graph ops
// run on the tape), for both swap parities and ragged shapes; and the swaps
// are real: some pairs accept and some refuse.
func TestPTKernelsBitIdentical(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(71, 72))
	blk := kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}
	accepted, refused := 0, 0
	for _, c := range []ptCase{{2, 1, 1, 1}, {3, 5, 7, 4}, {4, 33, 16, 9}, {8, 100, 25, 40}, {5, 300, 3, 2}} {
		for step := uint64(6); step < 8; step++ {
			M := c.R * c.C
			rng := kernels.Stream{Seed: 1234, Op: 0x50545757, Step: step}
			beta := make([]float32, c.R)
			for i := range beta {
				beta[i] = float32(math.Pow(0.3, float64(i)/float64(c.R-1)))
			}
			A := randSlice(r, M*c.H, -4, 4)
			X, Hs := binary(r, M*c.V), binary(r, M*c.H)
			b := randSlice(r, c.V, -2, 2)
			in := make([]float32, 2*(c.R-1))
			for i := range in {
				in[i] = float32(r.IntN(50))
			}

			// Go twins.
			S, E, Y, Out := make([]float32, M*c.H), make([]float32, M), make([]float32, M*c.V), make([]float32, len(in))
			kernels.PTSample(M, c.H, c.C, A, beta, S, rng)
			kernels.PTEnergy(M, c.V, c.H, X, A, Hs, b, E)
			kernels.PTSwap(c.R, c.C, c.V, X, E, beta, Y, rng)
			kernels.PTAccept(c.R, c.C, E, beta, in, Out, rng)
			rows := make([]float32, c.C*c.V)
			copy(rows, Y)

			// Emulator (each launch stages its own slices).
			eS, eE, eY, eOut, eRows := poison(M*c.H), poison(M), poison(M*c.V), poison(len(in)), poison(c.C*c.V)
			emuLaunch := func(grid kernels.Dim3, mk func(st *emu.Slices) kernels.Args) {
				var st emu.Slices
				if err := emu.Launch(grid, blk, mk(&st), &st); err != nil {
					t.Fatal(err)
				}
			}
			short := kernels.Dim3{X: 3, Y: 1, Z: 1} // grid-stride loops: any grid
			emuLaunch(short, func(st *emu.Slices) kernels.Args {
				return &kernels.PTSampleF32Args{M: int32(M), N: int32(c.H), C: int32(c.C), A: st.F32(A), Beta: st.F32(beta), S: st.F32(eS), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}
			})
			emuLaunch(short, func(st *emu.Slices) kernels.Args {
				return &kernels.PTEnergyF32Args{M: int32(M), V: int32(c.V), H: int32(c.H), X: st.F32(X), A: st.F32(A), Hs: st.F32(Hs), B: st.F32(b), E: st.F32(eE)}
			})
			emuLaunch(kernels.ElementwiseGrid(M*c.V), func(st *emu.Slices) kernels.Args {
				return &kernels.PTSwapF32Args{R: int32(c.R), C: int32(c.C), V: int32(c.V), X: st.F32(X), E: st.F32(E), Beta: st.F32(beta), Y: st.F32(eY), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}
			})
			emuLaunch(short, func(st *emu.Slices) kernels.Args {
				return &kernels.PTAcceptF32Args{R: int32(c.R), C: int32(c.C), E: st.F32(E), Beta: st.F32(beta), In: st.F32(in), Out: st.F32(eOut), Seed: rng.Seed, Op: rng.Op, Step: rng.Step}
			})
			emuLaunch(short, func(st *emu.Slices) kernels.Args {
				return &kernels.PTRowsF32Args{N: int32(c.C * c.V), X: st.F32(Y), Out: st.F32(eRows)}
			})
			sameFloats(t, "emulator E", eE, E)
			sameFloats(t, "emulator S", eS, S)
			sameFloats(t, "emulator Y", eY, Y)
			sameFloats(t, "emulator counts", eOut, Out)
			sameFloats(t, "emulator rows", eRows, rows)

			// Host driver.
			pS, pE, pY, pOut, pRows := d.put(poison(M*c.H)), d.put(poison(M)), d.put(poison(M*c.V)), d.put(poison(len(in))), d.put(poison(c.C*c.V))
			pBeta, pA, pX, pE0 := d.put(beta), d.put(A), d.put(X), d.put(E)
			d.launch(kernels.ElementwiseGrid(M*c.H), &kernels.PTSampleF32Args{M: int32(M), N: int32(c.H), C: int32(c.C), A: pA, Beta: pBeta, S: pS, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
			d.launch(kernels.ElementwiseGrid(M), &kernels.PTEnergyF32Args{M: int32(M), V: int32(c.V), H: int32(c.H), X: pX, A: pA, Hs: d.put(Hs), B: d.put(b), E: pE})
			d.launch(kernels.ElementwiseGrid(M*c.V), &kernels.PTSwapF32Args{R: int32(c.R), C: int32(c.C), V: int32(c.V), X: pX, E: pE0, Beta: pBeta, Y: pY, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
			d.launch(kernels.ElementwiseGrid(c.R), &kernels.PTAcceptF32Args{R: int32(c.R), C: int32(c.C), E: pE0, Beta: pBeta, In: d.put(in), Out: pOut, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
			d.launch(kernels.ElementwiseGrid(c.C*c.V), &kernels.PTRowsF32Args{N: int32(c.C * c.V), X: pY, Out: pRows})
			sameFloats(t, "host S", d.get(pS, M*c.H), S)
			sameFloats(t, "host E", d.get(pE, M), E)
			sameFloats(t, "host Y", d.get(pY, M*c.V), Y)
			sameFloats(t, "host counts", d.get(pOut, len(in)), Out)
			sameFloats(t, "host rows", d.get(pRows, c.C*c.V), rows)

			// The twins against their definitions.
			for i := 0; i < M; i++ {
				var e float64
				for k := 0; k < c.V; k++ {
					e -= float64(b[k]) * float64(X[i*c.V+k])
				}
				for j := 0; j < c.H; j++ {
					e -= float64(Hs[i*c.H+j]) * float64(A[i*c.H+j])
				}
				if math.Abs(e-float64(E[i])) > 1e-4*(1+math.Abs(e)) {
					t.Fatalf("%+v: E[%d] = %v, float64 %v", c, i, E[i], e)
				}
			}
			for q := 0; q < c.R-1; q++ {
				n := Out[q] - in[q]
				if int(q)%2 != int(step%2) {
					if n != 0 || Out[c.R-1+q] != in[c.R-1+q] {
						t.Fatalf("%+v step %d: pair %d counted off its parity", c, step, q)
					}
					continue
				}
				accepted += int(n)
				refused += c.C - int(n)
				for col := 0; col < c.C; col++ {
					swapped := kernels.PTAccepts(q, col, c.C, E, beta, rng)
					src := q
					if swapped {
						src = q + 1
					}
					sameFloats(t, "swapped row", Y[(q*c.C+col)*c.V:(q*c.C+col+1)*c.V], X[(src*c.C+col)*c.V:(src*c.C+col+1)*c.V])
				}
			}
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d swaps and refused %d: the test exercises one branch only", accepted, refused)
	}
	t.Logf("swaps accepted %d, refused %d", accepted, refused)
}
