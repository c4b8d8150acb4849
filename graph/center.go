package graph

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Centred gradients for a Bernoulli–Bernoulli RBM (Montavon & Müller 2012;
// Melchior, Fischer & Wiskott 2016, "How to center deep Boltzmann
// machines", JMLR 17).
//
// The centred energy with visible offsets μ (V) and hidden offsets λ (H) is
//
//	E_c(v, h) = −(v−μ)ᵀW(h−λ) − b'ᵀ(v−μ) − c'ᵀ(h−λ).
//
// Expanding it gives the ordinary energy −vᵀWh − bᵀv − cᵀh plus a constant
// with the folded biases
//
//	b = b' − Wλ,    c = c' − Wᵀμ,
//
// so the conditionals are the ordinary RBM's with those biases:
//
//	p(hⱼ=1 | v) = σ(c'ⱼ + Σᵢ (vᵢ−μᵢ)Wᵢⱼ) = σ(cⱼ + Σᵢ vᵢWᵢⱼ)
//	p(vᵢ=1 | h) = σ(b'ᵢ + Σⱼ Wᵢⱼ(hⱼ−λⱼ)) = σ(bᵢ + Σⱼ Wᵢⱼhⱼ).
//
// The step therefore keeps the ordinary parameters (W, b, c) — the
// sampling graph is CDStep's unchanged, and a checkpoint is an ordinary
// RBM — and only the gradient changes. Writing ∇W, ∇b, ∇c for the ordinary
// statistics (CDStep's GradW, GradVBias, GradHBias), the gradient of the
// centred parameters is
//
//	ΔW  = ⟨(v−μ)(h−λ)ᵀ⟩_data − ⟨(v−μ)(h−λ)ᵀ⟩_model = ∇W − μ∇cᵀ − ∇bλᵀ
//	Δb' = ∇b,   Δc' = ∇c,
//
// and a step θ_c ← θ_c + η·Δθ_c of the centred parameters moves the folded
// biases by η times
//
//	Δb = ∇b − ΔW·λ,    Δc = ∇c − ΔWᵀ·μ,
//
// which are the gradients this step outputs for vbias and hbias (ΔW for W).
// The offsets are exponential running averages of the positive phase,
// updated before the gradient as in Melchior et al.'s Algorithm 1:
//
//	μ ← (1−ν)·μ + ν·mean(v0),    λ ← (1−ν)·λ + ν·mean p(h|v0).
//
// Moving an offset changes the centred biases by the paper's
// reparametrisation b' ← b' + W(λ_new−λ_old), c' ← c' + Wᵀ(μ_new−μ_old),
// which in the folded coordinates the step keeps is the identity: the
// model's distribution is unchanged by construction. (Momentum acts on
// the folded parameters along the centred direction.)

// Tensor names of the centred step: the offsets, carried from step to
// step and saved in checkpoints as training state.
const (
	NameOffsetV = "offset_v" // 1×V visible offsets μ
	NameOffsetH = "offset_h" // 1×H hidden offsets λ

	OutNewOffsetV = "NewOffsetV" // μ after the step's running-average update
	OutNewOffsetH = "NewOffsetH" // λ after it
)

// DefaultCenterRate is ν, the rate of the offsets' running averages
// (Melchior et al. 2016 use 0.01 and find it better than batch means).
const DefaultCenterRate = 0.01

// CenteredStep is CDStep with centred gradients (see the package comment
// above NameOffsetV for the maths).
//
// Extra inputs: OffsetV (1×V) μ and OffsetH (1×H) λ, carried.
// Outputs: CDStep's, with GradW, GradVBias and GradHBias replaced by ΔW,
// Δb and Δc above, plus NewOffsetV and NewOffsetH.
type CenteredStep struct {
	*CDStep
	Rate float32 // ν

	OffsetV, OffsetH       *G.Node
	NewOffsetV, NewOffsetH *G.Node

	CGradW, CGradVBias, CGradHBias *G.Node
}

// BuildCenteredStep builds the CD-k / PCD-k step of cfg with centred
// gradients and offset rate ν = rate in (0, 1].
func BuildCenteredStep(cfg StepConfig, rate float32, rng *RNG) (*CenteredStep, error) {
	if !(rate > 0 && rate <= 1) {
		return nil, fmt.Errorf("centred step graph: offset rate %v, want a value in (0, 1]", rate)
	}
	cd, err := BuildCDStep(cfg, rng)
	if err != nil {
		return nil, err
	}
	s := &CenteredStep{CDStep: cd, Rate: rate}
	b := builder{g: cd.Graph, step: cd}
	V, H, B := cd.Config.Visible, cd.Config.Hidden, cd.Config.Batch
	f32 := tensor.Float32
	s.OffsetV = G.NewMatrix(cd.Graph, f32, G.WithShape(1, V), G.WithName(NameOffsetV))
	s.OffsetH = G.NewMatrix(cd.Graph, f32, G.WithShape(1, H), G.WithName(NameOffsetH))

	// New offsets, as 1×N rows: (1−ν)·old + (ν/B)·Σ_rows(positive phase).
	running := func(old, pos *G.Node, n int) *G.Node {
		keep := b.scale(b.must(G.Sum(old, 0)), 1-rate)
		add := b.scale(b.must(G.Sum(pos, 0)), rate/float32(B))
		return b.must(G.Reshape(b.must(G.Add(keep, add)), tensor.Shape{1, n}))
	}
	mu := running(s.OffsetV, cd.V0, V)
	lambda := running(s.OffsetH, cd.PosHidden, H)
	s.NewOffsetV, s.NewOffsetH = mu, lambda

	// ΔW = ∇W − μ∇cᵀ − ∇bλᵀ (two rank-one products, K = 1).
	gb := b.must(G.Reshape(cd.GradVBias, tensor.Shape{1, V}))
	gc := b.must(G.Reshape(cd.GradHBias, tensor.Shape{1, H}))
	muGc := b.must(G.Mul(b.must(G.Transpose(mu)), gc))
	gbLambda := b.must(G.Mul(b.must(G.Transpose(gb)), lambda))
	s.CGradW = b.must(G.Sub(b.must(G.Sub(cd.GradW, muGc)), gbLambda))

	// Δb = ∇b − ΔW·λ,  Δc = ∇c − ΔWᵀ·μ (as μᵀΔW, a row).
	wl := b.must(G.Reshape(b.must(G.Mul(s.CGradW, b.must(G.Transpose(lambda)))), tensor.Shape{V}))
	mw := b.must(G.Reshape(b.must(G.Mul(mu, s.CGradW)), tensor.Shape{H}))
	s.CGradVBias = b.must(G.Sub(cd.GradVBias, wl))
	s.CGradHBias = b.must(G.Sub(cd.GradHBias, mw))
	if b.err != nil {
		return nil, fmt.Errorf("centred step graph: %w", b.err)
	}
	if s.CGradW == nil || s.CGradVBias == nil || s.CGradHBias == nil {
		return nil, errors.New("centred step graph: missing gradient")
	}
	return s, nil
}

// Inputs implements Declared: CDStep's plus offset_v and offset_h.
func (s *CenteredStep) Inputs() []Input {
	return append(s.CDStep.Inputs(), Input{NameOffsetV, s.OffsetV}, Input{NameOffsetH, s.OffsetH})
}

// Carries implements Declared: CDStep's plus the two offsets.
func (s *CenteredStep) Carries() []Carry {
	return append(s.CDStep.Carries(), Carry{From: OutNewOffsetV, To: NameOffsetV}, Carry{From: OutNewOffsetH, To: NameOffsetH})
}

// NamedOutputs implements Step: the centred gradients under CDStep's
// gradient names, HMean, ReconErr, NewChain (PCD), then NewOffsetV and
// NewOffsetH.
func (s *CenteredStep) NamedOutputs() []Output {
	out := []Output{{OutGradW, s.CGradW}, {OutGradVBias, s.CGradVBias}, {OutGradHBias, s.CGradHBias},
		{OutHMean, s.HMean}, {OutReconErr, s.ReconErr}}
	if s.NewChain != nil {
		out = append(out, Output{OutNewChain, s.NewChain})
	}
	return append(out, Output{OutNewOffsetV, s.NewOffsetV}, Output{OutNewOffsetH, s.NewOffsetH})
}

var _ Declared = (*CenteredStep)(nil)
