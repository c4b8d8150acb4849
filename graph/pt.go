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

// Tensor and output names of a parallel-tempering step.
const (
	// NamePTBetas holds the R inverse temperatures 1 = β₀ > … > β_{R−1} of
	// the replicas (set by the trainer: the adapted ladder).
	NamePTBetas = "pt_betas"
	// NamePTSwaps holds 2(R−1) running counts: swaps accepted per pair,
	// then swaps attempted per pair (carried; reset by the trainer).
	NamePTSwaps = "pt_swaps"
	// OutPTSwaps is the counts after the step.
	OutPTSwaps = "PTSwaps"
)

// Sampler ids of a parallel-tempering step, fixed by role (see
// IDPositiveHidden): the tempered hidden and visible draws of Gibbs step t
// and the swap uniforms.
const (
	idPTBase uint32 = 0x50540000
	IDPTSwap uint32 = 0x5054FFFF
)

// IDPTHidden returns the sampler id of the tempered hidden sample of Gibbs
// step t (1-based; t = K+1 is the sample the swap energies use).
func IDPTHidden(t int) uint32 { return idPTBase + uint32(2*t) }

// IDPTVisible returns the sampler id of the tempered visible sample of Gibbs step t.
func IDPTVisible(t int) uint32 { return idPTBase + uint32(2*t+1) }

// PTStep is the graph of one PCD-k step whose negative phase runs parallel
// tempering: R replicas of the C persistent chains, stacked as the R·C rows
// of Chain (replica r in rows r·C … r·C+C−1) at inverse temperatures
// Betas[r], β scaling the whole energy E(v,h) = −vᵀWh − bᵀv − cᵀh. Per step:
//
//	K times:  h ~ σ(β·(vW + c)),  v ~ σ(β·(hWᵀ + b))        (all replicas in one gemm each)
//	then      h ~ σ(β·(vW + c)),  E = E(v, h) per row        (pt_energy_f32)
//	          swap replicas (q, q+1), q ≡ step (mod 2), per chain column with
//	          probability min(1, exp((β_q − β_{q+1})(E_q − E_{q+1})))  (pt_swap_f32)
//
// The swap uses the joint energy of the states (v, h), the exact Metropolis
// ratio of the tempered joint distributions; only v is carried, and the next
// step's first move resamples h given v. The negative statistics are those
// of CDStep on the β₀ = 1 rows after the swaps (v_k, p(h|v_k)); the other
// replicas only help the β₀ chains mix. Outputs: CDStep's, with NewChain the
// R·C×V stack, plus PTSwaps (the swap counts).
type PTStep struct {
	*CDStep
	Replicas         int
	Betas, Swaps     *G.Node // inputs: R, 2(R−1)
	NewSwaps, Energy *G.Node
	SwapOp, AcceptOp *PTOp
	TemperedSamplers []*PTOp
}

// BuildPTStep builds the parallel-tempering step for cfg (Persistent, with
// Chains chains per replica; 0 means Batch) and R ≥ 2 replicas.
func BuildPTStep(cfg StepConfig, R int, rng *RNG) (*PTStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("PT step graph: nil RNG")
	}
	if !cfg.Persistent {
		return nil, errors.New("PT step graph: parallel tempering needs persistent chains (PCD)")
	}
	if R < 2 {
		return nil, fmt.Errorf("PT step graph: %d replicas, want ≥ 2", R)
	}
	if cfg.Chains == 0 {
		cfg.Chains = cfg.Batch
	}
	s := &PTStep{CDStep: &CDStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}, Replicas: R}
	g := s.Graph
	b := builder{g: g, step: s.CDStep}
	V, H, B, C := cfg.Visible, cfg.Hidden, cfg.Batch, cfg.Chains
	M := R * C
	f32 := tensor.Float32
	s.V0 = G.NewMatrix(g, f32, G.WithShape(B, V), G.WithName(NameData))
	s.W = G.NewMatrix(g, f32, G.WithShape(V, H), G.WithName(NameW))
	s.VBias = G.NewVector(g, f32, G.WithShape(V), G.WithName(NameVBias))
	s.HBias = G.NewVector(g, f32, G.WithShape(H), G.WithName(NameHBias))
	s.Chain = G.NewMatrix(g, f32, G.WithShape(M, V), G.WithName("chain"))
	s.Betas = G.NewVector(g, f32, G.WithShape(R), G.WithName(NamePTBetas))
	s.Swaps = G.NewVector(g, f32, G.WithShape(2*(R-1)), G.WithName(NamePTSwaps))
	wT := b.must(G.Transpose(s.W))

	// Positive phase, as CDStep's.
	ph0 := b.hiddenProbs(s.V0, s.W, s.HBias)
	h0 := b.sample(ph0, IDPositiveHidden)
	pv1 := b.visibleProbs(h0, wT, s.VBias)

	tempered := func(a *G.Node, id uint32) *G.Node {
		if b.err != nil {
			return nil
		}
		op := &PTOp{Kind: PTSample, ID: id, RNG: rng, R: R, C: C}
		s.TemperedSamplers = append(s.TemperedSamplers, op)
		return b.must(G.ApplyOp(op, a, s.Betas))
	}
	x := s.Chain
	for t := 1; t <= cfg.K; t++ {
		h := tempered(b.act(x, s.W, s.HBias), IDPTHidden(t))
		x = tempered(b.act(h, wT, s.VBias), IDPTVisible(t))
	}
	aH := b.act(x, s.W, s.HBias)
	hK := tempered(aH, IDPTHidden(cfg.K+1))
	if b.err != nil {
		return nil, fmt.Errorf("PT step graph: %w", b.err)
	}
	s.Energy = b.must(G.ApplyOp(&PTOp{Kind: PTEnergy, R: R, C: C}, x, aH, hK, s.VBias))
	s.SwapOp = &PTOp{Kind: PTSwap, ID: IDPTSwap, RNG: rng, R: R, C: C}
	s.AcceptOp = &PTOp{Kind: PTAccept, ID: IDPTSwap, RNG: rng, R: R, C: C}
	s.NewChain = b.must(G.ApplyOp(s.SwapOp, x, s.Energy, s.Betas))
	s.NewSwaps = b.must(G.ApplyOp(s.AcceptOp, s.Energy, s.Betas, s.Swaps))
	vk := b.must(G.ApplyOp(&PTOp{Kind: PTRows, R: R, C: C}, s.NewChain))
	phk := b.hiddenProbs(vk, s.W, s.HBias)

	// Statistics, as CDStep's, on the β₀ rows.
	s.GradW, s.GradVBias, s.HMean, s.GradHBias, s.ReconErr = b.statistics(s.V0, ph0, pv1, vk, phk, B, C)
	if b.err != nil {
		return nil, fmt.Errorf("PT step graph: %w", b.err)
	}
	return s, nil
}

// act returns x W + c for x of shape rows×V (the pre-activation, not squashed).
func (b *builder) act(x, w, c *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.must(G.BroadcastAdd(b.must(G.Mul(x, w)), c, nil, []byte{0}))
}

// NamedOutputs implements Step: CDStep's plus PTSwaps.
func (s *PTStep) NamedOutputs() []Output {
	return append(s.CDStep.NamedOutputs(), Output{OutPTSwaps, s.NewSwaps})
}

// Inputs implements Declared: CDStep's plus pt_betas and pt_swaps.
func (s *PTStep) Inputs() []Input {
	return append(s.CDStep.Inputs(), Input{NamePTBetas, s.Betas}, Input{NamePTSwaps, s.Swaps})
}

// Carries implements Declared: the chains and the swap counts.
func (s *PTStep) Carries() []Carry {
	return []Carry{{From: OutNewChain, To: NameChains}, {From: OutPTSwaps, To: NamePTSwaps}}
}

var _ Declared = (*PTStep)(nil)

// PTKind selects what a PTOp computes.
type PTKind uint8

// PTOp kinds, one kernel of pt.cu each (contracts in package kernels).
const (
	PTSample PTKind = iota + 1 // (A M×N, β R) → S M×N: kernels.PTSample
	PTEnergy                   // (X M×V, A M×H, Hs M×H, b V) → E M: kernels.PTEnergy
	PTSwap                     // (X M×V, E M, β R) → Y M×V: kernels.PTSwap
	PTAccept                   // (E M, β R, counts 2(R−1)) → counts: kernels.PTAccept
	PTRows                     // (X M×V) → the first C rows, C×V
)

var ptNames = map[PTKind]string{PTSample: "PTSample", PTEnergy: "PTEnergy", PTSwap: "PTSwap", PTAccept: "PTAccept", PTRows: "PTRows"}

// PTOp is one parallel-tempering op on M = R·C stacked replica rows: Do
// runs the Go twin of its kernel (the tape), KernelLaunch the one launch of
// pt.cu that computes the same bits. Sampling kinds (PTSample, PTSwap,
// PTAccept) draw from Philox stream (RNG.Seed, ID, RNG.Step); PTSwap and
// PTAccept of one step share their ID, so the counts are of the swaps made.
type PTOp struct {
	Kind PTKind
	ID   uint32
	RNG  *RNG
	R, C int // replicas, chains per replica
}

func (op *PTOp) arity() int {
	switch op.Kind {
	case PTEnergy:
		return 4
	case PTSwap, PTAccept:
		return 3
	case PTSample:
		return 2
	}
	return 1
}

// Arity implements gorgonia.Op.
func (op *PTOp) Arity() int { return op.arity() }

// Type implements gorgonia.Op.
func (op *PTOp) Type() hm.Type {
	// Not 'b': gorgonia's inference names the result type variable 'b'.
	m, v := hm.TypeVariable('m'), hm.TypeVariable('v')
	switch op.Kind {
	case PTSample:
		return hm.NewFnType(m, v, m)
	case PTEnergy:
		return hm.NewFnType(m, m, m, v, v)
	case PTSwap:
		return hm.NewFnType(m, v, v, m)
	case PTAccept:
		return hm.NewFnType(v, v, v, v)
	}
	return hm.NewFnType(m, m)
}

// InferShape implements gorgonia.Op.
func (op *PTOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != op.arity() {
		return nil, fmt.Errorf("%v: want %d inputs, got %d", op, op.arity(), len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%v: input shape is %T", op, in[0])
	}
	switch op.Kind {
	case PTEnergy:
		return tensor.Shape{s[0]}, nil
	case PTRows:
		return tensor.Shape{op.C, s[1]}, nil
	case PTAccept:
		return tensor.Shape{2 * (op.R - 1)}, nil
	}
	return s.Clone(), nil
}

func (op *PTOp) values(in []G.Value) ([][]float32, [][2]int, error) {
	if len(in) != op.arity() {
		return nil, nil, fmt.Errorf("%v: want %d inputs, got %d", op, op.arity(), len(in))
	}
	xs, shapes := make([][]float32, len(in)), make([][2]int, len(in))
	for i, v := range in {
		t, ok := v.(*tensor.Dense)
		if !ok || t.Dtype() != tensor.Float32 {
			return nil, nil, fmt.Errorf("%v: input %d is %T, want a float32 dense tensor", op, i, v)
		}
		xs[i] = t.Data().([]float32)
		sh := t.Shape()
		switch len(sh) {
		case 0:
			shapes[i] = [2]int{1, 1}
		case 1:
			shapes[i] = [2]int{1, sh[0]}
		default:
			shapes[i] = [2]int{sh[0], sh[1]}
		}
	}
	if _, err := op.check(shapes); err != nil {
		return nil, nil, err
	}
	return xs, shapes, nil
}

// check validates input shapes and returns the output's rows×cols.
func (op *PTOp) check(in [][2]int) ([2]int, error) {
	R, C := op.R, op.C
	M := R * C
	size := func(s [2]int) int { return s[0] * s[1] }
	bad := func() ([2]int, error) {
		return [2]int{}, fmt.Errorf("%v: input shapes %v for %d replicas of %d chains", op, in, R, C)
	}
	if R < 2 || C < 1 || len(in) != op.arity() {
		return bad()
	}
	switch op.Kind {
	case PTSample:
		if in[0][0] != M || size(in[1]) != R {
			return bad()
		}
		return in[0], nil
	case PTEnergy:
		if in[0][0] != M || in[1][0] != M || in[2] != in[1] || size(in[3]) != in[0][1] {
			return bad()
		}
		return [2]int{1, M}, nil
	case PTSwap:
		if in[0][0] != M || size(in[1]) != M || size(in[2]) != R {
			return bad()
		}
		return in[0], nil
	case PTAccept:
		if size(in[0]) != M || size(in[1]) != R || size(in[2]) != 2*(R-1) {
			return bad()
		}
		return [2]int{1, 2 * (R - 1)}, nil
	case PTRows:
		if in[0][0] != M {
			return bad()
		}
		return [2]int{C, in[0][1]}, nil
	}
	return bad()
}

func (op *PTOp) stream() kernels.Stream {
	if op.RNG == nil {
		return kernels.Stream{Op: op.ID}
	}
	return kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step}
}

func (op *PTOp) run(dst []float32, x [][]float32, sh [][2]int) {
	R, C := op.R, op.C
	switch op.Kind {
	case PTSample:
		kernels.PTSample(sh[0][0], sh[0][1], C, x[0], x[1], dst, op.stream())
	case PTEnergy:
		kernels.PTEnergy(sh[0][0], sh[0][1], sh[1][1], x[0], x[1], x[2], x[3], dst)
	case PTSwap:
		kernels.PTSwap(R, C, sh[0][1], x[0], x[1], x[2], dst, op.stream())
	case PTAccept:
		kernels.PTAccept(R, C, x[0], x[1], x[2], dst, op.stream())
	case PTRows:
		copy(dst, x[0][:len(dst)])
	}
}

// Do implements gorgonia.Op.
func (op *PTOp) Do(in ...G.Value) (G.Value, error) {
	x, sh, err := op.values(in)
	if err != nil {
		return nil, err
	}
	o, _ := op.check(sh)
	shape := tensor.Shape{o[0], o[1]}
	if op.Kind == PTEnergy || op.Kind == PTAccept {
		shape = tensor.Shape{o[1]}
	}
	out := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	op.run(out.Data().([]float32), x, sh)
	return out, nil
}

// UsePreallocDo implements gorgonia.UsePreallocDoer: no allocation per run.
func (op *PTOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	x, sh, err := op.values(in)
	if err != nil {
		return nil, err
	}
	o, _ := op.check(sh)
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != tensor.Float32 || dst.Size() != o[0]*o[1] {
		return op.Do(in...)
	}
	op.run(dst.Data().([]float32), x, sh)
	return dst, nil
}

// KernelLaunch implements KernelOp: the op's kernel of pt.cu.
func (op *PTOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	o, err := op.check(in)
	if err != nil {
		return KernelLaunch{}, err
	}
	R, C := int32(op.R), int32(op.C)
	blk := kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}
	grid := func(n int) kernels.Dim3 { return kernels.ElementwiseGrid(n) }
	switch op.Kind {
	case PTSample:
		a := &kernels.PTSampleF32Args{M: int32(in[0][0]), N: int32(in[0][1]), C: C, Op: op.ID}
		return KernelLaunch{Grid: grid(o[0] * o[1]), Block: blk, Args: a, Inputs: []*kernels.DevicePtr{&a.A, &a.Beta},
			Output: &a.S, Seed: &a.Seed, Step: &a.Step}, nil
	case PTEnergy:
		a := &kernels.PTEnergyF32Args{M: int32(in[0][0]), V: int32(in[0][1]), H: int32(in[1][1])}
		return KernelLaunch{Grid: grid(in[0][0]), Block: blk, Args: a, Inputs: []*kernels.DevicePtr{&a.X, &a.A, &a.Hs, &a.B},
			Output: &a.E}, nil
	case PTSwap:
		a := &kernels.PTSwapF32Args{R: R, C: C, V: int32(in[0][1]), Op: op.ID}
		return KernelLaunch{Grid: grid(o[0] * o[1]), Block: blk, Args: a, Inputs: []*kernels.DevicePtr{&a.X, &a.E, &a.Beta},
			Output: &a.Y, Seed: &a.Seed, Step: &a.Step}, nil
	case PTAccept:
		a := &kernels.PTAcceptF32Args{R: R, C: C, Op: op.ID}
		return KernelLaunch{Grid: grid(op.R - 1), Block: blk, Args: a, Inputs: []*kernels.DevicePtr{&a.E, &a.Beta, &a.In},
			Output: &a.Out, Seed: &a.Seed, Step: &a.Step}, nil
	case PTRows:
		a := &kernels.PTRowsF32Args{N: int32(o[0] * o[1])}
		return KernelLaunch{Grid: grid(o[0] * o[1]), Block: blk, Args: a, Inputs: []*kernels.DevicePtr{&a.X}, Output: &a.Out}, nil
	}
	return KernelLaunch{}, fmt.Errorf("%v: unknown kind", op)
}

// ReturnsPtr implements gorgonia.Op.
func (op *PTOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *PTOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (op *PTOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op; kind, id and shape make every op distinct.
func (op *PTOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "rbmgpu.pt(%d,%d,%d,%d)", op.Kind, op.ID, op.R, op.C)
}

// Hashcode implements gorgonia.Op.
func (op *PTOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (op *PTOp) String() string { return fmt.Sprintf("%s#%x", ptNames[op.Kind], op.ID) }
