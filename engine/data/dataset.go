// Package data loads training data for Boltzmann machines: the built-in
// bars-and-stripes patterns and IDX (MNIST, Fashion-MNIST; raw or gzip),
// NPY, NPZ and CSV files, into a Dataset of N samples × D features, plus the
// preprocessing the trainers need (scaling to [0, 1], thresholded and
// stochastic binarisation, a seeded train/validation split) and a
// fingerprint for checkpoint metadata.
//
// Values are float32 to every reader (Row, RowTo, Gather, CopyRows), but
// are held compactly where that loses nothing: unsigned-byte files (IDX
// images, NPY |u1) as one uint8 code per value with a table of the codes'
// values (so ScaleTo01 only rewrites the table), binarised data as one bit
// per value, and the parts of a Split as row indices into one shared
// storage (compact.go).
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

// Dataset is N samples of D features in row-major order: feature j of
// sample i (0 ≤ i < N, 0 ≤ j < D) is
//
//	X[i*D + j]                      when the values are held as float32,
//	RowTo(dst, i)[j]                for every storage (see Storage).
//
// A Dataset built from a []float32 (X set, nothing else) holds float32;
// Load holds unsigned-byte files as uint8 codes, Binarize and
// BinarizeStochastic make bits, and Split makes views; then X is nil.
// Labels, when present, has one class per sample; Shape, when known, is the
// per-sample image shape (product = D), e.g. [28 28] for MNIST.
type Dataset struct {
	Name   string    // e.g. "bas:4x4" or the file path
	N, D   int       // samples, features per sample
	X      []float32 // N*D, row-major, when held as float32 and not a view; else nil
	Labels []int     // len N, or nil
	Shape  []int     // per-sample image shape when known, else nil

	st   *store       // compact or shared storage; nil when X holds the values
	rows []int        // a view's rows: sample i is storage row rows[i]; nil: row i
	lut  [256]float32 // uint8 storage: the value of each code
}

// Array is an n-dimensional array in C (row-major) order as read from an
// IDX, NPY or NPZ file: len(Data) = product of Shape (1 for a scalar,
// Shape = []). Every element type is converted to float32.
type Array struct {
	Shape []int
	Data  []float32
	codes *store // unsigned bytes kept as codes by the data set loaders (Data nil)
}

// Row returns sample i as float32 values (length D). When the values are
// held as float32 it is part of the storage, not a copy (its capacity is
// capped so appending to it cannot overwrite sample i+1); otherwise it is a
// new slice. Hot loops use RowTo, which allocates nothing.
func (d *Dataset) Row(i int) []float32 {
	D := d.D
	switch {
	case d.st == nil:
		return d.X[i*D : (i+1)*D : (i+1)*D]
	case d.st.f32 != nil:
		r := d.srcRow(i)
		return d.st.f32[r*D : (r+1)*D : (r+1)*D]
	}
	return d.RowTo(make([]float32, D), i)
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
	if a.codes != nil {
		dim = len(a.codes.u8) / n
	}
	if dim == 0 {
		return nil, errorf(name, "array shape %v has no features per sample", a.Shape)
	}
	var ds *Dataset
	if a.codes != nil {
		ds = codesView(a.codes, n, dim, name)
	} else {
		ds = &Dataset{Name: name, N: n, D: dim, X: a.Data}
	}
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
// is done in float64 so x/255 rounds exactly once. Data held as uint8 codes
// keep their codes: only the table of the 256 codes' values is mapped, which
// gives every value the same bits as mapping it.
func (d *Dataset) ScaleTo01() {
	if d.N == 0 || d.D == 0 {
		return
	}
	lo, hi := d.Range()
	if d.Storage() == "bits" && lo == 0 && hi == 1 {
		return // already [0, 1]: the map is the identity
	}
	scale := func(v float32) float32 {
		if lo == hi {
			return 0
		}
		return float32((float64(v) - float64(lo)) / (float64(hi) - float64(lo)))
	}
	if d.Storage() == "uint8" {
		for c, v := range d.lut {
			d.lut[c] = scale(v)
		}
		return
	}
	d.own()
	for i, v := range d.X {
		d.X[i] = scale(v)
	}
}

// Binarize sets every value to 1 when x ≥ threshold and to 0 otherwise
// (values equal to the threshold become 1). The result is held as bits.
func (d *Dataset) Binarize(threshold float32) {
	if d.Storage() == "uint8" {
		var on [256]bool
		for c, v := range d.lut {
			on[c] = v >= threshold
		}
		codes := d.st.u8
		d.packBits(func(i int, _ []float32, j int) bool { return on[codes[d.srcRow(i)*d.D+j]] })
		return
	}
	d.packBits(func(_ int, row []float32, j int) bool { return row[j] >= threshold })
}

// BinarizeOp is the Philox op id of the stream drawn by BinarizeStochastic.
const BinarizeOp = 0xB1A5

// BinarizeStochastic replaces every value x (a probability, 0 ≤ x ≤ 1) by a
// Bernoulli(x) sample:
//
//	x_i ← 1 if u_i < x_i else 0,  u_i = kernels.Stream{Seed: seed, Op: 0xB1A5}.Uniform(i)
//
// (i = sample·D + feature) so the result depends only on the seed and is the
// same on every machine and backend; it is held as bits. Values outside
// [0, 1] (or NaN) are an error and leave d unchanged; call ScaleTo01 first
// for raw pixel data.
func (d *Dataset) BinarizeStochastic(seed uint64) error {
	row := make([]float32, d.D)
	for r := range d.N {
		for j, v := range d.RowTo(row, r) {
			if !(v >= 0 && v <= 1) {
				return errorf(d.Name, "%s: value %v is outside [0, 1], want probabilities (call ScaleTo01 first)", elemPos(int64(r)*int64(d.D)+int64(j), d.D), v)
			}
		}
	}
	s := kernels.Stream{Seed: seed, Op: BinarizeOp, Step: 0}
	// One Philox block gives the uniforms of elements 4b … 4b+3, the same
	// words Uniform(i) would compute one at a time (4× fewer Philox calls).
	var w [4]uint32
	d.packBits(func(r int, row []float32, j int) bool {
		i := r*d.D + j
		if i%4 == 0 || j == 0 {
			w = s.Block(uint32(i / 4))
		}
		return kernels.ToUniform(w[i%4]) < row[j]
	})
	return nil
}

// SplitOp is the Philox op id of the stream driving Split's shuffle.
const SplitOp = 0x5917

// Split shuffles the samples with a seeded Fisher–Yates shuffle and returns
// the first N − nVal of the permutation as train and the last nVal as val,
// where nVal = round(valFraction · N). Labels follow their samples; Shape is
// kept. valFraction must be in [0, 1) and leave at least one training
// sample; valFraction = 0 gives an empty (N = 0) val. Both results are views
// of d's storage (row indices; labels are copied), so no value is copied and
// d can be dropped afterwards; preprocessing a view later changes only the
// view.
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

// subset is a view of the samples idx (in that order): it shares d's
// storage and holds storage row numbers, idx itself when d is not a view.
func (d *Dataset) subset(idx []int, name string) *Dataset {
	s := &Dataset{Name: name, N: len(idx), D: d.D, st: d.st, lut: d.lut, rows: idx}
	if d.st == nil {
		s.st = &store{f32: d.X}
	}
	if d.rows != nil {
		s.rows = make([]int, len(idx))
		for k, i := range idx {
			s.rows[k] = d.rows[i]
		}
	}
	if d.Shape != nil {
		s.Shape = append([]int(nil), d.Shape...)
	}
	if d.Labels != nil {
		s.Labels = make([]int, len(idx))
		for k, i := range idx {
			s.Labels[k] = d.Labels[i]
		}
	}
	return s
}

// Fingerprint returns 16 hex digits (64 bits) identifying the exact values
// (after any preprocessing) a model was trained on, for checkpoint
// metadata; Name, Labels and Shape do not enter it. For values held as
// float32 it is ValueFingerprint. For compact storage it is computed from
// the compact bytes, whose SHA-256 was taken as they were loaded or packed,
// so it costs next to nothing: the first 16 hex digits of
//
//	SHA-256( "rbmgpu/data/uint8" ‖ uint64le(N) ‖ uint64le(D) ‖ SHA-256(codes) ‖ float32le(table[0…255]) ‖ rows )
//	SHA-256( "rbmgpu/data/bits"  ‖ uint64le(N) ‖ uint64le(D) ‖ SHA-256(uint64le(words)) ‖ rows )
//
// where rows is the uint64le storage row of every sample of a Split view and
// empty otherwise.
func (d *Dataset) Fingerprint() string {
	kind := d.Storage()
	if kind == "float32" {
		return d.ValueFingerprint()
	}
	h := sha256.New()
	h.Write([]byte("rbmgpu/data/" + kind))
	buf := binary.LittleEndian.AppendUint64(nil, uint64(d.N))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(d.D))
	buf = append(buf, d.st.digest[:]...)
	if kind == "uint8" {
		for _, v := range d.lut {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	for _, r := range d.rows {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// ValueFingerprint returns the first 16 hex digits (64 bits) of
//
//	SHA-256( uint64le(N) ‖ uint64le(D) ‖ float32le(x[0]) ‖ … ‖ float32le(x[N·D−1]) )
//
// over the values x in row order, whatever the storage: the fingerprint of
// checkpoints written before data were held compactly (SameFingerprint).
func (d *Dataset) ValueFingerprint() string {
	h := sha256.New()
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[0:], uint64(d.N))
	binary.LittleEndian.PutUint64(hdr[8:], uint64(d.D))
	h.Write(hdr[:])
	buf := make([]byte, 0, 4*d.D)
	row := make([]float32, d.D)
	for i := range d.N {
		for _, v := range d.RowTo(row, i) {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
		buf = buf[:0]
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// SameFingerprint reports whether fp, a fingerprint saved with a checkpoint,
// identifies d's values: Fingerprint, or ValueFingerprint for checkpoints
// that predate compact storage.
func (d *Dataset) SameFingerprint(fp string) bool {
	return fp == d.Fingerprint() || (d.Storage() != "float32" && fp == d.ValueFingerprint())
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
