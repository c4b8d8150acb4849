package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Custom ops of the Gaussian–Bernoulli RBM step. Each is a graph.KernelOp:
// Do is the CPU implementation (the Go twin in package kernels) and
// KernelLaunch names the one grbm.cu kernel that computes the same function
// on a device.

// ScaleExpNegOp scales the columns of a matrix by the precisions of the
// visible units:
//
//	out[r, i] = x[r, i] · exp(−z_i)        x: rows×V, z: V (log variances)
//
// i.e. v/σ², the input the hidden units see.
type ScaleExpNegOp struct{}

// GaussianSampleOp draws Gaussian visible units:
//
//	out[r, i] = mean[r, i] + exp(z_i / 2) · n(e),   e = r·V + i
//
// with n(e) = kernels.Normal(Stream{Seed, ID, Step}, e), Box–Muller on the
// Philox words 2e and 2e+1: a pure function of (seed, op id, step,
// element), exactly as SampleOp's Bernoulli draws.
type GaussianSampleOp struct {
	ID  uint32
	RNG *RNG
}

// LogVarGradOp computes the ascent direction of the average log-likelihood
// in the log variances from data and model statistics (see
// kernels.LogVarGrad):
//
//	out_i = e^{−z_i} ( mean_r[½(v0 − b)² − v0·wp0]_i − mean_r[½(vk − b)² − vk·wpk]_i )
//
// Inputs in order: v0 (B×V), wp0 = p(h|v0) Wᵀ (B×V), vk (C×V),
// wpk = p(h|vk) Wᵀ (C×V), b (V), z (V); output V.
type LogVarGradOp struct{}

// Stream returns the Philox stream this op draws from at the RNG's current step.
func (op *GaussianSampleOp) Stream() kernels.Stream {
	return kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step}
}

func dense32(in G.Value, what string) (*tensor.Dense, error) {
	t, ok := in.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("%s: input is %T, want a float32 dense tensor", what, in)
	}
	return t, nil
}

// shapeOf returns input i's shape as tensor.Shape.
func shapeOf(in []G.DimSizer, i int, what string) (tensor.Shape, error) {
	s, ok := in[i].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input %d shape is %T, want tensor.Shape", what, i, in[i])
	}
	return s, nil
}

// rowsCols returns a matrix shape's rows and columns (a vector is one row).
func rowsCols(s tensor.Shape) (int, int) {
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return 1, s[0]
	}
	return s[0], s[1]
}

func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// matVec checks a (rows×V matrix, V vector) pair of inputs.
func matVec(in []G.Value, what string) (x, z *tensor.Dense, err error) {
	if len(in) != 2 {
		return nil, nil, fmt.Errorf("%s: want 2 inputs, got %d", what, len(in))
	}
	if x, err = dense32(in[0], what); err != nil {
		return nil, nil, err
	}
	if z, err = dense32(in[1], what); err != nil {
		return nil, nil, err
	}
	if _, c := rowsCols(x.Shape()); c != z.Size() {
		return nil, nil, fmt.Errorf("%s: %v matrix with %d log variances", what, x.Shape(), z.Size())
	}
	return x, z, nil
}

func matVecShape(in []G.DimSizer, what string) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: want 2 inputs, got %d", what, len(in))
	}
	s, err := shapeOf(in, 0, what)
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

// The ops are typed concretely (float32 matrices and vectors): gorgonia's
// unification of two free tensor type variables confuses their dimensions.
var (
	matrix32 = G.TensorType{Dims: 2, Of: tensor.Float32}
	vector32 = G.TensorType{Dims: 1, Of: tensor.Float32}
)

func matVecType() hm.Type { return hm.NewFnType(matrix32, vector32, matrix32) }

// prealloc returns p when it is a float32 tensor with as many elements as
// shape s, else a new tensor of shape s (UsePreallocDo without allocation).
func prealloc(p G.Value, s tensor.Shape) *tensor.Dense {
	if d, ok := p.(*tensor.Dense); ok && d.Dtype() == tensor.Float32 && d.Size() == s.TotalSize() {
		return d
	}
	return tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(tensor.Float32))
}

// elementwiseLaunch is a launch of a grid-stride kernel over n elements
// with the launch table's block: arguments a, its input fields in and its
// output field out.
func elementwiseLaunch(n int, a kernels.Args, in []*kernels.DevicePtr, out *kernels.DevicePtr) KernelLaunch {
	return KernelLaunch{Grid: kernels.ElementwiseGrid(n), Block: kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
		Args: a, Inputs: in, Output: out}
}
func checkIn(in [][2]int, n int, what string) error {
	if len(in) != n {
		return fmt.Errorf("%s: %d input shapes, want %d", what, len(in), n)
	}
	return nil
}

// --- ScaleExpNegOp ---

// Arity implements gorgonia.Op: x and z.
func (ScaleExpNegOp) Arity() int { return 2 }

// Type implements gorgonia.Op: matrix → vector → matrix.
func (ScaleExpNegOp) Type() hm.Type { return matVecType() }

// InferShape implements gorgonia.Op: the shape of x.
func (ScaleExpNegOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return matVecShape(in, "scale by precision")
}

// Do implements gorgonia.Op.
func (op ScaleExpNegOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// UsePreallocDo implements gorgonia.UsePreallocDoer.
func (ScaleExpNegOp) UsePreallocDo(p G.Value, in ...G.Value) (G.Value, error) {
	x, z, err := matVec(in, "scale by precision")
	if err != nil {
		return nil, err
	}
	out := prealloc(p, x.Shape())
	kernels.ScaleExpNeg(out.Data().([]float32), x.Data().([]float32), z.Data().([]float32))
	return out, nil
}

// ReturnsPtr implements gorgonia.Op.
func (ScaleExpNegOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (ScaleExpNegOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (ScaleExpNegOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (ScaleExpNegOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "rbmgpu.scale_exp_neg") }

// Hashcode implements gorgonia.Op.
func (op ScaleExpNegOp) Hashcode() uint32 { return hashOf(op) }

// String implements fmt.Stringer.
func (ScaleExpNegOp) String() string { return "ScaleExpNeg" }

// KernelLaunch implements KernelOp: scale_exp_neg_f32 over the rows×V input.
func (ScaleExpNegOp) KernelLaunch(s [][2]int) (KernelLaunch, error) {
	if err := checkIn(s, 2, "scale by precision"); err != nil {
		return KernelLaunch{}, err
	}
	M, N := s[0][0], s[0][1]
	if s[1][0]*s[1][1] != N {
		return KernelLaunch{}, fmt.Errorf("scale by precision: %d×%d matrix with %d log variances", M, N, s[1][0]*s[1][1])
	}
	a := &kernels.ScaleExpNegF32Args{M: int32(M), N: int32(N)}
	return elementwiseLaunch(M*N, a, []*kernels.DevicePtr{&a.X, &a.Z}, &a.Out), nil
}

// --- GaussianSampleOp ---

// Arity implements gorgonia.Op: mean and z.
func (op *GaussianSampleOp) Arity() int { return 2 }

// Type implements gorgonia.Op: matrix → vector → matrix.
func (op *GaussianSampleOp) Type() hm.Type { return matVecType() }

// InferShape implements gorgonia.Op: the shape of the mean.
func (op *GaussianSampleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return matVecShape(in, "gaussian sample")
}

// Do implements gorgonia.Op: it draws a fresh output tensor.
func (op *GaussianSampleOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// UsePreallocDo implements gorgonia.UsePreallocDoer, drawing into prealloc.
func (op *GaussianSampleOp) UsePreallocDo(p G.Value, in ...G.Value) (G.Value, error) {
	mean, z, err := matVec(in, "gaussian sample")
	if err != nil {
		return nil, err
	}
	out := prealloc(p, mean.Shape())
	kernels.SampleGaussian(out.Data().([]float32), mean.Data().([]float32), z.Data().([]float32), op.Stream())
	return out, nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *GaussianSampleOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *GaussianSampleOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never (the mean is the
// reconstruction the error is measured on).
func (op *GaussianSampleOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op; the ID makes every sampling op distinct.
func (op *GaussianSampleOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "rbmgpu.gaussian(%d)", op.ID) }

// Hashcode implements gorgonia.Op.
func (op *GaussianSampleOp) Hashcode() uint32 { return hashOf(op) }

// String implements fmt.Stringer.
func (op *GaussianSampleOp) String() string { return fmt.Sprintf("GaussianSample#%#x", op.ID) }

// KernelLaunch implements KernelOp: gaussian_sample_f32 with the graph's
// seed, this op's id and the step counter.
func (op *GaussianSampleOp) KernelLaunch(s [][2]int) (KernelLaunch, error) {
	if err := checkIn(s, 2, "gaussian sample"); err != nil {
		return KernelLaunch{}, err
	}
	M, N := s[0][0], s[0][1]
	if s[1][0]*s[1][1] != N {
		return KernelLaunch{}, fmt.Errorf("gaussian sample: %d×%d mean with %d log variances", M, N, s[1][0]*s[1][1])
	}
	a := &kernels.GaussianSampleF32Args{M: int32(M), N: int32(N), Op: op.ID}
	l := elementwiseLaunch(M*N, a, []*kernels.DevicePtr{&a.Mean, &a.Z}, &a.Out)
	l.Seed, l.Step = &a.Seed, &a.Step
	return l, nil
}

// --- LogVarGradOp ---

// Arity implements gorgonia.Op: v0, wp0, vk, wpk, b, z.
func (LogVarGradOp) Arity() int { return 6 }

// Type implements gorgonia.Op: four matrices, two vectors → vector.
func (LogVarGradOp) Type() hm.Type {
	return hm.NewFnType(matrix32, matrix32, matrix32, matrix32, vector32, vector32, vector32)
}

// InferShape implements gorgonia.Op: the shape of b.
func (LogVarGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 6 {
		return nil, fmt.Errorf("log-variance gradient: want 6 inputs, got %d", len(in))
	}
	s, err := shapeOf(in, 4, "log-variance gradient")
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

// Do implements gorgonia.Op.
func (op LogVarGradOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// UsePreallocDo implements gorgonia.UsePreallocDoer.
func (LogVarGradOp) UsePreallocDo(p G.Value, in ...G.Value) (G.Value, error) {
	const what = "log-variance gradient"
	if len(in) != 6 {
		return nil, fmt.Errorf("%s: want 6 inputs, got %d", what, len(in))
	}
	var x [6][]float32
	var shapes [6]tensor.Shape
	for i := range in {
		t, err := dense32(in[i], what)
		if err != nil {
			return nil, err
		}
		x[i], shapes[i] = t.Data().([]float32), t.Shape()
	}
	V := len(x[4])
	B, _ := rowsCols(shapes[0])
	C, _ := rowsCols(shapes[2])
	if len(x[5]) != V || len(x[0]) != B*V || len(x[1]) != B*V || len(x[2]) != C*V || len(x[3]) != C*V {
		return nil, fmt.Errorf("%s: inconsistent shapes %v", what, shapes)
	}
	out := prealloc(p, shapes[4])
	kernels.LogVarGrad(out.Data().([]float32), B, C, x[0], x[1], x[2], x[3], x[4], x[5])
	return out, nil
}

// ReturnsPtr implements gorgonia.Op.
func (LogVarGradOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (LogVarGradOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (LogVarGradOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (LogVarGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "rbmgpu.logvar_grad") }

// Hashcode implements gorgonia.Op.
func (op LogVarGradOp) Hashcode() uint32 { return hashOf(op) }

// String implements fmt.Stringer.
func (LogVarGradOp) String() string { return "LogVarGrad" }

// KernelLaunch implements KernelOp: logvar_grad_f32, one thread per column.
func (LogVarGradOp) KernelLaunch(s [][2]int) (KernelLaunch, error) {
	if err := checkIn(s, 6, "log-variance gradient"); err != nil {
		return KernelLaunch{}, err
	}
	B, N := s[0][0], s[0][1]
	C := s[2][0]
	for i, want := range [6][2]int{{B, N}, {B, N}, {C, N}, {C, N}, {1, N}, {1, N}} {
		if s[i] != want {
			return KernelLaunch{}, fmt.Errorf("log-variance gradient: input %d is %d×%d, want %d×%d", i, s[i][0], s[i][1], want[0], want[1])
		}
	}
	a := &kernels.LogVarGradF32Args{B: int32(B), C: int32(C), N: int32(N)}
	return elementwiseLaunch(N, a, []*kernels.DevicePtr{&a.V0, &a.WP0, &a.VK, &a.WPK, &a.VBias, &a.Z}, &a.Out), nil
}

var (
	_ KernelOp = ScaleExpNegOp{}
	_ KernelOp = (*GaussianSampleOp)(nil)
	_ KernelOp = LogVarGradOp{}
)
