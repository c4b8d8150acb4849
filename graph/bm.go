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

// Sampler ids of a BM step graph, fixed by role (see IDPositiveHidden):
//
//	IDBMData   the clamped phase: hidden units swept given the data
//	IDBMModel  the free phase: every unit of the persistent chains swept
const (
	IDBMData  uint32 = 0xB301
	IDBMModel uint32 = 0xB302
)

// BMConfig fixes the shapes of a Boltzmann-machine step graph.
type BMConfig struct {
	Visible int // V ≥ 1
	Hidden  int // H ≥ 0
	Batch   int // B: rows of the data mini-batch
	Chains  int // C: persistent free-running chains (0 means Batch)
	// Sweeps is the number of sequential sweeps over the hidden units with
	// the visibles clamped to the data (the data-dependent statistics), ≥ 1.
	Sweeps int
	// ModelSweeps is the number of sweeps over all units of the persistent
	// chains per step (the model statistics); 0 means Sweeps.
	ModelSweeps int
	// MeanField replaces the clamped phase's sampling by sequential
	// mean-field updates μ_i ← σ(b_i + Σ_j W_ij μ_j) from μ = 0.5
	// (Salakhutdinov & Hinton 2009): deterministic, lower variance.
	MeanField bool
}

// Validate reports the first impossible setting.
func (c BMConfig) Validate() error {
	switch {
	case c.Visible < 1:
		return fmt.Errorf("BM step graph: visible units = %d, want ≥ 1", c.Visible)
	case c.Hidden < 0:
		return fmt.Errorf("BM step graph: hidden units = %d, want ≥ 0", c.Hidden)
	case c.Batch < 1:
		return fmt.Errorf("BM step graph: batch = %d, want ≥ 1", c.Batch)
	case c.Chains < 0:
		return fmt.Errorf("BM step graph: chains = %d, want ≥ 0", c.Chains)
	case c.Sweeps < 1:
		return fmt.Errorf("BM step graph: sweeps = %d, want ≥ 1", c.Sweeps)
	case c.ModelSweeps < 0:
		return fmt.Errorf("BM step graph: model sweeps = %d, want ≥ 0", c.ModelSweeps)
	case c.Visible+c.Hidden > 46340:
		return fmt.Errorf("BM step graph: %d units is too many", c.Visible+c.Hidden)
	}
	return nil
}

// BMStep is the graph of one training step of a general Boltzmann machine
// with N = V+H units (package models, type BM), and handles to its nodes.
//
// Inputs (bound by the backend):
//
//	V0     B×V  data mini-batch, values in [0,1]
//	W      N×N  symmetric weights, zero diagonal
//	Bias   N    biases
//	Mask   N×N  0/1 connectivity
//	Chain  C×N  persistent chain states
//
// Outputs, the ascent direction of the average log-likelihood:
//
//	GradW     N×N  M ⊙ (S₊ᵀS₊/B − S₋ᵀS₋/C)     (zero diagonal: M has one)
//	GradBias  N    mean(S₊) − mean(S₋)
//	ReconErr  scalar  Σ (S₊ − σ(S₊W + b))² / B: how well each unit's
//	          conditional predicts it in the clamped states (for visible
//	          units the one-step reconstruction error given the rest)
//	NewChain  C×N  S₋, the chains after the step's sweeps
//
// where S₊ = [V0, h] (B×N) are the clamped states after Sweeps sequential
// sweeps over the hidden units (or mean-field updates), and S₋ (C×N) the
// chains after ModelSweeps sweeps over all units — both custom ops
// (BMGibbsOp) that lower to one bm_gibbs_f32 launch each. The products
// S₊ᵀS₊ and S₋ᵀS₋ and their difference lower to two gemm launches into one
// buffer. The mask is applied in the graph, by a second custom op (MaskOp,
// one bm_mask_f32 launch), rather than in the update: the graph's GradW is
// then the gradient itself, every backend's update stays the RBM's
// sgd_update_f32, and with W and the momentum zero where M is, weight decay
// keeps them zero too.
type BMStep struct {
	Config BMConfig
	RNG    *RNG
	Graph  *G.ExprGraph

	V0, W, Bias, Mask, Chain *G.Node

	Data, Model                         *G.Node // S₊ and S₋
	GradW, GradBias, ReconErr, NewChain *G.Node

	DataOp, ModelOp *BMGibbsOp
}

// BuildBMStep builds the step graph for cfg; its sampling ops share rng.
func BuildBMStep(cfg BMConfig, rng *RNG) (*BMStep, error) { return buildBMStep(cfg, rng, nil) }

// buildBMStep is BuildBMStep with a hook that may rewrite the unmasked
// weight gradient before the mask is applied (centring, center_bm.go).
func buildBMStep(cfg BMConfig, rng *RNG, adjust func(s *BMStep, b *builder, raw *G.Node) *G.Node) (*BMStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("BM step graph: nil RNG")
	}
	if cfg.Chains == 0 {
		cfg.Chains = cfg.Batch
	}
	if cfg.ModelSweeps == 0 {
		cfg.ModelSweeps = cfg.Sweeps
	}
	s := &BMStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}
	V, N, B, C := cfg.Visible, cfg.Visible+cfg.Hidden, cfg.Batch, cfg.Chains
	f32 := tensor.Float32
	g := s.Graph
	s.V0 = G.NewMatrix(g, f32, G.WithShape(B, V), G.WithName("v0"))
	s.W = G.NewMatrix(g, f32, G.WithShape(N, N), G.WithName("W"))
	s.Bias = G.NewVector(g, f32, G.WithShape(N), G.WithName("bias"))
	s.Mask = G.NewMatrix(g, f32, G.WithShape(N, N), G.WithName("mask"))
	s.Chain = G.NewMatrix(g, f32, G.WithShape(C, N), G.WithName("chain"))
	b := builder{g: g}
	s.DataOp = &BMGibbsOp{ID: IDBMData, RNG: rng, N: N, First: V, Sweeps: cfg.Sweeps, MeanField: cfg.MeanField}
	s.ModelOp = &BMGibbsOp{ID: IDBMModel, RNG: rng, N: N, First: 0, Sweeps: cfg.ModelSweeps}
	s.Data = b.must(G.ApplyOp(s.DataOp, s.V0, s.W, s.Bias))
	s.Model = b.must(G.ApplyOp(s.ModelOp, s.Chain, s.W, s.Bias))
	s.NewChain = s.Model
	if b.err != nil {
		return nil, fmt.Errorf("BM step graph: %w", b.err)
	}
	pos := b.scale(b.must(G.Mul(b.must(G.Transpose(s.Data)), s.Data)), 1/float32(B))
	neg := b.scale(b.must(G.Mul(b.must(G.Transpose(s.Model)), s.Model)), 1/float32(C))
	raw := b.must(G.Sub(pos, neg))
	if b.err != nil {
		return nil, fmt.Errorf("BM step graph: %w", b.err)
	}
	if adjust != nil {
		raw = adjust(s, &b, raw)
		if b.err != nil {
			return nil, fmt.Errorf("BM step graph: %w", b.err)
		}
	}
	s.GradW = b.must(G.ApplyOp(MaskOp{}, raw, s.Mask))
	s.GradBias = b.must(G.Sub(b.must(G.Mean(s.Data, 0)), b.must(G.Mean(s.Model, 0))))
	// σ(S₊W + b): W is symmetric, so S₊W is each row's input vector.
	pred := b.hiddenProbs(s.Data, s.W, s.Bias)
	diff := b.must(G.Sub(s.Data, pred))
	s.ReconErr = b.scale(b.must(G.Sum(b.must(G.Square(diff)))), 1/float32(B))
	if b.err != nil {
		return nil, fmt.Errorf("BM step graph: %w", b.err)
	}
	return s, nil
}

// ExprGraph implements Step.
func (s *BMStep) ExprGraph() *G.ExprGraph { return s.Graph }

// Rand implements Step.
func (s *BMStep) Rand() *RNG { return s.RNG }

// NamedOutputs implements Step: GradW, GradBias, ReconErr, NewChain.
func (s *BMStep) NamedOutputs() []Output {
	return []Output{{"GradW", s.GradW}, {"GradBias", s.GradBias}, {"ReconErr", s.ReconErr}, {"NewChain", s.NewChain}}
}

// BMGibbsOp runs sequential Gibbs sweeps (or mean-field updates) on the
// rows of a Boltzmann machine's state: given X (R×Nin), W (N×N) and b (N)
// it returns S (R×N) = kernels.BMGibbs(R, N, Nin, First, Sweeps, MeanField,
// X, W, b) with the Philox stream (RNG.Seed, ID, RNG.Step). With Nin = V and
// First = V it samples the hidden units given the data; with Nin = N and
// First = 0 it advances free-running chains. Do is the CPU implementation;
// KernelLaunch the one bm_gibbs_f32 launch (one block per row) that
// computes the same function bit for bit, expf aside.
type BMGibbsOp struct {
	ID        uint32
	RNG       *RNG
	N         int // units
	First     int // first unit swept; the ones below stay clamped
	Sweeps    int
	MeanField bool
}

// Arity implements gorgonia.Op: X, W, b.
func (op *BMGibbsOp) Arity() int { return 3 }

// Type implements gorgonia.Op: (matrix, matrix, vector) → matrix.
func (op *BMGibbsOp) Type() hm.Type {
	// Not 'b': gorgonia's inference names the result type variable 'b'.
	m, v := hm.TypeVariable('m'), hm.TypeVariable('v')
	return hm.NewFnType(m, m, v, m)
}

// InferShape implements gorgonia.Op: R×N.
func (op *BMGibbsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs, got %d", op, len(in))
	}
	x, ok := in[0].(tensor.Shape)
	if !ok || len(x) != 2 {
		return nil, fmt.Errorf("%v: state input shape %v, want a matrix", op, in[0])
	}
	return tensor.Shape{x[0], op.N}, nil
}

func (op *BMGibbsOp) inputs(in []G.Value) (x, w, b *tensor.Dense, err error) {
	if len(in) != 3 {
		return nil, nil, nil, fmt.Errorf("%v: want 3 inputs, got %d", op, len(in))
	}
	d := make([]*tensor.Dense, 3)
	for i, v := range in {
		t, ok := v.(*tensor.Dense)
		if !ok || t.Dtype() != tensor.Float32 {
			return nil, nil, nil, fmt.Errorf("%v: input %d is %T, want a float32 dense tensor", op, i, v)
		}
		d[i] = t
	}
	x, w, b = d[0], d[1], d[2]
	if x.Dims() != 2 || x.Shape()[1] > op.N || w.Size() != op.N*op.N || b.Size() != op.N {
		return nil, nil, nil, fmt.Errorf("%v: shapes %v, %v, %v for %d units", op, x.Shape(), w.Shape(), b.Shape(), op.N)
	}
	return x, w, b, nil
}

func (op *BMGibbsOp) run(dst []float32, x, w, b *tensor.Dense) {
	R, Nin := x.Shape()[0], x.Shape()[1]
	kernels.BMGibbs(R, op.N, Nin, op.First, op.Sweeps, op.MeanField, x.Data().([]float32), w.Data().([]float32),
		b.Data().([]float32), dst, kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step})
}

// Do implements gorgonia.Op.
func (op *BMGibbsOp) Do(in ...G.Value) (G.Value, error) {
	x, w, b, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.WithShape(x.Shape()[0], op.N), tensor.Of(tensor.Float32))
	op.run(out.Data().([]float32), x, w, b)
	return out, nil
}

// UsePreallocDo implements gorgonia.UsePreallocDoer: no allocation per run.
func (op *BMGibbsOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	x, w, b, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != tensor.Float32 || dst.Size() != x.Shape()[0]*op.N {
		return op.Do(in...)
	}
	op.run(dst.Data().([]float32), x, w, b)
	return dst, nil
}

// KernelLaunch implements KernelOp: bm_gibbs_f32 over the rows of X.
func (op *BMGibbsOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	if len(in) != 3 {
		return KernelLaunch{}, fmt.Errorf("want 3 inputs, got %d", len(in))
	}
	R, Nin := in[0][0], in[0][1]
	if Nin > op.N || in[1] != [2]int{op.N, op.N} || in[2][0]*in[2][1] != op.N {
		return KernelLaunch{}, fmt.Errorf("input shapes %v for %d units", in, op.N)
	}
	a := &kernels.BMGibbsF32Args{R: int32(R), N: int32(op.N), Nin: int32(Nin), First: int32(op.First),
		Sweeps: int32(op.Sweeps), Op: op.ID}
	if op.MeanField {
		a.MeanField = 1
	}
	return KernelLaunch{Grid: kernels.BMGibbsGrid(R), Block: kernels.Dim3{X: kernels.BMBlock, Y: 1, Z: 1}, Args: a,
		Inputs: []*kernels.DevicePtr{&a.X, &a.W, &a.B}, Output: &a.S, Seed: &a.Seed, Step: &a.Step}, nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *BMGibbsOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *BMGibbsOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (op *BMGibbsOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op; the id and settings make every op distinct.
func (op *BMGibbsOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "rbmgpu.bm_gibbs(%d,%d,%d,%d,%v)", op.ID, op.N, op.First, op.Sweeps, op.MeanField)
}

// Hashcode implements gorgonia.Op.
func (op *BMGibbsOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (op *BMGibbsOp) String() string { return fmt.Sprintf("BMGibbs#%d", op.ID) }

// MaskOp is the elementwise product G ⊙ M of two tensors of one shape —
// the gradient restricted to a machine's connections. The lowerer has no
// kernel for a product of two tensors, so it is a custom op: Do is
// kernels.BMMask, KernelLaunch one bm_mask_f32 launch.
type MaskOp struct{}

// Arity implements gorgonia.Op.
func (MaskOp) Arity() int { return 2 }

// Type implements gorgonia.Op: a → a → a.
func (MaskOp) Type() hm.Type { m := hm.TypeVariable('m'); return hm.NewFnType(m, m, m) }

// InferShape implements gorgonia.Op: the first input's shape.
func (MaskOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("mask: want 2 inputs, got %d", len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("mask: input shape is %T", in[0])
	}
	return s.Clone(), nil
}

func maskInputs(in []G.Value) (g, m *tensor.Dense, err error) {
	if len(in) != 2 {
		return nil, nil, fmt.Errorf("mask: want 2 inputs, got %d", len(in))
	}
	g, ok1 := in[0].(*tensor.Dense)
	m, ok2 := in[1].(*tensor.Dense)
	if !ok1 || !ok2 || g.Dtype() != tensor.Float32 || m.Dtype() != tensor.Float32 || g.Size() != m.Size() {
		return nil, nil, fmt.Errorf("mask: inputs %T, %T: want float32 dense tensors of one size", in[0], in[1])
	}
	return g, m, nil
}

// Do implements gorgonia.Op.
func (MaskOp) Do(in ...G.Value) (G.Value, error) {
	g, m, err := maskInputs(in)
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.WithShape(g.Shape().Clone()...), tensor.Of(tensor.Float32))
	kernels.BMMask(g.Data().([]float32), m.Data().([]float32), out.Data().([]float32))
	return out, nil
}

// UsePreallocDo implements gorgonia.UsePreallocDoer.
func (op MaskOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	g, m, err := maskInputs(in)
	if err != nil {
		return nil, err
	}
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != tensor.Float32 || dst.Size() != g.Size() {
		return op.Do(in...)
	}
	kernels.BMMask(g.Data().([]float32), m.Data().([]float32), dst.Data().([]float32))
	return dst, nil
}

// KernelLaunch implements KernelOp: bm_mask_f32 over all elements.
func (MaskOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	if len(in) != 2 || in[0][0]*in[0][1] != in[1][0]*in[1][1] {
		return KernelLaunch{}, fmt.Errorf("mask of shapes %v", in)
	}
	n := in[0][0] * in[0][1]
	a := &kernels.BMMaskF32Args{N: int32(n)}
	return elementwiseLaunch(n, a, []*kernels.DevicePtr{&a.G, &a.M}, &a.Out), nil
}

// ReturnsPtr implements gorgonia.Op.
func (MaskOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (MaskOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (MaskOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (MaskOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "rbmgpu.mask") }

// Hashcode implements gorgonia.Op.
func (op MaskOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (MaskOp) String() string { return "Mask" }
