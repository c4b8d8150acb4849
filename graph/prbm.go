package graph

import (
	"errors"
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// IDPottsRBMVisible returns the sampler id of the categorical visible
// sample of Gibbs step t (1-based) of a Potts–Bernoulli RBM step. The ids
// live in their own range (0x50560000 + t, "PV"), distinct from the
// Bernoulli ids of BuildCDStep, the Gaussian ids and the trainer's own
// streams; the hidden samples keep IDPositiveHidden, IDChainHidden and
// IDGibbsHidden(t).
func IDPottsRBMVisible(t int) uint32 { return 0x50560000 + uint32(t) }

// IDPottsRBMProbs is the id of the step's softmax (no draw: the
// reconstruction's probabilities).
const IDPottsRBMProbs uint32 = 0x50560000

// PottsRBMStep is the graph of one CD-k or PCD-k step of a Potts–Bernoulli
// RBM (models.PottsRBM): V = L·Q one-hot visible units (site i in state a
// is unit i·Q + a), H Bernoulli hidden units, energy
//
//	E(v, h) = −Σ_i b_i(v_i) − Σ_j c_j h_j − Σ_{i,j} W_{i v_i, j} h_j,
//
// W of shape V×H, b = vbias (V), c = hbias (H). The embedded CDStep holds
// the handles with the names, shapes, inputs, parameters (W with weight
// decay), carries and outputs of the Bernoulli RBM step; only the visible
// conditional differs:
//
//	p(h_j = 1 | v) = σ(c_j + (vW)_j)                 (gemm, sigmoid; SampleOp)
//	p(v_i = a | h) = softmax_a(b_i(a) + (hWᵀ)_{iQ+a})  (gemm + bias; PottsVisibleOp)
//
// each site drawn with one Philox uniform (kernels.PottsVisible). The
// outputs are those of BuildCDStep with the one-hot rows in place of the
// binary ones (GradW = v0ᵀp(h|v0)/B − v_kᵀp(h|v_k)/C, …) and ReconErr =
// Σ (v0 − p(v|h0))² / B with p(v|h0) the per-site softmax. The statistics
// choices are BuildCDStep's.
//
// Gauge: the step takes the plain gradient (no constraint). The field
// gradient sums to zero over the states of each site (both statistics are
// distributions), so Σ_a b_i(a) keeps its initial value (to float32
// rounding); W's gauge component Σ_a W_{ia,j}, which the likelihood
// cannot see (it trades against c_j), is held near zero by the L2 weight
// decay on W.
// models.PottsRBM.ZeroSumGauge moves a model to the zero-sum gauge
// without changing p(v).
type PottsRBMStep struct {
	CDStep
	Sites, States int

	// VisibleOps lists the categorical samplers (Gibbs order) after the
	// softmax of the reconstruction.
	VisibleOps []*PottsVisibleOp
}

// BuildPottsRBMStep builds the Potts–Bernoulli RBM step for cfg
// (cfg.Visible = L·q) with q states per site; all sampling ops share rng.
// It lowers (engine/lower) onto gemm_f32 and potts_visible_f32.
func BuildPottsRBMStep(cfg StepConfig, q int, rng *RNG) (*PottsRBMStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("Potts RBM step graph: nil RNG")
	}
	if q < 2 || q > kernels.PottsMaxStates || cfg.Visible%q != 0 {
		return nil, fmt.Errorf("Potts RBM step graph: %d visible units are not sites of %d states (2 to %d)", cfg.Visible, q, kernels.PottsMaxStates)
	}
	if cfg.Persistent && cfg.Chains == 0 {
		cfg.Chains = cfg.Batch
	}
	s := &PottsRBMStep{CDStep: CDStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}, Sites: cfg.Visible / q, States: q}
	g := s.Graph
	b := builder{g: g, step: &s.CDStep}
	V, H, B, C := cfg.Visible, cfg.Hidden, cfg.Batch, cfg.NegativeRows()
	f32 := tensor.Float32
	s.V0 = G.NewMatrix(g, f32, G.WithShape(B, V), G.WithName(NameData))
	s.W = G.NewMatrix(g, f32, G.WithShape(V, H), G.WithName(NameW))
	s.VBias = G.NewVector(g, f32, G.WithShape(V), G.WithName(NameVBias))
	s.HBias = G.NewVector(g, f32, G.WithShape(H), G.WithName(NameHBias))
	wT := b.must(G.Transpose(s.W))

	logits := func(h *G.Node) *G.Node { // b + h Wᵀ
		if b.err != nil {
			return nil
		}
		return b.must(G.BroadcastAdd(b.must(G.Mul(h, wT)), s.VBias, nil, []byte{0}))
	}
	visible := func(u *G.Node, id uint32, sample bool) *G.Node {
		if b.err != nil {
			return nil
		}
		op := &PottsVisibleOp{ID: id, RNG: rng, L: s.Sites, Q: q, Sample: sample}
		if sample {
			s.VisibleOps = append(s.VisibleOps, op)
		}
		return b.must(G.ApplyOp(op, u))
	}

	// Positive phase.
	ph0 := b.hiddenProbs(s.V0, s.W, s.HBias)
	s.PosHidden = ph0
	h0 := b.sample(ph0, IDPositiveHidden)
	u1 := logits(h0)
	pv1 := visible(u1, IDPottsRBMProbs, false)

	// Negative phase: k Gibbs steps from the data (CD) or the chains (PCD).
	h := h0
	if cfg.Persistent {
		s.Chain = G.NewMatrix(g, f32, G.WithShape(C, V), G.WithName("chain"))
		h = b.sample(b.hiddenProbs(s.Chain, s.W, s.HBias), IDChainHidden)
	}
	var vk, phk *G.Node
	for t := 1; t <= cfg.K; t++ {
		u := u1
		if t > 1 || cfg.Persistent {
			u = logits(h)
		}
		vk = visible(u, IDPottsRBMVisible(t), true)
		phk = b.hiddenProbs(vk, s.W, s.HBias)
		if t < cfg.K {
			h = b.sample(phk, IDGibbsHidden(t))
		}
	}
	if cfg.Persistent {
		s.NewChain = vk
	}
	s.GradW, s.GradVBias, s.HMean, s.GradHBias, s.ReconErr = b.statistics(s.V0, ph0, pv1, vk, phk, B, C)
	if b.err != nil {
		return nil, fmt.Errorf("Potts RBM step graph: %w", b.err)
	}
	return s, nil
}

var _ Declared = (*PottsRBMStep)(nil)

// PottsVisibleOp is the categorical visible layer of a Potts–Bernoulli RBM:
// given the logits A (R×N, N = L·Q; A[r, iQ+a] = b_i(a) + (hWᵀ)_{iQ+a}) it
// returns S (R×N) = kernels.PottsVisible(R, L, Q, mode, A) — one-hot draws
// with the Philox stream (RNG.Seed, ID, RNG.Step) when Sample, else the
// per-site softmax probabilities. Do is the CPU implementation;
// KernelLaunch the one potts_visible_f32 launch, the same function bit for
// bit up to expf.
type PottsVisibleOp struct {
	ID     uint32
	RNG    *RNG
	L, Q   int
	Sample bool
}

func (op *PottsVisibleOp) mode() int {
	if op.Sample {
		return kernels.PottsVisibleSample
	}
	return kernels.PottsVisibleProbs
}

// Stream returns the Philox stream the op draws from at the RNG's current step.
func (op *PottsVisibleOp) Stream() kernels.Stream {
	return kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step}
}

// Arity implements gorgonia.Op: A.
func (op *PottsVisibleOp) Arity() int { return 1 }

// Type implements gorgonia.Op: matrix → matrix.
func (op *PottsVisibleOp) Type() hm.Type { return hm.NewFnType(matrix32, matrix32) }

// InferShape implements gorgonia.Op: the shape of A.
func (op *PottsVisibleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	x, ok := in[0].(tensor.Shape)
	if !ok || len(x) != 2 || x[1] != op.L*op.Q {
		return nil, fmt.Errorf("%v: input shape %v, want rows of %d", op, in[0], op.L*op.Q)
	}
	return x.Clone(), nil
}

// Do implements gorgonia.Op.
func (op *PottsVisibleOp) Do(in ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, in...) }

// UsePreallocDo implements gorgonia.UsePreallocDoer.
func (op *PottsVisibleOp) UsePreallocDo(p G.Value, in ...G.Value) (G.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	a, err := dense32(in[0], op.String())
	if err != nil {
		return nil, err
	}
	N := op.L * op.Q
	if a.Size()%N != 0 {
		return nil, fmt.Errorf("%v: %d values are not rows of %d", op, a.Size(), N)
	}
	R := a.Size() / N
	out := prealloc(p, tensor.Shape{R, N})
	kernels.PottsVisible(R, op.L, op.Q, op.mode(), a.Data().([]float32), out.Data().([]float32), op.Stream())
	return out, nil
}

// KernelLaunch implements KernelOp: potts_visible_f32 over the sites of A.
func (op *PottsVisibleOp) KernelLaunch(in [][2]int) (KernelLaunch, error) {
	N := op.L * op.Q
	if len(in) != 1 || in[0][1] != N {
		return KernelLaunch{}, fmt.Errorf("input shapes %v for %d×%d units", in, op.L, op.Q)
	}
	R := in[0][0]
	a := &kernels.PottsVisibleF32Args{R: int32(R), L: int32(op.L), Q: int32(op.Q), Mode: int32(op.mode()), Op: op.ID}
	kl := KernelLaunch{Grid: kernels.PottsVisibleGrid(R, op.L), Block: kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
		Args: a, Inputs: []*kernels.DevicePtr{&a.A}, Output: &a.S}
	if op.Sample {
		kl.Seed, kl.Step = &a.Seed, &a.Step
	}
	return kl, nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *PottsVisibleOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *PottsVisibleOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (op *PottsVisibleOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (op *PottsVisibleOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "rbmgpu.potts_visible(%d,%d,%d,%t)", op.ID, op.L, op.Q, op.Sample)
}

// Hashcode implements gorgonia.Op.
func (op *PottsVisibleOp) Hashcode() uint32 { return hashOf(op) }

// String implements fmt.Stringer.
func (op *PottsVisibleOp) String() string {
	if op.Sample {
		return fmt.Sprintf("PottsVisibleSample#%#x", op.ID)
	}
	return "PottsVisibleProbs"
}
