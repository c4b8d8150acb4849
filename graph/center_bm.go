package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Centred gradients for a general Boltzmann machine (Melchior, Fischer &
// Wiskott 2016, §3): with one offset vector o over all N = V+H units, the
// centred energy
//
//	E_c(s) = −½(s−o)ᵀW(s−o) − b'ᵀ(s−o)
//
// is the ordinary −½sᵀWs − bᵀs plus a constant with b = b' − Wo (W
// symmetric), so p(sᵢ=1 | rest) = σ(b'ᵢ + Σⱼ Wᵢⱼ(sⱼ−oⱼ)) = σ(bᵢ + Σⱼ Wᵢⱼsⱼ):
// the sampling ops are BMStep's unchanged. With ∇W and ∇b the ordinary
// statistics (S₊ the clamped states, S₋ the chains),
//
//	ΔW = M ⊙ (⟨(s−o)(s−o)ᵀ⟩₊ − ⟨(s−o)(s−o)ᵀ⟩₋) = M ⊙ (∇W − o∇bᵀ − ∇b oᵀ)
//	Δb = ∇b − ΔW·o          (the folded bias's step, as for the RBM),
//	o ← (1−ν)·o + ν·mean(S₊)  (before the gradient).

// CenteredBMStep is BMStep with centred gradients: input Offset (1×N),
// outputs GradW and GradBias replaced by ΔW and Δb, plus NewOffset
// (OutNewOffsetV; the BM's offsets cover all units and are stored under
// NameOffsetV).
type CenteredBMStep struct {
	*BMStep
	Rate float32

	Offset, NewOffset *G.Node
	CGradW, CGradBias *G.Node
}

// BuildCenteredBMStep builds the BM step of cfg with centred gradients and
// offset rate ν = rate in (0, 1].
func BuildCenteredBMStep(cfg BMConfig, rate float32, rng *RNG) (*CenteredBMStep, error) {
	if !(rate > 0 && rate <= 1) {
		return nil, fmt.Errorf("centred BM step graph: offset rate %v, want a value in (0, 1]", rate)
	}
	c := &CenteredBMStep{Rate: rate}
	var grad *G.Node // ∇b in a lazy form of its own
	s, err := buildBMStep(cfg, rng, func(s *BMStep, b *builder, raw *G.Node) *G.Node {
		N, B, C := s.Config.Visible+s.Config.Hidden, s.Config.Batch, s.Config.Chains
		c.Offset = G.NewMatrix(s.Graph, tensor.Float32, G.WithShape(1, N), G.WithName(NameOffsetV))
		keep := b.scale(b.must(G.Sum(c.Offset, 0)), 1-rate)
		add := b.scale(b.must(G.Sum(s.Data, 0)), rate/float32(B))
		o := b.must(G.Reshape(b.must(G.Add(keep, add)), tensor.Shape{1, N}))
		c.NewOffset = o
		grad = b.must(G.Sub(b.scale(b.must(G.Sum(s.Data, 0)), 1/float32(B)), b.scale(b.must(G.Sum(s.Model, 0)), 1/float32(C))))
		// o∇ᵀ + ∇oᵀ = ½(p pᵀ − q qᵀ) with p = o + ∇, q = o − ∇: each
		// product is symmetric to the bit (pᵢpⱼ = pⱼpᵢ, summed in the same
		// order), so ΔW stays exactly symmetric, as a BM's W must; two
		// separate rank-one terms o∇ᵀ, ∇oᵀ would round (i,j) and (j,i)
		// differently. The cancellation is that of ∇W itself (a difference
		// of second moments of the same size).
		//
		// The new offset enters p and q as add + keep, a node of its own
		// (the same value): the output NewOffset is a reshaped view of
		// keep + add, which no later op may overwrite in place.
		o2 := b.must(G.Add(add, keep))
		p := b.must(G.Reshape(b.must(G.Add(o2, grad)), tensor.Shape{1, N}))
		q := b.must(G.Reshape(b.must(G.Sub(o2, grad)), tensor.Shape{1, N}))
		pp := b.scale(b.must(G.Mul(b.must(G.Transpose(p)), p)), 0.5)
		qq := b.scale(b.must(G.Mul(b.must(G.Transpose(q)), q)), 0.5)
		return b.must(G.Add(b.must(G.Sub(raw, pp)), qq))
	})
	if err != nil {
		return nil, err
	}
	c.BMStep = s
	b := builder{g: s.Graph}
	N := s.Config.Visible + s.Config.Hidden
	wo := b.must(G.Reshape(b.must(G.Mul(s.GradW, b.must(G.Transpose(c.NewOffset)))), tensor.Shape{N}))
	c.CGradW = s.GradW
	c.CGradBias = b.must(G.Sub(grad, wo))
	if b.err != nil {
		return nil, fmt.Errorf("centred BM step graph: %w", b.err)
	}
	return c, nil
}

// Inputs implements Declared: BMStep's plus offset_v (all N units).
func (s *CenteredBMStep) Inputs() []Input {
	return append(s.BMStep.Inputs(), Input{NameOffsetV, s.Offset})
}

// Carries implements Declared: the chains and the offsets.
func (s *CenteredBMStep) Carries() []Carry {
	return append(s.BMStep.Carries(), Carry{From: OutNewOffsetV, To: NameOffsetV})
}

// NamedOutputs implements Step: ΔW, Δb, ReconErr, NewChain, NewOffsetV.
func (s *CenteredBMStep) NamedOutputs() []Output {
	return []Output{{OutGradW, s.CGradW}, {OutGradBias, s.CGradBias}, {OutReconErr, s.ReconErr},
		{OutNewChain, s.NewChain}, {OutNewOffsetV, s.NewOffset}}
}

var _ Declared = (*CenteredBMStep)(nil)
