package host

import (
	"sync"
	"sync/atomic"
	"time"
)

// job is a parallel piece of work: run is called once by each of the pool's
// workers (w = 0..n-1) and must split the work among them by itself —
// usually by taking task indices from an atomic counter. The result must
// not depend on which worker runs which task (every task writes its own
// outputs, summed in a fixed order), so it is deterministic.
type job interface{ run(w int) }

// spinFor is how long an idle worker (or the caller waiting for the
// workers) polls before it sleeps. A training step is a few dozen launches
// a few hundred µs apart; polling through those gaps keeps the workers'
// threads on their CPUs, where sleeping lets the OS park them and wake
// them late (on a shared 2-vCPU VM that halved the second core's share).
const spinFor = 200 * time.Microsecond

// pool is a fixed set of worker goroutines started once, so a launch costs a
// few atomic operations and no allocation. The goroutine calling do is
// worker 0.
//
// A round: do publishes the job and bumps seq; each worker sees the new
// seq (polling, or woken from cond), runs the job and decrements left; the
// last one wakes the caller if it sleeps. Sleepers announce themselves
// (sleepers, callerAsleep) before re-checking their condition under mu, so
// a wake-up cannot be lost between the check and the wait.
type pool struct {
	n            int
	job          job
	seq          atomic.Uint64 // rounds started
	left         atomic.Int64  // workers 1..n-1 still running the current round
	closed       atomic.Bool
	sleepers     atomic.Int32
	callerAsleep atomic.Bool
	mu           sync.Mutex
	work         *sync.Cond // workers wait for a round here
	done         *sync.Cond // the caller waits for the round's end here
	exited       sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	p.work, p.done = sync.NewCond(&p.mu), sync.NewCond(&p.mu)
	p.exited.Add(p.n - 1)
	for w := 1; w < p.n; w++ {
		go p.worker(w)
	}
	return p
}

// worker runs rounds until the pool stops.
func (p *pool) worker(w int) {
	defer p.exited.Done()
	var last uint64
	for {
		if !p.spinUntilRound(last) {
			p.mu.Lock()
			p.sleepers.Add(1)
			for p.seq.Load() == last && !p.closed.Load() {
				p.work.Wait()
			}
			p.sleepers.Add(-1)
			p.mu.Unlock()
		}
		if p.closed.Load() {
			return
		}
		last = p.seq.Load() // rounds cannot advance until this worker is done
		p.job.run(w)
		if p.left.Add(-1) == 0 && p.callerAsleep.Load() {
			p.mu.Lock()
			p.done.Broadcast()
			p.mu.Unlock()
		}
	}
}

// spinUntilRound polls for up to spinFor for a round after last (or the
// pool's stop) and reports whether one came.
func (p *pool) spinUntilRound(last uint64) bool {
	deadline := time.Now().Add(spinFor)
	for i := 1; ; i++ {
		if p.seq.Load() != last || p.closed.Load() {
			return true
		}
		if i%64 == 0 && time.Now().After(deadline) {
			return false
		}
	}
}

// spinUntilDone polls for up to spinFor for the workers to finish the
// round and reports whether they did.
func (p *pool) spinUntilDone() bool {
	deadline := time.Now().Add(spinFor)
	for i := 1; ; i++ {
		if p.left.Load() == 0 {
			return true
		}
		if i%64 == 0 && time.Now().After(deadline) {
			return false
		}
	}
}

// do runs j on every worker and returns when all are done. Calls must not
// overlap (the Driver serialises launches).
func (p *pool) do(j job) {
	if p.n == 1 {
		j.run(0)
		return
	}
	p.job = j
	p.left.Store(int64(p.n - 1))
	p.seq.Add(1)
	if p.sleepers.Load() > 0 {
		p.mu.Lock()
		p.work.Broadcast()
		p.mu.Unlock()
	}
	j.run(0)
	if !p.spinUntilDone() {
		p.mu.Lock()
		p.callerAsleep.Store(true)
		for p.left.Load() != 0 {
			p.done.Wait()
		}
		p.callerAsleep.Store(false)
		p.mu.Unlock()
	}
	p.job = nil
}

// stop ends the worker goroutines (idempotent).
func (p *pool) stop() {
	if p.closed.Swap(true) {
		return
	}
	p.mu.Lock()
	p.work.Broadcast()
	p.mu.Unlock()
	p.exited.Wait()
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
