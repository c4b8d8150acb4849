package host

import (
	"sync"
	"sync/atomic"
)

// job is a parallel piece of work: run is called once by each of the pool's
// workers (w = 0..n-1) and must split the work among them by itself —
// usually by taking task indices from an atomic counter. The result must
// not depend on which worker runs which task (every task writes its own
// outputs, summed in a fixed order), so it is deterministic.
type job interface{ run(w int) }

// pool is a fixed set of worker goroutines started once, so a launch costs a
// channel send per worker and no allocation. The goroutine calling do is
// worker 0.
type pool struct {
	n     int
	wake  []chan job
	done  sync.WaitGroup
	close sync.Once
}

func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	p.wake = make([]chan job, p.n-1)
	for i := range p.wake {
		ch := make(chan job, 1)
		p.wake[i] = ch
		go func(w int) {
			for j := range ch {
				j.run(w)
				p.done.Done()
			}
		}(i + 1)
	}
	return p
}

// do runs j on every worker and returns when all are done. Calls must not
// overlap (the Driver serialises launches).
func (p *pool) do(j job) {
	p.done.Add(len(p.wake))
	for _, ch := range p.wake {
		ch <- j
	}
	j.run(0)
	p.done.Wait()
}

// stop ends the worker goroutines.
func (p *pool) stop() {
	p.close.Do(func() {
		for _, ch := range p.wake {
			close(ch)
		}
	})
}

// counter hands out task indices 0, 1, 2, ... to workers.
type counter struct{ next atomic.Int64 }

func (c *counter) reset() { c.next.Store(0) }

// take returns the next task index, or -1 when all n are taken.
func (c *counter) take(n int) int {
	i := int(c.next.Add(1) - 1)
	if i >= n {
		return -1
	}
	return i
}
