package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The parallel-tempering kernels (pt.cu) run their Go twins, which are the
// contracts bit for bit. pt_sample_f32 (an expf and a Philox draw per
// element of every sweep) spreads its rows over the workers; the others
// are O(rows·(V+H)) per step, next to the sweeps' GEMMs, and run on one.

// ptSampleJob is one pt_sample_f32 launch: rows taken from a counter.
type ptSampleJob struct {
	M, N, C    int
	A, beta, S []float32
	rng        kernels.Stream
	ctr        counter
}

// ptSampleRowsPerTask is the rows a worker takes at once.
const ptSampleRowsPerTask = 8

func (j *ptSampleJob) run(int) {
	tasks := (j.M + ptSampleRowsPerTask - 1) / ptSampleRowsPerTask
	for t := j.ctr.take(tasks); t >= 0; t = j.ctr.take(tasks) {
		for i := t * ptSampleRowsPerTask; i < min(j.M, (t+1)*ptSampleRowsPerTask); i++ {
			kernels.PTSampleRow(i, j.N, j.C, j.A, j.beta, j.S, j.rng)
		}
	}
}

func (d *Driver) launchPT(a kernels.Args) error {
	name := a.Kernel()
	switch a := a.(type) {
	case *kernels.PTSampleF32Args:
		if err := dims(name, a.M, a.N, a.C); err != nil {
			return err
		}
		M, N, C := int(a.M), int(a.N), int(a.C)
		if C < 1 || M%C != 0 {
			return fmt.Errorf("host: %s: %d rows are not whole replicas of %d chains", name, M, C)
		}
		A, err := d.floats(name, "A", a.A, M*N)
		if err != nil {
			return err
		}
		beta, err := d.floats(name, "beta", a.Beta, M/C)
		if err != nil {
			return err
		}
		S, err := d.floats(name, "S", a.S, M*N)
		if err != nil {
			return err
		}
		j := &d.pts
		j.M, j.N, j.C, j.A, j.beta, j.S = M, N, C, A, beta, S
		j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
		j.ctr.reset()
		if M*N < 1<<14 {
			j.run(0)
		} else {
			d.pool.do(j)
		}
	case *kernels.PTEnergyF32Args:
		if err := dims(name, a.M, a.V, a.H); err != nil {
			return err
		}
		M, V, H := int(a.M), int(a.V), int(a.H)
		X, err := d.floats(name, "X", a.X, M*V)
		if err != nil {
			return err
		}
		A, err := d.floats(name, "A", a.A, M*H)
		if err != nil {
			return err
		}
		Hs, err := d.floats(name, "Hs", a.Hs, M*H)
		if err != nil {
			return err
		}
		b, err := d.floats(name, "b", a.B, V)
		if err != nil {
			return err
		}
		E, err := d.floats(name, "E", a.E, M)
		if err != nil {
			return err
		}
		kernels.PTEnergy(M, V, H, X, A, Hs, b, E)
	case *kernels.PTSwapF32Args:
		if err := dims(name, a.R, a.C, a.V); err != nil {
			return err
		}
		R, C, V := int(a.R), int(a.C), int(a.V)
		X, err := d.floats(name, "X", a.X, R*C*V)
		if err != nil {
			return err
		}
		E, err := d.floats(name, "E", a.E, R*C)
		if err != nil {
			return err
		}
		beta, err := d.floats(name, "beta", a.Beta, R)
		if err != nil {
			return err
		}
		Y, err := d.floats(name, "Y", a.Y, R*C*V)
		if err != nil {
			return err
		}
		kernels.PTSwap(R, C, V, X, E, beta, Y, kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step})
	case *kernels.PTAcceptF32Args:
		if err := dims(name, a.R, a.C); err != nil {
			return err
		}
		R, C := int(a.R), int(a.C)
		if R < 2 {
			return fmt.Errorf("host: %s: %d replicas, want ≥ 2", name, R)
		}
		E, err := d.floats(name, "E", a.E, R*C)
		if err != nil {
			return err
		}
		beta, err := d.floats(name, "beta", a.Beta, R)
		if err != nil {
			return err
		}
		in, err := d.floats(name, "In", a.In, 2*(R-1))
		if err != nil {
			return err
		}
		out, err := d.floats(name, "Out", a.Out, 2*(R-1))
		if err != nil {
			return err
		}
		kernels.PTAccept(R, C, E, beta, in, out, kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step})
	case *kernels.PTRowsF32Args:
		if err := dims(name, a.N); err != nil {
			return err
		}
		n := int(a.N)
		X, err := d.floats(name, "X", a.X, n)
		if err != nil {
			return err
		}
		out, err := d.floats(name, "Out", a.Out, n)
		if err != nil {
			return err
		}
		copy(out, X)
	default:
		return fmt.Errorf("host: kernel %q has no host implementation", name)
	}
	return nil
}
