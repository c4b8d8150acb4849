package host

import "github.com/rbmgpu/rbmgpu/kernels"

// The Gaussian–Bernoulli RBM kernels (grbm.cu) run as their Go twins in
// package kernels, which define them (the graph ops call the same twins, so
// the host and the reference tape backend agree bit for bit). They are
// O(rows × V) per step next to the O(rows × V × H) products, so they run on
// the calling goroutine and allocate nothing.

func (d *Driver) launchGRBM(kernel string, args []any) error {
	switch kernel {
	case kernels.ScaleExpNegF32, kernels.GaussianSampleF32:
		M32, N32 := args[0].(int32), args[1].(int32)
		if err := dims(kernel, M32, N32); err != nil {
			return err
		}
		M, N := int(M32), int(N32)
		in, err := d.floats(kernel, "X", devPtr(args[2]), M*N)
		if err != nil {
			return err
		}
		z, err := d.floats(kernel, "Z", devPtr(args[3]), N)
		if err != nil {
			return err
		}
		out, err := d.floats(kernel, "Out", devPtr(args[4]), M*N)
		if err != nil || M*N == 0 {
			return err
		}
		if kernel == kernels.ScaleExpNegF32 {
			kernels.ScaleExpNeg(out, in, z)
			return nil
		}
		kernels.SampleGaussian(out, in, z, kernels.Stream{Seed: args[5].(uint64), Op: args[6].(uint32), Step: args[7].(uint64)})
		return nil
	case kernels.LogVarGradF32:
		B32, C32, N32 := args[0].(int32), args[1].(int32), args[2].(int32)
		if err := dims(kernel, B32, C32, N32); err != nil {
			return err
		}
		B, C, N := int(B32), int(C32), int(N32)
		var bufs [7][]float32
		names := [7]string{"V0", "WP0", "VK", "WPK", "b", "Z", "Out"}
		sizes := [7]int{B * N, B * N, C * N, C * N, N, N, N}
		for i := range bufs {
			var err error
			if bufs[i], err = d.floats(kernel, names[i], devPtr(args[3+i]), sizes[i]); err != nil {
				return err
			}
		}
		kernels.LogVarGrad(bufs[6], B, C, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5])
		return nil
	case kernels.ClampMinF32:
		n32 := args[0].(int32)
		if err := dims(kernel, n32); err != nil {
			return err
		}
		x, err := d.floats(kernel, "X", devPtr(args[1]), int(n32))
		if err != nil {
			return err
		}
		kernels.ClampMin(x, args[2].(float32))
		return nil
	}
	return nil
}
