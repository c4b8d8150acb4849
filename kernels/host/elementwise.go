package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The elementwise kernels (elementwise.cu) are grid-stride loops: every
// element is independent, so the grid does not matter and the host splits
// n into fixed chunks run in parallel.

// elemChunk is the elements per task: a multiple of 4 (a Philox block), big
// enough that the task counter is noise.
const elemChunk = 1 << 14

type elemKind uint8

const (
	elemSGD elemKind = iota
	elemBernoulli
	elemPhilox
)

// elemJob is one elementwise launch.
type elemJob struct {
	d                   *Driver
	kind                elemKind
	n                   int
	param, vel, grad    []float32
	lr, momentum, decay float32
	P, S, U             []float32
	W                   []uint32
	rng                 kernels.Stream
	ctr                 counter
}

func (j *elemJob) run(int) {
	tasks := (j.n + elemChunk - 1) / elemChunk
	for t := j.ctr.take(tasks); t >= 0; t = j.ctr.take(tasks) {
		lo, hi := t*elemChunk, min((t+1)*elemChunk, j.n)
		switch j.kind {
		case elemSGD:
			sgdUpdate(j.param[lo:hi], j.vel[lo:hi], j.grad[lo:hi], j.lr, j.momentum, j.decay)
		case elemBernoulli:
			bernoulliRun(j.P[lo:hi], j.S[lo:hi], j.rng, uint64(lo))
		case elemPhilox:
			var ph philoxRun
			ph.init(j.rng, uint64(lo))
			for i := lo; i < hi; i++ {
				w := ph.word(uint64(i))
				if j.U != nil {
					j.U[i] = float32(w>>8) * (1.0 / 16777216.0)
				}
				if j.W != nil {
					j.W[i] = w
				}
			}
		}
	}
}

// runElem runs the prepared elementwise job, in parallel when it is big
// enough to pay for waking the workers.
func (d *Driver) runElem() {
	j := &d.ew
	j.ctr.reset()
	if j.n <= elemChunk {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	j.param, j.vel, j.grad, j.P, j.S, j.U, j.W = nil, nil, nil, nil, nil, nil, nil
}

func (d *Driver) launchSGD(a *kernels.SGDUpdateF32Args) error {
	const name = kernels.SGDUpdateF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	j := &d.ew
	var err error
	if j.param, err = d.floats(name, "param", a.Param, n); err != nil {
		return err
	}
	if j.vel, err = d.floats(name, "vel", a.Vel, n); err != nil {
		return err
	}
	if j.grad, err = d.floats(name, "grad", a.Grad, n); err != nil {
		return err
	}
	j.kind, j.n = elemSGD, n
	j.lr, j.momentum, j.decay = a.Lr, a.Momentum, a.WeightDecay
	d.runElem()
	return nil
}

func (d *Driver) launchL1Grad(a *kernels.L1GradF32Args) error {
	const name = kernels.L1GradF32
	if err := dims(name, a.N); err != nil {
		return err
	}
	g, err := d.floats(name, "G", a.G, int(a.N))
	if err != nil {
		return err
	}
	x, err := d.floats(name, "X", a.X, int(a.N))
	if err != nil {
		return err
	}
	kernels.L1Grad(g, x, a.L1)
	return nil
}

func (d *Driver) launchBernoulli(a *kernels.BernoulliF32Args) error {
	const name = kernels.BernoulliF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	j := &d.ew
	var err error
	if j.P, err = d.floats(name, "P", a.P, n); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, n); err != nil {
		return err
	}
	j.kind, j.n = elemBernoulli, n
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	d.runElem()
	return nil
}

func (d *Driver) launchPhiloxFill(a *kernels.PhiloxFillF32Args) error {
	const name = kernels.PhiloxFillF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	j := &d.ew
	var err error
	// U and W may each be NULL: the kernel tests for it.
	if p := a.U; p != 0 {
		if j.U, err = d.floats(name, "U", p, n); err != nil {
			return err
		}
	}
	if p := a.W; p != 0 {
		if j.W, err = d.uint32s(name, "W", p, n); err != nil {
			return err
		}
	}
	j.kind, j.n = elemPhilox, n
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	d.runElem()
	return nil
}

// launchGatherRows copies row idx[r] of src to row r of dst, as
// gather_rows_f32; an index past the end of src is an error (on a GPU it
// would read outside the allocation).
func (d *Driver) launchGatherRows(a *kernels.GatherRowsF32Args) error {
	return d.gatherRows(kernels.GatherRowsF32, a.Rows, a.Cols, a.Idx, a.Dst, func(i uint32, dst []float32) error {
		src, err := d.floats(kernels.GatherRowsF32, "src", a.Src+kernels.DevicePtr(4*int(i)*len(dst)), len(dst))
		copy(dst, src)
		return err
	})
}

// launchGatherRowsU8 writes lut[code] for the cols codes of resident row
// idx[r] into row r of dst, as gather_rows_u8: the codes are bytes, four
// to a 32-bit word, least significant first. A row past the end of src is
// an error.
func (d *Driver) launchGatherRowsU8(a *kernels.GatherRowsU8Args) error {
	const name = kernels.GatherRowsU8
	lut, err := d.floats(name, "lut", a.Lut, 256)
	if err != nil {
		return err
	}
	return d.gatherRows(name, a.Rows, a.Cols, a.Idx, a.Dst, func(i uint32, dst []float32) error {
		e0 := int(i) * len(dst)
		w0, w1 := e0>>2, (e0+len(dst)+3)>>2
		words, err := d.uint32s(name, "src", a.Src+kernels.DevicePtr(4*w0), w1-w0)
		if err != nil {
			return err
		}
		for c := range dst {
			e := e0 + c - 4*w0
			dst[c] = lut[words[e>>2]>>(8*uint(e&3))&0xff]
		}
		return nil
	})
}

// launchGatherRowsBits writes bit c of resident row idx[r] as 0 or 1 into
// dst[r·cols + c], as gather_rows_bits: row q is wordsPerRow 32-bit words
// from word q·wordsPerRow, bit c in bit c%32 of word c/32. A row past the
// end of src, or fewer words per row than cols bits need, is an error.
func (d *Driver) launchGatherRowsBits(a *kernels.GatherRowsBitsArgs) error {
	const name = kernels.GatherRowsBits
	wpr := int(a.WordsPerRow)
	if a.Cols > 0 && wpr < (int(a.Cols)+31)/32 {
		return fmt.Errorf("%s: %d words per row hold fewer than %d bits", name, wpr, a.Cols)
	}
	return d.gatherRows(name, a.Rows, a.Cols, a.Idx, a.Dst, func(i uint32, dst []float32) error {
		words, err := d.uint32s(name, "src", a.Src+kernels.DevicePtr(4*int(i)*wpr), wpr)
		if err != nil {
			return err
		}
		for c := range dst {
			dst[c] = float32(words[c>>5] >> uint(c&31) & 1)
		}
		return nil
	})
}

// gatherRows is the loop of the gather kernels: for r < rows it calls row
// with idx[r] and row r of dst (cols values); an error of row names the
// row of the order.
func (d *Driver) gatherRows(name string, rows, cols int32, idxAt, dstAt kernels.DevicePtr, row func(i uint32, dst []float32) error) error {
	if err := dims(name, rows, cols); err != nil {
		return err
	}
	n, m := int(rows), int(cols)
	if n == 0 || m == 0 {
		return nil
	}
	idx, err := d.uint32s(name, "idx", idxAt, n)
	if err != nil {
		return err
	}
	dst, err := d.floats(name, "dst", dstAt, n*m)
	if err != nil {
		return err
	}
	for r, i := range idx {
		if err := row(i, dst[r*m:(r+1)*m]); err != nil {
			return fmt.Errorf("%w (row %d of the order is %d)", err, r, i)
		}
	}
	return nil
}
