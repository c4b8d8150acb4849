package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// bmJob is one bm_gibbs_f32 launch: its rows are independent chains, so
// workers take rows from a counter and run the Go twin on each (the twin is
// the kernel's contract bit for bit, summation tree included).
type bmJob struct {
	R, N, Nin, first, sweeps int
	meanField                bool
	X, W, b, S               []float32
	rng                      kernels.Stream
	red                      [][kernels.BMBlock]float32 // per worker
	ctr                      counter
}

func (j *bmJob) run(w int) {
	for r := j.ctr.take(j.R); r >= 0; r = j.ctr.take(j.R) {
		kernels.BMGibbsRow(r, j.R, j.N, j.Nin, j.first, j.sweeps, j.meanField,
			j.X[r*j.Nin:(r+1)*j.Nin], j.W, j.b, j.S[r*j.N:(r+1)*j.N], j.rng, &j.red[w])
	}
}

func (d *Driver) launchBMGibbs(grid kernels.Dim3, a *kernels.BMGibbsF32Args) error {
	const name = kernels.BMGibbsF32
	R32, N32, Nin32, first32, sw32 := a.R, a.N, a.Nin, a.First, a.Sweeps
	if err := dims(name, R32, N32, Nin32, first32, sw32); err != nil {
		return err
	}
	j := &d.bm
	j.R, j.N, j.Nin, j.first, j.sweeps = int(R32), int(N32), int(Nin32), int(first32), int(sw32)
	j.meanField = a.MeanField != 0
	if grid.X*grid.Y*grid.Z < j.R {
		// One block per row: a smaller grid leaves rows unsampled on a GPU.
		return fmt.Errorf("host: %s: grid %v does not cover %d rows", name, grid, j.R)
	}
	if j.Nin > j.N || j.first > j.N {
		return fmt.Errorf("host: %s: Nin = %d, first = %d for N = %d units", name, j.Nin, j.first, j.N)
	}
	var err error
	if j.X, err = d.floats(name, "X", a.X, j.R*j.Nin); err != nil {
		return err
	}
	if j.W, err = d.floats(name, "W", a.W, j.N*j.N); err != nil {
		return err
	}
	if j.b, err = d.floats(name, "b", a.B, j.N); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, j.R*j.N); err != nil {
		return err
	}
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	if len(j.red) < d.pool.n {
		j.red = make([][kernels.BMBlock]float32, d.pool.n)
	}
	j.ctr.reset()
	if j.R <= 1 {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	return nil
}

func (d *Driver) launchBMMask(a *kernels.BMMaskF32Args) error {
	const name = kernels.BMMaskF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	G, err := d.floats(name, "G", a.G, n)
	if err != nil {
		return err
	}
	M, err := d.floats(name, "M", a.M, n)
	if err != nil {
		return err
	}
	out, err := d.floats(name, "out", a.Out, n)
	if err != nil {
		return err
	}
	kernels.BMMask(G, M, out)
	return nil
}
