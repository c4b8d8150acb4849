package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// DefaultEncodeBatch is the number of rows an Encoder maps per batch when
// the caller gives none.
const DefaultEncodeBatch = 1024

// EncoderLayer is one sigmoid layer of a recognition pass: for inputs u
// (rows×In) it gives σ(u·W[:In] + C), rows×Out. W is row-major with at
// least In rows of Out weights (row i couples input i to the Out units);
// rows past In (the label units of a DBN's top RBM) are not read.
type EncoderLayer struct {
	In, Out int
	W       []float32 // ≥ In×Out, row-major
	C       []float32 // Out biases
}

// Encoder is the recognition pass of a trained model, the features that
// Transform returns: an input map, then sigmoid layers,
//
//	u = Input(x),   h¹ = σ(u W¹ + c¹),   hˡ = σ(hˡ⁻¹ Wˡ + cˡ),
//
// whose last layer's probabilities (n×Out) are the features. An RBM is one
// layer (p(h = 1 | v)), a Gaussian RBM one layer after its standardisation
// and precision scaling (Snapshot.Encoder), a DBN its stack (dbn.Encoder).
type Encoder struct {
	// Input maps n rows of x (n×V) to the first layer's inputs, writing
	// into dst when it is long enough (dst may be x); nil is the identity.
	Input  func(dst, x []float32, n int) []float32
	Layers []EncoderLayer
	// What names the model in errors, e.g. "RBM 784×500".
	What string
}

// Visible is the number of inputs per row, Layers[0].In.
func (e *Encoder) Visible() int { return e.Layers[0].In }

// Features is the number of features per row, the last layer's Out.
func (e *Encoder) Features() int { return e.Layers[len(e.Layers)-1].Out }

// validate checks that the layers chain and hold enough weights.
func (e *Encoder) validate() error {
	if len(e.Layers) == 0 {
		return errors.New("encoder: no layers")
	}
	for l, y := range e.Layers {
		switch {
		case y.In < 1 || y.Out < 1:
			return fmt.Errorf("encoder %s: layer %d is %d×%d", e.What, l, y.In, y.Out)
		case len(y.W) < y.In*y.Out || len(y.C) != y.Out:
			return fmt.Errorf("encoder %s: layer %d (%d×%d) has %d weights and %d biases", e.What, l, y.In, y.Out, len(y.W), len(y.C))
		case l > 0 && e.Layers[l-1].Out != y.In:
			return fmt.Errorf("encoder %s: layer %d has %d inputs, layer %d gives %d", e.What, l, y.In, l-1, e.Layers[l-1].Out)
		}
	}
	return nil
}

// Transform returns the features of the n rows of x (n×V) in dst (n×F,
// F = Features(); allocated when nil or too short), computed on b as
// Encode computes them.
func (e *Encoder) Transform(ctx context.Context, b Backend, dst, x []float32, n int) ([]float32, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	F := e.Features()
	if len(dst) < n*F {
		dst = make([]float32, n*F)
	}
	dst = dst[:n*F]
	err := e.Encode(ctx, b, x, n, 0, func(first, rows int, h []float32) error {
		copy(dst[first*F:], h)
		return nil
	})
	return dst, err
}

// Encode computes the features of the n rows of x (n×V) in batches of at
// most batch rows (0: DefaultEncodeBatch) and hands each batch to emit in
// order: rows first … first+rows−1 as a rows×F slice that is reused for
// the next batch. Memory beyond x is O(batch·max layer width + weights).
//
// On a backend with a kernel driver (nil means Host(), the CPU kernels;
// a GPU; the emulator) the weights are uploaded once and each batch is one
// upload, one gemm_f32 launch per layer with its epilogue fusing the bias
// and the sigmoid, and one download; the sums run in float32 in increasing
// k. The tape backend (CPU) computes the same formula with float32 loops
// (models.RBM.HiddenProbs). Both agree with a float64 evaluation to float32
// rounding. ctx is checked between batches.
func (e *Encoder) Encode(ctx context.Context, b Backend, x []float32, n, batch int, emit func(first, rows int, features []float32) error) error {
	if err := e.validate(); err != nil {
		return err
	}
	V := e.Visible()
	if n < 0 || len(x) < n*V {
		return fmt.Errorf("encoder %s: %d values for %d rows of %d", e.What, len(x), n, V)
	}
	if batch <= 0 {
		batch = DefaultEncodeBatch
	}
	batch = max(1, min(batch, n))
	if b == nil {
		b = Host()
	}
	run, done, err := e.runner(b, batch)
	if err != nil {
		return err
	}
	defer done()
	in := make([]float32, batch*V)
	for first := 0; first < n; first += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := min(batch, n-first)
		u := in[:rows*V]
		copy(u, x[first*V:(first+rows)*V])
		if e.Input != nil {
			u = e.Input(u, u, rows)
		}
		h, err := run(u, rows)
		if err != nil {
			return fmt.Errorf("encoder %s on %s: rows %d–%d: %w", e.What, b.Name(), first, first+rows-1, err)
		}
		if err := emit(first, rows, h); err != nil {
			return err
		}
	}
	return nil
}

// runner returns the function mapping rows×V inputs (already through
// Input) to rows×F features on b, for up to batch rows, and its release.
func (e *Encoder) runner(b Backend, batch int) (func(u []float32, rows int) ([]float32, error), func(), error) {
	drv, release, ok := b.KernelDriver()
	if !ok {
		return e.hostRunner(batch), func() {}, nil
	}
	run, free, err := e.driverRunner(drv, batch)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("encoder %s on %s: %w", e.What, b.Name(), err)
	}
	return run, func() { free(); release() }, nil
}

// hostRunner is the runner without a kernel driver: each layer as a
// models.RBM view of its first In rows.
func (e *Encoder) hostRunner(batch int) func(u []float32, rows int) ([]float32, error) {
	bufs := make([][]float32, len(e.Layers))
	for l, y := range e.Layers {
		bufs[l] = make([]float32, batch*y.Out)
	}
	return func(u []float32, rows int) ([]float32, error) {
		for l, y := range e.Layers {
			m := &models.RBM{V: y.In, H: y.Out, W: y.W[:y.In*y.Out], HBias: y.C}
			u = m.HiddenProbs(bufs[l], u, rows)
		}
		return u, nil
	}
}

// driverRunner is the runner on a kernel driver: one allocation holding
// every layer's weights and biases, the input batch and two activation
// buffers used in turn.
func (e *Encoder) driverRunner(drv kernels.Driver, batch int) (func(u []float32, rows int) ([]float32, error), func(), error) {
	width := 0
	sizes := []int{batch * e.Visible()}
	for _, y := range e.Layers {
		width = max(width, y.Out)
		sizes = append(sizes, y.In*y.Out, y.Out)
	}
	sizes = append(sizes, batch*width, batch*width)
	off, total := kernels.Float32Offsets(sizes)
	base, err := drv.Alloc(total)
	if err != nil {
		return nil, nil, fmt.Errorf("allocate %d bytes: %w", total, err)
	}
	free := func() { drv.Free(base) }
	ptr := func(i int) kernels.DevicePtr { return base + off[i] }
	for l, y := range e.Layers {
		for k, t := range [][]float32{y.W[:y.In*y.Out], y.C} {
			if err := drv.CopyHtoD(ptr(1+2*l+k), kernels.Float32Bytes(t)); err != nil {
				free()
				return nil, nil, fmt.Errorf("upload layer %d: %w", l, err)
			}
		}
	}
	act := [2]int{len(sizes) - 2, len(sizes) - 1}
	out := make([]float32, batch*e.Features())
	run := func(u []float32, rows int) ([]float32, error) {
		if err := drv.CopyHtoD(ptr(0), kernels.Float32Bytes(u)); err != nil {
			return nil, err
		}
		src := 0
		for l, y := range e.Layers {
			dst := act[l%2]
			err := drv.Launch(kernels.GemmGrid(rows, y.Out), kernels.Dim3{X: kernels.GemmTile, Y: kernels.GemmTile, Z: 1},
				&kernels.GemmF32Args{M: int32(rows), N: int32(y.Out), K: int32(y.In), Alpha: 1, A: ptr(src), B: ptr(1 + 2*l),
					Flags: kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmNoC, Bias: ptr(2 + 2*l), P: ptr(dst)})
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", l, err)
			}
			src = dst
		}
		if err := drv.Synchronize(); err != nil {
			return nil, err
		}
		h := out[:rows*e.Features()]
		if err := drv.CopyDtoH(kernels.Float32Bytes(h), ptr(src)); err != nil {
			return nil, err
		}
		return h, nil
	}
	return run, free, nil
}
