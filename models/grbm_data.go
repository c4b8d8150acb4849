package models

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the Gaussian RBM's own Gibbs sampler (GRBM.Gibbs),
// distinct from the training graph's.
const (
	OpGRBMHidden  uint32 = 0x47520001
	OpGRBMVisible uint32 = 0x47520002
)

func (m *GRBM) validateStandardisation() error {
	if m.DataMean == nil && m.DataStd == nil {
		return nil
	}
	if len(m.DataMean) != m.V || len(m.DataStd) != m.V {
		return fmt.Errorf("Gaussian RBM %d×%d: data mean/std have %d/%d elements, want %d", m.V, m.H, len(m.DataMean), len(m.DataStd), m.V)
	}
	if i := firstNonFinite(m.DataMean); i >= 0 {
		return fmt.Errorf("Gaussian RBM %d×%d: data mean[%d] = %v is not finite", m.V, m.H, i, m.DataMean[i])
	}
	for i, s := range m.DataStd {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("Gaussian RBM %d×%d: data std[%d] = %v, want a positive finite number", m.V, m.H, i, s)
		}
	}
	return nil
}

// Standardisation returns the per-feature mean and scale of the n rows of
// x (n×v): mean_i and sqrt(var_i + ε) with ε = 0.01 · mean_i var_i (1 if
// every feature is constant). The ε keeps nearly constant features (the
// border pixels of an image set) from being blown up into huge values by a
// tiny standard deviation; ordinary features keep a scale within 1% of
// their standard deviation.
func Standardisation(x []float32, n, v int) (mean, std []float32) {
	return StandardisationRows(n, v, func(dst []float32, r int) []float32 { return x[r*v : (r+1)*v] })
}

// StandardisationRows is Standardisation of n rows of v features read
// through row, which returns row r (it may write it into dst, a scratch of
// v values): data held in any storage, read one row at a time.
func StandardisationRows(n, v int, row func(dst []float32, r int) []float32) (mean, std []float32) {
	m, s := make([]float64, v), make([]float64, v)
	buf := make([]float32, v)
	for r := 0; r < n; r++ {
		for i, xi := range row(buf, r) {
			m[i] += float64(xi)
		}
	}
	for i := range m {
		m[i] /= float64(n)
	}
	for r := 0; r < n; r++ {
		for i, xi := range row(buf, r) {
			d := float64(xi) - m[i]
			s[i] += d * d
		}
	}
	var avg float64
	for i := range s {
		s[i] /= float64(n)
		avg += s[i] / float64(v)
	}
	eps := 0.01 * avg
	if !(eps > 0) {
		eps = 1
	}
	mean, std = make([]float32, v), make([]float32, v)
	for i := range s {
		mean[i], std[i] = float32(m[i]), float32(math.Sqrt(s[i]+eps))
	}
	return mean, std
}

// Standardise maps rows of data (n×V, in place) to model units,
// u = (x − DataMean)/DataStd; a no-op without a standardisation.
func (m *GRBM) Standardise(x []float32) {
	if m.DataMean == nil {
		return
	}
	StandardiseRows(x, m.DataMean, m.DataStd)
}

// StandardiseRows sets x[r·V+i] = (x[r·V+i] − mean[i]) / std[i] in place
// for every row of x (V = len(mean)).
func StandardiseRows(x, mean, std []float32) {
	V := len(mean)
	for e := range x {
		i := e % V
		x[e] = (x[e] - mean[i]) / std[i]
	}
}

// LogDataScale returns Σᵢ log DataStd[i] (0 without standardisation): the
// log-Jacobian that turns a log-density of standardised data into one of
// the data, log p(x) = log p(u) − LogDataScale().
func (m *GRBM) LogDataScale() float64 {
	var s float64
	for _, v := range m.DataStd {
		s += math.Log(float64(v))
	}
	return s
}

// Unstandardise maps rows in model units (n×V, in place) back to data
// units, x = u·DataStd + DataMean; a no-op without a standardisation.
func (m *GRBM) Unstandardise(u []float32) {
	if m.DataMean == nil {
		return
	}
	for e := range u {
		i := e % m.V
		u[e] = u[e]*m.DataStd[i] + m.DataMean[i]
	}
}

// Clone returns a deep copy of m.
func (m *GRBM) Clone() *GRBM {
	cp := func(x []float32) []float32 {
		if x == nil {
			return nil
		}
		return append([]float32(nil), x...)
	}
	return &GRBM{V: m.V, H: m.H, W: cp(m.W), VBias: cp(m.VBias), HBias: cp(m.HBias), LogVar: cp(m.LogVar),
		DataMean: cp(m.DataMean), DataStd: cp(m.DataStd)}
}

// GRBMMaxExactHidden is the largest H for which LogZ enumerates.
const GRBMMaxExactHidden = 24

// LogZ returns the exact log partition function in model units, summing
// over the 2^H hidden configurations with v integrated out:
//
//	log Z = Σ_i ½ log(2π σ_i²) + log Σ_h exp(cᵀh + Σ_i ((b_i + (W h)_i)² − b_i²) / (2σ_i²))
//
// It is an error for H > GRBMMaxExactHidden.
func (m *GRBM) LogZ() (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	if m.H > GRBMMaxExactHidden {
		return 0, fmt.Errorf("Gaussian RBM %d×%d: exact log Z needs H ≤ %d", m.V, m.H, GRBMMaxExactHidden)
	}
	var base float64
	inv := make([]float64, m.V)
	for i, z := range m.LogVar {
		base += 0.5 * (math.Log(2*math.Pi) + float64(z))
		inv[i] = math.Exp(-float64(z))
	}
	mean := make([]float64, m.V) // b + W h, updated one flipped bit at a time (Gray code)
	for i, b := range m.VBias {
		mean[i] = float64(b)
	}
	var ch float64
	l := newLSE()
	term := func() float64 {
		t := ch
		for i, mu := range mean {
			b := float64(m.VBias[i])
			t += (mu*mu - b*b) * inv[i] / 2
		}
		return t
	}
	l.add(term())
	h := make([]bool, m.H)
	for g := uint64(1); g < 1<<m.H; g++ {
		j := 0 // the bit that flips from Gray code g−1 to g
		for (g>>j)&1 == 0 {
			j++
		}
		s := 1.0
		if h[j] {
			s = -1
		}
		h[j] = !h[j]
		ch += s * float64(m.HBias[j])
		for i := range mean {
			mean[i] += s * float64(m.W[i*m.H+j])
		}
		l.add(term())
	}
	return base + l.value(), nil
}

// LogLikelihood returns the exact average log p(u) of n rows of x (n×V,
// already in model units) for H ≤ GRBMMaxExactHidden.
func (m *GRBM) LogLikelihood(x []float32, n int) (float64, error) {
	if len(x) != n*m.V || n < 1 {
		return 0, fmt.Errorf("Gaussian RBM %d×%d: %d values for %d rows", m.V, m.H, len(x), n)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return 0, err
	}
	var f float64
	for r := 0; r < n; r++ {
		f += m.FreeEnergy(x[r*m.V : (r+1)*m.V])
	}
	return -f/float64(n) - logZ, nil
}

// Gibbs runs steps of block Gibbs sampling on n chains v (n×V, model units,
// updated in place): h ~ p(h | v), then v ~ N(b + W h, σ²), drawing from
// Philox streams (seed, OpGRBMHidden / OpGRBMVisible, step0 + t). With
// meanField the last visible update keeps the mean b + W h (a smooth
// picture) instead of a sample.
func (m *GRBM) Gibbs(v []float32, n, steps int, seed, step0 uint64, meanField bool) error {
	if len(v) != n*m.V {
		return fmt.Errorf("Gaussian RBM %d×%d: Gibbs on %d values for %d chains", m.V, m.H, len(v), n)
	}
	h := make([]float32, n*m.H)
	for t := 0; t < steps; t++ {
		m.HiddenProbs(h, v, n)
		kernels.SampleBernoulli(h, h, kernels.Stream{Seed: seed, Op: OpGRBMHidden, Step: step0 + uint64(t)})
		m.VisibleMean(v, h, n)
		if meanField && t == steps-1 {
			break
		}
		kernels.SampleGaussian(v, v, m.LogVar, kernels.Stream{Seed: seed, Op: OpGRBMVisible, Step: step0 + uint64(t)})
	}
	return nil
}

// ExactGradient returns the gradient of the average log-likelihood of n
// rows of x (n×V, model units) in W, b, c and z, for H ≤
// GRBMMaxExactHidden: data statistics −mean ∂F/∂θ minus the model's
// expectation of −∂E/∂θ, the latter summed over the 2^H hidden
// configurations with v | h ~ N(μ = b + W h, σ²) integrated analytically:
//
//	E[v_i h_j / σ_i²]                 = Σ_h p(h) μ_i h_j / σ_i²
//	E[(v_i − b_i) / σ_i²]             = Σ_h p(h) (W h)_i / σ_i²
//	E[h_j]                            = Σ_h p(h) h_j
//	E[(v_i − b_i)²/(2σ_i²) − v_i (W h)_i/σ_i²] = Σ_h p(h) (½ + ((W h)_i² − 2 μ_i (W h)_i)/(2σ_i²))
func (m *GRBM) ExactGradient(x []float32, n int) (dW, db, dc, dz []float64, err error) {
	if len(x) != n*m.V || n < 1 {
		return nil, nil, nil, nil, fmt.Errorf("Gaussian RBM %d×%d: %d values for %d rows", m.V, m.H, len(x), n)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	V, H := m.V, m.H
	dW, db, dc, dz = make([]float64, V*H), make([]float64, V), make([]float64, H), make([]float64, V)
	for r := 0; r < n; r++ {
		gW, gb, gc, gz := m.FreeEnergyGrad(x[r*V : (r+1)*V])
		for i := range gW {
			dW[i] -= gW[i] / float64(n)
		}
		for i := range gb {
			db[i] -= gb[i] / float64(n)
			dz[i] -= gz[i] / float64(n)
		}
		for j := range gc {
			dc[j] -= gc[j] / float64(n)
		}
	}
	// log p(h) = cᵀh + Σ_i ((b_i + (W h)_i)² − b_i²)/(2σ_i²) + Σ_i ½ log(2πσ_i²) − log Z.
	var base float64
	inv := make([]float64, V)
	for i, z := range m.LogVar {
		base += 0.5 * (math.Log(2*math.Pi) + float64(z))
		inv[i] = math.Exp(-float64(z))
	}
	wh := make([]float64, V)
	h := make([]float64, H)
	for g := uint64(0); g < 1<<H; g++ {
		var lp float64
		for j := range h {
			h[j] = float64((g >> j) & 1)
			lp += float64(m.HBias[j]) * h[j]
		}
		for i := range wh {
			var s float64
			for j := range h {
				s += float64(m.W[i*H+j]) * h[j]
			}
			wh[i] = s
			b := float64(m.VBias[i])
			lp += ((b+s)*(b+s) - b*b) * inv[i] / 2
		}
		p := math.Exp(lp + base - logZ)
		for j := range h {
			dc[j] -= p * h[j]
		}
		for i := range wh {
			mu := float64(m.VBias[i]) + wh[i]
			db[i] -= p * wh[i] * inv[i]
			dz[i] -= p * (0.5 + (wh[i]*wh[i]-2*mu*wh[i])*inv[i]/2)
			for j := range h {
				dW[i*H+j] -= p * mu * h[j] * inv[i]
			}
		}
	}
	return dW, db, dc, dz, nil
}
