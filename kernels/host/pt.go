package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The parallel-tempering kernels (pt.cu) run their Go twins, which are the
// contracts bit for bit: they are O(rows·(V+H)) next to the GEMMs of a
// sweep, so one goroutine does.

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
		kernels.PTSample(M, N, C, A, beta, S, kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step})
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
