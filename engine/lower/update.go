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
// the value (an upload when it changes).
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
		switch op.Kind {
		case graph.Fill:
			continue
		case graph.Axpby:
			b, err := get(op, op.Out, op.X)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			out = append(out, Launch{Kernel: kernels.ColSumF32, Grid: kernels.ColSumGrid(n), Block: kernels.Dim3{X: 32, Y: 8, Z: 1},
				Args: []Arg{{Value: int32(1)}, {Value: int32(n)}, {Value: op.Alpha}, bufArg(b[1]), {Value: op.Beta}, bufArg(b[0])},
				Note: op.Note})
		case graph.SGD:
			b, err := get(op, op.Out, op.Vel, op.Grad)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			out = append(out, Launch{Kernel: kernels.SGDUpdateF32, Grid: kernels.ElementwiseGrid(n), Block: elementwise,
				Args: []Arg{{Value: int32(n)}, bufArg(b[0]), bufArg(b[1]), bufArg(b[2]), {Value: op.LR}, {Value: op.Momentum}, {Value: op.Decay}},
				Note: op.Note})
		case graph.ClampMin:
			b, err := get(op, op.Out)
			if err != nil {
				return nil, err
			}
			n := b[0].Len()
			out = append(out, Launch{Kernel: kernels.ClampMinF32, Grid: kernels.ElementwiseGrid(n), Block: elementwise,
				Args: []Arg{{Value: int32(n)}, bufArg(b[0]), {Value: op.Value}}, Note: op.Note})
		default:
			return nil, fmt.Errorf("lower: %s: unknown update op %d", op.Note, op.Kind)
		}
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
