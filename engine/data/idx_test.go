package data

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// opaque hides Len so the reader's size is unknown to ReadIDX/ReadNPY.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestReadIDX(t *testing.T) {
	be32 := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	f32be := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	tests := []struct {
		name  string
		file  []byte
		shape []int
		want  []float32
	}{
		{"u8 images", idxFile(0x08, []int{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}),
			[]int{2, 2, 3}, []float32{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}},
		{"u8 labels", idxFile(0x08, []int{4}, []byte{9, 0, 3, 7}), []int{4}, []float32{9, 0, 3, 7}},
		{"i8", idxFile(0x09, []int{3}, []byte{0xff, 0x80, 0x7f}), []int{3}, []float32{-1, -128, 127}},
		{"i16", idxFile(0x0B, []int{2}, []byte{0xff, 0xfe, 0x01, 0x00}), []int{2}, []float32{-2, 256}},
		{"i32", idxFile(0x0C, []int{1, 2}, be32(0xffffffff, 70000)), []int{1, 2}, []float32{-1, 70000}},
		{"f32", idxFile(0x0D, []int{2, 1}, f32be(0.25, -3.5)), []int{2, 1}, []float32{0.25, -3.5}},
		{"f64", idxFile(0x0E, []int{1}, binary.BigEndian.AppendUint64(nil, math.Float64bits(0.1))), []int{1}, []float32{float32(0.1)}},
		{"zero samples", idxFile(0x08, []int{0, 28, 28}, nil), []int{0, 28, 28}, []float32{}},
	}
	for _, tc := range tests {
		for _, wrap := range []string{"bytes", "opaque"} {
			var r io.Reader = bytes.NewReader(tc.file)
			if wrap == "opaque" {
				r = opaque{r}
			}
			a, err := ReadIDX(r, "t.idx")
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.name, wrap, err)
			}
			if !equalInts(a.Shape, tc.shape) || !equalF32(a.Data, tc.want) {
				t.Errorf("%s/%s: got %v %v, want %v %v", tc.name, wrap, a.Shape, a.Data, tc.shape, tc.want)
			}
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	nan := math.Float32bits(float32(math.NaN()))
	tests := []struct {
		name  string
		file  []byte
		parts []string
	}{
		{"empty", nil, []string{"x.idx: empty file"}},
		{"short magic", []byte{0, 0}, []string{"x.idx: truncated header"}},
		{"bad magic", []byte{0, 0, 0x09, 0x99, 0, 0, 0, 1}, []string{"x.idx: bad magic 0x00000999, want 0x00000801 or 0x00000803"}},
		{"bad type", []byte{0, 0, 0x0A, 0x01, 0, 0, 0, 1, 7}, []string{"bad magic 0x00000a01"}},
		{"rank 0", []byte{0, 0, 0x08, 0x00}, []string{"bad magic 0x00000800"}},
		{"nonzero high bytes", []byte{1, 0, 0x08, 0x01, 0, 0, 0, 1, 7}, []string{"bad magic 0x01000801"}},
		{"short dims", []byte{0, 0, 0x08, 0x03, 0, 0, 0, 1}, []string{"x.idx: truncated header: magic 0x00000803 announces 3 dimensions (12 bytes), file has 4"}},
		{"truncated data", idxFile(0x08, []int{60000, 28, 28}, make([]byte, 1000)),
			[]string{"x.idx: truncated: header says 47040000 bytes of data, file has 1000"}},
		{"huge dims", idxFile(0x08, []int{0xffffffff, 0xffffffff, 0xffffffff}, nil), []string{"x.idx: header: dimensions", "more than"}},
		{"trailing", idxFile(0x08, []int{2}, []byte{1, 2, 3}), []string{"x.idx: 1 bytes of trailing data after the 2 bytes"}},
		{"nan", idxFile(0x0D, []int{1, 2}, binary.BigEndian.AppendUint32(make([]byte, 4), nan)), []string{"x.idx: element 1 (sample 0, feature 1): NaN is not a finite number"}},
		{"inf f64", idxFile(0x0E, []int{1}, binary.BigEndian.AppendUint64(nil, math.Float64bits(math.Inf(-1)))), []string{"x.idx: element 0: -Inf is not a finite number"}},
		{"f64 overflow", idxFile(0x0E, []int{1}, binary.BigEndian.AppendUint64(nil, math.Float64bits(1e300))), []string{"x.idx: element 0: 1e+300 overflows float32"}},
	}
	for _, tc := range tests {
		for _, wrap := range []string{"bytes", "opaque"} {
			var r io.Reader = bytes.NewReader(tc.file)
			if wrap == "opaque" {
				r = opaque{r}
			}
			_, err := ReadIDX(r, "x.idx")
			t.Run(tc.name+"/"+wrap, func(t *testing.T) {
				if wrap == "opaque" && (tc.name == "trailing") {
					wantErr(t, err, "x.idx: trailing data after the 2 bytes")
					return
				}
				wantErr(t, err, tc.parts...)
			})
		}
	}
}

func TestLoadIDXFiles(t *testing.T) {
	dir := t.TempDir()
	img := idxFile(0x08, []int{3, 2, 2}, []byte{0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	lab := idxFile(0x08, []int{3}, []byte{7, 0, 9})
	wantX := []float32{0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct{ img, lab string }{
		{writeFile(t, dir, "a-images-idx3-ubyte", img), writeFile(t, dir, "a-labels-idx1-ubyte", lab)},
		{writeFile(t, dir, "b-images-idx3-ubyte.gz", gz(t, img)), writeFile(t, dir, "b-labels-idx1-ubyte.gz", gz(t, lab))},
		// gzip recognised by its magic bytes even without a .gz name
		{writeFile(t, dir, "c.idx", gz(t, img)), writeFile(t, dir, "c-labels.idx", gz(t, lab))},
	}
	for _, c := range cases {
		ds, err := Load(c.img, LoadOptions{Labels: c.lab})
		if err != nil {
			t.Fatal(err)
		}
		if ds.N != 3 || ds.D != 4 || !equalInts(ds.Shape, []int{2, 2}) || !equalF32(ds.Values(), wantX) || !equalInts(ds.Labels, []int{7, 0, 9}) {
			t.Errorf("%s: got %+v", c.img, ds)
		}
		d2, err := LoadIDXImages(c.img)
		if err != nil || !equalF32(d2.Values(), wantX) {
			t.Errorf("LoadIDXImages(%s): %v", c.img, err)
		}
		l, err := LoadIDXLabels(c.lab)
		if err != nil || !equalInts(l, []int{7, 0, 9}) {
			t.Errorf("LoadIDXLabels(%s) = %v, %v", c.lab, l, err)
		}
	}

	// errors through the file loaders
	short := writeFile(t, dir, "short-labels-idx1-ubyte", idxFile(0x08, []int{2}, []byte{1, 2}))
	_, err := Load(cases[0].img, LoadOptions{Labels: short})
	wantErr(t, err, short+": 2 labels, but data "+cases[0].img+" has 3 samples")

	_, err = Load(cases[0].lab, LoadOptions{})
	wantErr(t, err, cases[0].lab+": IDX rank 1", "label file")

	trunc := writeFile(t, dir, "t.idx.gz", gz(t, img[:len(img)-3]))
	_, err = Load(trunc, LoadOptions{})
	wantErr(t, err, trunc+": truncated: header says 12 bytes of data, file has 9")

	bomb := writeFile(t, dir, "bomb.idx.gz", gz(t, idxFile(0x08, []int{60000, 28, 28}, nil)))
	_, err = Load(bomb, LoadOptions{})
	wantErr(t, err, bomb+": truncated: header says 47040000 bytes of data, more than the compressed input can hold")

	badgz := gz(t, img)
	badgz[len(badgz)-6] ^= 0xff // corrupt the CRC-32 in the gzip trailer
	bad := writeFile(t, dir, "crc.idx.gz", badgz)
	_, err = Load(bad, LoadOptions{})
	wantErr(t, err, bad+": gzip: invalid checksum")

	junk := writeFile(t, dir, "junk.idx.gz", append(gz(t, img), 1, 2, 3))
	_, err = Load(junk, LoadOptions{})
	wantErr(t, err, junk+": gzip: compressed stream is cut short or followed by bytes that are not gzip")

	full := gz(t, img)
	cut := writeFile(t, dir, "cut.idx.gz", full[:len(full)-5])
	_, err = Load(cut, LoadOptions{})
	wantErr(t, err, cut+": gzip: compressed stream is cut short")

	notgz := writeFile(t, dir, "h.idx.gz", []byte{0x1f, 0x8b, 1})
	_, err = Load(notgz, LoadOptions{})
	wantErr(t, err, notgz+": gzip header: unexpected EOF")

	_, err = LoadIDXLabels(cases[0].img)
	wantErr(t, err, cases[0].img+": labels shape [3 2 2], want (N,) or (N, 1)")
}
