// Package data loads training data for Boltzmann machines: the built-in
// bars-and-stripes patterns and IDX (MNIST, Fashion-MNIST; raw or gzip),
// NPY, NPZ and CSV files, into a Dataset of N samples × D float32 features,
// plus the preprocessing the trainers need (scaling to [0, 1], thresholded
// and stochastic binarisation, a seeded train/validation split) and a
// fingerprint for checkpoint metadata.
//
// Every bad input gives a one-line *Error naming the file, the position and
// what was expected; no input makes a loader panic, and header sizes are
// checked against the bytes available before anything is allocated.
package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Dataset is N samples of D features in row-major order:
//
//	X[i*D + j] = feature j of sample i,   0 ≤ i < N, 0 ≤ j < D
//
// Labels, when present, has one class per sample; Shape, when known, is the
// per-sample image shape (product = D), e.g. [28 28] for MNIST.
type Dataset struct {
	Name   string    // e.g. "bas:4x4" or the file path
	N, D   int       // samples, features per sample
	X      []float32 // N*D, row-major
	Labels []int     // len N, or nil
	Shape  []int     // per-sample image shape when known, else nil
}

// Array is an n-dimensional array in C (row-major) order as read from an
// IDX, NPY or NPZ file: len(Data) = product of Shape (1 for a scalar,
// Shape = []). Every element type is converted to float32.
type Array struct {
	Shape []int
	Data  []float32
}

// Row returns sample i as a slice of X (length D, not a copy; its capacity
// is capped so appending to it cannot overwrite sample i+1).
func (d *Dataset) Row(i int) []float32 {
	return d.X[i*d.D : (i+1)*d.D : (i+1)*d.D]
}

// arrayDataset views an array of rank ≥ 2 as a Dataset: N = Shape[0],
// D = product of the rest; Shape = Shape[1:] when rank ≥ 3 (an image shape),
// nil for a plain samples × features matrix.
func arrayDataset(a Array, name string) (*Dataset, error) {
	if len(a.Shape) < 2 {
		return nil, errorf(name, "array shape %v has rank %d, want (samples, features) or (samples, rows, cols, ...)", a.Shape, len(a.Shape))
	}
	n := a.Shape[0]
	if n == 0 {
		return nil, errorf(name, "array shape %v has no samples", a.Shape)
	}
	dim := len(a.Data) / n
	if dim == 0 {
		return nil, errorf(name, "array shape %v has no features per sample", a.Shape)
	}
	ds := &Dataset{Name: name, N: n, D: dim, X: a.Data}
	if len(a.Shape) >= 3 {
		ds.Shape = append([]int(nil), a.Shape[1:]...)
	}
	return ds, nil
}

// maxExactInt is the largest integer every float32 up to which is exact.
const maxExactInt = 1 << 24

// arrayLabels converts a rank-1 (or N×1) array of integer values to labels.
func arrayLabels(a Array, name string) ([]int, error) {
	if !(len(a.Shape) == 1 || (len(a.Shape) == 2 && a.Shape[1] == 1)) {
		return nil, errorf(name, "labels shape %v, want (N,) or (N, 1)", a.Shape)
	}
	labels := make([]int, len(a.Data))
	for i, v := range a.Data {
		if v != float32(math.Trunc(float64(v))) || math.Abs(float64(v)) > maxExactInt {
			return nil, errorf(name, "element %d: %v is not an integer label", i, v)
		}
		labels[i] = int(v)
	}
	return labels, nil
}

// ScaleTo01 maps every value linearly to [0, 1] using the minimum and maximum
// over the whole data set (not per feature, so relative intensities are
// kept):
//
//	x ← (x − min) / (max − min)
//
// For uint8 images whose values span 0..255 (MNIST, Fashion-MNIST) this is
// x/255; images that never reach 0 or 255 are stretched to the full range.
// Constant data (max = min) becomes all zeros rather than NaN. The arithmetic
// is done in float64 so x/255 rounds exactly once.
func (d *Dataset) ScaleTo01() {
	if len(d.X) == 0 {
		return
	}
	lo, hi := d.X[0], d.X[0]
	for _, v := range d.X {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if lo == hi {
		clear(d.X)
		return
	}
	l, span := float64(lo), float64(hi)-float64(lo)
	for i, v := range d.X {
		d.X[i] = float32((float64(v) - l) / span)
	}
}

// Binarize sets every value to 1 when x ≥ threshold and to 0 otherwise
// (values equal to the threshold become 1).
func (d *Dataset) Binarize(threshold float32) {
	for i, v := range d.X {
		if v >= threshold {
			d.X[i] = 1
		} else {
			d.X[i] = 0
		}
	}
}

// BinarizeOp is the Philox op id of the stream drawn by BinarizeStochastic.
const BinarizeOp = 0xB1A5

// BinarizeStochastic replaces every value x (a probability, 0 ≤ x ≤ 1) by a
// Bernoulli(x) sample:
//
//	x_i ← 1 if u_i < x_i else 0,  u_i = kernels.Stream{Seed: seed, Op: 0xB1A5}.Uniform(i)
//
// so the result depends only on the seed and is the same on every machine
// and backend. Values outside [0, 1] (or NaN) are an error and leave d
// unchanged; call ScaleTo01 first for raw pixel data.
func (d *Dataset) BinarizeStochastic(seed uint64) error {
	for i, v := range d.X {
		if !(v >= 0 && v <= 1) {
			return errorf(d.Name, "%s: value %v is outside [0, 1], want probabilities (call ScaleTo01 first)", elemPos(int64(i), d.D), v)
		}
	}
	s := kernels.Stream{Seed: seed, Op: BinarizeOp, Step: 0}
	// One Philox block gives the uniforms of elements 4b … 4b+3, the same
	// words Uniform(i) would compute one at a time (4× fewer Philox calls).
	for b := 0; 4*b < len(d.X); b++ {
		w := s.Block(uint32(b))
		for j := 0; j < 4 && 4*b+j < len(d.X); j++ {
			i := 4*b + j
			if kernels.ToUniform(w[j]) < d.X[i] {
				d.X[i] = 1
			} else {
				d.X[i] = 0
			}
		}
	}
	return nil
}

// SplitOp is the Philox op id of the stream driving Split's shuffle.
const SplitOp = 0x5917

// Split shuffles the samples with a seeded Fisher–Yates shuffle and returns
// the first N − nVal of the permutation as train and the last nVal as val,
// where nVal = round(valFraction · N). Labels follow their samples; Shape is
// kept. valFraction must be in [0, 1) and leave at least one training
// sample; valFraction = 0 gives an empty (N = 0) val. Both results are
// copies, so d can be dropped afterwards.
//
// The shuffle draws j = u_i mod (i+1) for i = N−1 … 1 with
// u_i = kernels.Stream{Seed: seed, Op: 0x5917}.Uint64(i); it is reproducible
// across Go versions and machines (math/rand's shuffle is not promised to
// be), and with 64-bit draws the modulo bias is below 2^-30 for any N that
// fits in memory.
func (d *Dataset) Split(valFraction float64, seed uint64) (train, val *Dataset, err error) {
	if !(valFraction >= 0 && valFraction < 1) {
		return nil, nil, errorf(d.Name, "split: validation fraction %v, want a value in [0, 1)", valFraction)
	}
	nVal := int(math.Round(valFraction * float64(d.N)))
	if d.N-nVal < 1 {
		return nil, nil, errorf(d.Name, "split: validation fraction %v of %d samples leaves no training samples", valFraction, d.N)
	}
	perm := make([]int, d.N)
	for i := range perm {
		perm[i] = i
	}
	s := kernels.Stream{Seed: seed, Op: SplitOp, Step: 0}
	for i := d.N - 1; i > 0; i-- {
		j := int(s.Uint64(uint64(i)) % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	train = d.subset(perm[:d.N-nVal], d.Name+"[train]")
	val = d.subset(perm[d.N-nVal:], d.Name+"[val]")
	return train, val, nil
}

// subset copies the samples idx (in that order) into a new Dataset.
func (d *Dataset) subset(idx []int, name string) *Dataset {
	s := &Dataset{Name: name, N: len(idx), D: d.D, X: make([]float32, len(idx)*d.D)}
	if d.Shape != nil {
		s.Shape = append([]int(nil), d.Shape...)
	}
	if d.Labels != nil {
		s.Labels = make([]int, len(idx))
	}
	for k, i := range idx {
		copy(s.X[k*d.D:(k+1)*d.D], d.Row(i))
		if d.Labels != nil {
			s.Labels[k] = d.Labels[i]
		}
	}
	return s
}

// Fingerprint returns the first 16 hex digits (64 bits) of
//
//	SHA-256( uint64le(N) ‖ uint64le(D) ‖ float32le(X[0]) ‖ … ‖ float32le(X[N·D−1]) )
//
// identifying the exact values (after any preprocessing) a model was trained
// on, for checkpoint metadata. Name, Labels and Shape do not enter it.
func (d *Dataset) Fingerprint() string {
	h := sha256.New()
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[0:], uint64(d.N))
	binary.LittleEndian.PutUint64(hdr[8:], uint64(d.D))
	h.Write(hdr[:])
	buf := make([]byte, 0, 4096)
	for _, v := range d.X {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// String describes d in one line, e.g. "bas:4x4: 30 samples × 16 features".
func (d *Dataset) String() string {
	s := fmt.Sprintf("%s: %d samples × %d features", d.Name, d.N, d.D)
	if d.Shape != nil {
		s += fmt.Sprintf(" (shape %v)", d.Shape)
	}
	if d.Labels != nil {
		s += ", labelled"
	}
	return s
}
