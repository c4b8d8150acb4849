package graph

import (
	G "gorgonia.org/gorgonia"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Output is a named output node of a step graph.
type Output struct {
	Name string
	Node *G.Node
}

// Step is what every step graph (RBM, Gaussian RBM, Boltzmann machine)
// offers to the backends that run or lower it: the expression graph, the
// RNG its sampling ops share, and its outputs by name. Inputs are the
// graph's leaf nodes, known by their node names ("v0", "W", …).
type Step interface {
	ExprGraph() *G.ExprGraph
	Rand() *RNG
	NamedOutputs() []Output
}

// ExprGraph implements Step.
func (s *CDStep) ExprGraph() *G.ExprGraph { return s.Graph }

// Rand implements Step.
func (s *CDStep) Rand() *RNG { return s.RNG }

// NamedOutputs implements Step: GradW, GradVBias, GradHBias, HMean,
// ReconErr and, for PCD, NewChain.
func (s *CDStep) NamedOutputs() []Output {
	out := []Output{{"GradW", s.GradW}, {"GradVBias", s.GradVBias}, {"GradHBias", s.GradHBias},
		{"HMean", s.HMean}, {"ReconErr", s.ReconErr}}
	if s.NewChain != nil {
		out = append(out, Output{"NewChain", s.NewChain})
	}
	return out
}

// KernelLaunch is the single kernel launch that computes a custom op on a
// device: a kernel of the launch table in package kernels, its geometry,
// and its typed arguments with the scalars filled in. The pointer fields
// the lowering binds are named by address: Inputs[i] is the field that
// takes the op's input i (nil: the kernel does not read it), Output the
// field that takes the op's output buffer. Seed and Step, when the kernel
// samples, are the fields that take the graph RNG's seed and its step
// counter (known only at run time); nil otherwise.
type KernelLaunch struct {
	Grid, Block kernels.Dim3
	Args        kernels.Args
	Inputs      []*kernels.DevicePtr
	Output      *kernels.DevicePtr
	Seed, Step  *uint64
}

// KernelOp is implemented by custom graph ops that lower to one kernel
// launch. The op's Do is the CPU implementation; KernelLaunch gives the
// device one, which must compute the same function (the backends' tests
// compare them). in are the input shapes as rows×cols (vectors are one
// row, scalars 1×1); the output buffer has the node's shape.
type KernelOp interface {
	G.Op
	KernelLaunch(in [][2]int) (KernelLaunch, error)
}
