package kernels

// The typed launch arguments (args_gen.go) are generated from the table
// Kernels below: go generate -run genargs ./kernels.
//go:generate go run ./tools/genargs

import "fmt"

// ArgType is the C type of one kernel parameter. Launchers (the CUDA driver
// and the emulator) check every argument against it before a launch, so a
// mismatch is an error, never a corrupted parameter buffer.
type ArgType uint8

// Kernel parameter types and the Go types that pass them.
const (
	Int32      ArgType = iota + 1 // C int: Go int32
	Uint32                        // C unsigned int: Go uint32
	Uint64                        // C unsigned long long: Go uint64
	Float32                       // C float: Go float32
	PtrFloat32                    // C float* or const float*: a device buffer of float32
	PtrUint32                     // C unsigned int*: a device buffer of uint32
)

// Code returns the one-letter code of t used by the emulator's signature
// strings: i u U f F W.
func (t ArgType) Code() byte {
	switch t {
	case Int32:
		return 'i'
	case Uint32:
		return 'u'
	case Uint64:
		return 'U'
	case Float32:
		return 'f'
	case PtrFloat32:
		return 'F'
	case PtrUint32:
		return 'W'
	}
	return '?'
}

// PTXType returns the PTX parameter type nvcc emits for t (.u32, .u64, .f32).
func (t ArgType) PTXType() string {
	switch t {
	case Int32, Uint32:
		return ".u32"
	case Uint64, PtrFloat32, PtrUint32:
		return ".u64"
	case Float32:
		return ".f32"
	}
	return "?"
}

// IsPtr reports whether t is a device pointer.
func (t ArgType) IsPtr() bool { return t == PtrFloat32 || t == PtrUint32 }

// String returns the Go spelling of the parameter type, e.g. "*float32".
func (t ArgType) String() string {
	switch t {
	case Int32:
		return "int32"
	case Uint32:
		return "uint32"
	case Uint64:
		return "uint64"
	case Float32:
		return "float32"
	case PtrFloat32:
		return "*float32"
	case PtrUint32:
		return "*uint32"
	}
	return fmt.Sprintf("ArgType(%d)", uint8(t))
}

// Arg is one kernel parameter: its name in the .cu source and its type.
type Arg struct {
	Name string
	Type ArgType
}

// Dim3 is a CUDA grid or block shape. Zero components are invalid.
type Dim3 struct{ X, Y, Z int }

// Threads returns X*Y*Z.
func (d Dim3) Threads() int { return d.X * d.Y * d.Z }

// Kernel describes one extern "C" __global__ function: where it lives, its
// parameters in order, and the block shape its shared-memory arrays and
// reductions assume (launchers use exactly this Block).
type Kernel struct {
	Name   string // PTX entry name (unmangled)
	Module string // PTX module: the .cu file name without extension
	Args   []Arg
	Block  Dim3
}

// Kernel names.
const (
	GemmF32          = "gemm_f32"
	GemmF32x128      = "gemm_f32_128x128" // register-blocked gemm_f32: 128 x 128 tiles
	GemmF32x64       = "gemm_f32_64x64"   // register-blocked gemm_f32: 64 x 64 tiles
	ColSumF32        = "col_sum_f32"
	SqDiffPartialF32 = "sq_diff_partial_f32"
	SumF32           = "sum_f32"
	FreeEnergyF32    = "free_energy_f32"
	SGDUpdateF32     = "sgd_update_f32"
	L1GradF32        = "l1_grad_f32" // the L1 penalty's subgradient, added to a gradient
	BernoulliF32     = "bernoulli_f32"
	PhiloxFillF32    = "philox_fill_f32"
	GatherRowsF32    = "gather_rows_f32"
	GatherRowsU8     = "gather_rows_u8"   // gather_rows_f32 from uint8 codes and a table of their values
	GatherRowsBits   = "gather_rows_bits" // gather_rows_f32 from bit-packed 0/1 rows

	// Gaussian–Bernoulli RBM kernels (grbm.cu).
	ScaleExpNegF32    = "scale_exp_neg_f32"
	GaussianSampleF32 = "gaussian_sample_f32"
	LogVarGradF32     = "logvar_grad_f32"
	ClampMinF32       = "clamp_min_f32"
)

// Epilogue flags of gemm_f32 and its blocked variants (GEMM_* in gemm.cu).
const (
	GemmBias    = 1  // x += bias[j]
	GemmSigmoid = 2  // p = sigmoid(x), else p = x
	GemmWriteP  = 4  // P[i,j] = p
	GemmSample  = 8  // S[i,j] = uniform(i*N+j) < p
	GemmNoC     = 16 // do not store x to C
)

// Geometry constants the .cu files are written for.
const (
	GemmTile          = 16  // GEMM_TILE in gemm.cu: gemm_f32's output tile side and block side
	GemmTileBig       = 128 // output tile side of gemm_f32_128x128 (block 16 x 16)
	GemmTileSmall     = 64  // output tile side of gemm_f32_64x64 (block 16 x 16)
	ReduceMaxThreads  = 256 // RED_MAX_THREADS in reduce.cu
	ElementwiseBlock  = 256
	elementwiseMaxGrd = 4096
	sqDiffMaxGrid     = 256
)

func a(name string, t ArgType) Arg { return Arg{name, t} }

// gemmArgs is the parameter list of every GEMM kernel (gemm.cu).
var gemmArgs = []Arg{
	a("M", Int32), a("N", Int32), a("K", Int32), a("alpha", Float32),
	a("A", PtrFloat32), a("B", PtrFloat32), a("beta", Float32), a("C", PtrFloat32),
	a("transA", Int32), a("transB", Int32), a("flags", Int32), a("bias", PtrFloat32),
	a("P", PtrFloat32), a("S", PtrFloat32),
	a("seed", Uint64), a("op", Uint32), a("step", Uint64),
}

// Kernels is the launch table: every kernel in the embedded PTX, with the
// parameter list and block shape of its .cu definition. Tests check it
// against the PTX entry parameters and against the emulator's compiled
// signatures.
var Kernels = []Kernel{
	{GemmF32, "gemm", gemmArgs, Dim3{GemmTile, GemmTile, 1}},
	{GemmF32x128, "gemm", gemmArgs, Dim3{16, 16, 1}},
	{GemmF32x64, "gemm", gemmArgs, Dim3{16, 16, 1}},
	{ColSumF32, "reduce", []Arg{
		a("M", Int32), a("N", Int32), a("alpha", Float32), a("X", PtrFloat32),
		a("beta", Float32), a("out", PtrFloat32),
	}, Dim3{32, 8, 1}},
	{SqDiffPartialF32, "reduce", []Arg{
		a("n", Int32), a("A", PtrFloat32), a("B", PtrFloat32), a("partial", PtrFloat32),
	}, Dim3{ReduceMaxThreads, 1, 1}},
	{SumF32, "reduce", []Arg{
		a("n", Int32), a("X", PtrFloat32), a("alpha", Float32), a("out", PtrFloat32),
	}, Dim3{ReduceMaxThreads, 1, 1}},
	{FreeEnergyF32, "reduce", []Arg{
		a("M", Int32), a("Nv", Int32), a("Nh", Int32), a("V", PtrFloat32),
		a("vbias", PtrFloat32), a("X", PtrFloat32), a("F", PtrFloat32),
	}, Dim3{ReduceMaxThreads, 1, 1}},
	{SGDUpdateF32, "elementwise", []Arg{
		a("n", Int32), a("param", PtrFloat32), a("vel", PtrFloat32), a("grad", PtrFloat32),
		a("lr", Float32), a("momentum", Float32), a("weightDecay", Float32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{L1GradF32, "elementwise", []Arg{
		a("n", Int32), a("G", PtrFloat32), a("X", PtrFloat32), a("l1", Float32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{BernoulliF32, "elementwise", []Arg{
		a("n", Int32), a("P", PtrFloat32), a("S", PtrFloat32),
		a("seed", Uint64), a("op", Uint32), a("step", Uint64),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{PhiloxFillF32, "elementwise", []Arg{
		a("n", Int32), a("U", PtrFloat32), a("W", PtrUint32),
		a("seed", Uint64), a("op", Uint32), a("step", Uint64),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{GatherRowsF32, "elementwise", []Arg{
		a("rows", Int32), a("cols", Int32), a("src", PtrFloat32), a("idx", PtrUint32), a("dst", PtrFloat32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{GatherRowsU8, "elementwise", []Arg{
		a("rows", Int32), a("cols", Int32), a("src", PtrUint32), a("idx", PtrUint32), a("lut", PtrFloat32), a("dst", PtrFloat32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{GatherRowsBits, "elementwise", []Arg{
		a("rows", Int32), a("cols", Int32), a("wordsPerRow", Int32), a("src", PtrUint32), a("idx", PtrUint32), a("dst", PtrFloat32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{ScaleExpNegF32, "grbm", []Arg{
		a("M", Int32), a("N", Int32), a("X", PtrFloat32), a("Z", PtrFloat32), a("Out", PtrFloat32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{GaussianSampleF32, "grbm", []Arg{
		a("M", Int32), a("N", Int32), a("Mean", PtrFloat32), a("Z", PtrFloat32), a("Out", PtrFloat32),
		a("seed", Uint64), a("op", Uint32), a("step", Uint64),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{LogVarGradF32, "grbm", []Arg{
		a("B", Int32), a("C", Int32), a("N", Int32), a("V0", PtrFloat32), a("WP0", PtrFloat32),
		a("VK", PtrFloat32), a("WPK", PtrFloat32), a("b", PtrFloat32), a("Z", PtrFloat32), a("Out", PtrFloat32),
	}, Dim3{ElementwiseBlock, 1, 1}},
	{ClampMinF32, "grbm", []Arg{
		a("n", Int32), a("X", PtrFloat32), a("lo", Float32),
	}, Dim3{ElementwiseBlock, 1, 1}},
}

// Lookup returns the launch-table entry of the named kernel.
func Lookup(name string) (Kernel, bool) {
	for _, k := range Kernels {
		if k.Name == name {
			return k, true
		}
	}
	return Kernel{}, false
}

// Signature returns the argument codes of k (see ArgType.Code), e.g.
// "iiF" for (int, int, float*).
func (k Kernel) Signature() string {
	b := make([]byte, len(k.Args))
	for i, a := range k.Args {
		b[i] = a.Type.Code()
	}
	return string(b)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func atLeast1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// GemmGrid returns the grid of a gemm_f32 launch with an M x N output.
func GemmGrid(M, N int) Dim3 {
	return Dim3{atLeast1(ceilDiv(N, GemmTile)), atLeast1(ceilDiv(M, GemmTile)), 1}
}

// ColSumGrid returns the grid of a col_sum_f32 launch over N columns.
func ColSumGrid(N int) Dim3 { return Dim3{atLeast1(ceilDiv(N, 32)), 1, 1} }

// SqDiffGrid returns the grid of sq_diff_partial_f32 over n elements; the
// partial buffer needs GridX entries and sum_f32 then reduces them. The
// grid depends on n only, so the result is reproducible for a given n.
func SqDiffGrid(n int) Dim3 {
	return Dim3{atLeast1(min(ceilDiv(n, ReduceMaxThreads), sqDiffMaxGrid)), 1, 1}
}

// FreeEnergyGrid returns the grid of free_energy_f32 over M rows.
func FreeEnergyGrid(M int) Dim3 { return Dim3{atLeast1(min(M, 65535)), 1, 1} }

// ElementwiseGrid returns the grid of the grid-stride kernels in
// elementwise.cu over n elements.
func ElementwiseGrid(n int) Dim3 {
	return Dim3{atLeast1(min(ceilDiv(n, ElementwiseBlock), elementwiseMaxGrd)), 1, 1}
}
