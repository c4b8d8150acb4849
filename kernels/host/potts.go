package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// pottsJob is one potts_gibbs_f32 launch: its rows are independent chains,
// so workers take rows from a counter and run the Go twin on each.
type pottsJob struct {
	R, L, Q, sweeps int
	X, W, b, S      []float32
	rng             kernels.Stream
	code            [][]int32   // per worker, L codes
	u               [][]float32 // per worker, Q logits
	ctr             counter
}

func (j *pottsJob) run(w int) {
	N := j.L * j.Q
	for r := j.ctr.take(j.R); r >= 0; r = j.ctr.take(j.R) {
		kernels.PottsGibbsRow(r, j.R, j.L, j.Q, j.sweeps, j.X[r*N:(r+1)*N], j.W, j.b, j.S[r*N:(r+1)*N], j.rng,
			j.code[w], j.u[w])
	}
}

func (d *Driver) launchPottsGibbs(grid kernels.Dim3, a *kernels.PottsGibbsF32Args) error {
	const name = kernels.PottsGibbsF32
	if err := dims(name, a.R, a.L, a.Q, a.Sweeps); err != nil {
		return err
	}
	j := &d.pj
	j.R, j.L, j.Q, j.sweeps = int(a.R), int(a.L), int(a.Q), int(a.Sweeps)
	if err := kernels.CheckPottsShape(j.L, j.Q); err != nil {
		return fmt.Errorf("host: %s: %w", name, err)
	}
	if grid.X*grid.Y*grid.Z < j.R {
		return fmt.Errorf("host: %s: grid %v does not cover %d chains", name, grid, j.R)
	}
	N := j.L * j.Q
	var err error
	if j.X, err = d.floats(name, "X", a.X, j.R*N); err != nil {
		return err
	}
	if j.W, err = d.floats(name, "W", a.W, N*N); err != nil {
		return err
	}
	if j.b, err = d.floats(name, "b", a.B, N); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, j.R*N); err != nil {
		return err
	}
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	for len(j.code) < d.pool.n {
		j.code, j.u = append(j.code, nil), append(j.u, nil)
	}
	for w := range j.code {
		if len(j.code[w]) < j.L {
			j.code[w] = make([]int32, j.L)
		}
		if len(j.u[w]) < j.Q {
			j.u[w] = make([]float32, j.Q)
		}
		j.code[w], j.u[w] = j.code[w][:j.L], j.u[w][:j.Q]
	}
	j.ctr.reset()
	if j.R <= 1 {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	return nil
}

func (d *Driver) launchPottsGrad(a *kernels.PottsGradF32Args) error {
	const name = kernels.PottsGradF32
	if err := dims(name, a.N, a.Cols, a.Q); err != nil {
		return err
	}
	n, cols := int(a.N), int(a.Cols)
	if cols < 1 || n%cols != 0 {
		return fmt.Errorf("host: %s: %d elements are not rows of %d", name, n, cols)
	}
	F, err := d.floats(name, "F", a.F, n)
	if err != nil {
		return err
	}
	X, err := d.floats(name, "X", a.X, n)
	if err != nil {
		return err
	}
	out, err := d.floats(name, "out", a.Out, n)
	if err != nil {
		return err
	}
	kernels.PottsGrad(cols, int(a.Q), a.Alpha, F, X, out)
	return nil
}
