package host

// Micro-tile shape: mr rows of op(A) by nr columns of op(B). 6x16 fills the
// 16 AVX2 registers: 12 accumulators, 2 for a row of B, 2 broadcasts of A.
const (
	mr = 6
	nr = 16
)

// kernGo is the portable micro-kernel and the contract of kern6x16:
//
//	acc[r][c] = sum_{kk<k} a[kk*mr+r] * b[kk*nr+c]   (increasing kk, fused)
//	out[r*ldo+c] = alpha*acc[r][c] (+ beta*cin[r*ldcin+c] if cin is non-empty) (+ bias[c] if bias is)
//
// a is a packed mr-row panel of op(A) (k-major), b a packed nr-column panel
// of op(B). The fused multiply-add is computed as float32(float64(acc) +
// float64(x)*float64(y)): the product of two float32 is exact in float64, so
// only the final double rounding can differ from fmaf (rarely, by an ulp).
func kernGo(k int, a, b []float32, out []float32, ldo int, alpha, beta float32, cin []float32, ldcin int, bias []float32) {
	var acc [mr][nr]float32
	a = a[:k*mr]
	b = b[:k*nr]
	for kk := 0; kk < k; kk++ {
		ak := a[kk*mr : kk*mr+mr]
		bk := b[kk*nr : kk*nr+nr]
		for r := 0; r < mr; r++ {
			x := float64(ak[r])
			for c := 0; c < nr; c++ {
				acc[r][c] = float32(float64(acc[r][c]) + x*float64(bk[c]))
			}
		}
	}
	for r := 0; r < mr; r++ {
		var c []float32
		if len(cin) > 0 {
			c = cin[r*ldcin : r*ldcin+nr]
		}
		scaleAdd(out[r*ldo:r*ldo+nr], acc[r][:], alpha, beta, c, bias)
	}
}

// scaleAdd sets x[c] = alpha*acc[c] (+ beta*cin[c] if cin is non-empty)
// (+ bias[c] if bias is), each operation rounded on its own in the .cu
// order (the float32 conversions keep the compiler from fusing them).
func scaleAdd(x, acc []float32, alpha, beta float32, cin, bias []float32) {
	for c, a := range acc {
		v := float32(alpha * a)
		if len(cin) > 0 {
			v = v + float32(beta*cin[c])
		}
		if len(bias) > 0 {
			v = v + bias[c]
		}
		x[c] = v
	}
}
