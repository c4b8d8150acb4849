// Package tape is the reference executor: it interprets a step graph with
// gorgonia's tape machine, compiled once per program, and applies the
// step's declared update (graph.Updates) with the Go twins of the update
// kernels (and kernels.AdamUpdate, which has no kernel: Adam steps, such as
// DBN fine-tuning, run here only). The lowered executor (exec/device) is
// tested against it.
package tape

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// Backend is the tape executor; its Name is "cpu-tape".
type Backend struct{}

// Name implements exec.Backend.
func (Backend) Name() string { return "cpu-tape" }

// KernelDriver implements exec.Backend: the tape has no kernel driver.
func (Backend) KernelDriver() (kernels.Driver, func() error, bool) { return nil, nil, false }

// Compile implements exec.Backend: it binds every declared input to a
// tensor of its own, allocates the update's state and compiles the tape
// machine.
func (Backend) Compile(s graph.Declared) (exec.Program, error) {
	tensors, state, err := exec.Tensors(s)
	if err != nil {
		return nil, fmt.Errorf("cpu backend: %w", err)
	}
	B, V, err := exec.DataShape(s)
	if err != nil {
		return nil, fmt.Errorf("cpu backend: %w", err)
	}
	p := &program{step: s, rng: s.Rand(), B: B, V: V, table: exec.NewTable("cpu backend", tensors),
		vals: map[string][]float32{}, outputs: map[string]*G.Node{}}
	for _, in := range s.Inputs() {
		t := tensor.New(tensor.WithShape(in.Node.Shape().Clone()...), tensor.Of(tensor.Float32))
		if err := G.Let(in.Node, t); err != nil {
			return nil, fmt.Errorf("cpu backend: bind %s: %w", in.Name, err)
		}
		if in.Name == graph.NameData {
			p.v0 = t
		} else {
			p.vals[in.Name] = t.Data().([]float32)
		}
	}
	for _, st := range state {
		p.vals[st.Name] = make([]float32, st.Len)
	}
	for _, o := range s.NamedOutputs() {
		p.outputs[o.Name] = o.Node
	}
	if p.outputs[graph.OutReconErr] == nil {
		return nil, fmt.Errorf("cpu backend: step has no %s output", graph.OutReconErr)
	}
	p.sparsity = graph.HasSparsity(s)
	p.vm = G.NewTapeMachine(s.ExprGraph())
	return p, nil
}

// program is a step graph on the tape.
type program struct {
	step     graph.Declared
	vm       G.VM
	rng      *graph.RNG
	B, V     int
	v0       *tensor.Dense
	table    *exec.Table
	vals     map[string][]float32 // inputs and update state by name
	outputs  map[string]*G.Node
	sparsity bool // graph.HasSparsity: the update writes the sparsity mean
	reconSum float64
	reconN   int
}

// Tensors implements exec.Program.
func (p *program) Tensors() []exec.Tensor { return p.table.List() }

// Set implements exec.Program.
func (p *program) Set(name string, x []float32) error {
	write, err := p.table.Set(name, x)
	if write {
		copy(p.vals[name], x)
	}
	return err
}

// Get implements exec.Program.
func (p *program) Get(name string, dst []float32) (bool, error) {
	read, err := p.table.Get(name, dst)
	if read {
		copy(dst, p.vals[name])
	}
	return read, err
}

// RNGStep implements exec.Program.
func (p *program) RNGStep() uint64 { return p.rng.Step }

// SetRNGStep implements exec.Program.
func (p *program) SetRNGStep(step uint64) { p.rng.Step = step }

// MaxBatches implements exec.Program: one mini-batch at a time.
func (p *program) MaxBatches() int { return 1 }

// Step implements exec.Program: per mini-batch, the graph on the tape, then
// the declared update with the Go twins of the update kernels.
func (p *program) Step(batches []float32, n int, h graph.Hyper) error {
	size := p.B * p.V
	if n < 1 || len(batches) != n*size {
		return fmt.Errorf("cpu backend: %d values for %d batches of %d×%d", len(batches), n, p.B, p.V)
	}
	for i := 0; i < n; i++ {
		if err := p.step1(batches[i*size:(i+1)*size], h); err != nil {
			return err
		}
	}
	return nil
}

func (p *program) step1(batch []float32, h graph.Hyper) error {
	defer p.vm.Reset()
	copy(p.v0.Data().([]float32), batch)
	if err := p.vm.RunAll(); err != nil {
		return fmt.Errorf("cpu backend: run step graph: %w", err)
	}
	p.rng.Step++
	recon, err := p.value(graph.OutReconErr)
	if err != nil {
		return err
	}
	p.reconSum += float64(recon[0])
	p.reconN++
	for _, op := range graph.Updates(p.step, h, !p.table.Present(graph.NameHiddenMean)) {
		if err := p.apply(op); err != nil {
			return fmt.Errorf("cpu backend: %s: %w", op.Note, err)
		}
	}
	if p.sparsity && h.SparsityCost != 0 {
		p.table.MarkPresent(graph.NameHiddenMean)
	}
	return nil
}

// value returns the named input, state or output values.
func (p *program) value(name string) ([]float32, error) {
	if x, ok := p.vals[name]; ok {
		return x, nil
	}
	n := p.outputs[name]
	if n == nil {
		return nil, fmt.Errorf("no tensor or output %q", name)
	}
	switch t := n.Value().(type) {
	case *tensor.Dense:
		return t.Data().([]float32), nil
	case *G.F32:
		return []float32{float32(*t)}, nil
	case nil:
		return nil, fmt.Errorf("node %s has no value after the run", name)
	default:
		return nil, fmt.Errorf("node %s holds %T, want float32 values", name, t)
	}
}

// apply runs one update op with its Go twin. An output adjusted in place
// (the sparsity term on a gradient) belongs to the graph's output tensor,
// which the next run overwrites.
func (p *program) apply(op graph.UpdateOp) error {
	out, err := p.value(op.Out)
	if err != nil {
		return err
	}
	switch op.Kind {
	case graph.Fill:
		for i := range out {
			out[i] = op.Value
		}
	case graph.Axpby:
		x, err := p.value(op.X)
		if err != nil {
			return err
		}
		if len(x) != len(out) {
			return fmt.Errorf("%s has %d values, %s %d", op.X, len(x), op.Out, len(out))
		}
		kernels.ColSumRef(1, len(out), op.Alpha, x, op.Beta, out)
	case graph.SGD:
		vel, err := p.value(op.Vel)
		if err != nil {
			return err
		}
		grad, err := p.value(op.Grad)
		if err != nil {
			return err
		}
		kernels.SGDUpdate(out, vel, grad, op.LR, op.Momentum, op.Decay)
	case graph.Adam:
		m, err := p.value(op.M)
		if err != nil {
			return err
		}
		v, err := p.value(op.V)
		if err != nil {
			return err
		}
		grad, err := p.value(op.Grad)
		if err != nil {
			return err
		}
		if len(m) != len(out) || len(v) != len(out) || len(grad) != len(out) {
			return fmt.Errorf("%s, %s, %s and %s differ in size", op.Out, op.M, op.V, op.Grad)
		}
		// Adam's step t is the program's step counter, advanced by the
		// graph's run: 1 on the first update.
		kernels.AdamUpdate(out, m, v, grad, op.LR, op.Decay, p.rng.Step)
	case graph.ClampMin:
		kernels.ClampMin(out, op.Value)
	case graph.L1:
		grad, err := p.value(op.Grad)
		if err != nil {
			return err
		}
		if len(grad) != len(out) {
			return fmt.Errorf("%s and %s differ in size", op.Out, op.Grad)
		}
		kernels.L1Grad(grad, out, op.Value)
	default:
		return fmt.Errorf("unknown update op %d", op.Kind)
	}
	return nil
}

func (p *program) Recon() (float64, error) {
	if p.reconN == 0 {
		return math.NaN(), nil
	}
	return p.reconSum / float64(p.reconN), nil
}

func (p *program) ReconError() (float64, error) {
	r, _ := p.Recon()
	if p.reconN == 0 {
		return r, nil
	}
	p.reconSum, p.reconN = 0, 0
	return r, exec.FiniteRecon(r)
}

func (p *program) Close() error { return p.vm.Close() }
