package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// RNG is the randomness state shared by every stochastic op of one graph:
// the run's seed and the step counter. A backend increments Step once per
// run of the graph, so each run draws fresh uniforms while every draw stays
// a pure function of (Seed, op id, Step, element). Saving Step in a
// checkpoint is all it takes to resume the exact same stream.
type RNG struct {
	Seed uint64
	Step uint64
}

// SampleOp is the Bernoulli sampling op: given a tensor of probabilities p it
// returns a tensor of the same shape with
//
//	out[e] = 1 if u(Seed, ID, Step, e) < p[e] else 0,
//
// where u is element e of the Philox stream kernels.Stream{Seed, ID, Step}
// and e is the row-major element index. The CUDA backend lowers it to the
// same draw inside its fused kernels.
//
// Gorgonia merges nodes whose ops hash equally, so the op's hash includes
// its ID: two sampling nodes of one graph never collapse into one, even when
// their inputs are the same node.
type SampleOp struct {
	ID  uint32
	RNG *RNG
}

// Stream returns the Philox stream this op draws from at the RNG's current step.
func (op *SampleOp) Stream() kernels.Stream {
	return kernels.Stream{Seed: op.RNG.Seed, Op: op.ID, Step: op.RNG.Step}
}

// Arity implements gorgonia.Op: one input, the probabilities.
func (op *SampleOp) Arity() int { return 1 }

// Type implements gorgonia.Op: a → a.
func (op *SampleOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

// InferShape implements gorgonia.Op: the output has the input's shape.
func (op *SampleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("bernoulli sample: want 1 input, got %d", len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("bernoulli sample: input shape is %T, want tensor.Shape", in[0])
	}
	return s.Clone(), nil
}

// Do implements gorgonia.Op: it draws a fresh output tensor.
func (op *SampleOp) Do(in ...G.Value) (G.Value, error) {
	p, err := float32Input(in)
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.WithShape(p.Shape().Clone()...), tensor.Of(tensor.Float32))
	op.sample(out.Data().([]float32), p.Data().([]float32))
	return out, nil
}

// UsePreallocDo implements gorgonia.UsePreallocDoer, writing into prealloc so
// a compiled graph does not allocate a new sample tensor every run.
func (op *SampleOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	p, err := float32Input(in)
	if err != nil {
		return nil, err
	}
	dst, ok := prealloc.(*tensor.Dense)
	if !ok || dst.Dtype() != tensor.Float32 || dst.Size() != p.Size() {
		return op.Do(in...)
	}
	op.sample(dst.Data().([]float32), p.Data().([]float32))
	return dst, nil
}

func (op *SampleOp) sample(dst, p []float32) {
	kernels.SampleBernoulli(dst, p, op.Stream())
}

func float32Input(in []G.Value) (*tensor.Dense, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("bernoulli sample: want 1 input, got %d", len(in))
	}
	p, ok := in[0].(*tensor.Dense)
	if !ok || p.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("bernoulli sample: input is %T, want a float32 dense tensor", in[0])
	}
	return p, nil
}

// ReturnsPtr implements gorgonia.Op.
func (op *SampleOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *SampleOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: the probabilities are kept (they
// are needed for statistics), so the op never writes over its input.
func (op *SampleOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op; the ID makes every sampling op distinct.
func (op *SampleOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "rbmgpu.bernoulli(%d)", op.ID) }

// Hashcode implements gorgonia.Op.
func (op *SampleOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String implements fmt.Stringer.
func (op *SampleOp) String() string { return fmt.Sprintf("BernoulliSample#%d", op.ID) }
