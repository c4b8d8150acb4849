package models

import "fmt"

// CenteredRBM is a Bernoulli–Bernoulli RBM in the centred parametrisation
// (Montavon & Müller 2012; Melchior, Fischer & Wiskott 2016), with energy
//
//	E_c(v, h) = −(v−μ)ᵀW(h−λ) − b'ᵀ(v−μ) − c'ᵀ(h−λ),
//
// offsets μ (V) and λ (H), centred biases b' (V) and c' (H), W V×H
// row-major. It defines the same distribution as the ordinary RBM Fold
// returns; it is kept in float64, as the reference that training with
// centred gradients (engine.Config.Centered) is checked against.
type CenteredRBM struct {
	V, H       int
	W          []float64
	VBias      []float64 // b'
	HBias      []float64 // c'
	Mu, Lambda []float64
}

// Centre returns m in the centred parametrisation with offsets mu (V) and
// lambda (H): b' = b + Wλ, c' = c + Wᵀμ (W unchanged).
func Centre(m *RBM, mu, lambda []float32) (*CenteredRBM, error) {
	if len(mu) != m.V || len(lambda) != m.H {
		return nil, fmt.Errorf("centre: offsets of %d and %d values for a %d×%d RBM", len(mu), len(lambda), m.V, m.H)
	}
	c := &CenteredRBM{V: m.V, H: m.H, W: make([]float64, len(m.W)), VBias: make([]float64, m.V), HBias: make([]float64, m.H),
		Mu: make([]float64, m.V), Lambda: make([]float64, m.H)}
	for i, w := range m.W {
		c.W[i] = float64(w)
	}
	for i := range mu {
		c.Mu[i] = float64(mu[i])
	}
	for j := range lambda {
		c.Lambda[j] = float64(lambda[j])
	}
	for i := 0; i < m.V; i++ {
		c.VBias[i] = float64(m.VBias[i])
		for j := 0; j < m.H; j++ {
			c.VBias[i] += c.W[i*m.H+j] * c.Lambda[j]
		}
	}
	for j := 0; j < m.H; j++ {
		c.HBias[j] = float64(m.HBias[j])
		for i := 0; i < m.V; i++ {
			c.HBias[j] += c.W[i*m.H+j] * c.Mu[i]
		}
	}
	return c, nil
}

// Fold returns the ordinary RBM of the same distribution: b = b' − Wλ,
// c = c' − Wᵀμ, rounded to float32.
func (c *CenteredRBM) Fold() *RBM {
	m := &RBM{V: c.V, H: c.H, W: make([]float32, len(c.W)), VBias: make([]float32, c.V), HBias: make([]float32, c.H)}
	for i, w := range c.W {
		m.W[i] = float32(w)
	}
	for i := 0; i < c.V; i++ {
		b := c.VBias[i]
		for j := 0; j < c.H; j++ {
			b -= c.W[i*c.H+j] * c.Lambda[j]
		}
		m.VBias[i] = float32(b)
	}
	for j := 0; j < c.H; j++ {
		b := c.HBias[j]
		for i := 0; i < c.V; i++ {
			b -= c.W[i*c.H+j] * c.Mu[i]
		}
		m.HBias[j] = float32(b)
	}
	return m
}

// hiddenAct returns a_j = c'_j + Σᵢ (vᵢ−μᵢ)Wᵢⱼ.
func (c *CenteredRBM) hiddenAct(v []float32) []float64 {
	a := append([]float64(nil), c.HBias...)
	for i := 0; i < c.V; i++ {
		x := float64(v[i]) - c.Mu[i]
		for j := 0; j < c.H; j++ {
			a[j] += x * c.W[i*c.H+j]
		}
	}
	return a
}

// HiddenProbs returns p(hⱼ = 1 | v) = σ(c'ⱼ + Σᵢ (vᵢ−μᵢ)Wᵢⱼ) for one
// visible vector v (length V).
func (c *CenteredRBM) HiddenProbs(v []float32) []float64 {
	a := c.hiddenAct(v)
	for j := range a {
		a[j] = Sigmoid(a[j])
	}
	return a
}

// VisibleProbs returns p(vᵢ = 1 | h) = σ(b'ᵢ + Σⱼ Wᵢⱼ(hⱼ−λⱼ)) for one
// hidden vector h (length H).
func (c *CenteredRBM) VisibleProbs(h []float32) []float64 {
	p := make([]float64, c.V)
	for i := range p {
		a := c.VBias[i]
		for j := 0; j < c.H; j++ {
			a += c.W[i*c.H+j] * (float64(h[j]) - c.Lambda[j])
		}
		p[i] = Sigmoid(a)
	}
	return p
}

// FreeEnergy returns F_c(v) = −log Σ_h e^{−E_c(v,h)}
// = −b'ᵀ(v−μ) + Σⱼ (aⱼλⱼ − softplus(aⱼ)), aⱼ as in HiddenProbs. It
// differs from the folded RBM's free energy by FreeEnergyShift, the same
// for every v.
func (c *CenteredRBM) FreeEnergy(v []float32) float64 {
	f := 0.0
	for i := 0; i < c.V; i++ {
		f -= c.VBias[i] * (float64(v[i]) - c.Mu[i])
	}
	for j, a := range c.hiddenAct(v) {
		f += a*c.Lambda[j] - Softplus(a)
	}
	return f
}

// FreeEnergyShift is F_c(v) − F(v) for the folded RBM F: the constant
// b'ᵀμ + c'ᵀλ − μᵀWλ (a change of log Z only).
func (c *CenteredRBM) FreeEnergyShift() float64 {
	s := 0.0
	for i := 0; i < c.V; i++ {
		s += c.VBias[i] * c.Mu[i]
		for j := 0; j < c.H; j++ {
			s -= c.Mu[i] * c.W[i*c.H+j] * c.Lambda[j]
		}
	}
	for j := 0; j < c.H; j++ {
		s += c.HBias[j] * c.Lambda[j]
	}
	return s
}
