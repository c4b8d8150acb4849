package data

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// This file holds the compact storage of a Dataset: pixels as one uint8
// code per value, binary data as one bit per value, and the row views that
// Split makes. Values are converted to float32 only when a row is copied
// out (RowTo, Gather, CopyRows), one mini-batch at a time, so 60,000
// Fashion-MNIST images take 47 MB as codes and 5.9 MB as bits instead of
// 188 MB as float32.

// store is the storage a Dataset and the views Split makes of it share. It
// is never modified once built: preprocessing builds a new one (bits) or
// changes only the Dataset's own code table.
type store struct {
	f32  []float32 // float32 values, row-major (the X of a data set Split viewed)
	u8   []uint8   // one code per value, row-major; Dataset.lut gives its value
	bits []uint64  // binary values: feature j of row r is bit j%64 of word r·wpr + j/64
	wpr  int       // words per row of bits
	// lo, hi are the smallest and largest code in u8.
	lo, hi uint8
	// digest is the SHA-256 of u8, or of bits as little-endian words,
	// computed while they were written.
	digest [sha256.Size]byte
}

// Storage names how d holds its values: "float32", "uint8" (one code per
// value and a table of the 256 codes' values) or "bits" (binary values, one
// bit each).
func (d *Dataset) Storage() string {
	switch {
	case d.st == nil || d.st.f32 != nil:
		return "float32"
	case d.st.u8 != nil:
		return "uint8"
	}
	return "bits"
}

// StorageBytes is the host memory, in bytes, that d's values occupy (the
// whole shared storage when d is a view made by Split, plus its row index).
func (d *Dataset) StorageBytes() int64 {
	n := int64(4 * len(d.X))
	if s := d.st; s != nil {
		n += int64(4*len(s.f32) + len(s.u8) + 8*len(s.bits))
	}
	return n + int64(8*len(d.rows))
}

// StorageBytesOf is the memory the data sets hold together: like the sum
// of their StorageBytes, but a storage that views share (the two halves of
// Split) counted once. Nil data sets count nothing.
func StorageBytesOf(ds ...*Dataset) int64 {
	var n int64
	// Split's views of a float32 set each wrap the same X in a store of
	// their own: storage is known by its first value's address.
	seen := map[any]bool{}
	add := func(key any, bytes int) {
		if bytes > 0 && !seen[key] {
			seen[key] = true
			n += int64(bytes)
		}
	}
	for _, d := range ds {
		if d == nil {
			continue
		}
		n += int64(8 * len(d.rows))
		if len(d.X) > 0 {
			add(&d.X[0], 4*len(d.X))
		}
		if s := d.st; s != nil {
			if len(s.f32) > 0 {
				add(&s.f32[0], 4*len(s.f32))
			}
			if len(s.u8) > 0 {
				add(&s.u8[0], len(s.u8))
			}
			if len(s.bits) > 0 {
				add(&s.bits[0], 8*len(s.bits))
			}
		}
	}
	return n
}

// Compact is the compact storage behind a data set, for an executor that
// keeps training rows in device memory in the same form: Rows storage rows
// of D values, either as codes (Codes[r·D + j], value LUT[code]) or as bits
// (feature j of row r is bit j%64 of Bits[r·WordsPerRow + j/64]). A view
// made by Split shares the storage of the whole data set: its sample i is
// storage row SourceRow(i). The slices are the data set's own: read only.
type Compact struct {
	Rows        int
	Codes       []uint8
	LUT         [256]float32
	Bits        []uint64
	WordsPerRow int
}

// Compact returns the compact storage of d, and false when d holds float32
// values (or nothing).
func (d *Dataset) Compact() (Compact, bool) {
	s := d.st
	switch {
	case s == nil || s.f32 != nil || d.D == 0:
		return Compact{}, false
	case s.u8 != nil:
		return Compact{Rows: len(s.u8) / d.D, Codes: s.u8, LUT: d.lut}, true
	}
	return Compact{Rows: len(s.bits) / s.wpr, Bits: s.bits, WordsPerRow: s.wpr}, true
}

// SourceRow is the storage row of sample i (i itself unless d is a view).
func (d *Dataset) SourceRow(i int) int { return d.srcRow(i) }

// srcRow is the storage row that holds row i of d.
func (d *Dataset) srcRow(i int) int {
	if d.rows != nil {
		return d.rows[i]
	}
	return i
}

// RowTo writes the D values of sample i into dst[:D] as float32 and returns
// dst[:D]; it allocates nothing. For every storage the values are those the
// float32 data set would hold: codes map through their table, bits to 0 and 1.
func (d *Dataset) RowTo(dst []float32, i int) []float32 {
	D := d.D
	dst = dst[:D]
	if d.st == nil {
		copy(dst, d.X[i*D:(i+1)*D])
		return dst
	}
	r := d.srcRow(i)
	switch s := d.st; {
	case s.f32 != nil:
		copy(dst, s.f32[r*D:(r+1)*D])
	case s.u8 != nil:
		lut := &d.lut
		for j, c := range s.u8[r*D : (r+1)*D] {
			dst[j] = lut[c]
		}
	default:
		unpackBits(dst, s.bits[r*s.wpr:(r+1)*s.wpr])
	}
	return dst
}

// bitFloats[b] is byte b as eight float32 0/1 values, least significant bit
// first: unpacking copies eight values at a time.
var bitFloats = func() (t [256][8]float32) {
	for b := range t {
		for k := range 8 {
			t[b][k] = float32(b >> k & 1)
		}
	}
	return t
}()

// unpackBits writes bit j of words into dst[j] as 0 or 1, j < len(dst).
func unpackBits(dst []float32, words []uint64) {
	j := 0
	for _, w := range words {
		for k := 0; k < 64 && j < len(dst); k += 8 {
			b := &bitFloats[byte(w>>k)]
			if j+8 <= len(dst) {
				copy(dst[j:j+8], b[:])
			} else {
				copy(dst[j:], b[:len(dst)-j])
			}
			j += 8
		}
	}
}

// Gather writes the samples idx[0], idx[1], … into consecutive rows of dst
// (len(dst) ≥ len(idx)·D) as float32 values: a mini-batch in a data order.
func (d *Dataset) Gather(dst []float32, idx []int) {
	D := d.D
	for k, i := range idx {
		d.RowTo(dst[k*D:(k+1)*D], i)
	}
}

// CopyRows writes samples lo … lo+n−1 into dst[:n·D] as float32 values and
// returns dst[:n·D].
func (d *Dataset) CopyRows(dst []float32, lo, n int) []float32 {
	D := d.D
	if d.st == nil {
		return dst[:copy(dst[:n*D], d.X[lo*D:(lo+n)*D])]
	}
	for k := range n {
		d.RowTo(dst[k*D:(k+1)*D], lo+k)
	}
	return dst[:n*D]
}

// Rows returns samples lo … lo+n−1 as one row-major float32 slice: part of
// X when d holds its values as float32 (not a copy: do not modify it), else
// a new slice (CopyRows).
func (d *Dataset) Rows(lo, n int) []float32 {
	if d.st == nil {
		return d.X[lo*d.D : (lo+n)*d.D : (lo+n)*d.D]
	}
	return d.CopyRows(make([]float32, n*d.D), lo, n)
}

// Values returns all N·D values in row order: Rows(0, N).
func (d *Dataset) Values() []float32 { return d.Rows(0, d.N) }

// Range returns the smallest and the largest value of d (NaN when a value
// is NaN, as min and max give; 0, 0 for an empty data set).
func (d *Dataset) Range() (lo, hi float32) {
	if d.N == 0 || d.D == 0 {
		return 0, 0
	}
	if s := d.st; s != nil && s.u8 != nil && d.rows == nil {
		// The table is non-decreasing (identity, or ScaleTo01 of it), so
		// the extreme codes give the extreme values.
		return d.lut[s.lo], d.lut[s.hi]
	}
	row := make([]float32, d.D)
	first := true
	for i := range d.N {
		for _, v := range d.RowTo(row, i) {
			if first {
				lo, hi, first = v, v, false
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return lo, hi
}

// identityLUT is the code table of freshly loaded uint8 data: code c has
// the value c.
var identityLUT = func() (t [256]float32) {
	for c := range t {
		t[c] = float32(c)
	}
	return t
}()

// own gives d float32 storage of its own (X) in place of a view, so that
// it can be modified without changing the data set it was split from.
func (d *Dataset) own() {
	if d.st == nil {
		return
	}
	d.X = d.CopyRows(make([]float32, d.N*d.D), 0, d.N)
	d.st, d.rows = nil, nil
}

// packBits replaces d's storage by bits: bit j of row i is set when
// on(row i, j) holds, row i's float32 values given as row (RowTo). The
// packed words are hashed as they are written (the fingerprint).
func (d *Dataset) packBits(on func(i int, row []float32, j int) bool) {
	wpr := (d.D + 63) / 64
	s := &store{bits: make([]uint64, d.N*wpr), wpr: wpr}
	row := make([]float32, d.D)
	for i := range d.N {
		d.RowTo(row, i)
		words := s.bits[i*wpr : (i+1)*wpr]
		for j := range row {
			if on(i, row, j) {
				words[j>>6] |= 1 << (j & 63)
			}
		}
	}
	s.digest = wordsDigest(s.bits)
	d.X, d.st, d.rows = nil, s, nil
}

// wordsDigest is the SHA-256 of words as little-endian uint64s.
func wordsDigest(words []uint64) (sum [sha256.Size]byte) {
	h := sha256.New()
	buf := make([]byte, 0, 4096)
	for _, w := range words {
		buf = binary.LittleEndian.AppendUint64(buf, w)
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	h.Sum(sum[:0])
	return sum
}

// codesView is the Dataset of n samples × dim uint8 codes in s, values
// equal to the codes.
func codesView(s *store, n, dim int, name string) *Dataset {
	return &Dataset{Name: name, N: n, D: dim, st: s, lut: identityLUT}
}

// readCodes reads n uint8 elements from r straight into the final []uint8,
// hashing them and finding the smallest and largest code as they arrive;
// the checks and the growth for inputs of unknown size are readElems'.
// Hashing and the code range run on a second goroutine, one 1 MiB chunk
// behind the reader: a chunk is never written again once it is read, so the
// two never touch the same bytes, and on a gzip file the inflate (the
// reader's work) and the scan overlap instead of adding up.
func readCodes(r io.Reader, name string, n int64, b bound) (*store, error) {
	if err := checkBound(name, n, b); err != nil {
		return nil, err
	}
	var dst []uint8
	switch {
	case b.exact, b.n >= 0 && n <= 4*maxPrealloc:
		dst = make([]uint8, n)
	default:
		dst = make([]uint8, min(n, 1<<20))
	}
	scan := newChunkScanner()
	var got int64
	for got < n {
		if int64(len(dst)) == got {
			grown := make([]uint8, min(n, 2*got))
			copy(grown, dst)
			dst = grown
		}
		chunk := dst[got:min(int64(len(dst)), got+1<<20)]
		m, err := io.ReadFull(r, chunk)
		if err != nil {
			scan.finish()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errorf(name, "truncated: header says %d bytes of data, file has %d", n, got+int64(m))
			}
			return nil, wrapErr(name, err)
		}
		scan.chunks <- chunk
		got += int64(m)
	}
	lo, hi, digest := scan.finish()
	if err := checkDrained(r, name, n); err != nil {
		return nil, err
	}
	return &store{u8: dst, lo: lo, hi: hi, digest: digest}, nil
}

// chunkScanner hashes chunks of codes and takes their range, in order, on
// its own goroutine.
type chunkScanner struct {
	chunks chan []uint8
	done   chan struct{}
	lo, hi uint8
	digest [sha256.Size]byte
}

func newChunkScanner() *chunkScanner {
	s := &chunkScanner{chunks: make(chan []uint8, 2), done: make(chan struct{}), lo: math.MaxUint8}
	go func() {
		h := sha256.New()
		for c := range s.chunks {
			s.lo, s.hi = codeRange(c, s.lo, s.hi)
			h.Write(c)
		}
		h.Sum(s.digest[:0])
		close(s.done)
	}()
	return s
}

// finish waits for the chunks sent so far and returns their smallest and
// largest code and their SHA-256.
func (s *chunkScanner) finish() (lo, hi uint8, digest [sha256.Size]byte) {
	close(s.chunks)
	<-s.done
	return s.lo, s.hi, s.digest
}

// codeRange widens [lo, hi] to the codes in p.
func codeRange(p []uint8, lo, hi uint8) (uint8, uint8) {
	for _, c := range p {
		lo, hi = min(lo, c), max(hi, c)
	}
	return lo, hi
}
