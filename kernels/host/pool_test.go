package host

import (
	"sync/atomic"
	"testing"
	"time"
)

// countJob counts, per worker, the rounds it ran.
type countJob struct{ runs []atomic.Int64 }

func (c *countJob) run(w int) { c.runs[w].Add(1) }

// Every worker runs every round, whether the rounds come back to back
// (workers polling) or after a pause longer than spinFor (workers and
// caller asleep), and stop returns with the workers asleep or polling.
func TestPoolRounds(t *testing.T) {
	for _, n := range []int{1, 2, 3, 8} {
		p := newPool(n)
		j := &countJob{runs: make([]atomic.Int64, n)}
		rounds := 0
		for i := 0; i < 200; i++ {
			p.do(j)
			rounds++
			if i%20 == 0 {
				time.Sleep(3 * spinFor) // let the workers fall asleep
			}
		}
		for w := range j.runs {
			if got := j.runs[w].Load(); got != int64(rounds) {
				t.Errorf("%d workers: worker %d ran %d rounds, want %d", n, w, got, rounds)
			}
		}
		if n%2 == 0 {
			time.Sleep(3 * spinFor)
		}
		p.stop()
		p.stop() // idempotent
	}
}

// slowJob makes worker 1 finish well after the caller, so the caller sleeps
// waiting for it.
type slowJob struct{ done atomic.Int64 }

func (s *slowJob) run(w int) {
	if w == 1 {
		time.Sleep(3 * spinFor)
	}
	s.done.Add(1)
}

func TestPoolCallerWaits(t *testing.T) {
	p := newPool(2)
	defer p.stop()
	j := &slowJob{}
	for i := 1; i <= 5; i++ {
		p.do(j)
		if got := j.done.Load(); got != int64(2*i) {
			t.Fatalf("round %d: do returned after %d runs, want %d", i, got, 2*i)
		}
	}
}
