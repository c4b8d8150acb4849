package data

import (
	"math"
	"testing"
)

// pixelData writes n×d pseudo-random pixels (codes lo…hi) as an IDX file
// and returns its path and the same values as a float32 Dataset.
func pixelData(t *testing.T, n, d int, lo, hi byte) (string, *Dataset) {
	t.Helper()
	pix := make([]byte, n*d)
	x := make([]float32, n*d)
	for i := range pix {
		pix[i] = lo + byte((uint32(i)*2654435761>>13)%uint32(int(hi)-int(lo)+1))
		x[i] = float32(pix[i])
	}
	path := writeFile(t, t.TempDir(), "p-idx2-ubyte", idxFile(0x08, []int{n, d}, pix))
	return path, &Dataset{Name: "ref", N: n, D: d, X: x}
}

// TestCompactMatchesFloat32 checks that every preprocessing of uint8-coded
// data (and of views made by Split) gives the float32 path's values bit for
// bit, for every reader.
func TestCompactMatchesFloat32(t *testing.T) {
	const n, d = 97, 13 // D not a multiple of 4 or 64: Philox blocks and words cross rows
	tests := []struct {
		name   string
		lo, hi byte
		split  bool
		prep   func(*Dataset) error
		stored string
	}{
		{"raw", 0, 255, false, func(*Dataset) error { return nil }, "uint8"},
		{"scaled", 0, 255, false, func(d *Dataset) error { d.ScaleTo01(); return nil }, "uint8"},
		{"scaled narrow range", 3, 200, false, func(d *Dataset) error { d.ScaleTo01(); return nil }, "uint8"},
		{"constant", 9, 9, false, func(d *Dataset) error { d.ScaleTo01(); return nil }, "uint8"},
		{"threshold", 0, 255, false, func(d *Dataset) error { d.ScaleTo01(); d.Binarize(0.5); return nil }, "bits"},
		{"threshold 0.3", 0, 255, false, func(d *Dataset) error { d.ScaleTo01(); d.Binarize(0.3); return nil }, "bits"},
		{"stochastic", 0, 255, false, func(d *Dataset) error { d.ScaleTo01(); return d.BinarizeStochastic(5) }, "bits"},
		{"split, scaled", 0, 255, true, func(d *Dataset) error { d.ScaleTo01(); return nil }, "uint8"},
		{"split, stochastic", 0, 255, true, func(d *Dataset) error { d.ScaleTo01(); return d.BinarizeStochastic(5) }, "bits"},
		{"split, threshold", 0, 255, true, func(d *Dataset) error { d.ScaleTo01(); d.Binarize(0.5); return nil }, "bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, ref := pixelData(t, n, d, tc.lo, tc.hi)
			got, err := Load(path, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Storage() != "uint8" || got.X != nil {
				t.Fatalf("loaded as %s, want uint8", got.Storage())
			}
			if tc.split {
				// Preprocess the training part of a split, as a caller
				// holding only that part would.
				if got, _, err = got.Split(0.25, 3); err != nil {
					t.Fatal(err)
				}
				if ref, _, err = ref.Split(0.25, 3); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.prep(got); err != nil {
				t.Fatal(err)
			}
			if err := tc.prep(ref); err != nil {
				t.Fatal(err)
			}
			if got.Storage() != tc.stored {
				t.Errorf("storage %s, want %s", got.Storage(), tc.stored)
			}
			want := ref.Values()
			if !sameBits(got.Values(), want) {
				t.Fatalf("values differ from the float32 path")
			}
			row := make([]float32, d)
			for i := range got.N {
				if !sameBits(got.RowTo(row, i), want[i*d:(i+1)*d]) || !sameBits(got.Row(i), want[i*d:(i+1)*d]) {
					t.Fatalf("row %d differs", i)
				}
			}
			idx := []int{got.N - 1, 0, 5, 5}
			batch := make([]float32, len(idx)*d)
			got.Gather(batch, idx)
			for k, i := range idx {
				if !sameBits(batch[k*d:(k+1)*d], want[i*d:(i+1)*d]) {
					t.Fatalf("Gather row %d (sample %d) differs", k, i)
				}
			}
			if lo, hi := got.Range(); lo != minOf(want) || hi != maxOf(want) {
				t.Errorf("Range = %v, %v", lo, hi)
			}
			if !got.SameFingerprint(got.Fingerprint()) || !got.SameFingerprint(ref.Fingerprint()) {
				t.Error("SameFingerprint refuses the data's own fingerprint or the float32 one")
			}
		})
	}
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func minOf(x []float32) float32 {
	m := x[0]
	for _, v := range x {
		m = min(m, v)
	}
	return m
}

func maxOf(x []float32) float32 {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// TestCompactFingerprint checks that the fingerprint of compact data
// follows its values, its preprocessing and a split's rows, and not its
// name.
func TestCompactFingerprint(t *testing.T) {
	path, _ := pixelData(t, 50, 8, 0, 255)
	load := func() *Dataset {
		d, err := Load(path, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := load(), load()
	b.Name = "other"
	if a.Fingerprint() != b.Fingerprint() || len(a.Fingerprint()) != 16 {
		t.Errorf("same data: %s, %s", a.Fingerprint(), b.Fingerprint())
	}
	seen := map[string]string{a.Fingerprint(): "raw"}
	add := func(what string, d *Dataset) {
		t.Helper()
		f := d.Fingerprint()
		if prev, dup := seen[f]; dup {
			t.Errorf("%s has the fingerprint of %s", what, prev)
		}
		seen[f] = what
	}
	b.ScaleTo01()
	add("scaled", b)
	tr, va, err := b.Split(0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	add("train part", tr)
	add("held-out part", va)
	c := load()
	c.ScaleTo01()
	c.Binarize(0.5)
	add("threshold", c)
	e := load()
	e.ScaleTo01()
	if err := e.BinarizeStochastic(1); err != nil {
		t.Fatal(err)
	}
	add("stochastic", e)
	_, other := pixelData(t, 50, 8, 1, 255)
	add("other values (float32)", other)
}

// TestSplitIsAView checks that Split copies no values and that
// preprocessing one part leaves the other and the original alone.
func TestSplitIsAView(t *testing.T) {
	for _, compact := range []bool{false, true} {
		path, ref := pixelData(t, 40, 6, 0, 255)
		d := ref
		if compact {
			var err error
			if d, err = Load(path, LoadOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		before := d.Values()
		tr, va, err := d.Split(0.5, 2)
		if err != nil {
			t.Fatal(err)
		}
		if tr.StorageBytes() > d.StorageBytes()+int64(8*tr.N) {
			t.Errorf("compact=%v: the train part holds %d bytes, the whole set %d", compact, tr.StorageBytes(), d.StorageBytes())
		}
		// Together the halves hold the storage once and their row lists.
		if got, want := StorageBytesOf(tr, va, nil), d.StorageBytes()+int64(8*d.N)-int64(8*len(d.rows)); got != want {
			t.Errorf("compact=%v: StorageBytesOf the halves = %d, want %d", compact, got, want)
		}
		vaBefore := va.Values()
		tr.ScaleTo01()
		tr.Binarize(0.5)
		if !sameBits(d.Values(), before) || !sameBits(va.Values(), vaBefore) {
			t.Errorf("compact=%v: preprocessing the train part changed the other data", compact)
		}
	}
}
