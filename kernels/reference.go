package kernels

import "math"

// Go twins of the kernel contracts: plain loops, the definition each kernel
// is tested against (kernels/emu) and that a CPU path may use. Where a
// kernel's result is defined bit for bit (SGDUpdate, the samples), so is the
// twin's; elsewhere the twin accumulates in float64 and tests allow for the
// kernel's float32 rounding.

// sigmoid64 is 1/(1+e^-x) in float64.
func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Softplus64 is log(1+e^x) in float64, stable for large |x|.
func Softplus64(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// GemmRef is the contract of gemm_f32 (row-major, see gemm.cu):
//
//	x[i,j] = alpha * sum_k op(A)[i,k] op(B)[k,j] + beta*C[i,j] (+ bias[j] if GemmBias)
//	C[i,j] = x (unless GemmNoC); p = sigmoid(x) if GemmSigmoid else x
//	P[i,j] = p if GemmWriteP; S[i,j] = 1 if rng.Uniform(i*N+j) < p else 0 if GemmSample
//
// The sum is taken in float64, so the result is the exact value rounded
// (up to float64 error). For GemmSample the sample is drawn against the
// float32 p computed here; the kernel's own p may differ in the last bits.
func GemmRef(M, N, K int, alpha float32, A, B []float32, beta float32, C []float32,
	transA, transB bool, flags int, bias, P, S []float32, rng Stream) {
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var acc float64
			for k := 0; k < K; k++ {
				var a, b float32
				if transA {
					a = A[k*M+i]
				} else {
					a = A[i*K+k]
				}
				if transB {
					b = B[j*K+k]
				} else {
					b = B[k*N+j]
				}
				acc += float64(a) * float64(b)
			}
			x := float64(alpha) * acc
			if beta != 0 {
				x += float64(beta) * float64(C[i*N+j])
			}
			if flags&GemmBias != 0 {
				x += float64(bias[j])
			}
			if flags&GemmNoC == 0 {
				C[i*N+j] = float32(x)
			}
			p := x
			if flags&GemmSigmoid != 0 {
				p = sigmoid64(x)
			}
			if flags&GemmWriteP != 0 {
				P[i*N+j] = float32(p)
			}
			if flags&GemmSample != 0 {
				S[i*N+j] = Bernoulli(rng.Uniform(uint64(i*N+j)), float32(p))
			}
		}
	}
}

// Bernoulli returns the sample of a Bernoulli(p) unit given uniform u in
// [0, 1): 1 if u < p, else 0 — the rule every sampling kernel uses.
func Bernoulli(u, p float32) float32 {
	if u < p {
		return 1
	}
	return 0
}

// SampleBernoulli writes dst[e] = Bernoulli(s.Uniform(e), p[e]) for every
// element: the reference Bernoulli draw of a Philox stream, shared by the
// graph's sampling op, the models' Gibbs samplers and the kernel tests.
// dst and p have the same length and may be the same slice.
func SampleBernoulli(dst, p []float32, s Stream) {
	n := len(p)
	for b := 0; b*4 < n; b++ {
		w := s.Block(uint32(b))
		for j := 0; j < 4 && b*4+j < n; j++ {
			dst[b*4+j] = Bernoulli(ToUniform(w[j]), p[b*4+j])
		}
	}
}

// ColSumRef is the contract of col_sum_f32: out[j] = alpha*sum_i X[i,j] +
// beta*out[j] (out not read when beta == 0), X row-major M x N; float64 sums.
func ColSumRef(M, N int, alpha float32, X []float32, beta float32, out []float32) {
	for j := 0; j < N; j++ {
		var s float64
		for i := 0; i < M; i++ {
			s += float64(X[i*N+j])
		}
		r := float64(alpha) * s
		if beta != 0 {
			r += float64(beta) * float64(out[j])
		}
		out[j] = float32(r)
	}
}

// SqDiffRef is the contract of sq_diff_partial_f32 followed by sum_f32 with
// alpha: alpha * sum_i (A[i]-B[i])^2, the reconstruction error when A is the
// data and B its reconstruction (alpha = 1/batch gives the mean per row).
func SqDiffRef(A, B []float32, alpha float32) float32 {
	var s float64
	for i := range A {
		d := float64(A[i] - B[i]) // the kernel's difference is float32 too
		s += d * d
	}
	return float32(float64(alpha) * s)
}

// FreeEnergyRef is the contract of free_energy_f32: for each row i,
//
//	F[i] = -sum_j V[i,j] vbias[j] - sum_k softplus(X[i,k])
//
// with V M x Nv and X = V W + hbias M x Nh; float64 inside.
func FreeEnergyRef(M, Nv, Nh int, V, vbias, X, F []float32) {
	for i := 0; i < M; i++ {
		var vb, sp float64
		for j := 0; j < Nv; j++ {
			vb += float64(V[i*Nv+j]) * float64(vbias[j])
		}
		for k := 0; k < Nh; k++ {
			sp += Softplus64(float64(X[i*Nh+k]))
		}
		F[i] = float32(-vb - sp)
	}
}

// SGDUpdate is the contract of sgd_update_f32, bit for bit: for each i,
// every operation rounded to float32 in this order,
//
//	g = grad[i] - weightDecay*param[i]
//	vel[i] = momentum*vel[i] + lr*g
//	param[i] = param[i] + vel[i]
//
// grad is the ascent direction (data minus model statistics). The explicit
// float32 conversions stop the Go compiler from fusing a*b+c into an FMA (it
// may on arm64, ppc64 and s390x), matching the PTX built with -fmad=false.
func SGDUpdate(param, vel, grad []float32, lr, momentum, weightDecay float32) {
	for i := range param {
		p := param[i]
		g := grad[i] - float32(weightDecay*p)
		v := float32(momentum*vel[i]) + float32(lr*g)
		vel[i] = v
		param[i] = p + v
	}
}

// L1Grad is the contract of l1_grad_f32: grad[i] ← grad[i] − l1·sign(param[i])
// with sign(0) = 0, the subgradient of the penalty −l1·Σ|θ| added to the
// ascent direction; one rounding per element.
func L1Grad(grad, param []float32, l1 float32) {
	for i, p := range param {
		var s float32
		switch {
		case p > 0:
			s = 1
		case p < 0:
			s = -1
		}
		grad[i] -= l1 * s
	}
}

// Adam's constants (Kingma & Ba 2015): the moment decay rates and the
// denominator's floor.
const (
	AdamBeta1 = 0.9
	AdamBeta2 = 0.999
	AdamEps   = 1e-8
)

// AdamUpdate is one bias-corrected Adam step (Kingma & Ba 2015) at step
// t ≥ 1 in the ascent convention of SGDUpdate: for each i, with d the
// ascent direction,
//
//	d    = grad[i] − weightDecay·param[i]
//	m[i] = β₁·m[i] + (1−β₁)·d
//	v[i] = β₂·v[i] + (1−β₂)·d²
//	param[i] += lr·(m[i]/(1−β₁ᵗ)) / (√(v[i]/(1−β₂ᵗ)) + ε)
//
// β₁ = AdamBeta1, β₂ = AdamBeta2, ε = AdamEps. Each line is computed in
// float64 from the float32 operands and rounded to float32 once when
// stored. There is no kernel of the launch table with this contract yet.
func AdamUpdate(param, m, v, grad []float32, lr, weightDecay float32, t uint64) {
	const b1, b2, eps = AdamBeta1, AdamBeta2, AdamEps
	c1, c2 := 1-math.Pow(b1, float64(t)), 1-math.Pow(b2, float64(t))
	lr64, wd := float64(lr), float64(weightDecay)
	for j := range param {
		d := float64(grad[j]) - wd*float64(param[j])
		m[j] = float32(b1*float64(m[j]) + (1-b1)*d)
		v[j] = float32(b2*float64(v[j]) + (1-b2)*d*d)
		param[j] += float32(lr64 * (float64(m[j]) / c1) / (math.Sqrt(float64(v[j])/c2) + eps))
	}
}
