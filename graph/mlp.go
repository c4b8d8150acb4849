package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Names of the fine-tuning step (MLPStep) besides its parameters.
const (
	// NameHits is a 1-element input counting the rows classified right
	// since it was last set; the step carries OutHits into it.
	NameHits = "hits"
	// OutHits is NameHits plus the batch's correctly classified rows.
	OutHits = "Hits"
	// OutLogits is the B×C classifier scores z.
	OutLogits = "Logits"
)

// GradOf is the name of the output holding the gradient of parameter name
// in the ascent convention, −∂loss/∂θ, e.g. "grad.layer0.W".
func GradOf(name string) string { return "grad." + name }

// MLPConfig is the shape of a fine-tuning step.
type MLPConfig struct {
	// Sizes is [V, H_0, …, H_{L−1}, C]: the inputs, the L sigmoid hidden
	// layers and the C classes of the softmax output layer.
	Sizes []int
	Batch int // B rows per mini-batch
	// Names are the parameter names, two per layer including the output
	// layer: W_0, c_0, …, W_{L−1}, c_{L−1}, W_out, b_out.
	Names []string
	// Rule is every parameter's optimizer.
	Rule UpdateRule
	// Decay applies the L2 weight decay to every weight and bias.
	Decay bool
}

// Validate reports the first impossible setting.
func (c MLPConfig) Validate() error {
	switch {
	case len(c.Sizes) < 2:
		return fmt.Errorf("mlp step: sizes %v: want [V, …, C]", c.Sizes)
	case c.Batch < 1:
		return fmt.Errorf("mlp step: batch %d, want ≥ 1", c.Batch)
	case len(c.Names) != 2*(len(c.Sizes)-1):
		return fmt.Errorf("mlp step: %d names for %d layers, want two a layer", len(c.Names), len(c.Sizes)-1)
	}
	for i, n := range c.Sizes {
		if n < 1 {
			return fmt.Errorf("mlp step: size %d is %d, want ≥ 1", i, n)
		}
	}
	return nil
}

// MLPStep is one step of discriminative fine-tuning of a sigmoid MLP with
// a softmax output layer (a DBN's recognition weights and a classifier
// head; Hinton & Salakhutdinov 2006). The data input NameData is one
// B×(V+C) batch, each row the V features x followed by the one-hot label
// y; with h⁰ = x,
//
//	hˡ⁺¹ = σ(hˡ Wˡ + cˡ)          (l < L),
//	z    = h^L W_out + b_out       (OutLogits),
//	loss = −(1/B) Σ_r Σ_k y_rk log softmax(z_r)_k   (OutReconErr),
//
// and, for every parameter θ, the output GradOf(name) holds −∂loss/∂θ
// (gorgonia's reverse-mode autodiff, G.Grad), the ascent direction that
// Updates expects. OutHits = hits + #{r : y_r,argmax z_r = 1} (ties to the
// smaller class) is carried into NameHits, so that a program counts the
// rows classified right by the forward passes that computed the
// gradients.
type MLPStep struct {
	Config  MLPConfig
	Graph   *G.ExprGraph
	RNG     *RNG // unused by the graph: its step counter is Adam's t
	Data    *G.Node
	Weights []*G.Node // the parameters W_0, c_0, …, W_out, b_out
	Grads   []*G.Node // −∂loss/∂θ, one per Weights
	Hits    *G.Node
	Logits  *G.Node
	Loss    *G.Node
	// NewHits is OutHits.
	NewHits *G.Node
}

// BuildMLPStep builds the fine-tuning step of cfg.
func BuildMLPStep(cfg MLPConfig) (*MLPStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := G.NewGraph()
	s := &MLPStep{Config: cfg, Graph: g, RNG: &RNG{}}
	var err error
	must := func(x *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return x
	}
	B, L := cfg.Batch, len(cfg.Sizes)-2
	V, C := cfg.Sizes[0], cfg.Sizes[L+1]
	s.Data = G.NewMatrix(g, tensor.Float32, G.WithShape(B, V+C), G.WithName(NameData))
	x := must(G.Slice(s.Data, nil, G.S(0, V)))
	y := must(G.Slice(s.Data, nil, G.S(V, V+C)))
	h := x
	for l := 0; l <= L; l++ {
		in, out := cfg.Sizes[l], cfg.Sizes[l+1]
		w := G.NewMatrix(g, tensor.Float32, G.WithShape(in, out), G.WithName(cfg.Names[2*l]))
		b := G.NewVector(g, tensor.Float32, G.WithShape(out), G.WithName(cfg.Names[2*l+1]))
		s.Weights = append(s.Weights, w, b)
		h = must(G.BroadcastAdd(must(G.Mul(h, w)), b, nil, []byte{0}))
		if l < L {
			h = must(G.Sigmoid(h))
		}
	}
	s.Logits = h
	logp := must(G.LogSoftMax(s.Logits, 1))
	s.Loss = must(G.Neg(must(G.Mean(must(G.Sum(must(G.HadamardProd(y, logp)), 1))))))
	s.Hits = G.NewVector(g, tensor.Float32, G.WithShape(1), G.WithName(NameHits))
	s.NewHits = must(G.Add(s.Hits, must(G.ApplyOp(HitsOp{Features: V}, s.Data, s.Logits))))
	if err != nil {
		return nil, fmt.Errorf("mlp step: build graph: %w", err)
	}
	grads, err := G.Grad(s.Loss, s.Weights...)
	if err != nil {
		return nil, fmt.Errorf("mlp step: differentiate graph: %w", err)
	}
	for _, d := range grads {
		s.Grads = append(s.Grads, must(G.Neg(d)))
	}
	if err != nil {
		return nil, fmt.Errorf("mlp step: build gradients: %w", err)
	}
	return s, nil
}

// ExprGraph implements Step.
func (s *MLPStep) ExprGraph() *G.ExprGraph { return s.Graph }

// Rand implements Step.
func (s *MLPStep) Rand() *RNG { return s.RNG }

// NamedOutputs implements Step: the gradients GradOf(name), OutReconErr
// (the loss), OutLogits and OutHits.
func (s *MLPStep) NamedOutputs() []Output {
	var out []Output
	for i, d := range s.Grads {
		out = append(out, Output{GradOf(s.Config.Names[i]), d})
	}
	return append(out, Output{OutReconErr, s.Loss}, Output{OutLogits, s.Logits}, Output{OutHits, s.NewHits})
}

// Inputs implements Declared: v0 (B×(V+C)), the parameters, hits.
func (s *MLPStep) Inputs() []Input {
	in := []Input{{NameData, s.Data}}
	for i, p := range s.Weights {
		in = append(in, Input{s.Config.Names[i], p})
	}
	return append(in, Input{NameHits, s.Hits})
}

// Params implements Declared: every weight and bias, with the config's
// rule and decay.
func (s *MLPStep) Params() []Param {
	var ps []Param
	for _, n := range s.Config.Names {
		ps = append(ps, Param{Name: n, Grad: GradOf(n), Rule: s.Config.Rule, Decay: s.Config.Decay})
	}
	return ps
}

// Carries implements Declared: the hit count.
func (s *MLPStep) Carries() []Carry { return []Carry{{From: OutHits, To: NameHits}} }

var _ Declared = (*MLPStep)(nil)

// HitsOp counts the rows classified right: given the B×(V+C) batch (the
// one-hot labels in columns V…V+C−1) and the B×C scores z it returns the
// 1-element vector #{r : label_r,k = 1 for k = argmax z_r}, ties to the
// smaller k. It has no kernel.
type HitsOp struct {
	Features int // V, the columns before the labels
}

// Arity implements gorgonia.Op.
func (HitsOp) Arity() int { return 2 }

// Type implements gorgonia.Op: two matrices → vector.
func (HitsOp) Type() hm.Type { return hm.NewFnType(matrix32, matrix32, vector32) }

// InferShape implements gorgonia.Op: one element.
func (HitsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("hits: want 2 inputs, got %d", len(in))
	}
	return tensor.Shape{1}, nil
}

// Do implements gorgonia.Op.
func (op HitsOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("hits: want 2 inputs, got %d", len(in))
	}
	d, err := dense32(in[0], "hits")
	if err != nil {
		return nil, err
	}
	z, err := dense32(in[1], "hits")
	if err != nil {
		return nil, err
	}
	B, C := z.Shape()[0], z.Shape()[1]
	W := op.Features + C
	if d.Shape()[0] != B || d.Shape()[1] != W || !d.IsNativelyAccessible() || d.IsView() || z.IsView() {
		return nil, fmt.Errorf("hits: inputs %v and %v, want contiguous B×(%d+C) and B×C", d.Shape(), z.Shape(), op.Features)
	}
	ds, zs := d.Data().([]float32), z.Data().([]float32)
	var n float32
	for r := 0; r < B; r++ {
		row := zs[r*C : (r+1)*C]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if ds[r*W+op.Features+best] == 1 {
			n++
		}
	}
	return tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{n})), nil
}

// ReturnsPtr implements gorgonia.Op.
func (HitsOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (HitsOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: never.
func (HitsOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (op HitsOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "rbmgpu.hits(%d)", op.Features) }

// Hashcode implements gorgonia.Op.
func (op HitsOp) Hashcode() uint32 { return hashOf(op) }

// String implements fmt.Stringer.
func (op HitsOp) String() string { return fmt.Sprintf("Hits(%d)", op.Features) }
