package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ColumnSums has the bits of the row-order loop over RowTo for every
// storage (float32, uint8 codes, bits) and for a view made by Split.
func TestColumnSums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, dim = 3000, 700 // more than a million values: several goroutines
	codes := make([]float32, n*dim)
	for i := range codes {
		codes[i] = float32(r.IntN(256))
	}
	grey := &Dataset{Name: "grey", N: n, D: dim, X: codes}
	u8 := &Dataset{Name: "codes", N: n, D: dim, X: append([]float32(nil), codes...)}
	u8.st, u8.X = &store{u8: make([]uint8, n*dim)}, nil
	for i, v := range codes {
		u8.st.u8[i] = uint8(v)
	}
	for c := range u8.lut {
		u8.lut[c] = float32(c) / 255
	}
	bits := &Dataset{Name: "bits", N: n, D: dim, X: append([]float32(nil), codes...)}
	bits.Binarize(128)
	train, view, err := u8.Split(0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, d := range []*Dataset{grey, u8, bits, train, view, {Name: "empty", D: dim}} {
		if want := []string{"float32", "uint8", "bits", "uint8", "uint8", "float32"}[k]; d.Storage() != want {
			t.Fatalf("%s: storage %s, want %s", d.Name, d.Storage(), want)
		}
		want := make([]float64, d.D)
		row := make([]float32, d.D)
		for i := range d.N {
			for j, x := range d.RowTo(row, i) {
				want[j] += float64(x)
			}
		}
		got := d.ColumnSums()
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				t.Fatalf("%s (%s): column %d: sum %v, want %v", d.Name, d.Storage(), j, got[j], want[j])
			}
		}
	}
}
