// Package exec defines what runs a step graph: a Backend compiles a
// declared step (graph.Declared) into a Program, which holds the
// parameters and the carried state and runs training steps. There are two
// executors, one Program type each: exec/tape interprets the graph with
// gorgonia's tape machine (the reference) and exec/device runs the lowered
// plan (engine/lower) on any kernels.Driver — the CUDA driver, the
// emulator of the CUDA sources or the host kernels. Neither knows a model
// kind: a program knows its tensors by the names the step declares.
package exec

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// Backend compiles step graphs for one device.
type Backend interface {
	// Name identifies the backend and device, e.g. "cpu", "cpu-tape" or
	// "cuda:0".
	Name() string
	// Compile prepares s for repeated execution: the graph is built once
	// and every Program.Step reuses it.
	Compile(s graph.Declared) (Program, error)
	// KernelDriver returns a kernel driver for work outside step graphs (AIS)
	// and the function that releases it; ok is false for an executor
	// without one (the tape).
	KernelDriver() (drv kernels.Driver, release func() error, ok bool)
}

// Tensor describes one tensor a Program holds: a graph input (parameter or
// carried state) or a state of the update (velocity, sparsity mean).
type Tensor struct {
	Name string
	Len  int
	// Optional tensors are absent until the update first writes them.
	Optional bool
}

// Program is a compiled step graph together with the training state that
// its update carries: parameters, velocities, chains, the RNG counter. A
// device program keeps all of it in device memory between steps.
type Program interface {
	// Tensors lists the tensors Set and Get accept, graph inputs first.
	Tensors() []Tensor
	// Set copies x into the named tensor; a nil x makes an optional tensor
	// absent.
	Set(name string, x []float32) error
	// Get copies the named tensor into dst; ok is false for an absent
	// optional tensor (dst is then untouched).
	Get(name string, dst []float32) (ok bool, err error)
	// RNGStep is the Philox step counter: the graph runs so far.
	RNGStep() uint64
	// SetRNGStep restores it.
	SetRNGStep(step uint64)
	// MaxBatches is the most mini-batches one Step call takes.
	MaxBatches() int
	// Step runs n steps on batches (n mini-batches of B×V, back to back),
	// each the graph and then the update for h.
	Step(batches []float32, n int, h graph.Hyper) error
	// Recon returns the mean reconstruction error (the ReconErr output)
	// of the steps since the last ReconError, NaN if none, without
	// starting a new mean: on a device a synchronisation.
	Recon() (float64, error)
	// ReconError returns the same mean and starts a new one; an error
	// when it is NaN or infinite.
	ReconError() (float64, error)
	// Close releases the program's resources.
	Close() error
}

// Resident is implemented by programs that keep the training data in
// their own memory (on a GPU: device memory), so that an epoch needs no
// copy of the data from the host: the rows are uploaded once, the epoch's
// order once per epoch, and each step gathers its mini-batch on the
// device. The steps compute exactly what Step computes on the same rows
// in the same order.
type Resident interface {
	Program
	// SetData copies n rows of V values (already in model units, e.g.
	// standardised) into the program, replacing any earlier ones.
	SetData(rows []float32, n int) error
	// SetOrder copies the order of the rows for the coming steps: step
	// b's mini-batch is rows order[b·B … b·B+B−1]. Every index must be a
	// row of the data; len(order) need not be a multiple of B (the tail
	// is not used).
	SetOrder(order []int32) error
	// StepOrdered runs n steps, on mini-batches first … first+n−1 of the
	// order, each the graph and then the update for h; n may be anything
	// from 1 to the number of whole mini-batches in the order.
	StepOrdered(first, n int, h graph.Hyper) error
}

// CompactResident is a Resident that can also hold the rows in the compact
// forms of data.Dataset: one uint8 code per value with a table of the
// codes' values, or one bit per value. The mini-batches are converted to
// float32 as they are gathered, to the very values the table (or 0 and 1)
// gives, so the steps compute what Step computes on the float32 rows.
type CompactResident interface {
	Resident
	// SetCodes copies n rows of V codes (row-major) and lut, the float32
	// value of each of the 256 codes, replacing any earlier rows.
	SetCodes(codes []uint8, lut []float32, n int) error
	// SetBits copies n rows of V binary values, row r in words
	// r·wordsPerRow … (r+1)·wordsPerRow−1, value j in bit j%64 of the
	// row's word j/64, replacing any earlier rows.
	SetBits(words []uint64, wordsPerRow, n int) error
}

// FiniteRecon is the error every program's ReconError gives for a NaN or
// infinite mean.
func FiniteRecon(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("reconstruction error is %v", r)
	}
	return nil
}

// Tensors returns the tensors of a program of s: the inputs besides the
// data, then the non-scratch update state.
func Tensors(s graph.Declared) ([]Tensor, []graph.State, error) {
	st, err := graph.UpdateState(s)
	if err != nil {
		return nil, nil, err
	}
	var ts []Tensor
	for _, in := range s.Inputs() {
		if in.Name != graph.NameData {
			ts = append(ts, Tensor{Name: in.Name, Len: in.Node.Shape().TotalSize()})
		}
	}
	for _, x := range st {
		if !x.Scratch {
			ts = append(ts, Tensor{Name: x.Name, Len: x.Len, Optional: x.Optional})
		}
	}
	return ts, st, nil
}

// DataShape returns B×V, the shape of the step's data input.
func DataShape(s graph.Declared) (B, V int, err error) {
	for _, in := range s.Inputs() {
		if in.Name == graph.NameData {
			sh := in.Node.Shape()
			if len(sh) != 2 {
				return 0, 0, fmt.Errorf("step data input has shape %v, want B×V", sh)
			}
			return sh[0], sh[1], nil
		}
	}
	return 0, 0, fmt.Errorf("step has no %q input", graph.NameData)
}

// Table is the tensor table a program keeps: its tensors by name and which
// optional ones are present. Both executors check Set and Get through it,
// so that they accept and refuse the same calls.
type Table struct {
	label   string
	list    []Tensor
	present map[string]bool
}

// NewTable returns the table of ts; label names the program in errors.
func NewTable(label string, ts []Tensor) *Table {
	return &Table{label: label, list: ts, present: map[string]bool{}}
}

// List returns the tensors (Program.Tensors).
func (t *Table) List() []Tensor { return t.list }

func (t *Table) find(name string) (Tensor, error) {
	for _, x := range t.list {
		if x.Name == name {
			return x, nil
		}
	}
	return Tensor{}, fmt.Errorf("%s: the program has no tensor %q", t.label, name)
}

// Set checks a Program.Set of x into name and records presence: write is
// false when x is nil for an optional tensor (which becomes absent), true
// when the caller must copy x in.
func (t *Table) Set(name string, x []float32) (write bool, err error) {
	d, err := t.find(name)
	if err != nil {
		return false, err
	}
	if x == nil && d.Optional {
		t.present[name] = false
		return false, nil
	}
	if len(x) != d.Len {
		return false, fmt.Errorf("%s: %s has %d values, want %d", t.label, name, len(x), d.Len)
	}
	if d.Optional {
		t.present[name] = true
	}
	return true, nil
}

// Get checks a Program.Get of name into dst: read is false for an absent
// optional tensor, true when the caller must copy it out.
func (t *Table) Get(name string, dst []float32) (read bool, err error) {
	d, err := t.find(name)
	if err != nil {
		return false, err
	}
	if d.Optional && !t.present[name] {
		return false, nil
	}
	if len(dst) != d.Len {
		return false, fmt.Errorf("%s: %s has %d values, destination %d", t.label, name, d.Len, len(dst))
	}
	return true, nil
}

// Present reports whether the optional tensor name has been written.
func (t *Table) Present(name string) bool { return t.present[name] }

// MarkPresent records that the update wrote the optional tensor name.
func (t *Table) MarkPresent(name string) { t.present[name] = true }
