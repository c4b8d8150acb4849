package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// This file holds the binary element decoding shared by the IDX and NPY
// readers: element types, size bounds that stop a tiny malicious header from
// triggering a huge allocation, and a streaming decoder that converts file
// bytes straight into the final []float32 through a small fixed buffer, so a
// load never holds the raw bytes and the floats at the same time.

// dtype is one binary element encoding.
type dtype struct {
	kind byte // 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool
	size int  // bytes per element: 1, 2, 4 or 8
	big  bool // big-endian byte order (IDX is always big-endian)
}

// String returns the NumPy spelling of t, e.g. "<f4", "|u1", ">i2".
func (t dtype) String() string {
	order := byte('<')
	switch {
	case t.size == 1:
		order = '|'
	case t.big:
		order = '>'
	}
	return fmt.Sprintf("%c%c%d", order, t.kind, t.size)
}

// bound is what is known about how many bytes a reader can still deliver:
// n < 0 means unknown; exact means n is the precise remaining length (a plain
// file or an in-memory buffer) rather than an upper bound (a gzip stream or a
// zip member, bounded by the maximum deflate expansion).
type bound struct {
	n     int64
	exact bool
}

var unknownBound = bound{n: -1}

// maxDeflateRatio is the largest expansion DEFLATE can achieve (about 1032:1);
// it bounds what a compressed input of known size can decompress to.
const maxDeflateRatio = 1032

// compressedBound returns the bound for the decompressed form of a compressed
// input of size bytes.
func compressedBound(size int64) bound {
	if size < 0 || size > math.MaxInt64/maxDeflateRatio-1024 {
		return unknownBound
	}
	return bound{n: size*maxDeflateRatio + 1024}
}

// sizeHint reports how many bytes r can still deliver when r knows it: an
// in-memory reader (bytes.Reader, strings.Reader, bytes.Buffer) or a regular
// *os.File. Anything else gives unknownBound.
func sizeHint(r io.Reader) bound {
	switch v := r.(type) {
	case interface{ Len() int }:
		return bound{n: int64(v.Len()), exact: true}
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return unknownBound
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off > fi.Size() {
			return unknownBound
		}
		return bound{n: fi.Size() - off, exact: true}
	}
	return unknownBound
}

// maxElements caps the element count of any array we are willing to create
// (2^34 float32s = 64 GiB); past this a header is certainly corrupt.
const maxElements = 1 << 34

// maxPrealloc is the most values (1 GiB of float32) allocated ahead of the
// data for an input whose size is only bounded, not known; Fashion-MNIST's
// 47 million pixels stay under it.
const maxPrealloc = 1 << 28

// numel multiplies dims with overflow checks and returns the element count,
// or ok=false when a dimension is negative or the product exceeds
// maxElements.
func numel(dims []int) (n int64, ok bool) {
	n = 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > maxElements/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, n <= maxElements
}

// readElems decodes n elements of type t from r into a new []float32.
// b bounds the bytes r can deliver; the byte count is checked against it
// before anything is allocated. When b is unknown (or only a loose bound
// and the array is over maxPrealloc values) the slice grows as data
// arrives, so a lying header costs at most about twice the data actually
// present. rowLen, when > 0, lets error messages give (sample, feature) next
// to the flat element index. After the data the reader must be at EOF:
// trailing bytes are an error, and reading to EOF lets gzip and zip verify
// their checksums.
func readElems(r io.Reader, name string, n int64, t dtype, b bound, rowLen int) ([]float32, error) {
	need := n * int64(t.size) // n <= maxElements, size <= 8: no overflow
	if err := checkBound(name, need, b); err != nil {
		return nil, err
	}
	// Allocate the final slice up front when the size is trustworthy: always
	// for an exact size, and for a compressed input (bounded only by the
	// 1032:1 deflate limit) up to maxPrealloc values. Otherwise grow with the
	// data actually decoded.
	var dst []float32
	switch {
	case b.exact, b.n >= 0 && n <= maxPrealloc:
		dst = make([]float32, 0, n)
	default:
		dst = make([]float32, 0, min(n, 1<<16))
	}
	buf := make([]byte, min(need, 64<<10)) // a multiple of every element size
	var got int64
	for got < need {
		k := int(min(int64(len(buf)), need-got))
		m, err := io.ReadFull(r, buf[:k])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errorf(name, "truncated: header says %d bytes of data, file has %d", need, got+int64(m))
			}
			return nil, wrapErr(name, err)
		}
		cnt := k / t.size
		if cap(dst)-len(dst) < cnt {
			grown := make([]float32, len(dst), min(n, max(2*int64(cap(dst)), int64(len(dst)+cnt))))
			copy(grown, dst)
			dst = grown
		}
		start := len(dst)
		dst = dst[:start+cnt]
		if bad := decode(dst[start:], buf[:k], t); bad >= 0 {
			v := elemFloat64(buf[bad*t.size:], t)
			return nil, errorf(name, "%s: %s", elemPos(int64(start+bad), rowLen), badValue(v))
		}
		got += int64(k)
	}
	if err := checkDrained(r, name, need); err != nil {
		return nil, err
	}
	return dst, nil
}

// checkBound checks need, the bytes of data a header announces, against b,
// what the input can deliver.
func checkBound(name string, need int64, b bound) error {
	if b.n >= 0 && need > b.n {
		if b.exact {
			return errorf(name, "truncated: header says %d bytes of data, file has %d", need, b.n)
		}
		return errorf(name, "truncated: header says %d bytes of data, more than the compressed input can hold (at most %d)", need, b.n)
	}
	if b.exact && need < b.n {
		return errorf(name, "%d bytes of trailing data after the %d bytes of data the header describes", b.n-need, need)
	}
	return nil
}

// checkDrained reads r to its end after the need bytes of data: trailing
// bytes are an error, and reading to EOF lets gzip and zip verify their
// checksums.
func checkDrained(r io.Reader, name string, need int64) error {
	if extra, err := drain(r); err != nil {
		return wrapErr(name, err)
	} else if extra > 0 {
		return errorf(name, "trailing data after the %d bytes of data the header describes", need)
	}
	return nil
}

// readArray reads the n elements of an array of the given shape: as uint8
// codes (compact storage, Data nil) when compact is set and t is an
// unsigned byte, else converted to float32 (readElems).
func readArray(r io.Reader, name string, shape []int, n int64, t dtype, b bound, rowLen int, compact bool) (Array, error) {
	if compact && t.kind == 'u' && t.size == 1 {
		s, err := readCodes(r, name, n, b)
		if err != nil {
			return Array{}, err
		}
		return Array{Shape: shape, codes: s}, nil
	}
	vals, err := readElems(r, name, n, t, b, rowLen)
	if err != nil {
		return Array{}, err
	}
	return Array{Shape: shape, Data: vals}, nil
}

// drain reads r to EOF (so compressed readers check their checksums) and
// reports whether any byte was left; it stops early at the first byte.
func drain(r io.Reader) (int, error) {
	var one [1]byte
	for {
		m, err := r.Read(one[:])
		if m > 0 {
			return m, nil
		}
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// elemPos formats the position of flat element i for messages.
func elemPos(i int64, rowLen int) string {
	if rowLen > 0 {
		return fmt.Sprintf("element %d (sample %d, feature %d)", i, i/int64(rowLen), i%int64(rowLen))
	}
	return fmt.Sprintf("element %d", i)
}

// badValue says why a decoded value was rejected.
func badValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%v is not a finite number", v)
	}
	return fmt.Sprintf("%g overflows float32", v)
}

// decode converts len(dst) elements of type t from src into dst and returns
// the index of the first element that is not a finite float32 (NaN, ±Inf, or
// a float64 outside float32 range), or -1. The type switch is outside the
// loops so each loop is a tight conversion.
func decode(dst []float32, src []byte, t dtype) int {
	var bo binary.ByteOrder = binary.LittleEndian
	if t.big {
		bo = binary.BigEndian
	}
	switch {
	case t.kind == 'u' && t.size == 1:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case t.kind == 'i' && t.size == 1:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case t.kind == 'b':
		for i := range dst {
			if src[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	case t.kind == 'u' && t.size == 2:
		for i := range dst {
			dst[i] = float32(bo.Uint16(src[2*i:]))
		}
	case t.kind == 'i' && t.size == 2:
		for i := range dst {
			dst[i] = float32(int16(bo.Uint16(src[2*i:])))
		}
	case t.kind == 'u' && t.size == 4:
		for i := range dst {
			dst[i] = float32(bo.Uint32(src[4*i:]))
		}
	case t.kind == 'i' && t.size == 4:
		for i := range dst {
			dst[i] = float32(int32(bo.Uint32(src[4*i:])))
		}
	case t.kind == 'u' && t.size == 8:
		for i := range dst {
			dst[i] = float32(bo.Uint64(src[8*i:]))
		}
	case t.kind == 'i' && t.size == 8:
		for i := range dst {
			dst[i] = float32(int64(bo.Uint64(src[8*i:])))
		}
	case t.kind == 'f' && t.size == 4:
		for i := range dst {
			v := math.Float32frombits(bo.Uint32(src[4*i:]))
			if v-v != 0 { // NaN or ±Inf
				return i
			}
			dst[i] = v
		}
	case t.kind == 'f' && t.size == 8:
		for i := range dst {
			v := float32(math.Float64frombits(bo.Uint64(src[8*i:])))
			if v-v != 0 { // NaN, ±Inf, or finite float64 beyond float32 range
				return i
			}
			dst[i] = v
		}
	default:
		panic("data: decode: unsupported dtype " + t.String()) // parsers only admit the types above
	}
	return -1
}

// elemFloat64 decodes one float element from src for an error message.
func elemFloat64(src []byte, t dtype) float64 {
	var bo binary.ByteOrder = binary.LittleEndian
	if t.big {
		bo = binary.BigEndian
	}
	if t.size == 4 {
		return float64(math.Float32frombits(bo.Uint32(src)))
	}
	return math.Float64frombits(bo.Uint64(src))
}
