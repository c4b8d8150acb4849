package kernels

import (
	"math"
	"testing"
)

// Normal draws standard normals: the first four moments of 10⁶ draws.
func TestNormalMoments(t *testing.T) {
	s := Stream{Seed: 7, Op: 3, Step: 1}
	const n = 1 << 20
	var m1, m2, m3, m4 float64
	for e := uint64(0); e < n; e++ {
		x := float64(Normal(s, e))
		m1 += x
		m2 += x * x
		m3 += x * x * x
		m4 += x * x * x * x
	}
	m1, m2, m3, m4 = m1/n, m2/n, m3/n, m4/n
	t.Logf("mean %.4f, E x² %.4f, E x³ %.4f, E x⁴ %.4f", m1, m2, m3, m4)
	// Standard errors: 1/√n ≈ 1e-3, √2/√n, √15/√n, √96/√n.
	if math.Abs(m1) > 5e-3 || math.Abs(m2-1) > 7e-3 || math.Abs(m3) > 2e-2 || math.Abs(m4-3) > 5e-2 {
		t.Errorf("moments %.4f %.4f %.4f %.4f, want 0 1 0 3", m1, m2, m3, m4)
	}
	// SampleGaussian is Normal scaled and shifted, element by element.
	mean, z := []float32{1, -2, 3, 0.5, 7}, []float32{0, 1, -1, 2, 0.1}
	dst := make([]float32, 5)
	SampleGaussian(dst, mean, z, s)
	for e := range dst {
		want := mean[e] + Expf(0.5*z[e])*Normal(s, uint64(e))
		if dst[e] != want {
			t.Errorf("SampleGaussian[%d] = %v, want %v", e, dst[e], want)
		}
	}
}

// The per-column variants the host driver uses give the twins' bits.
func TestGRBMColumnVariantsBitIdentical(t *testing.T) {
	const M, N = 7, 13
	x, z := make([]float32, M*N), make([]float32, N)
	s := Stream{Seed: 5, Op: 9, Step: 2}
	for i := range x {
		x[i] = Normal(s, uint64(i)) * 3
	}
	for i := range z {
		z[i] = Normal(s, uint64(1000+i))
	}
	prec, sd := make([]float32, N), make([]float32, N)
	for c := range z {
		prec[c], sd[c] = Expf(-z[c]), Expf(float32(0.5*z[c]))
	}
	a, b := make([]float32, M*N), make([]float32, M*N)
	ScaleExpNeg(a, x, z)
	ScaleColsRange(b, x, prec, 0, 40)
	ScaleColsRange(b, x, prec, 40, M*N)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("scale [%d]: %v vs %v", i, a[i], b[i])
		}
	}
	SampleGaussian(a, x, z, s)
	SampleGaussianSDRange(b, x, sd, s, 0, 41) // an odd split, mid-pair
	SampleGaussianSDRange(b, x, sd, s, 41, M*N)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("sample [%d]: %v vs %v", i, a[i], b[i])
		}
	}
}
