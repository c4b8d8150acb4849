package host

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/rbmgpu/rbmgpu/kernels/host/internal/openblas"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Napkin maths for the benchmarks: an M x N x K GEMM is 2MNK flops. One
// CD-1 step of a 784 x 500 RBM at batch 100 runs five of them (v W, h W^T,
// v W again, two gradient products: 5 * 2*100*784*500 = 392 MFLOP, 3.9
// MFLOP per sample); the target is 15,000 samples/s, ~60 GFLOP/s.

// reportRates reports GFLOP/s over wall time and, from the CPU time used,
// the per-core rate and the rate the workers would reach on an idle machine
// with perfect balance ("@idle": an upper estimate when the machine is
// shared, since it omits time workers wait for each other).
func reportRates(b *testing.B, flops, cpu float64, workers int) {
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flops/cpu/1e9, "GFLOP/s/core")
		b.ReportMetric(flops/cpu/1e9*float64(workers), "GFLOP/s@idle")
	}
}

// gemmShape is one of the CD-1 step's products.
type gemmShape struct {
	name           string
	M, N, K        int
	transA, transB bool
}

var cd1Shapes = []gemmShape{
	{"VW", 100, 500, 784, false, false}, // hidden pre-activations: V (100x784) W (784x500)
	{"HWt", 100, 784, 500, false, true}, // visible: H (100x500) W^T
	{"VtH", 784, 500, 100, true, false}, // weight gradient: V^T (784x100) H (100x500)
}

func benchGemm(b *testing.B, s gemmShape, flags int) {
	d := newDev(b, gomaxprocs())
	r := rand.New(rand.NewPCG(1, 2))
	M, N, K := s.M, s.N, s.K
	pA, pB := d.put(randSlice(r, M*K, -1, 1)), d.put(randSlice(r, K*N, -1, 1))
	pC, pBias := d.put(make([]float32, M*N)), d.put(randSlice(r, N, -1, 1))
	pP, pS := d.put(make([]float32, M*N)), d.put(make([]float32, M*N))
	args := &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: pA, B: pB, Beta: float32(0), C: pC, TransA: b2i(s.transA), TransB: b2i(s.transB), Flags: int32(flags), Bias: pBias, P: pP, S: pS, Seed: uint64(7), Op: uint32(1), Step: uint64(0)}
	grid, block := kernels.GemmGrid(M, N), kernels.Dim3{X: 16, Y: 16, Z: 1}
	if err := d.Launch(grid, block, args); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if err := d.Launch(grid, block, args); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, 2*float64(M*N*K)*float64(b.N), cpuSeconds()-cpu0, d.Workers())
}

// The three GEMM shapes of a CD-1 step, plain (C = A B).
func BenchmarkGemm784x500B100(b *testing.B)    { benchGemm(b, cd1Shapes[0], 0) }
func BenchmarkGemmHWt784x500B100(b *testing.B) { benchGemm(b, cd1Shapes[1], 0) }
func BenchmarkGemmVtH784x500B100(b *testing.B) { benchGemm(b, cd1Shapes[2], 0) }

// The hidden conditional with the whole fused epilogue.
func BenchmarkGemmSample784x500B100(b *testing.B) {
	benchGemm(b, cd1Shapes[0], kernels.GemmBias|kernels.GemmSigmoid|kernels.GemmWriteP|kernels.GemmSample|kernels.GemmNoC)
}

// gonum's pure-Go Sgemm on the same shapes, for comparison.
func benchGonum(b *testing.B, s gemmShape) {
	r := rand.New(rand.NewPCG(1, 2))
	M, N, K := s.M, s.N, s.K
	A, B, C := randSlice(r, M*K, -1, 1), randSlice(r, K*N, -1, 1), make([]float32, M*N)
	tA, tB, lda, ldb := blas.NoTrans, blas.NoTrans, K, N
	if s.transA {
		tA, lda = blas.Trans, M
	}
	if s.transB {
		tB, ldb = blas.Trans, K
	}
	var impl gonum.Implementation
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		impl.Sgemm(tA, tB, M, N, K, 1, A, lda, B, ldb, 0, C, N)
	}
	reportRates(b, 2*float64(M*N*K)*float64(b.N), cpuSeconds()-cpu0, gomaxprocs())
}

// OpenBLAS's sgemm on the same shapes (build tag openblas): the ceiling
// the issue measures against. It runs OpenBLAS's own threads.
func benchOpenBLAS(b *testing.B, s gemmShape) {
	if !openblas.Available {
		b.Skip("built without -tags openblas")
	}
	r := rand.New(rand.NewPCG(1, 2))
	M, N, K := s.M, s.N, s.K
	A, B, C := randSlice(r, M*K, -1, 1), randSlice(r, K*N, -1, 1), make([]float32, M*N)
	lda, ldb := K, N
	if s.transA {
		lda = M
	}
	if s.transB {
		ldb = K
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		openblas.Sgemm(s.transA, s.transB, M, N, K, 1, A, lda, B, ldb, 0, C, N)
	}
	reportRates(b, 2*float64(M*N*K)*float64(b.N), cpuSeconds()-cpu0, gomaxprocs())
}

func BenchmarkOpenBLAS784x500B100(b *testing.B)    { benchOpenBLAS(b, cd1Shapes[0]) }
func BenchmarkOpenBLASHWt784x500B100(b *testing.B) { benchOpenBLAS(b, cd1Shapes[1]) }
func BenchmarkOpenBLASVtH784x500B100(b *testing.B) { benchOpenBLAS(b, cd1Shapes[2]) }

func BenchmarkGonumSgemm784x500B100(b *testing.B)    { benchGonum(b, cd1Shapes[0]) }
func BenchmarkGonumSgemmHWt784x500B100(b *testing.B) { benchGonum(b, cd1Shapes[1]) }
func BenchmarkGonumSgemmVtH784x500B100(b *testing.B) { benchGonum(b, cd1Shapes[2]) }

// cd1Plan is the launch sequence of one CD-1 step (what the engine's
// lowering emits), with every argument struct built once.
type cd1Plan struct {
	launches []cd1Launch
	step     *uint64 // not used by the kernels' args; steps advance via the rng args below
}

type cd1Launch struct {
	grid  kernels.Dim3
	block kernels.Dim3
	args  kernels.Args
}

// newCD1 allocates a batch-B CD-1 step of an nv x nh RBM on d: data V0,
// parameters W, b, c with velocities, and every intermediate.
func newCD1(d dev, B, nv, nh int) []cd1Launch {
	r := rand.New(rand.NewPCG(3, 4))
	V0 := make([]float32, B*nv)
	for i := range V0 {
		V0[i] = float32(r.IntN(2))
	}
	pV0 := d.put(V0)
	pW, pb, pc := d.put(randSlice(r, nv*nh, -0.01, 0.01)), d.put(make([]float32, nv)), d.put(make([]float32, nh))
	pvW, pvb, pvc := d.put(make([]float32, nv*nh)), d.put(make([]float32, nv)), d.put(make([]float32, nh))
	pdW, pdb, pdc := d.put(make([]float32, nv*nh)), d.put(make([]float32, nv)), d.put(make([]float32, nh))
	pH0p, pH0s := d.put(make([]float32, B*nh)), d.put(make([]float32, B*nh))
	pV1p, pV1s := d.put(make([]float32, B*nv)), d.put(make([]float32, B*nv))
	pH1p := d.put(make([]float32, B*nh))
	gemmBlk := kernels.Dim3{X: 16, Y: 16, Z: 1}
	colBlk := kernels.Dim3{X: 32, Y: 8, Z: 1}
	ewBlk := kernels.Dim3{X: 256, Y: 1, Z: 1}
	const sample = kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample | kernels.GemmNoC
	const prob = kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmNoC
	inv := 1 / float32(B)
	var nilp kernels.DevicePtr
	gemm := func(M, N, K int, alpha float32, A, Bm kernels.DevicePtr, beta float32, C kernels.DevicePtr,
		tA, tB int32, flags int, bias, P, S kernels.DevicePtr, op uint32) cd1Launch {
		return cd1Launch{kernels.GemmGrid(M, N), gemmBlk, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: alpha, A: A, B: Bm, Beta: beta, C: C, TransA: tA, TransB: tB, Flags: int32(flags), Bias: bias, P: P, S: S, Seed: uint64(42), Op: op, Step: uint64(0)}}
	}
	colSum := func(M, N int, alpha float32, X kernels.DevicePtr, beta float32, out kernels.DevicePtr) cd1Launch {
		return cd1Launch{kernels.ColSumGrid(N), colBlk, &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: alpha, X: X, Beta: beta, Out: out}}
	}
	sgd := func(n int, p, v, g kernels.DevicePtr) cd1Launch {
		return cd1Launch{kernels.ElementwiseGrid(n), ewBlk, &kernels.SGDUpdateF32Args{N: int32(n), Param: p, Vel: v, Grad: g, Lr: float32(0.1), Momentum: float32(0.5), WeightDecay: float32(1e-4)}}
	}
	return []cd1Launch{
		gemm(B, nh, nv, 1, pV0, pW, 0, nilp, 0, 0, sample, pc, pH0p, pH0s, 1),   // h0 ~ p(h | v0)
		gemm(B, nv, nh, 1, pH0s, pW, 0, nilp, 0, 1, sample, pb, pV1p, pV1s, 2),  // v1 ~ p(v | h0)
		gemm(B, nh, nv, 1, pV1s, pW, 0, nilp, 0, 0, prob, pc, pH1p, nilp, 3),    // p(h | v1)
		gemm(nv, nh, B, inv, pV0, pH0p, 0, pdW, 1, 0, 0, nilp, nilp, nilp, 0),   // dW = v0^T h0 / B
		gemm(nv, nh, B, -inv, pV1s, pH1p, 1, pdW, 1, 0, 0, nilp, nilp, nilp, 0), // dW -= v1^T h1 / B
		colSum(B, nv, inv, pV0, 0, pdb), colSum(B, nv, -inv, pV1s, 1, pdb),      // db
		colSum(B, nh, inv, pH0p, 0, pdc), colSum(B, nh, -inv, pH1p, 1, pdc), // dc
		sgd(nv*nh, pW, pvW, pdW), sgd(nv, pb, pvb, pdb), sgd(nh, pc, pvc, pdc), // updates
	}
}

// BenchmarkCD1Step784x500B100 chains the launches of one CD-1 step of a
// 784 x 500 RBM at batch 100 and reports samples/s (the number).
func BenchmarkCD1Step784x500B100(b *testing.B) {
	const B, nv, nh = 100, 784, 500
	d := newDev(b, gomaxprocs())
	plan := newCD1(d, B, nv, nh)
	run := func() {
		for _, l := range plan {
			if err := d.Launch(l.grid, l.block, l.args); err != nil {
				b.Fatal(err)
			}
		}
	}
	run() // warm-up: scratch buffers grow here
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		run()
	}
	cpu := cpuSeconds() - cpu0
	b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "samples/s")
	if cpu > 0 {
		b.ReportMetric(float64(B*b.N)/cpu*float64(d.Workers()), "samples/s@idle")
	}
	reportRates(b, 5*2*float64(B*nv*nh)*float64(b.N), cpu, d.Workers())
}
