package data

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"strings"
	"testing"
)

func TestReadNPY(t *testing.T) {
	tests := []struct {
		name  string
		file  []byte
		shape []int
		want  []float32
	}{
		{"f4 2x3", npyFile(npyDict("<f4", "(2, 3)"), f32le(1, -2, 0.5, 3.25, 0, 1e-3)), []int{2, 3}, []float32{1, -2, 0.5, 3.25, 0, 1e-3}},
		{"f8 2x2", npyFile(npyDict("<f8", "(2, 2)"), f64le(0.1, -1e10, 2, 0)), []int{2, 2}, []float32{float32(0.1), -1e10, 2, 0}},
		{"u1 3", npyFile(npyDict("|u1", "(3,)"), []byte{0, 128, 255}), []int{3}, []float32{0, 128, 255}},
		{"b1", npyFile(npyDict("|b1", "(1, 3)"), []byte{1, 0, 1}), []int{1, 3}, []float32{1, 0, 1}},
		{"i4", npyFile(npyDict("<i4", "(2,)"), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 7), 0xfffffffe)), []int{2}, []float32{7, -2}},
		{"i8", npyFile(npyDict("<i8", "(1,)"), binary.LittleEndian.AppendUint64(nil, 1<<40)), []int{1}, []float32{1 << 40}},
		{"big-endian f4", npyFile(npyDict(">f4", "(1,)"), binary.BigEndian.AppendUint32(nil, math.Float32bits(1.5))), []int{1}, []float32{1.5}},
		{"scalar", npyFile(npyDict("<f4", "()"), f32le(42)), []int{}, []float32{42}},
		{"empty array", npyFile(npyDict("<f4", "(0, 5)"), nil), []int{0, 5}, []float32{}},
		{"python2 long dims", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }", f32le(1, 2)), []int{1, 2}, []float32{1, 2}},
		{"key order, double quotes", npyFile(`{"shape": (2,), "fortran_order": False, "descr": "<f4"}`, f32le(3, 4)), []int{2}, []float32{3, 4}},
		{"version 2.0", npyFileV(2, npyDict("<f4", "(2,)"), f32le(5, 6)), []int{2}, []float32{5, 6}},
		{"version 3.0", npyFileV(3, npyDict("<f4", "(2,)"), f32le(5, 6)), []int{2}, []float32{5, 6}},
	}
	for _, tc := range tests {
		for _, wrap := range []string{"bytes", "opaque"} {
			var r io.Reader = bytes.NewReader(tc.file)
			if wrap == "opaque" {
				r = opaque{r}
			}
			a, err := ReadNPY(r, "t.npy")
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.name, wrap, err)
			}
			if !equalInts(a.Shape, tc.shape) || !equalF32(a.Data, tc.want) {
				t.Errorf("%s/%s: got %v %v, want %v %v", tc.name, wrap, a.Shape, a.Data, tc.shape, tc.want)
			}
		}
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := npyFile(npyDict("<f4", "(2, 2)"), f32le(1, 2, 3, 4))
	hugeHeader := append([]byte(npyMagic+"\x02\x00"), 0xff, 0xff, 0xff, 0x7f)
	tests := []struct {
		name  string
		file  []byte
		parts []string
	}{
		{"empty", nil, []string{"x.npy: empty file"}},
		{"bad magic", []byte("PK\x03\x04 not numpy at all"), []string{`x.npy: bad magic "PK\x03\x04 n", want "\x93NUMPY"`}},
		{"short", []byte("\x93NUM"), []string{"x.npy: truncated header: 4 bytes"}},
		{"version", append([]byte(npyMagic+"\x04\x00"), 0, 0), []string{"x.npy: unsupported NPY version 4.0"}},
		{"header too long", hugeHeader, []string{"x.npy: header: length 2147483647 is over"}},
		{"header truncated", good[:30], []string{"x.npy: truncated header: header length field says 118 bytes, file has 20"}},
		{"fortran", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f32le(1, 2, 3, 4)), []string{"x.npy: header: fortran_order arrays are not supported"}},
		{"dtype", npyFile(npyDict("<c8", "(1,)"), make([]byte, 8)), []string{"x.npy: header: dtype \"<c8\" is not supported, want one of <f4 <f8 |u1"}},
		{"f2", npyFile(npyDict("<f2", "(1,)"), make([]byte, 2)), []string{"dtype \"<f2\" is not supported"}},
		{"structured", npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", make([]byte, 4)), []string{"x.npy: header: byte 10: structured dtypes"}},
		{"missing key", npyFile("{'descr': '<f4', 'shape': (1,), }", f32le(1)), []string{"x.npy: header: missing key"}},
		{"extra key", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f32le(1)), []string{"x.npy: header: byte", "unexpected key \"x\""}},
		{"not a dict", npyFile("hello", nil), []string{"x.npy: header: byte 0: want '{'"}},
		{"bad shape", npyFile(npyDict("<f4", "(2, -1)"), nil), []string{"x.npy: header: byte", "shape: want a non-negative integer dimension"}},
		{"huge shape", npyFile(npyDict("<f4", "(99999999999999999999,)"), nil), []string{"x.npy: header: byte", "dimension 99999999999999999999 is too large"}},
		{"overflowing shape", npyFile(npyDict("<f4", "(4294967296, 4294967296, 4294967296)"), nil), []string{"x.npy: header: shape", "more than"}},
		{"truncated data", npyFile(npyDict("<f4", "(1000, 1000)"), f32le(1, 2)), []string{"x.npy: truncated: header says 4000000 bytes of data, file has 8"}},
		{"trailing", append(append([]byte(nil), good...), 0), []string{"x.npy: 1 bytes of trailing data after the 16 bytes"}},
		{"nan", npyFile(npyDict("<f4", "(2, 2)"), f32le(1, 2, float32(math.NaN()), 4)), []string{"x.npy: element 2 (sample 1, feature 0): NaN is not a finite number"}},
		{"inf f8", npyFile(npyDict("<f8", "(3,)"), f64le(1, 2, math.Inf(1))), []string{"x.npy: element 2: +Inf is not a finite number"}},
		{"f8 overflow", npyFile(npyDict("<f8", "(1, 1)"), f64le(1e40)), []string{"x.npy: element 0 (sample 0, feature 0): 1e+40 overflows float32"}},
		{"junk after dict", npyFile(npyDict("<f4", "(1,)")+" junk", f32le(1)), []string{"x.npy: header: unexpected \"junk\" after the header dict"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(tc.file), "x.npy")
			wantErr(t, err, tc.parts...)
			_, err = ReadNPY(opaque{bytes.NewReader(tc.file)}, "x.npy")
			if err == nil {
				t.Errorf("unknown-size reader: no error")
			} else if !strings.HasPrefix(err.Error(), "x.npy: ") {
				t.Errorf("unknown-size reader: %v", err)
			}
		})
	}
}

func TestLoadNPY(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "x.npy", npyFile(npyDict("|u1", "(2, 2, 3)"), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}))
	lab := writeFile(t, dir, "y.npy", npyFile(npyDict("<i8", "(2,)"), append(binary.LittleEndian.AppendUint64(nil, 3), binary.LittleEndian.AppendUint64(nil, 1)...)))
	ds, err := Load(p, LoadOptions{Labels: lab})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 2 || ds.D != 6 || !equalInts(ds.Shape, []int{2, 3}) || !equalInts(ds.Labels, []int{3, 1}) || ds.Values()[11] != 11 {
		t.Errorf("got %+v", ds)
	}
	// gzip-compressed NPY is recognised by magic bytes
	pg := writeFile(t, dir, "xg.npy.gz", gz(t, npyFile(npyDict("<f4", "(1, 2)"), f32le(0.5, 1))))
	ds, err = Load(pg, LoadOptions{})
	if err != nil || ds.N != 1 || ds.D != 2 || ds.Shape != nil || !equalF32(ds.X, []float32{0.5, 1}) {
		t.Errorf("gz npy: %+v, %v", ds, err)
	}
	// 1-D arrays are not data sets
	_, err = Load(lab, LoadOptions{})
	wantErr(t, err, lab+": array shape [2] has rank 1")
	// float labels must be integers
	fl := writeFile(t, dir, "fl.npy", npyFile(npyDict("<f4", "(2, 1)"), f32le(1, 1.5)))
	_, err = Load(p, LoadOptions{Labels: fl})
	wantErr(t, err, fl+": element 1: 1.5 is not an integer label")
	// a 2-D labels array that is not a column
	l2 := writeFile(t, dir, "l2.npy", npyFile(npyDict("<f4", "(1, 2)"), f32le(1, 1)))
	_, err = Load(p, LoadOptions{Labels: l2})
	wantErr(t, err, l2+": labels shape [1 2], want (N,) or (N, 1)")
	// no samples
	e := writeFile(t, dir, "e.npy", npyFile(npyDict("<f4", "(0, 3)"), nil))
	_, err = Load(e, LoadOptions{})
	wantErr(t, err, e+": array shape [0 3] has no samples")
}
