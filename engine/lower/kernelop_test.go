package lower

import (
	"fmt"
	"hash"
	"testing"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// toyBernoulli is a custom op lowered through the KernelOp hook onto the
// standalone bernoulli_f32 kernel; only its lowering matters here.
type toyBernoulli struct{ id uint32 }

func (op toyBernoulli) Arity() int    { return 1 }
func (op toyBernoulli) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a) }
func (op toyBernoulli) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op toyBernoulli) Do(in ...G.Value) (G.Value, error) { return nil, fmt.Errorf("not run") }
func (op toyBernoulli) ReturnsPtr() bool                  { return false }
func (op toyBernoulli) CallsExtern() bool                 { return false }
func (op toyBernoulli) OverwritesInput() int              { return -1 }
func (op toyBernoulli) WriteHash(h hash.Hash)             { fmt.Fprintf(h, "toy%d", op.id) }
func (op toyBernoulli) Hashcode() uint32                  { return op.id }
func (op toyBernoulli) String() string                    { return "toy" }
func (op toyBernoulli) KernelLaunch(in [][2]int) (graph.KernelLaunch, error) {
	n := in[0][0] * in[0][1]
	a := &kernels.BernoulliF32Args{N: int32(n), Op: op.id}
	return graph.KernelLaunch{Grid: kernels.ElementwiseGrid(n), Block: kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
		Args: a, Inputs: []*kernels.DevicePtr{&a.P}, Output: &a.S, Seed: &a.Seed, Step: &a.Step}, nil
}

type toyStep struct {
	g   *G.ExprGraph
	rng *graph.RNG
	out *G.Node
}

func (s toyStep) ExprGraph() *G.ExprGraph      { return s.g }
func (s toyStep) Rand() *graph.RNG             { return s.rng }
func (s toyStep) NamedOutputs() []graph.Output { return []graph.Output{{Name: "S", Node: s.out}} }

func TestLowerKernelOp(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithName("x"))
	y, err := G.ApplyOp(toyBernoulli{id: 7}, x)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(toyStep{g: g, rng: &graph.RNG{Seed: 11}, out: y})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Launches) != 1 {
		t.Fatalf("%d launches, want 1:\n%s", len(p.Launches), p)
	}
	l := p.Launches[0]
	out := p.Outputs["S"]
	a, _ := l.Args.(*kernels.BernoulliF32Args)
	pBuf, _ := l.Buffer(&a.P)
	sBuf, _ := l.Buffer(&a.S)
	switch {
	case a == nil || l.Kernel != kernels.BernoulliF32:
		t.Fatalf("kernel %s, arguments %T", l.Kernel, l.Args)
	case out == nil || out.Rows != 4 || out.Cols != 3 || out.Kind != Temp:
		t.Errorf("output buffer %+v", out)
	case a.N != 12 || pBuf != p.Inputs["x"] || sBuf != out:
		t.Errorf("arguments %+v, P bound to %v, S to %v", a, pBuf, sBuf)
	case a.Seed != 11 || a.Op != 7 || l.Step != &a.Step:
		t.Errorf("RNG arguments %+v, step field %p", a, l.Step)
	}
	if err := l.Validate(); err != nil {
		t.Error(err)
	}
}
