package models

import (
	"errors"
	"fmt"
	"math"
)

// GRBM is a Gaussian–Bernoulli RBM for real-valued data, in the
// parameterisation of Cho, Ilin & Raiko (2011), with per-visible variances
// σ_i² = exp(z_i) learned in log space (so they stay positive):
//
//	E(v, h) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j c_j h_j − Σ_ij (v_i / σ_i²) W_ij h_j
//
// which gives the conditionals
//
//	p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij / σ_i²)
//	p(v_i | h)     = N(b_i + Σ_j W_ij h_j, σ_i²)
//
// and the free energy (h summed out)
//
//	F(v) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j softplus(c_j + Σ_i v_i W_ij / σ_i²).
//
// Data are meant to be standardised (mean 0, variance 1 per feature), where
// σ = 1 is the natural start. The model works in standardised units; DataMean
// and DataStd, when set, record the standardisation of the training data,
// u = (x − DataMean) / DataStd, so that data can be mapped in (Standardise)
// and samples back out (Unstandardise). Training: graph.BuildGaussianStep
// and engine.Trainer with Config.Visible = "gaussian".
type GRBM struct {
	V, H   int
	W      []float32 // V×H row-major
	VBias  []float32 // b, V
	HBias  []float32 // c, H
	LogVar []float32 // z = log σ², V

	DataMean []float32 // V, per-feature mean of the training data (nil: none)
	DataStd  []float32 // V, per-feature scale, > 0 (nil: none)
}

// NewGRBM returns a V×H Gaussian RBM with W ~ N(0, 0.01²) drawn like NewRBM
// (same Philox stream), zero biases and unit variances.
func NewGRBM(v, h int, seed uint64) (*GRBM, error) {
	r, err := NewRBM(v, h, seed)
	if err != nil {
		return nil, fmt.Errorf("Gaussian RBM: %w", err)
	}
	return &GRBM{V: v, H: h, W: r.W, VBias: r.VBias, HBias: r.HBias, LogVar: make([]float32, v)}, nil
}

// Validate reports inconsistent sizes and non-finite parameters.
func (m *GRBM) Validate() error {
	if m == nil {
		return errors.New("Gaussian RBM is nil")
	}
	r := &RBM{V: m.V, H: m.H, W: m.W, VBias: m.VBias, HBias: m.HBias}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("Gaussian %w", err)
	}
	if len(m.LogVar) != m.V {
		return fmt.Errorf("Gaussian RBM %d×%d: log-variance has %d elements, want %d", m.V, m.H, len(m.LogVar), m.V)
	}
	if i := firstNonFinite(m.LogVar); i >= 0 {
		return fmt.Errorf("Gaussian RBM %d×%d: log-variance[%d] = %v is not finite", m.V, m.H, i, m.LogVar[i])
	}
	return m.validateStandardisation()
}

// hiddenInput returns a_j = c_j + Σ_i v_i W_ij / σ_i² in float64.
func (m *GRBM) hiddenInput(dst []float64, v []float32) []float64 {
	if dst == nil {
		dst = make([]float64, m.H)
	}
	for j := range dst {
		dst[j] = float64(m.HBias[j])
	}
	for i, vi := range v {
		x := float64(vi) * math.Exp(-float64(m.LogVar[i]))
		row := m.W[i*m.H : (i+1)*m.H]
		for j, w := range row {
			dst[j] += x * float64(w)
		}
	}
	return dst
}

// FreeEnergy returns F(v) of one visible vector (length V).
func (m *GRBM) FreeEnergy(v []float32) float64 {
	var f float64
	for i, vi := range v {
		d := float64(vi) - float64(m.VBias[i])
		f += d * d / (2 * math.Exp(float64(m.LogVar[i])))
	}
	for _, a := range m.hiddenInput(nil, v) {
		f -= Softplus(a)
	}
	return f
}

// HiddenProbs returns p(h = 1 | v) for n rows of v (n×V) as n×H.
func (m *GRBM) HiddenProbs(dst, v []float32, n int) []float32 {
	if dst == nil {
		dst = make([]float32, n*m.H)
	}
	a := make([]float64, m.H)
	for r := 0; r < n; r++ {
		m.hiddenInput(a, v[r*m.V:(r+1)*m.V])
		for j, x := range a {
			dst[r*m.H+j] = float32(Sigmoid(x))
		}
	}
	return dst
}

// VisibleMean returns the mean b + W h of p(v | h) for n rows of h (n×H) as
// n×V; the variance of visible i is exp(LogVar[i]).
func (m *GRBM) VisibleMean(dst, h []float32, n int) []float32 {
	if dst == nil {
		dst = make([]float32, n*m.V)
	}
	for r := 0; r < n; r++ {
		hr := h[r*m.H : (r+1)*m.H]
		for i := 0; i < m.V; i++ {
			s := float64(m.VBias[i])
			for j, hj := range hr {
				s += float64(m.W[i*m.H+j]) * float64(hj)
			}
			dst[r*m.V+i] = float32(s)
		}
	}
	return dst
}

// FreeEnergyGrad returns ∂F(v)/∂θ for θ = W, b, c, z (the log variances):
// the data-side statistics of learning, whose average over the data minus
// the average over model samples is −∂(mean log p)/∂θ.
//
//	∂F/∂W_ij = −(v_i/σ_i²) p_j       ∂F/∂b_i = −(v_i − b_i)/σ_i²
//	∂F/∂c_j  = −p_j                   ∂F/∂z_i = −(v_i − b_i)²/(2σ_i²) + (v_i/σ_i²) Σ_j W_ij p_j
//
// with p_j = p(h_j = 1 | v).
func (m *GRBM) FreeEnergyGrad(v []float32) (dW, db, dc, dz []float64) {
	a := m.hiddenInput(nil, v)
	p := make([]float64, m.H)
	for j, x := range a {
		p[j] = Sigmoid(x)
	}
	dW, db, dc, dz = make([]float64, m.V*m.H), make([]float64, m.V), make([]float64, m.H), make([]float64, m.V)
	for j := range p {
		dc[j] = -p[j]
	}
	for i, vi := range v {
		inv := math.Exp(-float64(m.LogVar[i]))
		d := float64(vi) - float64(m.VBias[i])
		db[i] = -d * inv
		x := float64(vi) * inv
		var wp float64
		for j := range p {
			w := float64(m.W[i*m.H+j])
			dW[i*m.H+j] = -x * p[j]
			wp += w * p[j]
		}
		dz[i] = -d*d*inv/2 + x*wp
	}
	return dW, db, dc, dz
}
