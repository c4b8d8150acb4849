package device

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// resident is a program of a Backend with Resident set: the training data
// and the epoch's order live in device memory next to the plan's
// allocation, and each step starts with a gather kernel writing its
// mini-batch into v0 as float32: gather_rows_f32 from float32 rows,
// gather_rows_u8 from uint8 codes and their table, gather_rows_bits from
// bit-packed rows. Each is a copy or a table lookup, so the steps compute
// the same bits as Step on the same rows.
type resident struct {
	*program
	form     residentForm
	data     kernels.DevicePtr // the rows: rows × visible float32, codes (4 a word) or bits
	lut      kernels.DevicePtr // form u8: the 256 codes' float32 values
	rows     int
	order    kernels.DevicePtr // capacity orderCap uint32
	orderCap int
	orderLen int
	wpr32    int // form bits: 32-bit words per row
	gatherF  kernels.GatherRowsF32Args
	gatherU  kernels.GatherRowsU8Args
	gatherB  kernels.GatherRowsBitsArgs
}

// residentForm is how the resident rows are stored.
type residentForm int

const (
	formF32 residentForm = iota
	formU8
	formBits
)

var _ exec.CompactResident = (*resident)(nil)

// SetData implements exec.Resident.
func (r *resident) SetData(rows []float32, n int) error {
	if len(rows) != n*r.visible {
		return fmt.Errorf("%s: %d values for %d rows of %d", r.label, len(rows), n, r.visible)
	}
	return r.upload(formF32, kernels.Float32Bytes(rows), n, 0, nil)
}

// SetCodes implements exec.CompactResident.
func (r *resident) SetCodes(codes []uint8, lut []float32, n int) error {
	if len(codes) != n*r.visible || len(lut) != 256 {
		return fmt.Errorf("%s: %d codes and a table of %d values for %d rows of %d (want 256 values)",
			r.label, len(codes), len(lut), n, r.visible)
	}
	// The kernel reads the codes as 32-bit words: pad to a whole word.
	padded := codes
	if len(codes)%4 != 0 {
		padded = make([]byte, (len(codes)+3)/4*4)
		copy(padded, codes)
	}
	return r.upload(formU8, padded, n, 0, lut)
}

// SetBits implements exec.CompactResident.
func (r *resident) SetBits(words []uint64, wordsPerRow, n int) error {
	if wordsPerRow < (r.visible+63)/64 || len(words) != n*wordsPerRow {
		return fmt.Errorf("%s: %d words of %d per row for %d rows of %d bits", r.label, len(words), wordsPerRow, n, r.visible)
	}
	if 2*wordsPerRow > math.MaxInt32 {
		return fmt.Errorf("%s: %d words per row is too many", r.label, wordsPerRow)
	}
	return r.upload(formBits, kernels.Uint64Bytes(words), n, 2*wordsPerRow, nil)
}

// upload replaces the resident rows by n rows of the given form (raw their
// bytes; wpr32 words per row for bits; lut the table for codes).
func (r *resident) upload(form residentForm, raw []byte, n, wpr32 int, lut []float32) error {
	if r.closed {
		return r.closedErr()
	}
	if n < 1 {
		return fmt.Errorf("%s: %d rows: want at least one", r.label, n)
	}
	if uint64(n) > 1<<32-1 {
		return fmt.Errorf("%s: %d rows: at most 2³²−1 rows can be resident", r.label, n)
	}
	if err := r.freeData(); err != nil {
		return err
	}
	// The gather launch changes with the form: record the step anew.
	r.dropRecording()
	r.gather.Args = nil
	p, err := r.drv.Alloc(len(raw))
	if err != nil {
		return fmt.Errorf("%s: allocate the training data (%d×%d, %d bytes): %w", r.label, n, r.visible, len(raw), err)
	}
	r.data, r.rows, r.orderLen, r.form, r.wpr32 = p, n, 0, form, wpr32
	if err := r.drv.CopyHtoD(p, raw); err != nil {
		return fmt.Errorf("%s: upload the training data: %w", r.label, err)
	}
	if lut != nil {
		if r.lut, err = r.drv.Alloc(4 * len(lut)); err != nil {
			return fmt.Errorf("%s: allocate the code table: %w", r.label, err)
		}
		if err := r.drv.CopyHtoD(r.lut, kernels.Float32Bytes(lut)); err != nil {
			return fmt.Errorf("%s: upload the code table: %w", r.label, err)
		}
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
		r.gather = kernels.LaunchSpec{Grid: kernels.ElementwiseGrid(r.batch * r.visible),
			Block: kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}}
		rows, cols := int32(r.batch), int32(r.visible)
		switch r.form {
		case formU8:
			r.gatherU = kernels.GatherRowsU8Args{Rows: rows, Cols: cols, Src: r.data, Lut: r.lut, Dst: r.v0Home}
			r.gather.Args = &r.gatherU
		case formBits:
			r.gatherB = kernels.GatherRowsBitsArgs{Rows: rows, Cols: cols, WordsPerRow: int32(r.wpr32), Src: r.data, Dst: r.v0Home}
			r.gather.Args = &r.gatherB
		default:
			r.gatherF = kernels.GatherRowsF32Args{Rows: rows, Cols: cols, Src: r.data, Dst: r.v0Home}
			r.gather.Args = &r.gatherF
		}
	}
	for i := 0; i < n; i++ {
		idx := r.order + kernels.DevicePtr(4*(first+i)*r.batch)
		r.gatherF.Idx, r.gatherU.Idx, r.gatherB.Idx = idx, idx, idx
		if err := r.run(h, true); err != nil {
			return err
		}
	}
	return nil
}

// freeData releases the resident rows and the order.
func (r *resident) freeData() error {
	var first error
	for _, p := range []*kernels.DevicePtr{&r.data, &r.lut, &r.order} {
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
