package models

import (
	"fmt"
	"math"
)

func (m *Potts) checkExact(what string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if bits := float64(m.L) * math.Log2(float64(m.Q)); bits > MaxExactPottsBits+1e-9 {
		return fmt.Errorf("%s: %d sites of %d states: %d^%d = 2^%.1f states; enumeration is limited to L·log₂q ≤ %d",
			what, m.L, m.Q, m.Q, m.L, bits, MaxExactPottsBits)
	}
	return nil
}

// walk visits every state s ∈ [0, Q)^L (site 0 fastest) with −E(s),
// updated in O(L) per changed site; visit must not keep s.
func (m *Potts) walk(visit func(negE float64, s []uint8)) {
	L, q := m.L, m.Q
	s := make([]uint8, L)
	negE := -m.Energy(s)
	change := func(k int, to uint8) {
		a, b := int(s[k]), int(to)
		d := float64(m.H[k*q+b]) - float64(m.H[k*q+a])
		for j := 0; j < L; j++ {
			if j != k {
				d += float64(m.J[m.jAt(k, j, b, int(s[j]))]) - float64(m.J[m.jAt(k, j, a, int(s[j]))])
			}
		}
		negE += d
		s[k] = to
	}
	for {
		visit(negE, s)
		k := 0
		for k < L && int(s[k]) == q-1 {
			change(k, 0)
			k++
		}
		if k == L {
			return
		}
		change(k, s[k]+1)
	}
}

// LogZ returns log Z = log Σ_s e^{−E(s)} by enumerating the q^L states
// (float64); an error when L·log₂q > MaxExactPottsBits.
func (m *Potts) LogZ() (float64, error) {
	if err := m.checkExact("Potts log Z"); err != nil {
		return 0, err
	}
	l := newLSE()
	m.walk(func(negE float64, _ []uint8) { l.add(negE) })
	return l.value(), nil
}

// ExactStats returns the model's one- and two-site marginals p_i(a),
// p_ij(a,b) by enumeration, and log Z; an error when L·log₂q >
// MaxExactPottsBits. Cost O(q^L · L²).
func (m *Potts) ExactStats() (*PottsStats, float64, error) {
	logZ, err := m.LogZ()
	if err != nil {
		return nil, 0, fmt.Errorf("exact statistics: %w", err)
	}
	L, q := m.L, m.Q
	st := &PottsStats{L: L, Q: q, F1: make([]float64, L*q), F2: make([]float64, L*L*q*q)}
	m.walk(func(negE float64, s []uint8) {
		p := math.Exp(negE - logZ)
		for i, a := range s {
			st.F1[i*q+int(a)] += p
			row := st.F2[(i*L)*q*q+int(a)*q:]
			for j, b := range s {
				row[j*q*q+int(b)] += p
			}
		}
	})
	for i := 0; i < L; i++ { // the diagonal blocks: δ_ab p_i(a)
		for a := 0; a < q; a++ {
			for b := 0; b < q; b++ {
				if a != b {
					st.F2[m.jAt(i, i, a, b)] = 0
				}
			}
		}
	}
	return st, logZ, nil
}

// LogLikelihood returns the exact weighted average log-likelihood of the n
// sequences in seqs (n×L codes < Q) with weights w (nil: all 1),
// Σ_s w_s log p(s) / Σ_s w_s; an error when L·log₂q > MaxExactPottsBits.
func (m *Potts) LogLikelihood(seqs []uint8, n int, w []float64) (float64, error) {
	logZ, err := m.LogZ()
	if err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	e, err := m.Energies(seqs, n)
	if err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	if w != nil && len(w) != n {
		return 0, fmt.Errorf("log-likelihood: %d weights for %d sequences", len(w), n)
	}
	s, tot := 0.0, 0.0
	for r, er := range e {
		wr := 1.0
		if w != nil {
			wr = w[r]
		}
		s -= wr * er
		tot += wr
	}
	if !(tot > 0) {
		return 0, fmt.Errorf("log-likelihood: the weights sum to %v: need a positive total", tot)
	}
	return s/tot - logZ, nil
}

// ExactGradient returns the gradient of the weighted average
// log-likelihood whose data statistics are data (PottsDataStats; with
// λ = 0 exactly the log-likelihood of those sequences):
//
//	∂/∂h_i(a)    = f_i(a) − p_i(a)
//	∂/∂J_ij(a,b) = f_ij(a,b) − p_ij(a,b)   (i ≠ j; zero diagonal blocks)
//
// with p the exact model marginals. J_ij(a,b) and J_ji(b,a) being one
// parameter, dJ is the derivative with respect to it (not twice it), and
// symmetric like J. An error when L·log₂q > MaxExactPottsBits or the
// sizes differ.
func (m *Potts) ExactGradient(data *PottsStats) (dH, dJ []float64, err error) {
	if data == nil || data.L != m.L || data.Q != m.Q {
		return nil, nil, fmt.Errorf("exact gradient: data statistics do not match the %d×%d model", m.L, m.Q)
	}
	model, _, err := m.ExactStats()
	if err != nil {
		return nil, nil, fmt.Errorf("exact gradient: %w", err)
	}
	dH = make([]float64, len(m.H))
	for k := range dH {
		dH[k] = data.F1[k] - model.F1[k]
	}
	dJ = make([]float64, len(m.J))
	for k := range dJ {
		if i, j, _, _ := m.jIndex(k); i != j {
			dJ[k] = data.F2[k] - model.F2[k]
		}
	}
	return dH, dJ, nil
}
