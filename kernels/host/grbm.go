package host

import "github.com/rbmgpu/rbmgpu/kernels"

// The Gaussian–Bernoulli RBM kernels (grbm.cu) run as their Go twins in
// package kernels, which define them (the graph ops call the same twins, so
// the host and the reference tape backend agree bit for bit). The two
// elementwise ones with transcendental functions per element (precision
// scaling, Gaussian sampling) are split into fixed chunks over the worker
// pool; the log-variance statistic and the clamp are small and run on the
// calling goroutine. Nothing allocates.

// grbmChunk is the elements per task of the parallel GRBM kernels (even, so
// that a chunk starts at a Philox block's pair of normals).
const grbmChunk = 1 << 13

type grbmJob struct {
	sample     bool // gaussian_sample_f32, else scale_exp_neg_f32
	n          int
	in, z, out []float32
	col        []float32 // per-column exp(−z) or exp(z/2), grown once
	rng        kernels.Stream
	ctr        counter
}

func (j *grbmJob) run(int) {
	tasks := (j.n + grbmChunk - 1) / grbmChunk
	for t := j.ctr.take(tasks); t >= 0; t = j.ctr.take(tasks) {
		lo, hi := t*grbmChunk, min((t+1)*grbmChunk, j.n)
		if j.sample {
			kernels.SampleGaussianSDRange(j.out, j.in, j.col, j.rng, lo, hi)
		} else {
			kernels.ScaleColsRange(j.out, j.in, j.col, lo, hi)
		}
	}
}

// runGRBM runs the prepared job, in parallel when it is big enough.
func (d *Driver) runGRBM() {
	j := &d.gj
	j.ctr.reset()
	// One exponential per column (the twins' values, bit for bit).
	if cap(j.col) < len(j.z) {
		j.col = make([]float32, len(j.z))
	}
	j.col = j.col[:len(j.z)]
	for c, z := range j.z {
		if j.sample {
			j.col[c] = kernels.Expf(float32(0.5 * z))
		} else {
			j.col[c] = kernels.Expf(-z)
		}
	}
	if j.n <= grbmChunk {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	j.in, j.z, j.out = nil, nil, nil
}

// launchScaleExpNeg runs scale_exp_neg_f32 and, with a non-nil rng,
// gaussian_sample_f32 (the same shapes and buffers).
func (d *Driver) launchScaleExpNeg(kernel string, M32, N32 int32, X, Z, Out kernels.DevicePtr, rng *kernels.Stream) error {
	if err := dims(kernel, M32, N32); err != nil {
		return err
	}
	M, N := int(M32), int(N32)
	in, err := d.floats(kernel, "X", X, M*N)
	if err != nil {
		return err
	}
	z, err := d.floats(kernel, "Z", Z, N)
	if err != nil {
		return err
	}
	out, err := d.floats(kernel, "Out", Out, M*N)
	if err != nil || M*N == 0 {
		return err
	}
	j := &d.gj
	j.sample, j.n, j.in, j.z, j.out = rng != nil, M*N, in, z, out
	if j.sample {
		j.rng = *rng
	}
	d.runGRBM()
	return nil
}

func (d *Driver) launchLogVarGrad(a *kernels.LogVarGradF32Args) error {
	const kernel = kernels.LogVarGradF32
	if err := dims(kernel, a.B, a.C, a.N); err != nil {
		return err
	}
	B, C, N := int(a.B), int(a.C), int(a.N)
	var bufs [7][]float32
	names := [7]string{"V0", "WP0", "VK", "WPK", "b", "Z", "Out"}
	ptrs := [7]kernels.DevicePtr{a.V0, a.WP0, a.VK, a.WPK, a.VBias, a.Z, a.Out}
	sizes := [7]int{B * N, B * N, C * N, C * N, N, N, N}
	for i := range bufs {
		var err error
		if bufs[i], err = d.floats(kernel, names[i], ptrs[i], sizes[i]); err != nil {
			return err
		}
	}
	kernels.LogVarGrad(bufs[6], B, C, bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5])
	return nil
}

func (d *Driver) launchClampMin(a *kernels.ClampMinF32Args) error {
	const kernel = kernels.ClampMinF32
	if err := dims(kernel, a.N); err != nil {
		return err
	}
	x, err := d.floats(kernel, "X", a.X, int(a.N))
	if err != nil {
		return err
	}
	kernels.ClampMin(x, a.Lo)
	return nil
}
