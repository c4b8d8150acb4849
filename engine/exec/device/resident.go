package device

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// resident is a program of a Backend with Resident set: the training data
// and the epoch's order live in device memory next to the plan's
// allocation, and each step starts with gather_rows_f32 copying its
// mini-batch into v0. The copy is exact, so the steps compute the same bits
// as Step on the same rows.
type resident struct {
	*program
	data      kernels.DevicePtr // rows × visible float32
	rows      int
	order     kernels.DevicePtr // capacity orderCap uint32
	orderCap  int
	orderLen  int
	gatherArg kernels.GatherRowsF32Args
}

var _ exec.Resident = (*resident)(nil)

// SetData implements exec.Resident.
func (r *resident) SetData(rows []float32, n int) error {
	if r.closed {
		return r.closedErr()
	}
	if n < 1 || len(rows) != n*r.visible {
		return fmt.Errorf("%s: %d values for %d rows of %d", r.label, len(rows), n, r.visible)
	}
	if uint64(n) > 1<<32-1 {
		return fmt.Errorf("%s: %d rows: at most 2³²−1 rows can be resident", r.label, n)
	}
	if err := r.freeData(); err != nil {
		return err
	}
	p, err := r.drv.Alloc(4 * len(rows))
	if err != nil {
		return fmt.Errorf("%s: allocate the training data (%d×%d): %w", r.label, n, r.visible, err)
	}
	r.data, r.rows, r.orderLen = p, n, 0
	if err := r.drv.CopyHtoD(p, kernels.Float32Bytes(rows)); err != nil {
		return fmt.Errorf("%s: upload the training data: %w", r.label, err)
	}
	return nil
}

// SetOrder implements exec.Resident.
func (r *resident) SetOrder(order []int32) error {
	if r.closed {
		return r.closedErr()
	}
	if r.data == 0 {
		return fmt.Errorf("%s: SetOrder before SetData", r.label)
	}
	idx := make([]uint32, len(order))
	for i, v := range order {
		if v < 0 || int(v) >= r.rows {
			return fmt.Errorf("%s: order[%d] = %d is not a row of the %d resident rows", r.label, i, v, r.rows)
		}
		idx[i] = uint32(v)
	}
	if len(idx) > r.orderCap {
		if r.order != 0 {
			if err := r.drv.Free(r.order); err != nil {
				return fmt.Errorf("%s: free the order: %w", r.label, err)
			}
			r.order, r.orderCap = 0, 0
		}
		p, err := r.drv.Alloc(4 * len(idx))
		if err != nil {
			return fmt.Errorf("%s: allocate the order (%d rows): %w", r.label, len(idx), err)
		}
		r.order, r.orderCap = p, len(idx)
	}
	if err := r.drv.CopyHtoD(r.order, kernels.Uint32Bytes(idx)); err != nil {
		return fmt.Errorf("%s: upload the order: %w", r.label, err)
	}
	r.orderLen = len(idx)
	return nil
}

// StepOrdered implements exec.Resident.
func (r *resident) StepOrdered(first, n int, h graph.Hyper) error {
	if r.closed {
		return r.closedErr()
	}
	batches := r.orderLen / r.batch
	if r.data == 0 || r.orderLen == 0 {
		return fmt.Errorf("%s: StepOrdered before SetData and SetOrder", r.label)
	}
	if first < 0 || n < 1 || first+n > batches {
		return fmt.Errorf("%s: mini-batches %d…%d of an order of %d mini-batches of %d", r.label, first, first+n-1, batches, r.batch)
	}
	if r.gather.Args == nil {
		r.gatherArg = kernels.GatherRowsF32Args{Rows: int32(r.batch), Cols: int32(r.visible),
			Src: r.data, Dst: r.v0Home}
		r.gather = kernels.LaunchSpec{Grid: kernels.ElementwiseGrid(r.batch * r.visible),
			Block: kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}, Args: &r.gatherArg}
	}
	r.gatherArg.Src = r.data
	for i := 0; i < n; i++ {
		r.gatherArg.Idx = r.order + kernels.DevicePtr(4*(first+i)*r.batch)
		if err := r.run(h, true); err != nil {
			return err
		}
	}
	return nil
}

// freeData releases the resident rows and the order.
func (r *resident) freeData() error {
	var first error
	for _, p := range []*kernels.DevicePtr{&r.data, &r.order} {
		if *p != 0 {
			if err := r.drv.Free(*p); err != nil && first == nil {
				first = fmt.Errorf("%s: free resident data: %w", r.label, err)
			}
			*p = 0
		}
	}
	r.rows, r.orderCap, r.orderLen = 0, 0, 0
	return first
}

// Close implements exec.Program: the resident data, then the program.
func (r *resident) Close() error {
	if r.closed {
		return nil
	}
	r.dropRecording()
	err := r.freeData()
	if cerr := r.program.Close(); err == nil {
		err = cerr
	}
	return err
}
