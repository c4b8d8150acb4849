package models

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// OpPLLBit is the Philox op id of the unit flipped per row by ScoreSamples
// (and so by PseudoLogLikelihoodOneBit).
const OpPLLBit uint32 = 0x911B

// PseudoLogLikelihood returns the average over the n rows of x (n×V) of
//
//	PLL(v) = Σ_i log p(v_i | v_{−i}) = Σ_i log σ(F(ṽ⁽ⁱ⁾) − F(v)),
//
// where ṽ⁽ⁱ⁾ is v with unit i flipped (v_i → 1 − v_i) and F the free energy.
// It is exact for binary data and costs O(V·H) per row: flipping unit i
// moves every hidden pre-activation a_j = c_j + (vW)_j by ±W_ij, so
//
//	F(ṽ⁽ⁱ⁾) − F(v) = −(1 − 2v_i)·b_i − Σ_j [softplus(a_j + (1 − 2v_i)W_ij) − softplus(a_j)].
func (m *RBM) PseudoLogLikelihood(x []float32, n int) (float64, error) {
	if err := m.checkData(x, n); err != nil {
		return 0, fmt.Errorf("pseudo-log-likelihood: %w", err)
	}
	act := make([]float64, m.H)
	sp := make([]float64, m.H)
	var total float64
	for r := 0; r < n; r++ {
		v := x[r*m.V : (r+1)*m.V]
		m.activations(act, sp, v)
		for i, vi := range v {
			total += m.flipLogProb(act, sp, i, vi)
		}
	}
	return total / float64(n), nil
}

// PseudoLogLikelihoodOneBit is scikit-learn's BernoulliRBM.score_samples
// estimator averaged over rows: the mean of ScoreSamples(nil, x, n, seed),
// an unbiased but noisy estimate of PseudoLogLikelihood.
func (m *RBM) PseudoLogLikelihoodOneBit(x []float32, n int, seed uint64) (float64, error) {
	s, err := m.ScoreSamples(nil, x, n, seed)
	if err != nil {
		return 0, err
	}
	var total float64
	for _, v := range s {
		total += v
	}
	return total / float64(n), nil
}

// ScoreSamples writes into dst[:n] (allocated when too short) scikit-learn's
// BernoulliRBM.score_samples for each of the n rows of x (n×V): with one
// unit i of row r chosen at random and ṽ = v with v_i → 1 − v_i,
//
//	score(v) = V · log σ(F(ṽ) − F(v)),
//
// V times the log-probability of v_i given the other units, whose
// expectation over i is the pseudo-log-likelihood PLL(v). scikit-learn
// draws i from its random_state; here i = (u >> 11) mod V with u the 64-bit
// value r of the Philox stream (seed, OpPLLBit, step 0), so the scores are a
// pure function of (m, x, seed). Rows need not be binary (the flip is then
// v_i → 1 − v_i as in scikit-learn).
func (m *RBM) ScoreSamples(dst []float64, x []float32, n int, seed uint64) ([]float64, error) {
	if err := m.checkData(x, n); err != nil {
		return nil, fmt.Errorf("score samples: %w", err)
	}
	if len(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	act := make([]float64, m.H)
	sp := make([]float64, m.H)
	s := kernels.Stream{Seed: seed, Op: OpPLLBit}
	for r := range dst {
		v := x[r*m.V : (r+1)*m.V]
		m.activations(act, sp, v)
		i := int((s.Uint64(uint64(r)) >> 11) % uint64(m.V))
		dst[r] = float64(m.V) * m.flipLogProb(act, sp, i, v[i])
	}
	return dst, nil
}

// activations fills act_j = c_j + (vW)_j and sp_j = softplus(act_j).
func (m *RBM) activations(act, sp []float64, v []float32) {
	for j := range act {
		act[j] = float64(m.HBias[j])
	}
	for i, vi := range v {
		if vi == 0 {
			continue
		}
		row := m.W[i*m.H : (i+1)*m.H]
		for j, w := range row {
			act[j] += float64(vi) * float64(w)
		}
	}
	for j, a := range act {
		sp[j] = Softplus(a)
	}
}

// flipLogProb returns log σ(F(ṽ) − F(v)) for flipping unit i of value vi.
func (m *RBM) flipLogProb(act, sp []float64, i int, vi float32) float64 {
	d := 1 - 2*float64(vi) // change of v_i when flipped
	diff := -d * float64(m.VBias[i])
	row := m.W[i*m.H : (i+1)*m.H]
	for j, w := range row {
		diff -= Softplus(act[j]+d*float64(w)) - sp[j]
	}
	// log σ(diff) = −softplus(−diff)
	return -Softplus(-diff)
}
