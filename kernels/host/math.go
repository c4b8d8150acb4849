package host

import "math"

// Float32 transcendental functions of the kernels. The .cu files call expf
// and log1pf (CUDA: <= 2 ulp; the emulator: glibc, < 1 ulp). Here they are
// computed in float64 and rounded once to float32, so they are correctly
// rounded except within ~1e-10 relative of a rounding midpoint: within an
// ulp of both. Not gorgonia's fastmath, whose error is far larger.

const (
	log2e = 1.4426950408889634
	ln2Hi = 6.93147180369123816490e-01 // ln 2 high part, exact times small ints
	ln2Lo = 1.90821492927058770002e-10
	// roundMagic: adding and subtracting 1.5*2^52 rounds a float64 of
	// magnitude < 2^51 to the nearest integer (ties to even).
	roundMagic = 6755399441055744.0
)

// exp64 returns e^x for x in [-104, 89] (the range that matters for a
// float32 result) with relative error < 1e-12: x = n ln2 + r, |r| <= ln2/2,
// e^r by its Taylor polynomial of degree 10, times 2^n built from bits.
func exp64(x float64) float64 {
	t := x*log2e + roundMagic
	n := t - roundMagic
	r := (x - n*ln2Hi) - n*ln2Lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+
		r*(1.0/40320+r*(1.0/362880+r*(1.0/3628800))))))))))
	return p * math.Float64frombits(uint64(int64(n)+1023)<<52)
}

// expf returns e^x rounded to float32: +Inf above the float32 range, 0 far
// below it, NaN for NaN (as expf).
func expf(x float32) float32 {
	switch {
	case x > 89:
		return float32(math.Inf(1))
	case x < -104:
		return 0
	case x != x:
		return x
	}
	return float32(exp64(float64(x)))
}

// sigmoidf is gemm.cu's p = 1.0f / (1.0f + expf(-x)): expf rounded to
// float32, then the float32 add and divide, so p is the GPU's p up to the
// expf difference (and 0 for x < -89, 1 for x > 17, exactly as there).
func sigmoidf(x float32) float32 {
	return 1 / (1 + expf(-x))
}

// softplusf is reduce.cu's softplus_f32: fmaxf(x, 0) + log1pf(expf(-|x|)).
// fmaxf(NaN, 0) is 0; the log1p term is NaN then anyway.
func softplusf(x float32) float32 {
	m := x
	if !(m > 0) {
		m = 0
	}
	e := expf(-float32(math.Abs(float64(x))))
	return m + float32(math.Log1p(float64(e)))
}

// fmaf is C's fmaf(a, b, c) as float32(a*b + c) in float64: the product of
// two float32 is exact there, so the only difference from a single rounding
// is the rare double rounding of the sum (an ulp at most).
func fmaf(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}
