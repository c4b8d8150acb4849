package graph

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// IDPottsModel is the sampler id of a Potts step graph's free phase: the
// site-by-site sweeps of the persistent chains.
const IDPottsModel uint32 = 0xB401

// Tensor names of a Potts step graph besides NameW (the couplings, N×N
// with N = L·Q), NameBias (the fields, N) and NameChains (one-hot chains,
// C×N): the data statistics the gradient compares the chains with. They
// are constants of a run (computed once from the reweighted alignment with
// the pseudocount), stored in checkpoints so that a run resumes exactly.
const (
	NamePottsF1 = "potts_f1" // N     f_i(a) at index i·Q+a
	NamePottsF2 = "potts_f2" // N×N   f_ij(a,b) at [i·Q+a, j·Q+b]
)

// PottsConfig fixes the shapes of a Potts (bmDCA) step graph.
type PottsConfig struct {
	Sites  int // L ≥ 1
	States int // Q ≥ 2
	Batch  int // B: rows of the data mini-batch (the graph does not read them)
	Chains int // C ≥ 1 persistent chains
	Sweeps int // sequential sweeps of every chain per step, ≥ 1
}

// Validate reports the first impossible setting.
func (c PottsConfig) Validate() error {
	switch {
	case c.Batch < 1:
		return fmt.Errorf("Potts step graph: batch = %d, want ≥ 1", c.Batch)
	case c.Chains < 1:
		return fmt.Errorf("Potts step graph: chains = %d, want ≥ 1", c.Chains)
	case c.Sweeps < 1:
		return fmt.Errorf("Potts step graph: sweeps = %d, want ≥ 1", c.Sweeps)
	case c.Sites*c.States > 46340:
		return fmt.Errorf("Potts step graph: %d×%d units is too many", c.Sites, c.States)
	}
	if err := kernels.CheckPottsShape(c.Sites, c.States); err != nil {
		return fmt.Errorf("Potts step graph: %w", err)
	}
	return nil
}

// PottsStep is the graph of one bmDCA training step of a fully connected
// Potts model with N = L·Q one-hot units (package models, type Potts; here
// W[iQ+a, jQ+b] = J_ij(a,b), Bias[iQ+a] = h_i(a)), and handles to its nodes.
//
// Inputs: V0 (B×N, the mini-batch, bound but unused: the data enter
// through their statistics), W (N×N), Bias (N), F1 (N), F2 (N×N), Chain
// (C×N). Outputs, the ascent direction of the average log-likelihood:
//
//	GradW     N×N  F2 − S₋ᵀS₋/C, zero on the diagonal blocks i = j
//	GradBias  N    F1 − mean(S₋)
//	ReconErr  scalar  Σ_ia (f_i(a) − mean(S₋)_ia)², the single-site misfit
//	NewChain  C×N  S₋, the chains after Sweeps sequential sweeps
//
// S₋ is one PottsGibbsOp (one potts_gibbs_f32 launch), S₋ᵀS₋ one GEMM
// (f_ij(a,b) of the chains as a product of one-hot states), and each
// difference one PottsGradOp (potts_grad_f32).
type PottsStep struct {
	Config PottsConfig
	RNG    *RNG
	Graph  *G.ExprGraph

	V0, W, Bias, F1, F2, Chain *G.Node

	Model                               *G.Node
	GradW, GradBias, ReconErr, NewChain *G.Node

	ModelOp *PottsGibbsOp
}

// BuildPottsStep builds the step graph for cfg; its sampling op uses rng.
func BuildPottsStep(cfg PottsConfig, rng *RNG) (*PottsStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("Potts step graph: nil RNG")
	}
	s := &PottsStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}
	L, Q, B, C := cfg.Sites, cfg.States, cfg.Batch, cfg.Chains
	N := L * Q
	f32 := tensor.Float32
	g := s.Graph
	s.V0 = G.NewMatrix(g, f32, G.WithShape(B, N), G.WithName(NameData))
	s.W = G.NewMatrix(g, f32, G.WithShape(N, N), G.WithName(NameW))
	s.Bias = G.NewVector(g, f32, G.WithShape(N), G.WithName(NameBias))
	s.F1 = G.NewVector(g, f32, G.WithShape(N), G.WithName(NamePottsF1))
	s.F2 = G.NewMatrix(g, f32, G.WithShape(N, N), G.WithName(NamePottsF2))
	s.Chain = G.NewMatrix(g, f32, G.WithShape(C, N), G.WithName("chain"))
	b := builder{g: g}
	s.ModelOp = &PottsGibbsOp{ID: IDPottsModel, RNG: rng, L: L, Q: Q, Sweeps: cfg.Sweeps}
	s.Model = b.must(G.ApplyOp(s.ModelOp, s.Chain, s.W, s.Bias))
	s.NewChain = s.Model
	if b.err != nil {
		return nil, fmt.Errorf("Potts step graph: %w", b.err)
	}
	pair := b.must(G.Mul(b.must(G.Transpose(s.Model)), s.Model))
	mean := b.must(G.Mean(s.Model, 0))
	if b.err != nil {
		return nil, fmt.Errorf("Potts step graph: %w", b.err)
	}
	s.GradW = b.must(G.ApplyOp(&PottsGradOp{Q: Q, Alpha: 1 / float32(C)}, s.F2, pair))
	s.GradBias = b.must(G.ApplyOp(&PottsGradOp{Q: 0, Alpha: 1}, s.F1, mean))
	// The misfit as the full sum of a squared difference of rows (the form
	// the lowerer fuses), of a copy of F1 (F1 − 0·mean): the tape machine
	// computes a difference in place of its first operand, and a reshape
	// of F1 itself would alias the input.
	f1Copy := b.must(G.ApplyOp(&PottsGradOp{Q: 0, Alpha: 0}, s.F1, mean))
	f1Row := b.must(G.Reshape(f1Copy, tensor.Shape{1, N}))
	meanRow := b.must(G.Reshape(mean, tensor.Shape{1, N}))
	s.ReconErr = b.must(G.Sum(b.must(G.Square(b.must(G.Sub(f1Row, meanRow))))))
	if b.err != nil {
		return nil, fmt.Errorf("Potts step graph: %w", b.err)
	}
	return s, nil
}

// ExprGraph implements Step.
func (s *PottsStep) ExprGraph() *G.ExprGraph { return s.Graph }

// Rand implements Step.
func (s *PottsStep) Rand() *RNG { return s.RNG }

// NamedOutputs implements Step: GradW, GradBias, ReconErr, NewChain.
func (s *PottsStep) NamedOutputs() []Output {
	return []Output{{OutGradW, s.GradW}, {OutGradBias, s.GradBias}, {OutReconErr, s.ReconErr}, {OutNewChain, s.NewChain}}
}

// Inputs implements Declared: v0, W, bias, potts_f1, potts_f2, chains.
func (s *PottsStep) Inputs() []Input {
	return []Input{{NameData, s.V0}, {NameW, s.W}, {NameBias, s.Bias}, {NamePottsF1, s.F1}, {NamePottsF2, s.F2},
		{NameChains, s.Chain}}
}

// Params implements Declared: W (the couplings, with weight decay: the L2
// regularisation) and bias (the fields, without).
func (s *PottsStep) Params() []Param {
	return []Param{{Name: NameW, Grad: OutGradW, Decay: true}, {Name: NameBias, Grad: OutGradBias}}
}

// Carries implements Declared: the chains.
func (s *PottsStep) Carries() []Carry { return []Carry{{From: OutNewChain, To: NameChains}} }

var _ Declared = (*PottsStep)(nil)

// PottsGibbsOp runs sequential site-by-site Gibbs sweeps on one-hot Potts
// chains: given X (R×N), W (N×N) and b (N), N = L·Q, it returns S (R×N) =
// kernels.PottsGibbs(R, L, Q, Sweeps, X, W, b) with the Philox stream
// (RNG.Seed, ID, RNG.Step). Do is the CPU implementation; KernelLaunch the
// one potts_gibbs_f32 launch (one block per chain), the same function bit
// for bit up to expf.
type PottsGibbsOp struct {
	ID     uint32
	RNG    *RNG
	L, Q   int
	Sweeps int
}

// Arity implements gorgonia.Op: X, W, b.
func (op *PottsGibbsOp) Arity() int { return 3 }

// Type implements gorgonia.Op: (matrix, matrix, vector) → matrix.
func (op *PottsGibbsOp) Type() hm.Type {
	m, v := hm.TypeVariable('m'), hm.TypeVariable('v')
	return hm.NewFnType(m, m, v, m)
}

// InferShape implements gorgonia.Op: the shape of X.
func (op *PottsGibbsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs, got %d", op, len(in))
	}
	x, ok := in[0].(tensor.Shape)
	if !ok || len(x) != 2 || x[1] != op.L*op.Q {
		return nil, fmt.Errorf("%v: state input shape %v, want rows of %d", op, in[0], op.L*op.Q)
	}
	return x.Clone(), nil
}

func (op *PottsGibbsOp) inputs(in []G.Value) (x, w, b []float32, R int, err error) {
	if len(in) != 3 {
		return nil, nil, nil, 0, fmt.Errorf("%v: want 3 inputs, got %d", op, len(in))
	}
	d := make([][]float32, 3)
	N := op.L * op.Q
	for i, v := range in {
		t, ok := v.(*tensor.Dense)
		if !ok || t.Dtype() != tensor.Float32 {
			return nil, nil, nil, 0, fmt.Errorf("%v: input %d is %T, want a float32 dense tensor", op, i, v)
		}
		d[i] = t.Data().([]float32)
	}
	if len(d[0])%N != 0 || len(d[1]) != N*N || len(d[2]) != N {
		return nil, nil, nil, 0, fmt.Errorf("%v: %d, %d, %d values for %d units", op, len(d[0]), len(d[1]), len(d[2]), N)
	}
	return d[0], d[1], d[2], len(d[0]) / N, nil
}

// Do implements gorgonia.Op.
func (op *PottsGibbsOp) Do(in ...G.Value) (G.Value, error) {
	x, w, b, R, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.WithShape(R, op.L*op.Q), tensor.Of(tensor.Float32))
	kernels.PottsGibbs(R, op.L, op.Q, op.Sweeps, x, w, b, out.Data().([]float32),
		kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step})
	return out, nil
}

// KernelLaunch implements KernelOp: potts_gibbs_f32 over the rows of X.
func (op *PottsGibbsOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	N := op.L * op.Q
	if len(in) != 3 || in[0][1] != N || in[1] != [2]int{N, N} || in[2][0]*in[2][1] != N {
		return KernelLaunch{}, fmt.Errorf("input shapes %v for %d×%d units", in, op.L, op.Q)
	}
	R := in[0][0]
	a := &kernels.PottsGibbsF32Args{R: int32(R), L: int32(op.L), Q: int32(op.Q), Sweeps: int32(op.Sweeps), Op: op.ID}
	return KernelLaunch{Grid: kernels.PottsGibbsGrid(R), Block: kernels.Dim3{X: kernels.PottsBlock, Y: 1, Z: 1}, Args: a,
		Inputs: []*kernels.DevicePtr{&a.X, &a.W, &a.B}, Output: &a.S, Seed: &a.Seed, Step: &a.Step}, nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *PottsGibbsOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *PottsGibbsOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (op *PottsGibbsOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (op *PottsGibbsOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "rbmgpu.potts_gibbs(%d,%d,%d,%d)", op.ID, op.L, op.Q, op.Sweeps)
}

// Hashcode implements gorgonia.Op.
func (op *PottsGibbsOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (op *PottsGibbsOp) String() string { return fmt.Sprintf("PottsGibbs#%d", op.ID) }

// PottsGradOp is F − Alpha·X for two tensors of one size, zero on the Q×Q
// diagonal blocks when Q > 0 (rows of the last dimension): the gradient
// f_data − f_model of the couplings (Q > 0) or of the fields (Q = 0). Do
// is kernels.PottsGrad, KernelLaunch one potts_grad_f32 launch.
type PottsGradOp struct {
	Q     int
	Alpha float32
}

// Arity implements gorgonia.Op.
func (op *PottsGradOp) Arity() int { return 2 }

// Type implements gorgonia.Op: a → a → a.
func (op *PottsGradOp) Type() hm.Type { m := hm.TypeVariable('m'); return hm.NewFnType(m, m, m) }

// InferShape implements gorgonia.Op: the first input's shape.
func (op *PottsGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs, got %d", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%v: input shape is %T", op, in[0])
	}
	return s.Clone(), nil
}

// Do implements gorgonia.Op.
func (op *PottsGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs, got %d", op, len(in))
	}
	f, ok1 := in[0].(*tensor.Dense)
	x, ok2 := in[1].(*tensor.Dense)
	if !ok1 || !ok2 || f.Dtype() != tensor.Float32 || x.Dtype() != tensor.Float32 || f.Size() != x.Size() {
		return nil, fmt.Errorf("%v: inputs %T, %T: want float32 dense tensors of one size", op, in[0], in[1])
	}
	shape := f.Shape().Clone()
	cols := shape[len(shape)-1]
	out := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	kernels.PottsGrad(cols, op.Q, op.Alpha, f.Data().([]float32), x.Data().([]float32), out.Data().([]float32))
	return out, nil
}

// KernelLaunch implements KernelOp: potts_grad_f32 over all elements.
func (op *PottsGradOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	if len(in) != 2 || in[0] != in[1] {
		return KernelLaunch{}, fmt.Errorf("gradient of shapes %v", in)
	}
	n := in[0][0] * in[0][1]
	a := &kernels.PottsGradF32Args{N: int32(n), Cols: int32(in[0][1]), Q: int32(op.Q), Alpha: op.Alpha}
	return elementwiseLaunch(n, a, []*kernels.DevicePtr{&a.F, &a.X}, &a.Out), nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *PottsGradOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *PottsGradOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (op *PottsGradOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (op *PottsGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "rbmgpu.potts_grad(%d,%g)", op.Q, op.Alpha)
}

// Hashcode implements gorgonia.Op.
func (op *PottsGradOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (op *PottsGradOp) String() string { return fmt.Sprintf("PottsGrad(q=%d)", op.Q) }
