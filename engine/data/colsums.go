package data

import (
	"runtime"
	"sync"
)

// ColumnSums returns s[j] = Σ_i x[i, j], j < D, accumulated in float64 in
// row order i = 0, 1, …, N−1: the sum a loop over RowTo would give, to the
// bit. The columns are split among up to GOMAXPROCS goroutines, each
// summing its own columns in that same order, so the split changes no bit;
// uint8 codes and bits are read in place rather than converted row by row.
func (d *Dataset) ColumnSums() []float64 {
	sums := make([]float64, d.D)
	if d.N == 0 || d.D == 0 {
		return sums
	}
	// Below about a million values one goroutine is as fast.
	parts := min(runtime.GOMAXPROCS(0), max(1, d.N*d.D>>20), max(1, d.D/8))
	var wg sync.WaitGroup
	for p := range parts {
		j0, j1 := p*d.D/parts, (p+1)*d.D/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.sumColumns(sums[j0:j1], j0)
		}()
	}
	wg.Wait()
	return sums
}

// sumColumns adds, in row order, columns j0 … j0+len(dst)−1 of every row
// into dst.
func (d *Dataset) sumColumns(dst []float64, j0 int) {
	D, j1 := d.D, j0+len(dst)
	s := d.st
	switch {
	case s == nil || s.f32 != nil:
		x := d.X
		if s != nil {
			x = s.f32
		}
		for i := range d.N {
			r := d.srcRow(i) * D
			for j, v := range x[r+j0 : r+j1] {
				dst[j] += float64(v)
			}
		}
	case s.u8 != nil:
		var lut [256]float64
		for c, v := range d.lut {
			lut[c] = float64(v)
		}
		for i := range d.N {
			r := d.srcRow(i) * D
			for j, c := range s.u8[r+j0 : r+j1] {
				dst[j] += lut[c]
			}
		}
	default:
		for i := range d.N {
			words := s.bits[d.srcRow(i)*s.wpr:]
			for j := j0; j < j1; j++ {
				dst[j-j0] += float64(words[j/64] >> (j % 64) & 1)
			}
		}
	}
}
