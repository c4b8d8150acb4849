package lower

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// UpdateLaunches lowers the update ops of a step (graph.Updates) to
// launches of the table, resolving tensor names with buf: Axpby to
// col_sum_f32 over one row (out = α·x + β·out), SGD to sgd_update_f32,
// ClampMin to clamp_min_f32. Fill ops have no launch: the executor writes
// the value (an upload when it changes). Adam has no kernel yet: a step
// with an Adam parameter is refused (run it on the tape executor).
func UpdateLaunches(ops []graph.UpdateOp, buf func(name string) *Buffer) ([]Launch, error) {
	var out []Launch
	get := func(op graph.UpdateOp, names ...string) ([]*Buffer, error) {
		bs := make([]*Buffer, len(names))
		for i, n := range names {
			if bs[i] = buf(n); bs[i] == nil {
				return nil, fmt.Errorf("lower: %s: no buffer %q", op.Note, n)
			}
			if bs[i].Len() != bs[0].Len() {
				return nil, fmt.Errorf("lower: %s: %s has %d values, %s %d", op.Note, n, bs[i].Len(), names[0], bs[0].Len())
			}
		}
		return bs, nil
	}
	elementwise := kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}
	for _, op := range ops {
		var l Launch
		switch op.Kind {
		case graph.Fill:
			continue
		case graph.Axpby:
			b, err := get(op, op.Out, op.X)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			n32, err := i32(kernels.ColSumF32, "N", n)
			if err != nil {
				return nil, fmt.Errorf("lower: %s: %w", op.Note, err)
			}
			a := &kernels.ColSumF32Args{M: 1, N: n32, Alpha: op.Alpha, Beta: op.Beta}
			l = Launch{Kernel: kernels.ColSumF32, Grid: kernels.ColSumGrid(n), Block: kernels.Dim3{X: 32, Y: 8, Z: 1}, Args: a,
				Bind: []Bind{{&a.X, b[1]}, {&a.Out, b[0]}}}
		case graph.SGD:
			b, err := get(op, op.Out, op.Vel, op.Grad)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			n32, err := i32(kernels.SGDUpdateF32, "n", n)
			if err != nil {
				return nil, fmt.Errorf("lower: %s: %w", op.Note, err)
			}
			a := &kernels.SGDUpdateF32Args{N: n32, Lr: op.LR, Momentum: op.Momentum, WeightDecay: op.Decay}
			l = Launch{Kernel: kernels.SGDUpdateF32, Grid: kernels.ElementwiseGrid(n), Block: elementwise, Args: a,
				Bind: []Bind{{&a.Param, b[0]}, {&a.Vel, b[1]}, {&a.Grad, b[2]}}}
		case graph.Adam:
			return nil, fmt.Errorf("lower: %s: the Adam update (graph.Adam) has no kernel; run this step on the tape executor", op.Note)
		case graph.ClampMin:
			b, err := get(op, op.Out)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			n32, err := i32(kernels.ClampMinF32, "n", n)
			if err != nil {
				return nil, fmt.Errorf("lower: %s: %w", op.Note, err)
			}
			a := &kernels.ClampMinF32Args{N: n32, Lo: op.Value}
			l = Launch{Kernel: kernels.ClampMinF32, Grid: kernels.ElementwiseGrid(n), Block: elementwise, Args: a,
				Bind: []Bind{{&a.X, b[0]}}}
		case graph.L1:
			b, err := get(op, op.Out, op.Grad)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			n32, err := i32(kernels.L1GradF32, "n", n)
			if err != nil {
				return nil, fmt.Errorf("lower: %s: %w", op.Note, err)
			}
			a := &kernels.L1GradF32Args{N: n32, L1: op.Value}
			l = Launch{Kernel: kernels.L1GradF32, Grid: kernels.ElementwiseGrid(n), Block: elementwise, Args: a,
				Bind: []Bind{{&a.G, b[1]}, {&a.X, b[0]}}}
		default:
			return nil, fmt.Errorf("lower: %s: unknown update op %d", op.Note, op.Kind)
		}
		l.Note = op.Note
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("lower: %s: %w", op.Note, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Align is the byte alignment of every buffer in a Layout: cudaMalloc's,
// so that every buffer is coalescing-friendly.
const Align = 256

// Layout places bufs one after another in a single allocation, each at a
// multiple of Align bytes: a pure function of the buffers' sizes and
// order. It returns each buffer's byte offset and the total size.
func Layout(bufs []*Buffer) (offsets map[*Buffer]int, total int) {
	offsets = make(map[*Buffer]int, len(bufs))
	for _, b := range bufs {
		offsets[b] = total
		total += (4*b.Len() + Align - 1) / Align * Align
	}
	return offsets, total
}
