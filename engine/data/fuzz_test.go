package data

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// The fuzz targets feed arbitrary bytes to each parser through both a
// sized reader (bytes.Reader: sizes checked before allocation) and an
// opaque one (size unknown: the slice grows with the data), and check that
// it never panics, that a success is self-consistent and that a failure is a
// one-line *Error naming the file.

func checkFuzzErr(t *testing.T, err error, name string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, name+": ") || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("bad error message %q", msg)
	}
	if _, ok := err.(*Error); !ok {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
}

func checkArray(t *testing.T, a Array) {
	t.Helper()
	n, ok := numel(a.Shape)
	if !ok || int64(len(a.Data)) != n {
		t.Fatalf("shape %v but %d values", a.Shape, len(a.Data))
	}
	for i, v := range a.Data {
		if v-v != 0 {
			t.Fatalf("element %d = %v is not finite", i, v)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxFile(0x08, []int{2, 2, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7}))
	f.Add(idxFile(0x08, []int{3}, []byte{1, 2, 3}))
	f.Add(idxFile(0x0D, []int{1, 1}, binary.BigEndian.AppendUint32(nil, 0x3f800000)))
	f.Add(idxFile(0x0E, []int{1}, make([]byte, 8)))
	f.Add(idxFile(0x0B, []int{1, 1, 1, 1}, []byte{1, 2}))
	f.Add(idxFile(0x08, []int{60000, 28, 28}, nil))
	f.Add(gz(f, idxFile(0x08, []int{2}, []byte{1, 2})))
	f.Fuzz(func(t *testing.T, p []byte) {
		a, err := ReadIDX(bytes.NewReader(p), "f.idx")
		checkFuzzErr(t, err, "f.idx")
		if err == nil {
			checkArray(t, a)
		}
		b, err2 := ReadIDX(opaque{bytes.NewReader(p)}, "f.idx")
		checkFuzzErr(t, err2, "f.idx")
		if (err == nil) != (err2 == nil) {
			t.Fatalf("sized and opaque readers disagree: %v vs %v", err, err2)
		}
		if err == nil && (!equalInts(a.Shape, b.Shape) || !equalF32(a.Data, b.Data)) {
			t.Fatal("sized and opaque readers give different arrays")
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	f.Add(npyFile(npyDict("<f4", "(2, 2)"), f32le(1, 2, 3, 4)))
	f.Add(npyFile(npyDict("<f8", "(1,)"), f64le(0.5)))
	f.Add(npyFile(npyDict("|u1", "(3,)"), []byte{1, 2, 3}))
	f.Add(npyFile(npyDict("|b1", "()"), []byte{1}))
	f.Add(npyFile(npyDict(">i2", "(1, 1)"), []byte{0, 1}))
	f.Add(npyFileV(2, npyDict("<i8", "(1,)"), make([]byte, 8)))
	f.Add(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", f32le(1)))
	f.Fuzz(func(t *testing.T, p []byte) {
		a, err := ReadNPY(bytes.NewReader(p), "f.npy")
		checkFuzzErr(t, err, "f.npy")
		if err == nil {
			checkArray(t, a)
		}
		b, err2 := ReadNPY(opaque{bytes.NewReader(p)}, "f.npy")
		checkFuzzErr(t, err2, "f.npy")
		if (err == nil) != (err2 == nil) {
			t.Fatalf("sized and opaque readers disagree: %v vs %v", err, err2)
		}
		if err == nil && (!equalInts(a.Shape, b.Shape) || !equalF32(a.Data, b.Data)) {
			t.Fatal("sized and opaque readers give different arrays")
		}
	})
}

func FuzzReadNPZ(f *testing.F) {
	f.Add(sklearnNPZ(f, false))
	f.Add(sklearnNPZ(f, true))
	f.Add(zipFile(f, member{"a.npy", npyFile(npyDict("|u1", "(2, 1)"), []byte{1, 2}), true}, member{"b.txt", []byte("x"), false}))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := ReadNPZFrom(bytes.NewReader(p), int64(len(p)), "f.npz")
		checkFuzzErr(t, err, "f.npz")
		for _, a := range m {
			checkArray(t, a)
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("1,2,3\n4,5,6\n", -1)
	f.Add("a,b\n0.5,1e-3\n", 1)
	f.Add("\xef\xbb\xbf\"1\", 2\r\n\r\n3,4\r\n", 0)
	f.Add("1,2\n3\n", 0)
	f.Add("NaN,1\n", -1)
	f.Fuzz(func(t *testing.T, text string, header int) {
		ds, err := ReadCSV(strings.NewReader(text), "f.csv", header)
		checkFuzzErr(t, err, "f.csv")
		if err != nil {
			return
		}
		if ds.N < 1 || ds.D < 1 || len(ds.Values()) != ds.N*ds.D {
			t.Fatalf("N=%d D=%d len(X)=%d", ds.N, ds.D, len(ds.Values()))
		}
		for i, v := range ds.Values() {
			if v-v != 0 {
				t.Fatalf("element %d = %v is not finite", i, v)
			}
		}
	})
}
