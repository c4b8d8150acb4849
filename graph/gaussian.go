package graph

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// IDGaussianVisible returns the sampler id of the Gaussian visible sample of
// Gibbs step t (1-based) of a Gaussian RBM step. The ids live in their own
// range (0x47560000 + t, "GV"), distinct from every Bernoulli id of
// BuildCDStep and from the trainer's own streams; the hidden samples keep
// the Bernoulli ids IDPositiveHidden, IDChainHidden and IDGibbsHidden(t).
func IDGaussianVisible(t int) uint32 { return 0x47560000 + uint32(t) }

// GaussianStep is the graph of one CD-k or PCD-k step of a Gaussian–Bernoulli
// RBM (models.GRBM: Cho, Ilin & Raiko 2011, σ_i² = exp(z_i)). The embedded
// CDStep holds the handles the two steps share, with the same names and
// shapes (its Samplers are the Bernoulli hidden samplers); the data V0 and
// the chains are real-valued, normally standardised.
//
// Inputs: v0 B×V, W V×H, vbias V (b), hbias H (c), logvar V (z), chain C×V (PCD).
//
// With x = v ⊙ e^{−z} (v/σ², per row) the conditionals are
//
//	p(h = 1 | v) = σ(x W + c)              p(v | h) = N(b + h Wᵀ, diag e^{z})
//
// and the outputs, ascent directions of the average log-likelihood (data
// statistics minus model statistics, −∂F/∂θ averaged; see
// models.GRBM.FreeEnergyGrad), are
//
//	GradW       V×H  x0ᵀ p(h|v0) / B − x_kᵀ p(h|v_k) / C
//	GradVBias   V    mean(x0) − mean(x_k)                       (b cancels)
//	GradHBias   H    mean p(h|v0) − mean p(h|v_k)
//	GradLogVar  V    e^{−z} (mean[½(v0−b)² − v0 ⊙ p(h|v0)Wᵀ] − mean[same at v_k])
//	HMean       H    mean p(h|v0)
//	ReconErr    scalar  Σ (v0 − (b + h0 Wᵀ))² / B: squared error per sample of
//	                    the mean of p(v | h0), in the (standardised) data units
//	NewChain    C×V  v_k (PCD only)
//
// Statistics choices are those of BuildCDStep: h0 is sampled before it
// drives the visibles; the statistics use p(h|v) (Rao–Blackwellised over h)
// on both sides, including inside the log-variance statistic (p Wᵀ); the
// last hidden update is not sampled; the negative side uses the sampled
// Gaussian v_k, not the mean of p(v|h), so that CD-k with large k tends to
// the exact gradient; the reconstruction error uses the mean.
type GaussianStep struct {
	CDStep
	LogVar     *G.Node // input z, V
	GradLogVar *G.Node // output, V (nil with GaussianOptions.FixedVariance)
	Options    GaussianOptions

	// GaussianSamplers lists the Gaussian visible samplers, in Gibbs order.
	GaussianSamplers []*GaussianSampleOp
}

// GaussianOptions are the choices of a Gaussian step graph beyond its shapes.
type GaussianOptions struct {
	// FixedVariance leaves out the log-variance gradient (GradLogVar is
	// nil): two V×H products fewer per step when σ is not learned.
	FixedVariance bool
	// MinLogVar is the floor of the log variances after every update when
	// they are learned (2 ln σ_floor); see GaussianStep.Params.
	MinLogVar float32
}

// BuildGaussianStep builds the Gaussian RBM step graph for cfg, GradLogVar
// included; all sampling ops share rng. The graph lowers (engine/lower)
// onto gemm_f32 and the grbm.cu kernels.
func BuildGaussianStep(cfg StepConfig, rng *RNG) (*GaussianStep, error) {
	return BuildGaussianStepWith(cfg, rng, GaussianOptions{})
}

// BuildGaussianStepWith is BuildGaussianStep with options.
func BuildGaussianStepWith(cfg StepConfig, rng *RNG, opt GaussianOptions) (*GaussianStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("gaussian step graph: nil RNG")
	}
	if cfg.Persistent && cfg.Chains == 0 {
		cfg.Chains = cfg.Batch
	}
	s := &GaussianStep{CDStep: CDStep{Config: cfg, RNG: rng, Graph: G.NewGraph()}, Options: opt}
	g := s.Graph
	b := builder{g: g, step: &s.CDStep}
	V, H, B, C := cfg.Visible, cfg.Hidden, cfg.Batch, cfg.NegativeRows()
	f32 := tensor.Float32
	s.V0 = G.NewMatrix(g, f32, G.WithShape(B, V), G.WithName("v0"))
	s.W = G.NewMatrix(g, f32, G.WithShape(V, H), G.WithName("W"))
	s.VBias = G.NewVector(g, f32, G.WithShape(V), G.WithName("vbias"))
	s.HBias = G.NewVector(g, f32, G.WithShape(H), G.WithName("hbias"))
	s.LogVar = G.NewVector(g, f32, G.WithShape(V), G.WithName("logvar"))
	wT := b.must(G.Transpose(s.W))

	precision := func(v *G.Node) *G.Node { // v/σ²
		if b.err != nil {
			return nil
		}
		return b.must(G.ApplyOp(ScaleExpNegOp{}, v, s.LogVar))
	}
	visibleMean := func(h *G.Node) *G.Node { // b + h Wᵀ
		if b.err != nil {
			return nil
		}
		return b.must(G.BroadcastAdd(b.must(G.Mul(h, wT)), s.VBias, nil, []byte{0}))
	}
	gauss := func(mean *G.Node, t int) *G.Node {
		if b.err != nil {
			return nil
		}
		op := &GaussianSampleOp{ID: IDGaussianVisible(t), RNG: rng}
		s.GaussianSamplers = append(s.GaussianSamplers, op)
		return b.must(G.ApplyOp(op, mean, s.LogVar))
	}

	// Positive phase.
	x0 := precision(s.V0)
	ph0 := b.hiddenProbs(x0, s.W, s.HBias)
	h0 := b.sample(ph0, IDPositiveHidden)
	mean1 := visibleMean(h0)

	// Negative phase.
	h := h0
	if cfg.Persistent {
		s.Chain = G.NewMatrix(g, f32, G.WithShape(C, V), G.WithName("chain"))
		h = b.sample(b.hiddenProbs(precision(s.Chain), s.W, s.HBias), IDChainHidden)
	}
	var vk, xk, phk *G.Node
	for t := 1; t <= cfg.K; t++ {
		mean := mean1
		if t > 1 || cfg.Persistent {
			mean = visibleMean(h)
		}
		vk = gauss(mean, t)
		xk = precision(vk)
		phk = b.hiddenProbs(xk, s.W, s.HBias)
		if t < cfg.K {
			h = b.sample(phk, IDGibbsHidden(t))
		}
	}
	if cfg.Persistent {
		s.NewChain = vk
	}

	// Statistics.
	pos := b.scale(b.must(G.Mul(b.must(G.Transpose(x0)), ph0)), 1/float32(B))
	neg := b.scale(b.must(G.Mul(b.must(G.Transpose(xk)), phk)), 1/float32(C))
	s.GradW = b.must(G.Sub(pos, neg))
	s.GradVBias = b.must(G.Sub(b.must(G.Mean(x0, 0)), b.must(G.Mean(xk, 0))))
	s.HMean = b.must(G.Mean(ph0, 0)) // an output: not an input of another op (see BuildCDStep)
	s.GradHBias = b.must(G.Sub(b.scale(b.must(G.Sum(ph0, 0)), 1/float32(B)), b.must(G.Mean(phk, 0))))
	if b.err == nil && !opt.FixedVariance {
		wp0 := b.must(G.Mul(ph0, wT))
		wpk := b.must(G.Mul(phk, wT))
		if b.err == nil {
			s.GradLogVar = b.must(G.ApplyOp(LogVarGradOp{}, s.V0, wp0, vk, wpk, s.VBias, s.LogVar))
		}
	}
	if b.err == nil {
		diff := b.must(G.Sub(s.V0, mean1))
		s.ReconErr = b.scale(b.must(G.Sum(b.must(G.Square(diff)))), 1/float32(B))
	}
	if b.err != nil {
		return nil, fmt.Errorf("gaussian step graph: %w", b.err)
	}
	return s, nil
}

// Outputs returns the output nodes in the order of NamedOutputs.
func (s *GaussianStep) Outputs() []*G.Node {
	var out []*G.Node
	for _, o := range s.NamedOutputs() {
		out = append(out, o.Node)
	}
	return out
}

// NamedOutputs implements Step: GradW, GradVBias, GradHBias, GradLogVar
// (unless FixedVariance), HMean, ReconErr and, for PCD, NewChain.
func (s *GaussianStep) NamedOutputs() []Output {
	out := []Output{{"GradW", s.GradW}, {"GradVBias", s.GradVBias}, {"GradHBias", s.GradHBias}}
	if s.GradLogVar != nil {
		out = append(out, Output{"GradLogVar", s.GradLogVar})
	}
	out = append(out, Output{"HMean", s.HMean}, Output{"ReconErr", s.ReconErr})
	if s.NewChain != nil {
		out = append(out, Output{"NewChain", s.NewChain})
	}
	return out
}

var _ Step = (*GaussianStep)(nil)
