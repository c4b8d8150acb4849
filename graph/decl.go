package graph

import (
	G "gorgonia.org/gorgonia"
)

// Tensor names shared by the step graphs, the executors and the
// checkpoints. A name is declared once, here; a step's Inputs, Params and
// Carries use these names and a checkpoint stores each tensor under the
// same one.
const (
	NameData   = "v0"     // B×V data mini-batch, written by the executor each step
	NameW      = "W"      // weights: V×H (RBM) or N×N (BM)
	NameVBias  = "vbias"  // V visible biases of an RBM
	NameHBias  = "hbias"  // H hidden biases of an RBM
	NameLogVar = "logvar" // V log variances z = log σ² of a Gaussian RBM
	NameBias   = "bias"   // N biases of a BM
	NameMask   = "mask"   // N×N connectivity of a BM
	NameChains = "chains" // C×V (RBM) or C×N (BM) persistent chains

	// NameHiddenMean is the running mean q of the hidden activations on
	// the data that drives the sparsity term; absent until first used.
	NameHiddenMean = "hidden_mean"
	// NameSparsityTarget is a scratch vector filled with the sparsity
	// target (the update's axpby needs the target as a vector).
	NameSparsityTarget = "sparsity_target"
)

// Output names of the step graphs.
const (
	OutGradW      = "GradW"
	OutGradVBias  = "GradVBias"
	OutGradHBias  = "GradHBias"
	OutGradLogVar = "GradLogVar"
	OutGradBias   = "GradBias"
	OutHMean      = "HMean"    // mean p(h|v0) over the batch
	OutReconErr   = "ReconErr" // the scalar monitor every step has
	OutNewChain   = "NewChain" // the chains after the step
)

// AdamMOf and AdamVOf name Adam's first and second moment buffers of
// parameter name, e.g. "adam_m.W" and "adam_v.W".
func AdamMOf(name string) string { return "adam_m." + name }

// AdamVOf: see AdamMOf.
func AdamVOf(name string) string { return "adam_v." + name }

// VelocityOf is the name of the momentum buffer of parameter name, e.g.
// "velocity.W".
func VelocityOf(name string) string { return "velocity." + name }

// Input is a named leaf of a step graph that the executor binds: the data
// (NameData), a parameter or a carried state.
type Input struct {
	Name string
	Node *G.Node
}

// Param declares one trained parameter and its update rule; see Updates
// for the rule. Its velocity (momentum) buffer is VelocityOf(Name), its
// Adam moments AdamMOf(Name) and AdamVOf(Name).
type Param struct {
	Name string // the input holding the parameter
	Grad string // the output holding its gradient (the ascent direction)
	// Rule is the optimizer: RuleMomentum (the zero value) or RuleAdam.
	Rule UpdateRule
	// Decay applies the weight decay to this parameter.
	Decay bool
	// Sparsity adds the sparsity term cost·(target − q) to the gradient,
	// with q the running mean of the OutHMean output (NameHiddenMean).
	Sparsity bool
	// Clamp keeps the parameter ≥ Min after every update (a Gaussian RBM's
	// σ floor on the log variances).
	Clamp bool
	Min   float32
}

// Carry declares carried state: after every step the output From is
// copied into the input To (the persistent chains).
type Carry struct {
	From, To string
}

// Declared is implemented by every step graph: besides the graph (Step),
// the inputs the executor binds, the parameters it updates and the state it
// carries from step to step. Executors know a step only through this
// declaration, never by its type.
type Declared interface {
	Step
	// Inputs lists the graph's leaves by name, NameData first.
	Inputs() []Input
	// Params lists the trained parameters in update order.
	Params() []Param
	// Carries lists the carried state.
	Carries() []Carry
}

// Inputs implements Declared: v0, W, vbias, hbias and, for PCD, chains.
func (s *CDStep) Inputs() []Input {
	in := []Input{{NameData, s.V0}, {NameW, s.W}, {NameVBias, s.VBias}, {NameHBias, s.HBias}}
	if s.Chain != nil {
		in = append(in, Input{NameChains, s.Chain})
	}
	return in
}

// Params implements Declared: W (with weight decay), vbias, hbias (with the
// sparsity term).
func (s *CDStep) Params() []Param {
	return []Param{{Name: NameW, Grad: OutGradW, Decay: true}, {Name: NameVBias, Grad: OutGradVBias},
		{Name: NameHBias, Grad: OutGradHBias, Sparsity: true}}
}

// Carries implements Declared: the chains, for PCD.
func (s *CDStep) Carries() []Carry {
	if s.Chain == nil {
		return nil
	}
	return []Carry{{From: OutNewChain, To: NameChains}}
}

// Inputs implements Declared: those of the RBM step plus logvar.
func (s *GaussianStep) Inputs() []Input {
	in := s.CDStep.Inputs()
	return append(in[:4:4], append([]Input{{NameLogVar, s.LogVar}}, in[4:]...)...)
}

// Params implements Declared: those of the RBM step plus, when the
// variances are learned, logvar clamped to MinLogVar.
func (s *GaussianStep) Params() []Param {
	p := s.CDStep.Params()
	if s.GradLogVar != nil {
		p = append(p, Param{Name: NameLogVar, Grad: OutGradLogVar, Clamp: true, Min: s.Options.MinLogVar})
	}
	return p
}

// Inputs implements Declared: v0, W, bias, mask, chains.
func (s *BMStep) Inputs() []Input {
	return []Input{{NameData, s.V0}, {NameW, s.W}, {NameBias, s.Bias}, {NameMask, s.Mask}, {NameChains, s.Chain}}
}

// Params implements Declared: W (with weight decay) and bias.
func (s *BMStep) Params() []Param {
	return []Param{{Name: NameW, Grad: OutGradW, Decay: true}, {Name: NameBias, Grad: OutGradBias}}
}

// Carries implements Declared: the chains.
func (s *BMStep) Carries() []Carry { return []Carry{{From: OutNewChain, To: NameChains}} }

var (
	_ Declared = (*CDStep)(nil)
	_ Declared = (*GaussianStep)(nil)
	_ Declared = (*BMStep)(nil)
)
