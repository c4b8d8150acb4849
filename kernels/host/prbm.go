package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// pottsVisibleJob is one potts_visible_f32 launch: its sites are
// independent, so workers take chunks of sites from a counter and run the
// Go twin on each.
type pottsVisibleJob struct {
	L, Q, mode, sites int
	A, S              []float32
	rng               kernels.Stream
	u                 [][]float32 // per worker, Q logits
	ctr               counter
}

// pottsVisibleChunk is the number of sites a worker takes at once.
const pottsVisibleChunk = 256

func (j *pottsVisibleJob) run(w int) {
	n := (j.sites + pottsVisibleChunk - 1) / pottsVisibleChunk
	for c := j.ctr.take(n); c >= 0; c = j.ctr.take(n) {
		lo := c * pottsVisibleChunk
		kernels.PottsVisibleRange(j.L, j.Q, j.mode, j.A, j.S, j.rng, lo, min(lo+pottsVisibleChunk, j.sites), j.u[w])
	}
}

func (d *Driver) launchPottsVisible(a *kernels.PottsVisibleF32Args) error {
	const name = kernels.PottsVisibleF32
	if err := dims(name, a.R, a.L, a.Q); err != nil {
		return err
	}
	if a.Q < 1 || (a.Mode != kernels.PottsVisibleSample && a.Mode != kernels.PottsVisibleProbs) {
		return fmt.Errorf("host: %s: Q = %d, mode = %d: want Q ≥ 1 and mode 0 or 1", name, a.Q, a.Mode)
	}
	j := &d.pv
	j.L, j.Q, j.mode, j.sites = int(a.L), int(a.Q), int(a.Mode), int(a.R)*int(a.L)
	n := j.sites * j.Q
	var err error
	if j.A, err = d.floats(name, "A", a.A, n); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, n); err != nil {
		return err
	}
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	for len(j.u) < d.pool.n {
		j.u = append(j.u, nil)
	}
	for w := range j.u {
		if len(j.u[w]) < j.Q {
			j.u[w] = make([]float32, j.Q)
		}
	}
	j.ctr.reset()
	if j.sites <= pottsVisibleChunk {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	return nil
}
