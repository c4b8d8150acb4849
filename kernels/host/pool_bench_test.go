package host

import "testing"

type nopJob struct{}

func (nopJob) run(int) {}

// BenchmarkPoolDo is the cost of one launch barrier: wake every worker and
// wait for all of them, with no work.
func BenchmarkPoolDo(b *testing.B) {
	p := newPool(gomaxprocs())
	defer p.stop()
	for i := 0; i < b.N; i++ {
		p.do(nopJob{})
	}
}
