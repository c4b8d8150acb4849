package models

import (
	"fmt"
	"math"
)

// walk visits every binary assignment of units first..N-1, the units below
// first held at s[:first] (any values), in Gray-code order: each visit flips
// one unit, and -E and every unit's total input are updated in O(N). visit
// gets -E(s) and the current state s (float64, N values, not to be kept).
// The cost is O(2^(N-first) · N).
func (m *BM) walk(s []float64, first int, visit func(negE float64, s []float64)) {
	n := m.N()
	for i := first; i < n; i++ {
		s[i] = 0
	}
	act := make([]float64, n)
	negE := 0.0
	for i := 0; i < n; i++ {
		a := float64(m.Bias[i])
		for j := 0; j < n; j++ {
			a += float64(m.W[i*n+j]) * s[j]
		}
		act[i] = a
	}
	for i := 0; i < first; i++ {
		// -E = Σ_i s_i b_i + ½ Σ_ij s_i W_ij s_j = Σ_i s_i (b_i + act_i) / 2.
		negE += s[i] * (float64(m.Bias[i]) + act[i]) / 2
	}
	visit(negE, s)
	k := n - first
	for g := uint64(1); g < 1<<k; g++ {
		u := first + trailingZeros(g)
		d := 1 - 2*s[u]
		negE += d * act[u]
		s[u] += d
		for j := 0; j < n; j++ {
			act[j] += d * float64(m.W[j*n+u])
		}
		visit(negE, s)
	}
}

func trailingZeros(x uint64) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

func (m *BM) checkExact(what string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n := m.N(); n > MaxExactBMUnits {
		return fmt.Errorf("%s: %d units: enumeration is limited to %d (2^N states)", what, n, MaxExactBMUnits)
	}
	return nil
}

// LogZ returns log Z = log Σ_s e^{-E(s)} by enumerating all 2^N states
// (Gray code, float64); an error when N > MaxExactBMUnits.
func (m *BM) LogZ() (float64, error) {
	if err := m.checkExact("log Z"); err != nil {
		return 0, err
	}
	l := newLSE()
	m.walk(make([]float64, m.N()), 0, func(negE float64, _ []float64) { l.add(negE) })
	return l.value(), nil
}

// LogUnnormalized returns log Σ_h e^{-E(v,h)} for the visible vector v (V
// values, need not be binary) by enumerating the 2^H hidden states; log
// p(v) is this minus LogZ.
func (m *BM) LogUnnormalized(v []float32) float64 {
	s := make([]float64, m.N())
	for i, x := range v[:m.V] {
		s[i] = float64(x)
	}
	l := newLSE()
	m.walk(s, m.V, func(negE float64, _ []float64) { l.add(negE) })
	return l.value()
}

// LogLikelihood returns the exact average log-likelihood of the n rows of
// x (n×V): (1/n) Σ_r log Σ_h e^{-E(x_r,h)} − log Z. It fails when
// N > MaxExactBMUnits or x is too short.
func (m *BM) LogLikelihood(x []float32, n int) (float64, error) {
	if err := m.checkExact("log-likelihood"); err != nil {
		return 0, err
	}
	if n < 1 || len(x) < n*m.V {
		return 0, fmt.Errorf("log-likelihood: %d values for %d rows of %d visible units", len(x), n, m.V)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return 0, err
	}
	s := 0.0
	for r := 0; r < n; r++ {
		s += m.LogUnnormalized(x[r*m.V : (r+1)*m.V])
	}
	return s/float64(n) - logZ, nil
}

// secondMoments accumulates weight·s sᵀ (off-diagonal, N×N) and weight·s
// into ss and s1 for the states of walk(s, first), weighted by
// e^{-E}/Σ e^{-E} over the walk: the expectations under p(· | s[:first]).
func (m *BM) secondMoments(s []float64, first int, scale float64, ss, s1 []float64) {
	n := m.N()
	l := newLSE()
	m.walk(s, first, func(negE float64, _ []float64) { l.add(negE) })
	logZ := l.value()
	active := make([]int, 0, n)
	m.walk(s, first, func(negE float64, s []float64) {
		p := scale * math.Exp(negE-logZ)
		active = active[:0]
		for i, x := range s {
			if x != 0 {
				active = append(active, i)
				s1[i] += p * x
			}
		}
		for _, i := range active {
			pi := p * s[i]
			for _, j := range active {
				if i != j {
					ss[i*n+j] += pi * s[j]
				}
			}
		}
	})
}

// ExactGradient returns the exact gradient of the average log-likelihood of
// the n rows of x (n×V) with respect to the weights (N×N) and biases (N):
//
//	∂/∂W_ij = M_ij (E_data[s_i s_j] − E_model[s_i s_j]),   zero diagonal
//	∂/∂b_i  = E_data[s_i] − E_model[s_i]
//
// where E_data averages over the rows with the hidden units distributed as
// p(h | x_r) and E_model is under p(s). With W symmetric, ∂/∂W_ij is the
// derivative with respect to the one parameter W_ij = W_ji (not twice it).
// Cost O(n·2^H·N² + 2^N·N²): a test oracle for small machines.
func (m *BM) ExactGradient(x []float32, n int) (dW, dBias []float64, err error) {
	if err := m.checkExact("exact gradient"); err != nil {
		return nil, nil, err
	}
	if n < 1 || len(x) < n*m.V {
		return nil, nil, fmt.Errorf("exact gradient: %d values for %d rows of %d visible units", len(x), n, m.V)
	}
	N := m.N()
	dataSS, dataS := make([]float64, N*N), make([]float64, N)
	s := make([]float64, N)
	for r := 0; r < n; r++ {
		for i := 0; i < m.V; i++ {
			s[i] = float64(x[r*m.V+i])
		}
		m.secondMoments(s, m.V, 1/float64(n), dataSS, dataS)
	}
	modelSS, modelS := make([]float64, N*N), make([]float64, N)
	m.secondMoments(make([]float64, N), 0, 1, modelSS, modelS)
	dW, dBias = make([]float64, N*N), make([]float64, N)
	for k := range dW {
		dW[k] = float64(m.Mask[k]) * (dataSS[k] - modelSS[k])
	}
	for i := range dBias {
		dBias[i] = dataS[i] - modelS[i]
	}
	return dW, dBias, nil
}
