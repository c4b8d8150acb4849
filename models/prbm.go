package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the Potts–Bernoulli RBM's own streams (see kernels.Stream).
const (
	// OpPottsRBMGibbsVisible draws the categorical visible sites of Gibbs
	// sweep t of PottsRBM.Gibbs at Step step0+t, element r·L+i (the hidden
	// samples use OpGibbsHidden, element r·H+j, as RBM.Gibbs).
	OpPottsRBMGibbsVisible uint32 = 0x141A
)

// MaxExactPottsRBMBits bounds the enumeration of PottsRBM.LogZ: the
// smaller layer, H hidden units or L·log₂ q bits of visible states, must
// be at most this many bits.
const MaxExactPottsRBMBits = 20

// PottsRBM is a Potts–Bernoulli restricted Boltzmann machine: L categorical
// visible sites with Q states each, held one-hot as V = L·Q visible units
// (site i in state a is unit i·Q + a), and H Bernoulli hidden units, with
// energy
//
//	E(v, h) = −Σ_i b_i(v_i) − Σ_j c_j h_j − Σ_{i,j} W_{i v_i, j} h_j,
//
// b_i(a) = VBias[i·Q+a], c_j = HBias[j], W_{ia,j} = W[(i·Q+a)·H + j]. Its
// conditionals factorise:
//
//	p(h_j = 1 | v) = σ(c_j + Σ_i W_{i v_i, j}),
//	p(v_i = a | h) = softmax_a(b_i(a) + Σ_j W_{ia,j} h_j),
//
// and the free energy is F(v) = −Σ_i b_i(v_i) − Σ_j softplus(c_j + Σ_i W_{i v_i, j}),
// the binary RBM's on the one-hot units (RBM returns that view).
//
// Gauge: p(v) is unchanged by b_i(a) → b_i(a) + g_i and by
// W_{ia,j} → W_{ia,j} + g_ij with c_j → c_j − Σ_i g_ij. ZeroSumGauge picks
// the representative with Σ_a b_i(a) = 0 and Σ_a W_{ia,j} = 0.
type PottsRBM struct {
	L, Q, H int
	W       []float32 // (L·Q)×H row-major
	VBias   []float32 // L·Q fields b_i(a)
	HBias   []float32 // H hidden biases c
}

// NewPottsRBM returns a Potts RBM of L sites of q states and h hidden
// units with zero biases and the weights of NewRBM(L·q, h, seed).
func NewPottsRBM(L, q, h int, seed uint64) (*PottsRBM, error) {
	if err := checkPottsSize(L, q); err != nil {
		return nil, fmt.Errorf("new Potts RBM: %w", err)
	}
	r, err := NewRBM(L*q, h, seed)
	if err != nil {
		return nil, fmt.Errorf("new Potts RBM: %w", err)
	}
	return &PottsRBM{L: L, Q: q, H: h, W: r.W, VBias: r.VBias, HBias: r.HBias}, nil
}

// PottsRBMOf returns the Potts RBM of L sites of q states whose one-hot
// units are those of r (sharing its slices).
func PottsRBMOf(r *RBM, L, q int) (*PottsRBM, error) {
	if r == nil || L < 1 || q < 2 || r.V != L*q {
		return nil, fmt.Errorf("Potts RBM: %d visible units are not %d sites of %d states", rbmV(r), L, q)
	}
	m := &PottsRBM{L: L, Q: q, H: r.H, W: r.W, VBias: r.VBias, HBias: r.HBias}
	return m, m.Validate()
}

func rbmV(r *RBM) int {
	if r == nil {
		return 0
	}
	return r.V
}

// RBM returns m as the binary RBM on its V = L·Q one-hot units, sharing
// m's slices: its free energy, hidden probabilities and checkpoint layout
// are m's on one-hot rows.
func (m *PottsRBM) RBM() *RBM {
	return &RBM{V: m.L * m.Q, H: m.H, W: m.W, VBias: m.VBias, HBias: m.HBias}
}

// Validate checks the sizes (1 to 256 states, at least one site and one
// hidden unit, slice lengths) and that every parameter is finite.
func (m *PottsRBM) Validate() error {
	if m == nil {
		return errors.New("Potts RBM is nil")
	}
	if err := checkPottsSize(m.L, m.Q); err != nil {
		return fmt.Errorf("Potts RBM: %w", err)
	}
	if err := m.RBM().Validate(); err != nil {
		return fmt.Errorf("Potts RBM of %d sites × %d states: %w", m.L, m.Q, err)
	}
	return nil
}

// Clone returns a deep copy of m.
func (m *PottsRBM) Clone() *PottsRBM {
	r := m.RBM().Clone()
	return &PottsRBM{L: m.L, Q: m.Q, H: m.H, W: r.W, VBias: r.VBias, HBias: r.HBias}
}

// ZeroSumGauge returns a copy of m in the zero-sum gauge, the same
// distribution p(v, h):
//
//	b'_i(a) = b_i(a) − mean_a b_i(a)
//	W'_{ia,j} = W_{ia,j} − g_ij,   g_ij = mean_a W_{ia,j}
//	c'_j = c_j + Σ_i g_ij
//
// (the energy of every (v, h) moves by the constant Σ_i mean_a b_i(a)).
func (m *PottsRBM) ZeroSumGauge() *PottsRBM {
	out := m.Clone()
	L, q, H := m.L, m.Q, m.H
	shift := make([]float64, H)
	for i := 0; i < L; i++ {
		mb := 0.0
		for a := 0; a < q; a++ {
			mb += float64(m.VBias[i*q+a])
		}
		mb /= float64(q)
		for a := 0; a < q; a++ {
			out.VBias[i*q+a] = float32(float64(m.VBias[i*q+a]) - mb)
		}
		for j := 0; j < H; j++ {
			g := 0.0
			for a := 0; a < q; a++ {
				g += float64(m.W[(i*q+a)*H+j])
			}
			g /= float64(q)
			shift[j] += g
			for a := 0; a < q; a++ {
				out.W[(i*q+a)*H+j] = float32(float64(m.W[(i*q+a)*H+j]) - g)
			}
		}
	}
	for j := range out.HBias {
		out.HBias[j] = float32(float64(m.HBias[j]) + shift[j])
	}
	return out
}

// Codes decodes n one-hot rows of x (n×L·Q) into n×L states: the first
// state of each site at or above ½; a site with none is an error naming
// the row and the site.
func (m *PottsRBM) Codes(x []float32, n int) ([]uint8, error) {
	N := m.L * m.Q
	if n < 1 || len(x) < n*N {
		return nil, fmt.Errorf("Potts RBM: %d values are not %d rows of %d one-hot units", len(x), n, N)
	}
	codes := make([]uint8, n*m.L)
	for r := 0; r < n; r++ {
		for i := 0; i < m.L; i++ {
			c := -1
			for a := m.Q - 1; a >= 0; a-- {
				if x[r*N+i*m.Q+a] >= 0.5 {
					c = a
				}
			}
			if c < 0 {
				return nil, fmt.Errorf("row %d, site %d: no state is set (want one-hot rows of %d states)", r+1, i+1, m.Q)
			}
			codes[r*m.L+i] = uint8(c)
		}
	}
	return codes, nil
}

// FreeEnergyCodes returns F(v) of the sequence of L states codes (float64).
func (m *PottsRBM) FreeEnergyCodes(codes []uint8) float64 {
	H, q := m.H, m.Q
	act := make([]float64, H)
	for j := range act {
		act[j] = float64(m.HBias[j])
	}
	f := 0.0
	for i, a := range codes[:m.L] {
		u := i*q + int(a)
		f -= float64(m.VBias[u])
		for j, w := range m.W[u*H : (u+1)*H] {
			act[j] += float64(w)
		}
	}
	for _, a := range act {
		f -= Softplus(a)
	}
	return f
}

// ExactBits is the size, in bits, of the smaller layer LogZ enumerates:
// min(H, L·log₂ Q).
func (m *PottsRBM) ExactBits() float64 {
	return math.Min(float64(m.H), float64(m.L)*math.Log2(float64(m.Q)))
}

// LogZ returns the exact log partition function log Σ_{v,h} e^{−E(v,h)}
// by enumerating the smaller layer (ExactBits ≤ MaxExactPottsRBMBits),
// the other summed out in closed form: over h ∈ {0,1}^H,
//
//	log Z = log Σ_h exp(cᵀh + Σ_i log Σ_a exp(b_i(a) + Σ_j W_{ia,j} h_j)),
//
// or over the Q^L visible states, log Z = log Σ_v exp(−F(v)). float64.
func (m *PottsRBM) LogZ() (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("log Z: %w", err)
	}
	if m.ExactBits() > MaxExactPottsRBMBits {
		return 0, fmt.Errorf("log Z: %d hidden units and %d sites of %d states: more than 2^%d states in either layer",
			m.H, m.L, m.Q, MaxExactPottsRBMBits)
	}
	if float64(m.H) <= float64(m.L)*math.Log2(float64(m.Q)) {
		return m.logZHidden(nil), nil
	}
	return m.LogZVisible(), nil
}

// logZHidden enumerates h (Gray-code order, activations updated by one
// column per state); with stats non-nil it also accumulates the model's
// expectations (see modelStats).
func (m *PottsRBM) logZHidden(stats *pottsRBMStats) float64 {
	L, q, H := m.L, m.Q, m.H
	N := L * q
	act := make([]float64, N) // b + W h
	for k := range act {
		act[k] = float64(m.VBias[k])
	}
	h := make([]bool, H)
	ch := 0.0 // cᵀh
	term := func() float64 {
		t := ch
		for i := 0; i < L; i++ {
			t += logSumExp(act[i*q : (i+1)*q])
		}
		return t
	}
	l := newLSE()
	var ts []float64
	var hs [][]bool
	visit := func() {
		t := term()
		l.add(t)
		if stats != nil {
			ts = append(ts, t)
			hs = append(hs, append([]bool(nil), h...))
		}
	}
	visit()
	for g := uint64(1); g < 1<<uint(H); g++ {
		j := 0
		for g>>uint(j)&1 == 0 {
			j++
		}
		h[j] = !h[j]
		sgn := 1.0
		if !h[j] {
			sgn = -1
		}
		ch += sgn * float64(m.HBias[j])
		for k := 0; k < N; k++ {
			act[k] += sgn * float64(m.W[k*H+j])
		}
		visit()
	}
	logZ := l.value()
	if stats != nil {
		stats.fromHidden(m, logZ, ts, hs)
	}
	return logZ
}

// LogZVisible is log Z by enumeration of the Q^L visible states (mixed
// radix, one site changed per state); it does not check sizes.
func (m *PottsRBM) LogZVisible() float64 {
	L, q := m.L, m.Q
	codes := make([]uint8, L)
	l := newLSE()
	for {
		l.add(-m.FreeEnergyCodes(codes))
		i := 0
		for ; i < L; i++ {
			codes[i]++
			if int(codes[i]) < q {
				break
			}
			codes[i] = 0
		}
		if i == L {
			break
		}
	}
	return l.value()
}

// logSumExp is log Σ exp(x), stable.
func logSumExp(x []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// LogLikelihood returns the exact average log-likelihood of the n one-hot
// rows of x, (1/n) Σ_r −F(x_r) − log Z (LogZ's limits apply).
func (m *PottsRBM) LogLikelihood(x []float32, n int) (float64, error) {
	codes, err := m.Codes(x, n)
	if err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	return -m.MeanFreeEnergy(codes, n) - logZ, nil
}

// MeanFreeEnergy is the mean of FreeEnergyCodes over the n sequences of
// codes (n×L).
func (m *PottsRBM) MeanFreeEnergy(codes []uint8, n int) float64 {
	s := 0.0
	for r := 0; r < n; r++ {
		s += m.FreeEnergyCodes(codes[r*m.L : (r+1)*m.L])
	}
	return s / float64(n)
}

// pottsRBMStats are model expectations: E[v_ia h_j], E[v_ia], E[h_j].
type pottsRBMStats struct {
	vh, v, h []float64
}

// fromHidden fills s from the enumerated hidden states hs with log weights
// ts: p(h) = exp(t − log Z), E[v_ia | h] = softmax_a(b_i + W h).
func (s *pottsRBMStats) fromHidden(m *PottsRBM, logZ float64, ts []float64, hs [][]bool) {
	L, q, H := m.L, m.Q, m.H
	N := L * q
	s.vh, s.v, s.h = make([]float64, N*H), make([]float64, N), make([]float64, H)
	act := make([]float64, N)
	for n, hv := range hs {
		p := math.Exp(ts[n] - logZ)
		for k := range act {
			act[k] = float64(m.VBias[k])
			for j, on := range hv {
				if on {
					act[k] += float64(m.W[k*H+j])
				}
			}
		}
		for i := 0; i < L; i++ {
			lz := logSumExp(act[i*q : (i+1)*q])
			for a := 0; a < q; a++ {
				k := i*q + a
				pv := p * math.Exp(act[k]-lz)
				s.v[k] += pv
				for j, on := range hv {
					if on {
						s.vh[k*H+j] += pv
					}
				}
			}
		}
		for j, on := range hv {
			if on {
				s.h[j] += p
			}
		}
	}
}

// ExactGradient returns the exact gradient of the average log-likelihood
// of the n one-hot rows of x with respect to W ((L·Q)×H), b (L·Q) and c (H):
//
//	∂/∂W_{ia,j} = E_data[v_ia σ_j(v)] − E_model[v_ia h_j]
//	∂/∂b_i(a)   = E_data[v_ia]        − E_model[v_ia]
//	∂/∂c_j      = E_data[σ_j(v)]      − E_model[h_j]
//
// with σ_j(v) = p(h_j = 1 | v) and the model's expectations by enumeration
// of the 2^H hidden states (H ≤ MaxExactPottsRBMBits); a test oracle.
func (m *PottsRBM) ExactGradient(x []float32, n int) (dW, dVBias, dHBias []float64, err error) {
	codes, err := m.Codes(x, n)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("exact gradient: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("exact gradient: %w", err)
	}
	if m.H > MaxExactPottsRBMBits {
		return nil, nil, nil, fmt.Errorf("exact gradient: %d hidden units: at most %d", m.H, MaxExactPottsRBMBits)
	}
	var st pottsRBMStats
	m.logZHidden(&st)
	L, q, H := m.L, m.Q, m.H
	dW, dVBias, dHBias = make([]float64, L*q*H), make([]float64, L*q), make([]float64, H)
	act := make([]float64, H)
	inv := 1 / float64(n)
	for r := 0; r < n; r++ {
		c := codes[r*L : (r+1)*L]
		for j := range act {
			act[j] = float64(m.HBias[j])
		}
		for i, a := range c {
			u := i*q + int(a)
			for j := 0; j < H; j++ {
				act[j] += float64(m.W[u*H+j])
			}
		}
		for j := range act {
			act[j] = Sigmoid(act[j])
			dHBias[j] += inv * act[j]
		}
		for i, a := range c {
			u := i*q + int(a)
			dVBias[u] += inv
			for j := 0; j < H; j++ {
				dW[u*H+j] += inv * act[j]
			}
		}
	}
	for k := range dW {
		dW[k] -= st.vh[k]
	}
	for k := range dVBias {
		dVBias[k] -= st.v[k]
	}
	for j := range dHBias {
		dHBias[j] -= st.h[j]
	}
	return dW, dVBias, dHBias, nil
}

// HiddenProbs writes p(h_j = 1 | v_r) for the n one-hot rows of v into dst
// (n×H, allocated when short) and returns it: the binary RBM's.
func (m *PottsRBM) HiddenProbs(dst, v []float32, n int) []float32 {
	return m.RBM().HiddenProbs(dst, v, n)
}

// VisibleLogits writes the logits b_i(a) + Σ_j W_{ia,j} h_rj of the n rows
// of h (n×H) into dst (n×L·Q, allocated when short), float32 sums in
// increasing j, and returns it.
func (m *PottsRBM) VisibleLogits(dst, h []float32, n int) []float32 {
	N, H := m.L*m.Q, m.H
	if len(dst) < n*N {
		dst = make([]float32, n*N)
	}
	dst = dst[:n*N]
	for r := 0; r < n; r++ {
		hr := h[r*H : (r+1)*H]
		for k := 0; k < N; k++ {
			a := m.VBias[k]
			for j, w := range m.W[k*H : (k+1)*H] {
				a += w * hr[j]
			}
			dst[r*N+k] = a
		}
	}
	return dst
}

// Gibbs runs `steps` sweeps of block Gibbs sampling in place on the n
// one-hot chains of v (n×L·Q): each sweep t samples h ~ p(h|v) (uniform
// r·H+j of kernels.Stream{seed, OpGibbsHidden, step0+t}, as RBM.Gibbs) and
// then every site from its softmax with one uniform
// (kernels.PottsVisible: element r·L+i of Stream{seed,
// OpPottsRBMGibbsVisible, step0+t}). A pure function of (m, v, seed,
// step0, steps).
func (m *PottsRBM) Gibbs(v []float32, n, steps int, seed uint64, step0 uint64) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("gibbs: %w", err)
	}
	N := m.L * m.Q
	if n < 0 || steps < 0 || len(v) < n*N {
		return fmt.Errorf("gibbs: %d values, n = %d chains of %d units, %d steps", len(v), n, N, steps)
	}
	if n == 0 || steps == 0 {
		return nil
	}
	v = v[:n*N]
	h := make([]float32, n*m.H)
	u := make([]float32, n*N)
	for t := 0; t < steps; t++ {
		step := step0 + uint64(t)
		m.HiddenProbs(h, v, n)
		sample(h, kernels.Stream{Seed: seed, Op: OpGibbsHidden, Step: step})
		m.VisibleLogits(u, h, n)
		kernels.PottsVisible(n, m.L, m.Q, kernels.PottsVisibleSample, u, v, kernels.Stream{Seed: seed, Op: OpPottsRBMGibbsVisible, Step: step})
	}
	return nil
}

// PottsSiteFields returns the fields of the independent-site model fitted
// to the n one-hot rows of x (n×L·q): b_i(a) = log f_i(a) − mean_a log f_i(a)
// with the smoothed frequencies f_i(a) = (count_i(a) + s) / (n + q·s)
// (s = smoothing, at least 1e-3 so that no field is −∞); the base of
// PottsRBM.AIS and the start of training.
func PottsSiteFields(x []float32, n, L, q int, smoothing float64) []float32 {
	N := L * q
	s := math.Max(smoothing, 1e-3)
	b := make([]float32, N)
	cnt := make([]float64, N)
	for r := 0; r < n; r++ {
		for k, v := range x[r*N : (r+1)*N] {
			if v >= 0.5 {
				cnt[k]++
			}
		}
	}
	for i := 0; i < L; i++ {
		mean := 0.0
		lf := make([]float64, q)
		for a := 0; a < q; a++ {
			lf[a] = math.Log((cnt[i*q+a] + s) / (float64(n) + float64(q)*s))
			mean += lf[a] / float64(q)
		}
		for a := 0; a < q; a++ {
			b[i*q+a] = float32(lf[a] - mean)
		}
	}
	return b
}
