package data

import "fmt"

// maxBASPixels bounds rows·cols·N for BarsAndStripes (256 Mi values, 1 GiB).
const maxBASPixels = 1 << 28

// BarsAndStripes returns every distinct bars-and-stripes image of rows×cols
// binary pixels: a stripe pattern turns whole rows on or off, a bar pattern
// whole columns. The all-off and all-on images are both, so there are
//
//	N = 2^rows + 2^cols − 2   (30 for 4×4, 14 for 3×3, 2^n for 1×n)
//
// samples of D = rows·cols features in {0, 1}, Shape [rows cols], no labels.
// Order is deterministic: stripes first by row mask m = 0 … 2^rows−1 (row r
// on iff bit r of m is set), then bars by column mask 1 … 2^cols−2.
//
// It is the classic small RBM benchmark (MacKay 2003): small enough for an
// exact log-likelihood, so every command works on a fresh machine with no
// data.
func BarsAndStripes(rows, cols int) (*Dataset, error) {
	name := fmt.Sprintf("bas:%dx%d", rows, cols)
	if rows < 1 || cols < 1 {
		return nil, errorf(name, "size %d×%d, want rows ≥ 1 and cols ≥ 1", rows, cols)
	}
	if rows > 24 || cols > 24 {
		return nil, errorf(name, "size %d×%d is too large: want rows, cols ≤ 24 (2^rows + 2^cols patterns)", rows, cols)
	}
	d := rows * cols
	n := 1<<rows + 1<<cols - 2
	if int64(n)*int64(d) > maxBASPixels {
		return nil, errorf(name, "size %d×%d gives %d patterns of %d pixels, more than %d values", rows, cols, n, d, maxBASPixels)
	}
	ds := &Dataset{Name: name, N: n, D: d, X: make([]float32, n*d), Shape: []int{rows, cols}}
	k := 0
	for m := 0; m < 1<<rows; m++ {
		x := ds.Row(k)
		for r := range rows {
			if m>>r&1 == 1 {
				for c := range cols {
					x[r*cols+c] = 1
				}
			}
		}
		k++
	}
	for m := 1; m < 1<<cols-1; m++ {
		x := ds.Row(k)
		for c := range cols {
			if m>>c&1 == 1 {
				for r := range rows {
					x[r*cols+c] = 1
				}
			}
		}
		k++
	}
	return ds, nil
}
