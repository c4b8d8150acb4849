// Package graph builds the gorgonia expression graphs that every backend
// executes: one training step of a Bernoulli–Bernoulli RBM by CD-k or PCD-k.
// The graph is the model's single source of truth; the CPU backend runs it
// as is and the CUDA backend lowers it into kernels.
package graph

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StepConfig fixes the shapes of a training-step graph.
type StepConfig struct {
	Visible int // V: number of visible units
	Hidden  int // H: number of hidden units
	Batch   int // B: rows of the data mini-batch
	K       int // Gibbs steps in the negative phase (CD-k / PCD-k), ≥ 1
	// Persistent selects PCD-k: the negative chains are Chains persistent
	// fantasy particles carried from step to step instead of restarting at
	// the data (CD-k).
	Persistent bool
	Chains     int // C: number of persistent chains (PCD only; 0 means Batch)
}

// Validate reports the first impossible setting.
func (c StepConfig) Validate() error {
	switch {
	case c.Visible < 1:
		return fmt.Errorf("step graph: visible units = %d, want ≥ 1", c.Visible)
	case c.Hidden < 1:
		return fmt.Errorf("step graph: hidden units = %d, want ≥ 1", c.Hidden)
	case c.Batch < 1:
		return fmt.Errorf("step graph: batch = %d, want ≥ 1", c.Batch)
	case c.K < 1:
		return fmt.Errorf("step graph: k = %d Gibbs steps, want ≥ 1", c.K)
	case c.Chains < 0:
		return fmt.Errorf("step graph: chains = %d, want ≥ 0", c.Chains)
	}
	return nil
}

// NegativeRows returns the number of rows of the negative phase: the
// persistent chains for PCD, the batch for CD.
func (c StepConfig) NegativeRows() int {
	if c.Persistent && c.Chains > 0 {
		return c.Chains
	}
	return c.Batch
}

// Sampler ids. Every stochastic node of a step graph draws from its own
// Philox stream; the ids are fixed by role so that reference
// implementations and other backends can reproduce the draws:
//
//	IDPositiveHidden        h0 ~ p(h | v0)                (data-driven hidden sample)
//	IDChainHidden           h ~ p(h | chain)             (PCD: start of the negative chain)
//	IDGibbsVisible(t)       v_t ~ p(v | h_{t-1}),  t = 1..k
//	IDGibbsHidden(t)        h_t ~ p(h | v_t),      t = 1..k-1
const (
	IDPositiveHidden uint32 = 1
	IDChainHidden    uint32 = 2
)

// IDGibbsVisible returns the sampler id of the visible sample of Gibbs step t (1-based).
func IDGibbsVisible(t int) uint32 { return uint32(2*t + 1) }

// IDGibbsHidden returns the sampler id of the hidden sample of Gibbs step t (1-based).
func IDGibbsHidden(t int) uint32 { return uint32(2*t + 2) }

// CDStep is the graph of one CD-k or PCD-k step and handles to its nodes.
//
// Inputs (bound by the backend):
//
//	V0     B×V  data mini-batch, values in [0,1]
//	W      V×H  weights
//	VBias  V    visible biases b
//	HBias  H    hidden biases c
//	Chain  C×V  persistent chain states (PCD only, nil for CD)
//
// Outputs, the ascent direction of the average log-likelihood
// (positive statistics minus negative statistics):
//
//	GradW      V×H  v0ᵀ p(h|v0) / B  −  v_kᵀ p(h|v_k) / C
//	GradVBias  V    mean(v0) − mean(v_k)
//	GradHBias  H    mean p(h|v0) − mean p(h|v_k)
//	HMean      H    mean p(h|v0): mean hidden activation on the data (for sparsity)
//	ReconErr   scalar  Σ (v0 − p(v|h0))² / B, squared error per sample of the
//	                   one-step reconstruction from the sampled h0
//	NewChain   C×V  v_k (PCD only, nil for CD): the chains after k steps
//
// Statistics choices, after Hinton's practical guide (2010, §3):
//   - Hidden units driven by data are sampled (h0) before they drive the
//     visibles: a binary bottleneck regularises and keeps the chain a true
//     Gibbs chain.
//   - The positive statistics use p(h|v0), not h0: same expectation, lower
//     variance (Rao–Blackwellisation over h).
//   - The last hidden update uses p(h|v_k) without sampling, for the same
//     reason; nothing downstream needs a hidden sample.
//   - The negative statistics use the sampled visible v_k, not p(v|h_{k-1}):
//     v_k p(h|v_k)ᵀ is an unbiased estimate of the model's E[v hᵀ] once the
//     chain has mixed, while the mean-field product p(v|h) p(h|p(v|h))ᵀ is not;
//     that is what lets CD-k with large k converge to the exact gradient.
//   - The reconstruction error uses probabilities p(v|h0), the conventional
//     smooth monitor.
type CDStep struct {
	Config StepConfig
	RNG    *RNG
	Graph  *G.ExprGraph

	V0, W, VBias, HBias, Chain *G.Node

	GradW, GradVBias, GradHBias, HMean, ReconErr, NewChain *G.Node

	// PosHidden is p(h|v0), B×H: the data-driven hidden probabilities
	// that extensions of the step (centring) read.
	PosHidden *G.Node

	// Samplers lists every sampling op of the graph, in id order.
	Samplers []*SampleOp
}

// BuildCDStep builds the step graph for cfg. All sampling ops share rng.
func BuildCDStep(cfg StepConfig, rng *RNG) (*CDStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("step graph: nil RNG")
	}
	if cfg.Persistent && cfg.Chains == 0 {
		cfg.Chains = cfg.Batch
	}
	s := &CDStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}
	b := builder{g: s.Graph, step: s}
	V, H, B, C := cfg.Visible, cfg.Hidden, cfg.Batch, cfg.NegativeRows()
	f32 := tensor.Float32
	s.V0 = G.NewMatrix(s.Graph, f32, G.WithShape(B, V), G.WithName("v0"))
	s.W = G.NewMatrix(s.Graph, f32, G.WithShape(V, H), G.WithName("W"))
	s.VBias = G.NewVector(s.Graph, f32, G.WithShape(V), G.WithName("vbias"))
	s.HBias = G.NewVector(s.Graph, f32, G.WithShape(H), G.WithName("hbias"))
	wT := b.must(G.Transpose(s.W))

	// Positive phase.
	ph0 := b.hiddenProbs(s.V0, s.W, s.HBias)
	s.PosHidden = ph0
	h0 := b.sample(ph0, IDPositiveHidden)
	pv1 := b.visibleProbs(h0, wT, s.VBias)

	// Negative phase: k Gibbs steps from the data (CD) or from the chains (PCD).
	h := h0
	if cfg.Persistent {
		s.Chain = G.NewMatrix(s.Graph, f32, G.WithShape(C, V), G.WithName("chain"))
		h = b.sample(b.hiddenProbs(s.Chain, s.W, s.HBias), IDChainHidden)
	}
	var vk, phk *G.Node
	for t := 1; t <= cfg.K; t++ {
		pv := pv1
		if t > 1 || cfg.Persistent {
			pv = b.visibleProbs(h, wT, s.VBias)
		}
		vk = b.sample(pv, IDGibbsVisible(t))
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
		return nil, fmt.Errorf("step graph: %w", b.err)
	}
	return s, nil
}

// statistics builds the outputs of an RBM step (see CDStep) from the B data
// rows v0, with ph0 = p(h|v0) and pv1 = p(v|h0), and the C negative rows
// vk, with phk = p(h|vk):
//
//	gradW = v0ᵀ ph0 / B − vkᵀ phk / C      gradVBias = mean(v0) − mean(vk)
//	hMean = mean(ph0)                      gradHBias = mean(ph0) − mean(phk)
//	recon = Σ (v0 − pv1)² / B
func (b *builder) statistics(v0, ph0, pv1, vk, phk *G.Node, B, C int) (gradW, gradVBias, hMean, gradHBias, recon *G.Node) {
	pos := b.scale(b.must(G.Mul(b.must(G.Transpose(v0)), ph0)), 1/float32(B))
	neg := b.scale(b.must(G.Mul(b.must(G.Transpose(vk)), phk)), 1/float32(C))
	gradW = b.must(G.Sub(pos, neg))
	gradVBias = b.must(G.Sub(b.must(G.Mean(v0, 0)), b.must(G.Mean(vk, 0))))
	// The tape machine may compute a node in place over an input that no
	// later op reads, so an output must not be an input of another op: the
	// data mean of p(h|v0) is computed twice, once for hMean (an output) and
	// once, as a scaled sum, inside gradHBias.
	hMean = b.must(G.Mean(ph0, 0))
	gradHBias = b.must(G.Sub(b.scale(b.must(G.Sum(ph0, 0)), 1/float32(B)), b.must(G.Mean(phk, 0))))
	diff := b.must(G.Sub(v0, pv1))
	recon = b.scale(b.must(G.Sum(b.must(G.Square(diff)))), 1/float32(B))
	return gradW, gradVBias, hMean, gradHBias, recon
}

// Outputs returns the output nodes in a fixed order (NewChain last, when present).
func (s *CDStep) Outputs() []*G.Node {
	out := []*G.Node{s.GradW, s.GradVBias, s.GradHBias, s.HMean, s.ReconErr}
	if s.NewChain != nil {
		out = append(out, s.NewChain)
	}
	return out
}

// builder threads the first error through a sequence of graph constructions
// so that the step reads as maths, not as error plumbing.
type builder struct {
	g    *G.ExprGraph
	step *CDStep
	err  error
}

func (b *builder) must(n *G.Node, err error) *G.Node {
	if err != nil && b.err == nil {
		b.err = err
	}
	return n
}

// hiddenProbs returns σ(x W + c) for x of shape rows×V.
func (b *builder) hiddenProbs(x, w, c *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	act := b.must(G.BroadcastAdd(b.must(G.Mul(x, w)), c, nil, []byte{0}))
	if b.err != nil {
		return nil
	}
	return b.must(G.Sigmoid(act))
}

// visibleProbs returns σ(h Wᵀ + b) for h of shape rows×H.
func (b *builder) visibleProbs(h, wT, vb *G.Node) *G.Node {
	return b.hiddenProbs(h, wT, vb)
}

// sample adds a Bernoulli sampling node with the given id.
func (b *builder) sample(p *G.Node, id uint32) *G.Node {
	if b.err != nil {
		return nil
	}
	op := &SampleOp{ID: id, RNG: b.step.RNG}
	b.step.Samplers = append(b.step.Samplers, op)
	return b.must(G.ApplyOp(op, p))
}

func (b *builder) scale(x *G.Node, f float32) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.must(G.Mul(G.NewConstant(f), x))
}
