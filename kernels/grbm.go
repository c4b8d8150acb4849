package kernels

import "math"

// Go twins of the Gaussian–Bernoulli RBM kernels in grbm.cu. Each follows
// its kernel's operation order with every operation rounded to float32; the
// transcendental functions (Expf, Logf, Cosf) are the float64 functions
// rounded once, within 2 ulp of CUDA's. The graph ops of package graph and
// the host driver (kernels/host) call these functions, so those two agree
// bit for bit and the emulator/GPU within the transcendental ulps.

// Expf is e^x computed in float64 and rounded to float32.
func Expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// Logf is ln x computed in float64 and rounded to float32.
func Logf(x float32) float32 { return float32(math.Log(float64(x))) }

// Cosf is cos x computed in float64 and rounded to float32.
func Cosf(x float32) float32 { return float32(math.Cos(float64(x))) }

// Sqrtf is the correctly rounded float32 square root (as CUDA's sqrtf).
func Sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// TwoPi is 2π rounded to float32, the constant of the Box–Muller angle.
const TwoPi float32 = 6.2831855

// Normal returns the standard normal draw of element e of stream s, the
// contract of grbm.cu's gaussian_normal: Box–Muller on words 2e and 2e+1,
//
//	u1 = 1 − U(2e) ∈ (0, 1],  u2 = U(2e+1) ∈ [0, 1)
//	n  = sqrt(−2 ln u1) · cos(2π u2)
//
// |n| ≤ sqrt(2·24·ln 2) ≈ 5.77, as u1 ≥ 2^−24.
func Normal(s Stream, e uint64) float32 {
	w := s.Block(uint32(e >> 1))
	j := (e & 1) * 2
	return boxMuller(w[j], w[j+1])
}

func boxMuller(w1, w2 uint32) float32 {
	u1 := 1 - ToUniform(w1)
	u2 := ToUniform(w2)
	r := Sqrtf(float32(-2 * Logf(u1)))
	return r * Cosf(float32(TwoPi*u2))
}

// SampleGaussian is the contract of gaussian_sample_f32 over an M×N matrix
// (N = len(z)): dst[e] = mean[e] + exp(z[c]/2)·Normal(s, e), c = e mod N,
// the sample of N(mean, exp(z)) per element. dst may be mean.
func SampleGaussian(dst, mean, z []float32, s Stream) {
	SampleGaussianRange(dst, mean, z, s, 0, len(mean))
}

// SampleGaussianRange is SampleGaussian on elements lo..hi-1 only (of the
// full-size dst and mean), for callers that split the work.
func SampleGaussianRange(dst, mean, z []float32, s Stream, lo, hi int) {
	N := len(z)
	for e := lo; e < hi; {
		w := s.Block(uint32(e >> 1))
		for k := e & 1; k < 2 && e < hi; k, e = k+1, e+1 {
			sd := Expf(float32(0.5 * z[e%N]))
			x := boxMuller(w[2*k], w[2*k+1])
			dst[e] = mean[e] + float32(sd*x)
		}
	}
}

// SampleGaussianSDRange is SampleGaussianRange with the standard
// deviations given per column, sd[c] = Expf(0.5·z[c]) (N = len(sd)): the
// same bits, one exponential per column instead of per element.
func SampleGaussianSDRange(dst, mean, sd []float32, s Stream, lo, hi int) {
	N := len(sd)
	for e := lo; e < hi; {
		w := s.Block(uint32(e >> 1))
		for k := e & 1; k < 2 && e < hi; k, e = k+1, e+1 {
			x := boxMuller(w[2*k], w[2*k+1])
			dst[e] = mean[e] + float32(sd[e%N]*x)
		}
	}
}

// ScaleColsRange sets dst[e] = x[e]·scale[e mod N] for e in lo..hi-1
// (N = len(scale)); with scale[c] = Expf(−z[c]) it is ScaleExpNegRange to
// the bit.
func ScaleColsRange(dst, x, scale []float32, lo, hi int) {
	N := len(scale)
	for e := lo; e < hi; e++ {
		dst[e] = x[e] * scale[e%N]
	}
}

// ScaleExpNeg is the contract of scale_exp_neg_f32: dst[e] = x[e]·exp(−z[e mod N])
// for an M×N x and N = len(z): the rows scaled by the precisions 1/σ².
// dst may be x.
func ScaleExpNeg(dst, x, z []float32) { ScaleExpNegRange(dst, x, z, 0, len(x)) }

// ScaleExpNegRange is ScaleExpNeg on elements lo..hi-1 only.
func ScaleExpNegRange(dst, x, z []float32, lo, hi int) {
	N := len(z)
	for e := lo; e < hi; e++ {
		dst[e] = x[e] * Expf(-z[e%N])
	}
}

// LogVarGrad is the contract of logvar_grad_f32, bit for bit up to Expf:
// for each column c of the B×N data v0 (with wp0 = p(h|v0) Wᵀ) and the C×N
// model samples vk (with wpk = p(h|vk) Wᵀ), summing rows in order,
//
//	t(v, wp) = 0.5·(v − b_c)² − v·wp
//	out[c]   = exp(−z_c)·(Σ_r t(v0, wp0)/B − Σ_r t(vk, wpk)/C)
//
// the ascent direction of the average log-likelihood in the log
// variances (data minus model statistics of −∂F/∂z).
func LogVarGrad(out []float32, B, C int, v0, wp0, vk, wpk, b, z []float32) {
	N := len(out)
	for c := 0; c < N; c++ {
		bc := b[c]
		var pos, neg float32
		for r := 0; r < B; r++ {
			v := v0[r*N+c]
			d := v - bc
			pos += float32(0.5*float32(d*d)) - float32(v*wp0[r*N+c])
		}
		for r := 0; r < C; r++ {
			v := vk[r*N+c]
			d := v - bc
			neg += float32(0.5*float32(d*d)) - float32(v*wpk[r*N+c])
		}
		out[c] = Expf(-z[c]) * (pos/float32(B) - neg/float32(C))
	}
}

// ClampMin is the contract of clamp_min_f32: x[i] = lo where x[i] < lo;
// NaN stays NaN.
func ClampMin(x []float32, lo float32) {
	for i, v := range x {
		if v < lo {
			x[i] = lo
		}
	}
}
