package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomGRBM(rng *rand.Rand, V, H int) *GRBM {
	m, _ := NewGRBM(V, H, 1)
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * 0.5)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.NormFloat64())
		m.LogVar[i] = float32(rng.NormFloat64() * 0.5)
	}
	for j := range m.HBias {
		m.HBias[j] = float32(rng.NormFloat64())
	}
	return m
}

// energy is E(v, h) from the type's doc comment, written out directly.
func (m *GRBM) energy(v, h []float32) float64 {
	var e float64
	for i, vi := range v {
		s2 := math.Exp(float64(m.LogVar[i]))
		d := float64(vi) - float64(m.VBias[i])
		e += d * d / (2 * s2)
		for j, hj := range h {
			e -= float64(vi) / s2 * float64(m.W[i*m.H+j]) * float64(hj)
		}
	}
	for j, hj := range h {
		e -= float64(m.HBias[j]) * float64(hj)
	}
	return e
}

func hiddenStates(H int) [][]float32 {
	var out [][]float32
	for code := 0; code < 1<<H; code++ {
		h := make([]float32, H)
		for j := range h {
			h[j] = float32(code >> j & 1)
		}
		out = append(out, h)
	}
	return out
}

// The free energy, p(h|v) and p(v|h) against the energy, by enumerating h
// and by finite differences in v.
func TestGRBMFormulas(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	m := randomGRBM(rng, 4, 3)
	v := []float32{0.3, -1.2, 0.7, 2.0}
	hs := hiddenStates(m.H)
	// F(v) = −log Σ_h exp(−E(v,h))
	var z float64
	for _, h := range hs {
		z += math.Exp(-m.energy(v, h))
	}
	if got, want := m.FreeEnergy(v), -math.Log(z); math.Abs(got-want) > 1e-9 {
		t.Errorf("free energy %v, enumeration %v", got, want)
	}
	// p(h_j = 1 | v) = Σ_{h: h_j=1} e^{−E} / Σ_h e^{−E}
	p := m.HiddenProbs(nil, v, 1)
	for j := 0; j < m.H; j++ {
		var num float64
		for _, h := range hs {
			if h[j] == 1 {
				num += math.Exp(-m.energy(v, h))
			}
		}
		if math.Abs(float64(p[j])-num/z) > 1e-6 {
			t.Errorf("p(h_%d|v) = %v, enumeration %v", j, p[j], num/z)
		}
	}
	// p(v|h) ∝ e^{−E(v,h)} is Gaussian: −∂E/∂v_i = (mean_i − v_i)/σ_i².
	h := []float32{1, 0, 1}
	mean := m.VisibleMean(nil, h, 1)
	for i := range v {
		const eps = 1e-5
		vp, vm := append([]float32(nil), v...), append([]float32(nil), v...)
		vp[i] += eps
		vm[i] -= eps
		grad := -(m.energy(vp, h) - m.energy(vm, h)) / (float64(vp[i]) - float64(vm[i]))
		want := (float64(mean[i]) - float64(v[i])) / math.Exp(float64(m.LogVar[i]))
		if math.Abs(grad-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("visible %d: −∂E/∂v %v, Gaussian %v", i, grad, want)
		}
	}
}

// ∂F/∂θ against central finite differences of FreeEnergy (float64 maths
// on float32 parameters: steps of 1e-3, tolerance 1e-4 relative).
func TestGRBMFreeEnergyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	m := randomGRBM(rng, 5, 4)
	v := []float32{0.5, -0.3, 1.1, -2.0, 0.0}
	dW, db, dc, dz := m.FreeEnergyGrad(v)
	check := func(name string, params []float32, grad []float64) {
		for k := range params {
			old := params[k]
			const eps = 1e-3
			params[k] = old + eps
			fp := m.FreeEnergy(v)
			params[k] = old - eps
			fm := m.FreeEnergy(v)
			params[k] = old
			num := (fp - fm) / (2 * eps)
			if math.Abs(num-grad[k]) > 1e-4*math.Max(1, math.Abs(num)) {
				t.Errorf("∂F/∂%s[%d] = %v, finite difference %v", name, k, grad[k], num)
			}
		}
	}
	check("W", m.W, dW)
	check("b", m.VBias, db)
	check("c", m.HBias, dc)
	check("z", m.LogVar, dz)
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
	m.LogVar[2] = float32(math.Inf(1))
	if err := m.Validate(); err == nil {
		t.Error("infinite log-variance: no error")
	}
}
