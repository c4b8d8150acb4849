//go:build cgo

package host

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// Against the emulator, which runs the .cu sources: on the same launches
// the host's gemm C must be bit-identical (same fmaf order) when the AVX2
// kernel runs, P within 2 ulp (expf: glibc vs ours), S identical except
// where u is within those ulps of p; the reductions follow the same trees,
// so they must agree bit for bit except for fmaf double rounding (counted,
// an ulp at most).

func ulps(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

func TestGemmMatchesEmulator(t *testing.T) {
	var st emu.Slices
	if !useAsm {
		t.Skip("bit-identity needs the FMA micro-kernel")
	}
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []gemmCase{
		{M: 33, N: 70, K: 100, alpha: 1, flags: 31 &^ kernels.GemmNoC},
		{M: 7, N: 513, K: 33, transB: true, alpha: -0.5, beta: 0.75, flags: kernels.GemmBias | kernels.GemmWriteP},
		{M: 70, N: 33, K: 7, transA: true, alpha: 0.01, beta: 1, flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample},
		{M: 100, N: 100, K: 70, transA: true, transB: true, alpha: 2, flags: kernels.GemmSigmoid | kernels.GemmSample},
	} {
		g := gemmInputs(r, c)
		C, P, S := gemmLaunch(d, c, g)
		eC, eP, eS := clone(g.C0), poison(c.M*c.N), poison(c.M*c.N)
		if err := emu.Launch(kernels.GemmGrid(c.M, c.N), kernels.Dim3{X: 16, Y: 16, Z: 1}, &kernels.GemmF32Args{M: int32(c.M), N: int32(c.N), K: int32(c.K), Alpha: c.alpha, A: st.F32(g.A), B: st.F32(g.B), Beta: c.beta, C: st.F32(eC), TransA: b2i(c.transA), TransB: b2i(c.transB), Flags: int32(c.flags), Bias: st.F32(g.bias), P: st.F32(eP), S: st.F32(eS), Seed: g.rng.Seed, Op: g.rng.Op, Step: g.rng.Step}, &st); err != nil {
			t.Fatal(err)
		}
		ties := 0
		for i := range C {
			if math.Float32bits(C[i]) != math.Float32bits(eC[i]) && !(math.IsNaN(float64(C[i])) && math.IsNaN(float64(eC[i]))) {
				t.Fatalf("%+v: C[%d] = %v, emulator %v", c, i, C[i], eC[i])
			}
			if ulps(P[i], eP[i]) > 2 && !(math.IsNaN(float64(P[i])) && math.IsNaN(float64(eP[i]))) {
				t.Fatalf("%+v: P[%d] = %v, emulator %v", c, i, P[i], eP[i])
			}
			if S[i] != eS[i] && !(math.IsNaN(float64(S[i])) && math.IsNaN(float64(eS[i]))) {
				if u := g.rng.Uniform(uint64(i)); ulps(u, P[i]) > 2 {
					t.Fatalf("%+v: S[%d] = %v, emulator %v", c, i, S[i], eS[i])
				}
				ties++
			}
		}
		t.Logf("%+v: C bit-identical; samples differing at near-ties: %d", c, ties)
	}
}

func TestReductionsMatchEmulator(t *testing.T) {
	var st emu.Slices
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(33, 34))
	M, N := 100, 513
	X := randSlice(r, M*N, -1, 1)
	out0 := randSlice(r, N, -1, 1)
	got, want := clone(out0), clone(out0)
	pOut := d.put(got)
	d.launch(kernels.ColSumGrid(N), &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: float32(0.01), X: d.put(X), Beta: float32(-1), Out: pOut})
	got = d.get(pOut, N)
	if err := emu.Launch(kernels.ColSumGrid(N), kernels.Dim3{X: 32, Y: 8, Z: 1}, &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: float32(0.01), X: st.F32(X), Beta: float32(-1), Out: st.F32(want)}, &st); err != nil {
		t.Fatal(err)
	}
	for j := range got {
		if got[j] != want[j] {
			t.Fatalf("col_sum[%d] = %v, emulator %v", j, got[j], want[j])
		}
	}

	n := 78400
	A, B := randSlice(r, n, 0, 1), randSlice(r, n, 0, 1)
	g := kernels.SqDiffGrid(n)
	part := make([]float32, g.X)
	if err := emu.Launch(g, kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.SqDiffPartialF32Args{N: int32(n), A: st.F32(A), B: st.F32(B), Partial: st.F32(part)}, &st); err != nil {
		t.Fatal(err)
	}
	pPart := d.put(poison(g.X))
	d.launch(g, &kernels.SqDiffPartialF32Args{N: int32(n), A: d.put(A), B: d.put(B), Partial: pPart})
	hostPart, diff := d.get(pPart, g.X), 0
	for i := range part {
		if hostPart[i] != part[i] {
			diff++
			if ulps(hostPart[i], part[i]) > 4 {
				t.Fatalf("partial[%d] = %v, emulator %v", i, hostPart[i], part[i])
			}
		}
	}
	t.Logf("sq_diff partials differing from the emulator (fmaf double rounding): %d of %d", diff, len(part))

	Nv, Nh := 784, 500
	V, vb, Xh := randSlice(r, 10*Nv, 0, 1), randSlice(r, Nv, -1, 1), randSlice(r, 10*Nh, -5, 5)
	eF := make([]float32, 10)
	if err := emu.Launch(kernels.FreeEnergyGrid(10), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.FreeEnergyF32Args{M: int32(10), Nv: int32(Nv), Nh: int32(Nh), V: st.F32(V), Vbias: st.F32(vb), X: st.F32(Xh), F: st.F32(eF)}, &st); err != nil {
		t.Fatal(err)
	}
	pF := d.put(poison(10))
	d.launch(kernels.FreeEnergyGrid(10), &kernels.FreeEnergyF32Args{M: int32(10), Nv: int32(Nv), Nh: int32(Nh), V: d.put(V), Vbias: d.put(vb), X: d.put(Xh), F: pF})
	for i, f := range d.get(pF, 10) {
		if ulps(f, eF[i]) > 8 {
			t.Fatalf("F[%d] = %v, emulator %v", i, f, eF[i])
		}
	}
}

// The host driver accepts the arguments of every GEMM kernel (one code
// path: the same function), checks the grid against that kernel's tile,
// and matches the emulator's blocked kernels as it matches gemm_f32: C bit
// for bit, P within 2 ulp (expf), S except at near-ties.
func TestBlockedGemmMatchesEmulator(t *testing.T) {
	if !useAsm {
		t.Skip("bit-identity needs the FMA micro-kernel")
	}
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(35, 36))
	for _, c := range []gemmCase{
		{M: 129, N: 70, K: 100, alpha: 1, flags: 31 &^ kernels.GemmNoC},
		{M: 7, N: 200, K: 33, transB: true, alpha: -0.5, beta: 0.75, flags: kernels.GemmBias | kernels.GemmWriteP},
		{M: 70, N: 33, K: 128, transA: true, alpha: 0.01, beta: 1, flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample},
		{M: 64, N: 131, K: 17, transA: true, transB: true, alpha: 2, flags: kernels.GemmSigmoid | kernels.GemmSample},
	} {
		g := gemmInputs(r, c)
		for _, kernel := range []string{kernels.GemmF32x128, kernels.GemmF32x64} {
			M, N := c.M, c.N
			pC, pP, pS := d.put(g.C0), d.put(poison(M*N)), d.put(poison(M*N))
			cArg := pC
			if c.flags&kernels.GemmNoC != 0 && c.beta == 0 {
				cArg = 0
			}
			ga := &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(c.K), Alpha: c.alpha, A: d.put(g.A), B: d.put(g.B), Beta: c.beta, C: cArg, TransA: b2i(c.transA), TransB: b2i(c.transB), Flags: int32(c.flags), Bias: d.put(g.bias), P: pP, S: pS, Seed: g.rng.Seed, Op: g.rng.Op, Step: g.rng.Step}
			a, err := kernels.GemmAs(kernel, ga)
			if err != nil {
				t.Fatal(err)
			}
			grid, err := kernels.GemmGridOf(kernel, M, N)
			if err != nil {
				t.Fatal(err)
			}
			d.launch(grid, a)
			C, P, S := d.get(pC, M*N), d.get(pP, M*N), d.get(pS, M*N)

			var st emu.Slices
			eC, eP, eS := clone(g.C0), poison(M*N), poison(M*N)
			ea := *ga
			ea.A, ea.B, ea.C, ea.Bias, ea.P, ea.S = st.F32(g.A), st.F32(g.B), st.F32(eC), st.F32(g.bias), st.F32(eP), st.F32(eS)
			if cArg == 0 {
				ea.C = 0
			}
			eargs, _ := kernels.GemmAs(kernel, &ea)
			k, _ := kernels.Lookup(kernel)
			if err := emu.Launch(grid, k.Block, eargs, &st); err != nil {
				t.Fatal(err)
			}
			ties := 0
			for i := range C {
				if math.Float32bits(C[i]) != math.Float32bits(eC[i]) && !(math.IsNaN(float64(C[i])) && math.IsNaN(float64(eC[i]))) {
					t.Fatalf("%s %+v: C[%d] = %v, emulator %v", kernel, c, i, C[i], eC[i])
				}
				if ulps(P[i], eP[i]) > 2 && !(math.IsNaN(float64(P[i])) && math.IsNaN(float64(eP[i]))) {
					t.Fatalf("%s %+v: P[%d] = %v, emulator %v", kernel, c, i, P[i], eP[i])
				}
				if S[i] != eS[i] && !(math.IsNaN(float64(S[i])) && math.IsNaN(float64(eS[i]))) {
					if u := g.rng.Uniform(uint64(i)); ulps(u, P[i]) > 2 {
						t.Fatalf("%s %+v: S[%d] = %v, emulator %v", kernel, c, i, S[i], eS[i])
					}
					ties++
				}
			}
			t.Logf("%s %+v: C bit-identical; samples differing at near-ties: %d", kernel, c, ties)

			// The grid must cover M x N with the kernel's own tile: a row
			// of tiles short is an error.
			short := grid
			short.Y--
			if short.Y >= 1 {
				if err := d.Launch(short, k.Block, a); err == nil || !strings.Contains(err.Error(), "does not cover") {
					t.Errorf("%s: grid %v for %dx%d: %v, want an error", kernel, short, M, N, err)
				}
			}
		}
	}
}
