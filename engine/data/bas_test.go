package data

import (
	"fmt"
	"testing"
)

// isBAS reports whether x (rows×cols, row-major) is a bars-and-stripes
// pattern: every row constant, or every column constant.
func isBAS(x []float32, rows, cols int) bool {
	rowsConst, colsConst := true, true
	for r := range rows {
		for c := range cols {
			v := x[r*cols+c]
			if v != 0 && v != 1 {
				return false
			}
			if v != x[r*cols] {
				rowsConst = false
			}
			if v != x[c] {
				colsConst = false
			}
		}
	}
	return rowsConst || colsConst
}

func TestBarsAndStripes(t *testing.T) {
	tests := []struct{ rows, cols, n int }{
		{4, 4, 30}, {3, 3, 14}, {1, 1, 2}, {1, 4, 16}, {4, 1, 16}, {2, 3, 10}, {5, 2, 34},
	}
	for _, tc := range tests {
		ds, err := BarsAndStripes(tc.rows, tc.cols)
		if err != nil {
			t.Fatal(err)
		}
		if ds.N != tc.n || ds.D != tc.rows*tc.cols || len(ds.X) != ds.N*ds.D || !equalInts(ds.Shape, []int{tc.rows, tc.cols}) || ds.Labels != nil {
			t.Errorf("%dx%d: got N=%d D=%d Shape=%v, want N=%d", tc.rows, tc.cols, ds.N, ds.D, ds.Shape, tc.n)
		}
		seen := map[string]bool{}
		for i := range ds.N {
			x := ds.Row(i)
			if !isBAS(x, tc.rows, tc.cols) {
				t.Errorf("%dx%d: sample %d = %v is not bars-and-stripes", tc.rows, tc.cols, i, x)
			}
			k := fmt.Sprint(x)
			if seen[k] {
				t.Errorf("%dx%d: sample %d = %v is a duplicate", tc.rows, tc.cols, i, x)
			}
			seen[k] = true
		}
	}
	// deterministic order: all off, then row 0 on, ...; first bar is column 0
	ds, _ := BarsAndStripes(2, 2)
	want := []float32{
		0, 0, 0, 0,
		1, 1, 0, 0,
		0, 0, 1, 1,
		1, 1, 1, 1,
		1, 0, 1, 0,
		0, 1, 0, 1,
	}
	if !equalF32(ds.X, want) {
		t.Errorf("2x2 = %v, want %v", ds.X, want)
	}
	// every 3x3 bars-and-stripes pattern (of all 512 binary images) is present
	ds, _ = BarsAndStripes(3, 3)
	count := 0
	for m := range 512 {
		x := make([]float32, 9)
		for i := range x {
			x[i] = float32(m >> i & 1)
		}
		if isBAS(x, 3, 3) {
			count++
		}
	}
	if count != ds.N {
		t.Errorf("3x3: enumeration finds %d patterns, BarsAndStripes %d", count, ds.N)
	}
}

func TestBarsAndStripesErrors(t *testing.T) {
	for _, spec := range []string{"bas:0x4", "bas:4", "bas:axb", "bas:-1x2", "bas:4x4x4", "bas:"} {
		_, err := Load(spec, LoadOptions{})
		wantErr(t, err, spec+": want bas:RxC with integers R, C ≥ 1, e.g. bas:4x4")
	}
	_, err := Load("bas:30x2", LoadOptions{})
	wantErr(t, err, "bas:30x2: size 30×2 is too large")
	_, err = BarsAndStripes(20, 20)
	wantErr(t, err, "bas:20x20: size 20×20 gives 2097150 patterns of 400 pixels, more than")
	_, err = BarsAndStripes(0, 3)
	wantErr(t, err, "bas:0x3: size 0×3, want rows ≥ 1 and cols ≥ 1")
	ds, err := Load("bas:3X2", LoadOptions{})
	if err != nil || ds.N != 10 || ds.Name != "bas:3x2" {
		t.Errorf("bas:3X2: %v %v", ds, err)
	}
}
