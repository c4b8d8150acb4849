package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// NPY is NumPy's array file format (numpy.lib.format):
//
//	"\x93NUMPY"  magic, 6 bytes
//	major, minor version bytes: 1.0 (uint16le header length), 2.0 and 3.0
//	             (uint32le header length; 3.0 allows a UTF-8 header)
//	header       a Python dict literal, padded with spaces and '\n':
//	             {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//	data         product(shape) elements of descr, C order
//
// Supported descr: floats <f4 <f8, unsigned |u1 <u2 <u4 <u8, signed |i1 <i2
// <i4 <i8, bool |b1, in either byte order ('>' big-endian, '=' taken as
// little-endian as on every platform this runs on).

const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length field; NumPy itself refuses headers
// over 10000 bytes by default.
const maxNPYHeader = 1 << 20

// ReadNPY reads one .npy array from r, converting its elements to float32 in
// C order (len(Data) = product of Shape). name is used in error messages.
// Fortran-order arrays, structured and unsupported dtypes are errors; float
// elements must be finite (and f8 values must fit float32). When r is an
// in-memory reader or a regular *os.File the data size in the header is
// checked against what r holds before anything is allocated.
func ReadNPY(r io.Reader, name string) (Array, error) {
	return readNPY(r, name, sizeHint(r), false)
}

func readNPY(r io.Reader, name string, b bound, compact bool) (Array, error) {
	var pre [10]byte // magic, version, and a v1 length; v2/v3 read 2 more bytes
	if m, err := io.ReadFull(r, pre[:]); err != nil {
		if m == 0 && errors.Is(err, io.EOF) {
			return Array{}, errorf(name, "empty file, want an NPY header")
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			return Array{}, wrapErr(name, err)
		}
		if string(pre[:min(m, 6)]) != npyMagic[:min(m, 6)] {
			return Array{}, errorf(name, "bad magic %q, want %q (not an NPY file)", pre[:min(m, 6)], npyMagic)
		}
		return Array{}, errorf(name, "truncated header: %d bytes, want at least 10", m)
	}
	if string(pre[:6]) != npyMagic {
		return Array{}, errorf(name, "bad magic %q, want %q (not an NPY file)", pre[:6], npyMagic)
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	used := int64(10)
	switch major {
	case 1:
		hlen = int64(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		var more [2]byte
		if _, err := io.ReadFull(r, more[:]); err != nil {
			return Array{}, errorf(name, "truncated header: want a 4-byte header length for version %d.%d", major, minor)
		}
		hlen = int64(binary.LittleEndian.Uint32(append(pre[8:10:10], more[:]...)))
		used += 2
	default:
		return Array{}, errorf(name, "unsupported NPY version %d.%d, want 1.0, 2.0 or 3.0", major, minor)
	}
	if minor != 0 {
		return Array{}, errorf(name, "unsupported NPY version %d.%d, want 1.0, 2.0 or 3.0", major, minor)
	}
	if hlen > maxNPYHeader {
		return Array{}, errorf(name, "header: length %d is over the %d-byte limit", hlen, maxNPYHeader)
	}
	if b.n >= 0 && hlen > b.n-used {
		return Array{}, errorf(name, "truncated header: header length field says %d bytes, file has %d", hlen, max(b.n-used, 0))
	}
	hdr := make([]byte, hlen)
	if m, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Array{}, errorf(name, "truncated header: header length field says %d bytes, file has %d", hlen, m)
		}
		return Array{}, wrapErr(name, err)
	}
	used += hlen
	t, shape, err := parseNPYHeader(string(hdr))
	if err != nil {
		return Array{}, errorf(name, "header: %v", err)
	}
	n, ok := numel(shape)
	if !ok {
		return Array{}, errorf(name, "header: shape %v describes more than %d elements", shape, int64(maxElements))
	}
	if b.n >= 0 {
		b.n -= used
	}
	rowLen := 0
	if len(shape) >= 2 && shape[0] > 0 {
		rowLen = int(n / int64(shape[0]))
	}
	return readArray(r, name, shape, n, t, b, rowLen, compact)
}

// parseNPYHeader parses the dict literal of an NPY header. It accepts exactly
// the keys NumPy writes ('descr', 'fortran_order', 'shape'), as NumPy's own
// reader does.
func parseNPYHeader(h string) (dtype, []int, error) {
	p := &pyParser{s: h}
	if !p.eat('{') {
		return dtype{}, nil, p.errf("want '{' opening the header dict")
	}
	var (
		descr         string
		fortran       bool
		shape         []int
		seen          = map[string]bool{}
		descrOK, shOK bool
	)
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return dtype{}, nil, err
		}
		if seen[key] {
			return dtype{}, nil, p.errf("duplicate key %q", key)
		}
		seen[key] = true
		if !p.eat(':') {
			return dtype{}, nil, p.errf("want ':' after key %q", key)
		}
		switch key {
		case "descr":
			if p.peek() == '[' {
				return dtype{}, nil, p.errf("structured dtypes (a list descr) are not supported, want a plain numeric dtype such as '<f4'")
			}
			if descr, err = p.str(); err != nil {
				return dtype{}, nil, err
			}
			descrOK = true
		case "fortran_order":
			if fortran, err = p.boolean(); err != nil {
				return dtype{}, nil, err
			}
		case "shape":
			if shape, err = p.tuple(); err != nil {
				return dtype{}, nil, err
			}
			shOK = true
		default:
			return dtype{}, nil, p.errf("unexpected key %q, want only 'descr', 'fortran_order' and 'shape'", key)
		}
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return dtype{}, nil, p.errf("want ',' or '}' after the value of %q", key)
		}
		break
	}
	if rest := strings.Trim(h[p.i:], " \t\r\n\x00"); rest != "" {
		return dtype{}, nil, fmt.Errorf("unexpected %q after the header dict", clip(rest))
	}
	if !descrOK || !seen["fortran_order"] || !shOK {
		return dtype{}, nil, fmt.Errorf("missing key: want 'descr', 'fortran_order' and 'shape', got %v", keys(seen))
	}
	if fortran {
		return dtype{}, nil, fmt.Errorf("fortran_order arrays are not supported, want C order (save with np.ascontiguousarray)")
	}
	t, err := parseDescr(descr)
	if err != nil {
		return dtype{}, nil, err
	}
	return t, shape, nil
}

func keys(m map[string]bool) []string {
	var ks []string
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if m[k] {
			ks = append(ks, k)
		}
	}
	return ks
}

// parseDescr maps a NumPy dtype string such as "<f4" to a dtype.
func parseDescr(s string) (dtype, error) {
	bad := fmt.Errorf("dtype %q is not supported, want one of <f4 <f8 |u1 |b1 |i1 <i2 <i4 <i8 <u2 <u4 <u8 (either byte order)", clip(s))
	if len(s) != 3 {
		return dtype{}, bad
	}
	t := dtype{kind: s[1], size: int(s[2] - '0')}
	switch s[0] {
	case '<', '=', '|':
	case '>':
		t.big = true
	default:
		return dtype{}, bad
	}
	switch t.kind {
	case 'f':
		if t.size != 4 && t.size != 8 {
			return dtype{}, bad
		}
	case 'i', 'u':
		if t.size != 1 && t.size != 2 && t.size != 4 && t.size != 8 {
			return dtype{}, bad
		}
	case 'b':
		if t.size != 1 {
			return dtype{}, bad
		}
	default:
		return dtype{}, bad
	}
	if t.size == 1 {
		t.big = false
	}
	return t, nil
}

// pyParser reads the small subset of Python literals found in NPY headers:
// quoted strings, True/False and tuples of non-negative integers.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) errf(format string, args ...any) error {
	return fmt.Errorf("byte %d: "+format, append([]any{p.i}, args...)...)
}

func (p *pyParser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// str reads a single- or double-quoted string without escapes (NumPy never
// writes any in these fields).
func (p *pyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errf("want a quoted string")
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", p.errf("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", p.errf("escapes in strings are not supported")
	}
	p.i += end + 2
	return v, nil
}

func (p *pyParser) boolean() (bool, error) {
	p.skip()
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, p.errf("want True or False")
}

// tuple reads "(d0, d1, ...)" with an optional trailing comma, "()" for a
// scalar, and Python 2's "3L" long suffix.
func (p *pyParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, p.errf("shape: want a tuple such as (3, 4)")
	}
	shape := []int{}
	for {
		if p.eat(')') {
			return shape, nil
		}
		p.skip()
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, p.errf("shape: want a non-negative integer dimension")
		}
		d, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil || d > maxElements {
			return nil, p.errf("shape: dimension %s is too large", clip(p.s[start:p.i]))
		}
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		shape = append(shape, int(d))
		if len(shape) > 32 {
			return nil, p.errf("shape: more than 32 dimensions")
		}
		if p.eat(',') {
			continue
		}
		if !p.eat(')') {
			return nil, p.errf("shape: want ',' or ')' after a dimension")
		}
		return shape, nil
	}
}
