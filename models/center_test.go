package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The centred parametrisation and its fold define the same model: equal
// conditionals, free energies that differ by FreeEnergyShift for every v,
// and Centre∘Fold the identity.
func TestCenteredRBMFold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const V, H = 9, 6
	m := &RBM{V: V, H: H, W: make([]float32, V*H), VBias: make([]float32, V), HBias: make([]float32, H)}
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64())
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.NormFloat64())
	}
	for j := range m.HBias {
		m.HBias[j] = float32(rng.NormFloat64())
	}
	mu, lambda := make([]float32, V), make([]float32, H)
	for i := range mu {
		mu[i] = rng.Float32()
	}
	for j := range lambda {
		lambda[j] = rng.Float32()
	}
	c, err := Centre(m, mu, lambda)
	if err != nil {
		t.Fatal(err)
	}
	back := c.Fold()
	for i := range m.VBias {
		if math.Abs(float64(back.VBias[i]-m.VBias[i])) > 1e-6 {
			t.Fatalf("fold(centre) vbias[%d] = %v, want %v", i, back.VBias[i], m.VBias[i])
		}
	}
	for j := range m.HBias {
		if math.Abs(float64(back.HBias[j]-m.HBias[j])) > 1e-6 {
			t.Fatalf("fold(centre) hbias[%d] = %v, want %v", j, back.HBias[j], m.HBias[j])
		}
	}
	shift := c.FreeEnergyShift()
	v, h := make([]float32, V), make([]float32, H)
	for trial := 0; trial < 50; trial++ {
		for i := range v {
			v[i] = float32(rng.IntN(2))
		}
		for j := range h {
			h[j] = float32(rng.IntN(2))
		}
		ph, pv := m.HiddenProbs(nil, v, 1), m.VisibleProbs(nil, h, 1)
		for j, p := range c.HiddenProbs(v) {
			if math.Abs(p-float64(ph[j])) > 1e-6 {
				t.Fatalf("p(h%d|v): centred %v, ordinary %v", j, p, ph[j])
			}
		}
		for i, p := range c.VisibleProbs(h) {
			if math.Abs(p-float64(pv[i])) > 1e-6 {
				t.Fatalf("p(v%d|h): centred %v, ordinary %v", i, p, pv[i])
			}
		}
		if d := c.FreeEnergy(v) - m.FreeEnergy(v); math.Abs(d-shift) > 1e-9*math.Max(1, math.Abs(shift)) {
			t.Fatalf("F_c(v) − F(v) = %v, want the shift %v", d, shift)
		}
	}
	if _, err := Centre(m, mu[:2], lambda); err == nil {
		t.Error("offsets of the wrong size: no error")
	}
}
