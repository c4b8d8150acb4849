package host

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector sigmoid equals the scalar one (same algorithm; the fused
// Horner steps may move the float64 value by ~1e-16, which changes the
// float32 result only at a rounding tie) and both are within 1e-6 relative
// (in practice an ulp or two) of the float64 sigmoid, across the range,
// including saturation (p = 0 exactly where expf(-x) overflows, as on the GPU), ±Inf and NaN.
func TestSigmoid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 20)
	}
	copy(x, []float32{0, -0.0, 1e-30, -1e-30, 17, -17, 88, -88, 89, -89, 90, -90, 103, -103, 104, -104, 105, -105,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e30, -1e30})
	p := make([]float32, len(x))
	sigmoidVec(x, p)
	maxRel, diff := 0.0, 0
	for i, v := range x {
		s := sigmoidf(v)
		if math.IsNaN(float64(v)) {
			if !math.IsNaN(float64(p[i])) || !math.IsNaN(float64(s)) {
				t.Fatalf("sigmoid(NaN) = %v (vector), %v (scalar)", p[i], s)
			}
			continue
		}
		if p[i] != s {
			diff++
			if math.Abs(float64(p[i]-s)) > 2*eps32*float64(s) {
				t.Fatalf("sigmoid(%v): vector %v, scalar %v", v, p[i], s)
			}
		}
		want := 1 / (1 + math.Exp(-float64(v)))
		if math.IsInf(float64(float32(math.Exp(-float64(v)))), 1) {
			want = 0 // expf(-x) overflows float32: the kernel's p is exactly 0
		}
		if want < 1e-37 { // float32 denormals: absolute error
			if math.Abs(float64(s)-want) > 1e-44 {
				t.Fatalf("sigmoid(%v) = %v, want %v", v, s, want)
			}
			continue
		}
		rel := math.Abs(float64(s)-want) / want
		maxRel = math.Max(maxRel, rel)
		if rel > 1e-6 {
			t.Fatalf("sigmoid(%v) = %v, want %v (rel %g)", v, s, want, rel)
		}
	}
	t.Logf("max relative error %.3g (float32 ulp %.3g); vector and scalar differ on %d of %d", maxRel, eps32*2, diff, len(x))
}
