package host

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Reductions are checked against the float64 twins. Tolerance: a float32 sum
// of n terms, in any order, is within (n-1) u sum|x_i| of the exact sum
// (u = 2^-24); (n+2) u sum|x| covers the final scale too.

func TestColSum(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(21, 22))
	sizes := []int{1, 7, 33, 70, 100, 513}
	for _, M := range sizes {
		for _, N := range sizes {
			for _, beta := range []float32{0, 1, -0.5} {
				X := randSlice(r, M*N, -1, 1)
				out := poison(N)
				if beta != 0 {
					out = randSlice(r, N, -1, 1)
				}
				want := clone(out)
				alpha := 1 / float32(M)
				kernels.ColSumRef(M, N, alpha, X, beta, want)
				pOut := d.put(out)
				d.launch(kernels.ColSumGrid(N), &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: alpha, X: d.put(X), Beta: beta, Out: pOut})
				got := d.get(pOut, N)
				for j := 0; j < N; j++ {
					var mag float64
					for i := 0; i < M; i++ {
						mag += math.Abs(float64(X[i*N+j]))
					}
					mag *= float64(alpha)
					if beta != 0 {
						mag += math.Abs(float64(beta * out[j]))
					}
					if dd := math.Abs(float64(got[j] - want[j])); !(dd <= float64(M+2)*eps32*mag) {
						t.Fatalf("M=%d N=%d beta=%v: out[%d] = %v, want %v", M, N, beta, j, got[j], want[j])
					}
				}
			}
		}
	}
}

// sq_diff_partial + sum with the table grid; the partial buffer has exactly
// SqDiffGrid(n).X entries, so a kernel writing more would fail the bounds
// check. Also a non-table grid (partials still sum to the same value).
func TestSqDiff(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{0, 1, 7, 255, 256, 257, 1000, 78400, 300000} {
		A, B := randSlice(r, n, -1, 1), randSlice(r, n, -1, 1)
		var mag float64
		for i := range A {
			dd := float64(A[i] - B[i])
			mag += dd * dd
		}
		alpha := float32(0.01)
		want := kernels.SqDiffRef(A, B, alpha)
		for _, g := range []kernels.Dim3{kernels.SqDiffGrid(n), {X: 3, Y: 1, Z: 1}} {
			pA, pB := d.put(append(A, 0)), d.put(append(B, 0))
			pPart, pOut := d.put(poison(g.X)), d.put(poison(1))
			d.launch(g, &kernels.SqDiffPartialF32Args{N: int32(n), A: pA, B: pB, Partial: pPart})
			d.launch(kernels.Dim3{X: 1, Y: 1, Z: 1}, &kernels.SumF32Args{N: int32(g.X), X: pPart, Alpha: alpha, Out: pOut})
			got := d.get(pOut, 1)[0]
			if dd := math.Abs(float64(got - want)); !(dd <= float64(n+4)*eps32*mag*float64(alpha)+1e-30) {
				t.Fatalf("n=%d grid=%v: %v, want %v", n, g, got, want)
			}
		}
	}
}

func TestFreeEnergy(t *testing.T) {
	d := newDev(t, 2)
	r := rand.New(rand.NewPCG(25, 26))
	for _, sh := range [][3]int{{1, 1, 1}, {7, 33, 70}, {100, 784, 500}, {3, 513, 257}} {
		M, Nv, Nh := sh[0], sh[1], sh[2]
		V, vb, X := randSlice(r, M*Nv, 0, 1), randSlice(r, Nv, -1, 1), randSlice(r, M*Nh, -30, 30)
		want := make([]float32, M)
		kernels.FreeEnergyRef(M, Nv, Nh, V, vb, X, want)
		pF := d.put(poison(M))
		d.launch(kernels.FreeEnergyGrid(M), &kernels.FreeEnergyF32Args{M: int32(M), Nv: int32(Nv), Nh: int32(Nh), V: d.put(V), Vbias: d.put(vb), X: d.put(X), F: pF})
		F := d.get(pF, M)
		for i := range F {
			var mag float64
			for j := 0; j < Nv; j++ {
				mag += math.Abs(float64(V[i*Nv+j] * vb[j]))
			}
			for k := 0; k < Nh; k++ {
				mag += kernels.Softplus64(float64(X[i*Nh+k]))
			}
			tol := float64(Nv+Nh+4) * 2 * eps32 * mag
			if dd := math.Abs(float64(F[i] - want[i])); !(dd <= tol) {
				t.Fatalf("%v: F[%d] = %v, want %v (tol %g)", sh, i, F[i], want[i], tol)
			}
		}
	}
}

// sgd_update_f32 is bit-exact with kernels.SGDUpdate; bernoulli_f32 and
// philox_fill_f32 with the Go Philox stream (kernels.Stream).
func TestElementwise(t *testing.T) {
	d := newDev(t, 3)
	r := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{1, 7, 33, 100, 513, 70000, 392000} {
		param, vel, grad := randSlice(r, n, -1, 1), randSlice(r, n, -0.1, 0.1), randSlice(r, n, -1, 1)
		wantP, wantV := clone(param), clone(vel)
		kernels.SGDUpdate(wantP, wantV, grad, 0.1, 0.9, 1e-4)
		pp, pv := d.put(param), d.put(vel)
		d.launch(kernels.ElementwiseGrid(n), &kernels.SGDUpdateF32Args{N: int32(n), Param: pp, Vel: pv, Grad: d.put(grad), Lr: float32(0.1), Momentum: float32(0.9), WeightDecay: float32(1e-4)})
		gotP, gotV := d.get(pp, n), d.get(pv, n)
		for i := range gotP {
			if math.Float32bits(gotP[i]) != math.Float32bits(wantP[i]) || math.Float32bits(gotV[i]) != math.Float32bits(wantV[i]) {
				t.Fatalf("n=%d: sgd element %d", n, i)
			}
		}

		rng := kernels.Stream{Seed: r.Uint64(), Op: r.Uint32(), Step: r.Uint64()}
		P := randSlice(r, n, 0, 1)
		pS := d.put(poison(n))
		d.launch(kernels.ElementwiseGrid(n), &kernels.BernoulliF32Args{N: int32(n), P: d.put(P), S: pS, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
		S := d.get(pS, n)
		for i := range S {
			if S[i] != kernels.Bernoulli(rng.Uniform(uint64(i)), P[i]) {
				t.Fatalf("n=%d: bernoulli element %d", n, i)
			}
		}

		pU, pW := d.put(poison(n)), d.put(poison(n))
		d.launch(kernels.ElementwiseGrid(n), &kernels.PhiloxFillF32Args{N: int32(n), U: pU, W: pW, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
		U, W := d.get(pU, n), d.get(pW, n)
		for i := range U {
			w := rng.Word(uint64(i))
			if U[i] != kernels.ToUniform(w) || math.Float32bits(W[i]) != w {
				t.Fatalf("n=%d: philox element %d", n, i)
			}
		}
		// Either output may be NULL.
		pU2 := d.put(poison(n))
		d.launch(kernels.ElementwiseGrid(n), &kernels.PhiloxFillF32Args{N: int32(n), U: pU2, Seed: rng.Seed, Op: rng.Op, Step: rng.Step})
		if got := d.get(pU2, n); got[n-1] != U[n-1] {
			t.Fatalf("n=%d: philox with W NULL", n)
		}
	}
}

// The host Philox twin equals the package's.
func TestPhiloxTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for i := 0; i < 1000; i++ {
		c := [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()}
		k := [2]uint32{r.Uint32(), r.Uint32()}
		if philox(c[0], c[1], c[2], c[3], k[0], k[1]) != kernels.Philox4x32(c, k) {
			t.Fatalf("philox(%v, %v)", c, k)
		}
	}
}

// words (two interleaved blocks) equals the stream at any offset and length.
func TestWords(t *testing.T) {
	s := kernels.Stream{Seed: 1 << 40, Op: 7, Step: 1<<33 + 5}
	for e0 := uint64(0); e0 < 9; e0++ {
		for n := 0; n < 40; n++ {
			w := make([]uint32, n)
			words(s, e0, w)
			for i := range w {
				if w[i] != s.Word(e0+uint64(i)) {
					t.Fatalf("e0=%d n=%d: word %d", e0, n, i)
				}
			}
		}
	}
}

// Bad launches and copies are errors, and nothing is written.
func TestBoundsAndArgs(t *testing.T) {
	d := newDev(t, 2)
	M, N, K := 10, 20, 30
	pA, pB := d.put(make([]float32, M*K)), d.put(make([]float32, K*N))
	pC := d.put(poison(M * N))
	pSmall := d.put(poison(M*N - 1))
	grid, blk := kernels.GemmGrid(M, N), kernels.Dim3{X: 16, Y: 16, Z: 1}
	gemm := func(A, B, C kernels.DevicePtr, flags int32, grid, blk kernels.Dim3) error {
		return d.Launch(grid, blk, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: A, B: B, Beta: float32(0), C: C, TransA: int32(0), TransB: int32(0), Flags: flags, Seed: uint64(0), Op: uint32(0), Step: uint64(0)})
	}
	if err := gemm(pA, pB, pC, 0, grid, blk); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"C too small", gemm(pA, pB, pSmall, 0, grid, blk), "past the end"},
		{"A offset past end", gemm(pA+4, pB, pC, 0, grid, blk), "past the end"},
		{"misaligned", gemm(pA+2, pB, pC, 0, grid, blk), "aligned"},
		{"wild pointer", gemm(kernels.DevicePtr(12345), pB, pC, 0, grid, blk), "not in any allocation"},
		{"NULL C", gemm(pA, pB, 0, 0, grid, blk), "NULL"},
		{"NULL bias", gemm(pA, pB, pC, kernels.GemmBias, grid, blk), "NULL"},
		{"NULL S", gemm(pA, pB, pC, kernels.GemmSample, grid, blk), "NULL"},
		{"small grid", gemm(pA, pB, pC, 0, kernels.Dim3{X: 1, Y: 1, Z: 1}, blk), "does not cover"},
		{"bad block", gemm(pA, pB, pC, 0, grid, kernels.Dim3{X: 8, Y: 8, Z: 1}), "block"},
		{"NULL A", gemm(0, pB, pC, 0, grid, blk), "A is NULL"},
		{"no arguments", d.Launch(grid, blk, nil), "without arguments"},
		{"unknown kernel", d.Launch(grid, blk, unknownArgs{}), "unknown kernel"},
		{"negative n", d.Launch(kernels.Dim3{X: 1, Y: 1, Z: 1}, kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.SumF32Args{N: int32(-1), X: pA, Alpha: float32(1), Out: pC}), "negative"},
		{"partials past end", d.Launch(kernels.Dim3{X: 300, Y: 1, Z: 1}, kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.SqDiffPartialF32Args{N: int32(100), A: pA, B: pB, Partial: pSmall}), "past the end"},
		{"copy past end", d.CopyHtoD(pA, make([]byte, 4*M*K+1)), "past the end"},
		{"copy wild", d.CopyDtoH(make([]byte, 4), kernels.DevicePtr(7)), "not in any allocation"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
	for i, v := range d.get(pSmall, M*N-1) {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("failed launch wrote C[%d]", i)
		}
	}
	// Freed memory is gone; a double free is an error.
	if err := d.Free(pC); err != nil {
		t.Fatal(err)
	}
	if err := gemm(pA, pB, pC, 0, grid, blk); err == nil {
		t.Error("launch on freed memory succeeded")
	}
	if err := d.Free(pC); err == nil {
		t.Error("double free succeeded")
	}
	if err := d.Free(pA + 4); err == nil {
		t.Error("free of an interior pointer succeeded")
	}
	if _, err := d.Alloc(-1); err == nil {
		t.Error("Alloc(-1) succeeded")
	}
	d.Close()
	if _, err := d.Alloc(4); err == nil {
		t.Error("Alloc after Close succeeded")
	}
	if err := gemm(pA, pB, pC, 0, grid, blk); err == nil {
		t.Error("Launch after Close succeeded")
	}
}

// Alloc hands out 64-byte aligned memory.
func TestAlignment(t *testing.T) {
	d := newDev(t, 1)
	for _, n := range []int{0, 1, 3, 4, 100, 4096} {
		p, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if p%64 != 0 {
			t.Errorf("Alloc(%d) = %#x, not 64-byte aligned", n, uint64(p))
		}
		i := d.index(p)
		if len(d.regions[i].mem) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(d.regions[i].mem)))%64 != 0 {
			t.Errorf("Alloc(%d): host memory not 64-byte aligned", n)
		}
	}
}

// Launch allocates nothing once warm (argument structs built by the caller once).
func TestLaunchAllocs(t *testing.T) {
	d := newDev(t, gomaxprocs())
	plan := newCD1(d, 20, 50, 40)
	for _, l := range plan {
		l := l
		if err := d.Launch(l.grid, l.block, l.args); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := d.Launch(l.grid, l.block, l.args); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per launch", l.args.Kernel(), allocs)
		}
	}
	extra := []cd1Launch{
		{kernels.SqDiffGrid(1000), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.SqDiffPartialF32Args{N: int32(1000), A: d.put(make([]float32, 1000)), B: d.put(make([]float32, 1000)), Partial: d.put(make([]float32, 4))}},
		{kernels.Dim3{X: 1, Y: 1, Z: 1}, kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.SumF32Args{N: int32(100), X: d.put(make([]float32, 100)), Alpha: float32(1), Out: d.put(make([]float32, 1))}},
		{kernels.FreeEnergyGrid(10), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.FreeEnergyF32Args{M: int32(10), Nv: int32(50), Nh: int32(40), V: d.put(make([]float32, 500)), Vbias: d.put(make([]float32, 50)), X: d.put(make([]float32, 400)), F: d.put(make([]float32, 10))}},
		{kernels.ElementwiseGrid(100000), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.BernoulliF32Args{N: int32(100000), P: d.put(make([]float32, 100000)), S: d.put(make([]float32, 100000)), Seed: uint64(1), Op: uint32(2), Step: uint64(3)}},
		{kernels.ElementwiseGrid(100), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.PhiloxFillF32Args{N: int32(100), U: d.put(make([]float32, 100)), W: d.put(make([]float32, 100)), Seed: uint64(1), Op: uint32(2), Step: uint64(3)}},
		{kernels.ElementwiseGrid(200), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.ScaleExpNegF32Args{M: int32(10), N: int32(20), X: d.put(make([]float32, 200)), Z: d.put(make([]float32, 20)), Out: d.put(make([]float32, 200))}},
		{kernels.ElementwiseGrid(200), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.GaussianSampleF32Args{M: int32(10), N: int32(20), Mean: d.put(make([]float32, 200)), Z: d.put(make([]float32, 20)), Out: d.put(make([]float32, 200)), Seed: uint64(1), Op: uint32(2), Step: uint64(3)}},
		{kernels.ElementwiseGrid(20), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.LogVarGradF32Args{B: int32(10), C: int32(5), N: int32(20), V0: d.put(make([]float32, 200)), WP0: d.put(make([]float32, 200)), VK: d.put(make([]float32, 100)), WPK: d.put(make([]float32, 100)), VBias: d.put(make([]float32, 20)), Z: d.put(make([]float32, 20)), Out: d.put(make([]float32, 20))}},
		{kernels.ElementwiseGrid(20), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.ClampMinF32Args{N: int32(20), X: d.put(make([]float32, 20)), Lo: float32(-1)}},
		{kernels.ElementwiseGrid(20), kernels.Dim3{X: 256, Y: 1, Z: 1}, &kernels.L1GradF32Args{N: int32(20), G: d.put(make([]float32, 20)), X: d.put(make([]float32, 20)), L1: float32(0.1)}},
	}
	for _, l := range extra {
		if err := d.Launch(l.grid, l.block, l.args); err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(20, func() { _ = d.Launch(l.grid, l.block, l.args) }); allocs != 0 {
			t.Errorf("%s: %v allocations per launch", l.args.Kernel(), allocs)
		}
	}
}

// unknownArgs are arguments of a kernel that is not in the launch table.
type unknownArgs struct{}

func (unknownArgs) Kernel() string          { return "nope" }
func (unknownArgs) Addr(int) unsafe.Pointer { return nil }
