package emu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Reductions are checked against float64 twins. Tolerance: a float32 sum of
// n terms, in any order, is within (n-1) u sum|x_i| of the exact sum
// (u = 2^-24); we allow (n+2) u sum|x| to cover the final scale too.

func TestColSum(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(11, 12))
	sizes := []int{1, 7, 16, 33, 70}
	for _, M := range sizes {
		for _, N := range sizes {
			for _, beta := range []float32{0, 1, -0.5} {
				X := randSlice(r, M*N, -1, 1)
				var out []float32
				if beta == 0 {
					out = poison(N)
				} else {
					out = randSlice(r, N, -1, 1)
				}
				want := append([]float32(nil), out...)
				alpha := float32(1) / float32(M)
				kernels.ColSumRef(M, N, alpha, X, beta, want)
				// Table block (32, 8) and a smaller (4, 2) that needs
				// several blocks along x even for small N.
				for _, block := range []kernels.Dim3{{X: 32, Y: 8, Z: 1}, {X: 4, Y: 2, Z: 1}} {
					got := append([]float32(nil), out...)
					grid := kernels.Dim3{X: (N + block.X - 1) / block.X, Y: 1, Z: 1}
					mustLaunch(t, grid, block, &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: alpha, X: st.F32(X), Beta: beta, Out: st.F32(got)}, &st)
					for j := 0; j < N; j++ {
						var mag float64
						for i := 0; i < M; i++ {
							mag += math.Abs(float64(X[i*N+j]))
						}
						mag *= float64(alpha)
						if beta != 0 {
							mag += math.Abs(float64(beta * out[j]))
						}
						tol := float64(M+2) * eps32 * mag
						if d := math.Abs(float64(got[j] - want[j])); !(d <= tol) {
							t.Fatalf("M=%d N=%d beta=%v block=%v: out[%d] = %v, want %v (tol %g)",
								M, N, beta, block, j, got[j], want[j], tol)
						}
					}
				}
			}
		}
	}
}

// sqDiff runs the two-pass reconstruction error with the given block size
// (a power of two) and the table's grid rule.
func sqDiff(t *testing.T, A, B []float32, alpha float32, block int) float32 {
	var st Slices
	n := len(A)
	grid := kernels.SqDiffGrid(n)
	partial := poison(grid.X)
	mustLaunch(t, grid, d1(block), &kernels.SqDiffPartialF32Args{N: int32(n), A: st.F32(A), B: st.F32(B), Partial: st.F32(partial)}, &st)
	out := poison(1)
	mustLaunch(t, d1(1), d1(block), &kernels.SumF32Args{N: int32(grid.X), X: st.F32(partial), Alpha: alpha, Out: st.F32(out)}, &st)
	return out[0]
}

func TestSqDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 7, 255, 256, 257, 1000, 70000} {
		A := randSlice(r, n, 0, 1)
		B := randSlice(r, n, 0, 1)
		alpha := float32(1) / 7
		want := kernels.SqDiffRef(A, B, alpha)
		var mag float64
		for i := range A {
			d := float64(A[i] - B[i])
			mag += d * d
		}
		tol := float64(n+3) * eps32 * mag * float64(alpha)
		for _, block := range []int{256, 32} {
			got := sqDiff(t, A, B, alpha, block)
			if d := math.Abs(float64(got - want)); !(d <= tol) {
				t.Errorf("n=%d block=%d: got %v, want %v (tol %g)", n, block, got, want, tol)
			}
			// Deterministic: the same launch gives the same bits.
			if again := sqDiff(t, A, B, alpha, block); math.Float32bits(again) != math.Float32bits(got) {
				t.Errorf("n=%d block=%d: not reproducible: %v then %v", n, block, got, again)
			}
		}
	}
}

// free_energy_f32 on the pre-activations of a gemm_f32 launch, as the CUDA
// backend will chain them. Tolerance: vb has Nv fused terms, softplus sums Nh
// terms each within a few ulps (expf, log1pf, the add), so
// |F - F_ref| <= (Nv+2) u sum|v b| + (Nh+4) u sum softplus(x) + 1e-6 (abs.
// floor for near-cancelling rows).
func TestFreeEnergy(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(15, 16))
	for _, sh := range [][3]int{{1, 1, 1}, {7, 33, 16}, {16, 70, 7}, {33, 7, 70}, {3, 300, 300}} {
		M, Nv, Nh := sh[0], sh[1], sh[2]
		V := make([]float32, M*Nv)
		for i := range V {
			V[i] = float32(r.IntN(2))
		}
		vbias := randSlice(r, Nv, -1, 1)
		X := randSlice(r, M*Nh, -30, 30) // both softplus branches, saturation
		want := make([]float32, M)
		kernels.FreeEnergyRef(M, Nv, Nh, V, vbias, X, want)
		for _, block := range []int{256, 16} {
			F := poison(M)
			grid := kernels.FreeEnergyGrid(M)
			if block == 16 && M > 2 {
				grid.X = 2 // grid-stride over rows
			}
			mustLaunch(t, grid, d1(block), &kernels.FreeEnergyF32Args{M: int32(M), Nv: int32(Nv), Nh: int32(Nh), V: st.F32(V), Vbias: st.F32(vbias), X: st.F32(X), F: st.F32(F)}, &st)
			for i := 0; i < M; i++ {
				var vb, sp float64
				for j := 0; j < Nv; j++ {
					vb += math.Abs(float64(V[i*Nv+j] * vbias[j]))
				}
				for k := 0; k < Nh; k++ {
					sp += kernels.Softplus64(float64(X[i*Nh+k]))
				}
				tol := float64(Nv+2)*eps32*vb + float64(Nh+4)*eps32*sp + 1e-6
				if d := math.Abs(float64(F[i] - want[i])); !(d <= tol) {
					t.Errorf("%v block %d: F[%d] = %v, want %v (tol %g)", sh, block, i, F[i], want[i], tol)
				}
			}
		}
	}
}

// A whole CD-1 step's kernels chained on one batch: positive phase (gemm
// with sample), negative phase (transposed gemm), gradients (transA gemm and
// column sums), update, error and free energy — each checked against its Go
// twin fed with the kernel outputs of the previous stage.
func TestCD1Chain(t *testing.T) {
	var st Slices
	r := rand.New(rand.NewPCG(17, 18))
	batch, nv, nh := 10, 37, 23
	V0 := make([]float32, batch*nv)
	for i := range V0 {
		V0[i] = float32(r.IntN(2))
	}
	W := randSlice(r, nv*nh, -0.1, 0.1)
	b, c := randSlice(r, nv, -0.1, 0.1), randSlice(r, nh, -0.1, 0.1)
	blk := kernels.Dim3{X: 16, Y: 16, Z: 1}
	ph := kernels.Stream{Seed: 99, Op: 1, Step: 5}
	pv := kernels.Stream{Seed: 99, Op: 2, Step: 5}

	X0, H0p, H0s := poison(batch*nh), poison(batch*nh), poison(batch*nh)
	mustLaunch(t, kernels.GemmGrid(batch, nh), blk, &kernels.GemmF32Args{M: int32(batch), N: int32(nh), K: int32(nv), Alpha: float32(1), A: st.F32(V0), B: st.F32(W), Beta: float32(0), C: st.F32(X0), TransA: int32(0), TransB: int32(0), Flags: int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample), Bias: st.F32(c), P: st.F32(H0p), S: st.F32(H0s), Seed: ph.Seed, Op: ph.Op, Step: ph.Step}, &st)
	V1p, V1s := poison(batch*nv), poison(batch*nv)
	mustLaunch(t, kernels.GemmGrid(batch, nv), blk, &kernels.GemmF32Args{M: int32(batch), N: int32(nv), K: int32(nh), Alpha: float32(1), A: st.F32(H0s), B: st.F32(W), Beta: float32(0), TransA: int32(0), TransB: int32(1), Flags: int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample | kernels.GemmNoC), Bias: st.F32(b), P: st.F32(V1p), S: st.F32(V1s), Seed: pv.Seed, Op: pv.Op, Step: pv.Step}, &st)
	for i := range V1s {
		if V1s[i] != kernels.Bernoulli(pv.Uniform(uint64(i)), V1p[i]) {
			t.Fatalf("visible sample %d", i)
		}
	}
	H1p := poison(batch * nh)
	mustLaunch(t, kernels.GemmGrid(batch, nh), blk, &kernels.GemmF32Args{M: int32(batch), N: int32(nh), K: int32(nv), Alpha: float32(1), A: st.F32(V1s), B: st.F32(W), Beta: float32(0), TransA: int32(0), TransB: int32(0), Flags: int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmNoC), Bias: st.F32(c), P: st.F32(H1p), Seed: uint64(0), Op: uint32(0), Step: uint64(0)}, &st)
	// dW = (V0^T H0p - V1s^T H1p) / batch: two launches, the second with beta = 1.
	inv := 1 / float32(batch)
	dW := poison(nv * nh)
	mustLaunch(t, kernels.GemmGrid(nv, nh), blk, &kernels.GemmF32Args{M: int32(nv), N: int32(nh), K: int32(batch), Alpha: inv, A: st.F32(V0), B: st.F32(H0p), Beta: float32(0), C: st.F32(dW), TransA: int32(1), TransB: int32(0), Flags: int32(0), Seed: uint64(0), Op: uint32(0), Step: uint64(0)}, &st)
	mustLaunch(t, kernels.GemmGrid(nv, nh), blk, &kernels.GemmF32Args{M: int32(nv), N: int32(nh), K: int32(batch), Alpha: -inv, A: st.F32(V1s), B: st.F32(H1p), Beta: float32(1), C: st.F32(dW), TransA: int32(1), TransB: int32(0), Flags: int32(0), Seed: uint64(0), Op: uint32(0), Step: uint64(0)}, &st)
	wantDW := make([]float32, nv*nh)
	for j := 0; j < nv; j++ {
		for k := 0; k < nh; k++ {
			var s float64
			for i := 0; i < batch; i++ {
				s += float64(V0[i*nv+j])*float64(H0p[i*nh+k]) - float64(V1s[i*nv+j])*float64(H1p[i*nh+k])
			}
			wantDW[j*nh+k] = float32(s / float64(batch))
		}
	}
	for i := range dW {
		if d := math.Abs(float64(dW[i] - wantDW[i])); !(d <= 4*float64(batch+3)*eps32) {
			t.Fatalf("dW[%d] = %v, want %v", i, dW[i], wantDW[i])
		}
	}
	// db = mean(V0) - mean(V1s).
	db := poison(nv)
	mustLaunch(t, kernels.ColSumGrid(nv), kernels.Dim3{X: 32, Y: 8, Z: 1}, &kernels.ColSumF32Args{M: int32(batch), N: int32(nv), Alpha: inv, X: st.F32(V0), Beta: float32(0), Out: st.F32(db)}, &st)
	mustLaunch(t, kernels.ColSumGrid(nv), kernels.Dim3{X: 32, Y: 8, Z: 1}, &kernels.ColSumF32Args{M: int32(batch), N: int32(nv), Alpha: -inv, X: st.F32(V1s), Beta: float32(1), Out: st.F32(db)}, &st)
	for j := 0; j < nv; j++ {
		var s float64
		for i := 0; i < batch; i++ {
			s += float64(V0[i*nv+j] - V1s[i*nv+j])
		}
		if d := math.Abs(float64(db[j]) - s/float64(batch)); !(d <= 1e-6) {
			t.Fatalf("db[%d] = %v, want %v", j, db[j], s/float64(batch))
		}
	}
	// W += update, bit-exact with the Go twin.
	vel := make([]float32, nv*nh)
	wantW, wantVel := append([]float32(nil), W...), append([]float32(nil), vel...)
	kernels.SGDUpdate(wantW, wantVel, dW, 0.1, 0.5, 1e-4)
	mustLaunch(t, kernels.ElementwiseGrid(nv*nh), d1(256), &kernels.SGDUpdateF32Args{N: int32(nv * nh), Param: st.F32(W), Vel: st.F32(vel), Grad: st.F32(dW), Lr: float32(0.1), Momentum: float32(0.5), WeightDecay: float32(1e-4)}, &st)
	for i := range W {
		if W[i] != wantW[i] || vel[i] != wantVel[i] {
			t.Fatalf("W[%d] = %v, want %v", i, W[i], wantW[i])
		}
	}
	errGot := sqDiff(t, V0, V1p, 1/float32(batch), 256)
	if want := kernels.SqDiffRef(V0, V1p, 1/float32(batch)); math.Abs(float64(errGot-want)) > 1e-4*float64(want) {
		t.Errorf("reconstruction error %v, want %v", errGot, want)
	}
	F := poison(batch)
	mustLaunch(t, kernels.FreeEnergyGrid(batch), d1(256), &kernels.FreeEnergyF32Args{M: int32(batch), Nv: int32(nv), Nh: int32(nh), V: st.F32(V0), Vbias: st.F32(b), X: st.F32(X0), F: st.F32(F)}, &st)
	wantF := make([]float32, batch)
	kernels.FreeEnergyRef(batch, nv, nh, V0, b, X0, wantF)
	for i := range F {
		if d := math.Abs(float64(F[i] - wantF[i])); !(d <= 1e-5*(1+math.Abs(float64(wantF[i])))) {
			t.Errorf("F[%d] = %v, want %v", i, F[i], wantF[i])
		}
	}
}
