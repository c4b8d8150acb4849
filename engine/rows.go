package engine

import (
	"runtime"
	"sync"

	"github.com/rbmgpu/rbmgpu/engine/data"
)

// meanOverRows returns (1/n) Σ_{i<n} f(row i of d), each row copied as
// float32 into a scratch f may modify. The rows are shared among up to
// GOMAXPROCS goroutines, f must be safe for concurrent use, and the n
// values are summed in row order, so the result has the same bits however
// the rows were shared.
func meanOverRows(d *data.Dataset, n int, f func(row []float32) float64) float64 {
	vals := make([]float64, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			row := make([]float32, d.D)
			for i := lo; i < hi; i++ {
				vals[i] = f(d.RowTo(row, i))
			}
		}(w*n/workers, (w+1)*n/workers)
	}
	wg.Wait()
	var sum float64
	for _, v := range vals {
		sum += v
	}
	return sum / float64(n)
}
