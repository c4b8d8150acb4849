package engine

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
)

// tapeCore is the part of a CPU (tape) program that does not depend on the
// model: the bound inputs and the tape machine, the data copy, the run of
// the graph with its RNG counter, the reconstruction-error mean and Close.
// cpuProgram (RBM, Gaussian RBM) and bmCPUProgram embed it.
type tapeCore struct {
	vm       G.VM
	rng      *graph.RNG
	v0       *tensor.Dense // the B×V mini-batch input
	reconSum float64
	reconN   int
}

// tapeBind is an input node and the tensor that holds its value.
type tapeBind struct {
	n *G.Node
	t *tensor.Dense
}

// newTapeCore binds every input of g (v0 among them) and compiles the tape
// machine once.
func newTapeCore(g *G.ExprGraph, rng *graph.RNG, v0 *tensor.Dense, binds []tapeBind) (tapeCore, error) {
	for _, b := range binds {
		if err := G.Let(b.n, b.t); err != nil {
			return tapeCore{}, fmt.Errorf("cpu backend: bind %s: %w", b.n.Name(), err)
		}
	}
	return tapeCore{vm: G.NewTapeMachine(g), rng: rng, v0: v0}, nil
}

func dense(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

func f32(t *tensor.Dense) []float32 { return t.Data().([]float32) }

// runGraph copies batch (B×V) into v0 and runs the graph (what names it in
// errors), advancing the RNG counter; the caller reads the outputs and
// then resets the machine.
func (c *tapeCore) runGraph(batch []float32, B, V int, what string) error {
	if len(batch) != B*V {
		return fmt.Errorf("cpu backend: batch has %d values, want %d×%d", len(batch), B, V)
	}
	copy(f32(c.v0), batch)
	if err := c.vm.RunAll(); err != nil {
		return fmt.Errorf("cpu backend: run %s: %w", what, err)
	}
	c.rng.Step++
	return nil
}

// count adds a step's reconstruction error (the ReconErr output) to the mean.
func (c *tapeCore) count(recon []float32) {
	c.reconSum += float64(recon[0])
	c.reconN++
}

// peekRecon returns the mean reconstruction error since the last
// ReconError without starting a new mean.
func (c *tapeCore) peekRecon() (float64, error) {
	if c.reconN == 0 {
		return math.NaN(), nil
	}
	return c.reconSum / float64(c.reconN), nil
}

// ReconError implements Program and BMProgram.
func (c *tapeCore) ReconError() (float64, error) {
	if c.reconN == 0 {
		return math.NaN(), nil
	}
	r := c.reconSum / float64(c.reconN)
	c.reconSum, c.reconN = 0, 0
	return r, finiteRecon(r)
}

// Close implements Program and BMProgram.
func (c *tapeCore) Close() error { return c.vm.Close() }

func values(n *G.Node) ([]float32, error) {
	v := n.Value()
	if v == nil {
		return nil, fmt.Errorf("cpu backend: node %s has no value after the run", n.Name())
	}
	switch t := v.(type) {
	case *tensor.Dense:
		return t.Data().([]float32), nil
	case *G.F32:
		return []float32{float32(*t)}, nil
	}
	return nil, fmt.Errorf("cpu backend: node %s holds %T, want float32 values", n.Name(), v)
}
