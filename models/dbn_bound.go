package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// OpDBNBound is the Philox op id of the recognition samples drawn by
// DBN.LowerBound; Step = layer·samples + s, element = row·units + j.
const OpDBNBound uint32 = 0xDB10

// LowerBound estimates the variational lower bound on the average
// log-probability of the n rows of x (n×V) under the DBN (Salakhutdinov &
// Murray 2008, §4; Hinton, Osindero & Teh 2006): with h⁰ = v and the
// recognition distribution q(hˡ⁺¹|hˡ) = Π_j σ(hˡWˡ + cˡ)_j^{h_j}(1 − σ)^{1−h_j},
//
//	log p(v) ≥ E_q[ Σ_{l<L−1} (log p(hˡ | hˡ⁺¹) − log q(hˡ⁺¹ | hˡ)) − F_top(h^{L−1}) ] − log Z_top,
//
// where p(hˡ|hˡ⁺¹) = Π_i σ(hˡ⁺¹Wˡᵀ + bˡ)_i^{h_i}(1 − σ)^{1−h_i} are the
// directed generative connections and F_top is the free energy of the top
// RBM, whose log partition function logZTop comes from AIS (or exactly,
// for small top layers). The expectation is estimated with `samples`
// recognition samples per row, drawn from Philox streams keyed by seed.
// For a one-layer DBN (a single RBM) it is exactly −mean F(v) − log Z.
// DBNs with label units are not supported (the labels would have to be
// summed out).
func (d *DBN) LowerBound(x []float32, n int, logZTop float64, samples int, seed uint64) (float64, error) {
	if err := d.Validate(); err != nil {
		return 0, fmt.Errorf("DBN lower bound: %w", err)
	}
	if d.LabelUnits > 0 {
		return 0, errors.New("DBN lower bound: DBNs with label units are not supported")
	}
	if d.Gaussian != nil {
		return 0, errors.New("DBN lower bound: a Gaussian bottom layer (real-valued data) is not supported; the bound is for binary data")
	}
	if samples < 1 {
		return 0, fmt.Errorf("DBN lower bound: %d samples per row, want ≥ 1", samples)
	}
	if math.IsNaN(logZTop) || math.IsInf(logZTop, 0) {
		return 0, fmt.Errorf("DBN lower bound: log Z of the top RBM is %v", logZTop)
	}
	L := len(d.Layers)
	V := d.Layers[0].V
	if n < 1 || len(x) < n*V {
		return 0, fmt.Errorf("DBN lower bound: %d values for %d rows of %d", len(x), n, V)
	}
	top := d.Layers[L-1]
	var total float64
	for r := 0; r < n; r++ {
		v := x[r*V : (r+1)*V]
		var rowSum float64
		for s := 0; s < samples; s++ {
			h := v
			var acc float64
			for l := 0; l < L-1; l++ {
				m := d.Layers[l]
				ph := m.HiddenProbs(nil, h, 1)
				st := kernels.Stream{Seed: seed, Op: OpDBNBound, Step: uint64(l*samples + s)}
				next := make([]float32, m.H)
				for j, p := range ph {
					u := st.Uniform(uint64(r)*uint64(m.H) + uint64(j))
					if u < p {
						next[j] = 1
					}
					acc -= bernoulliLog(next[j], float64(p))
				}
				pv := m.VisibleProbs(nil, next, 1)
				for i, p := range pv {
					acc += bernoulliLog(h[i], float64(p))
				}
				h = next
			}
			acc -= top.FreeEnergy(h)
			rowSum += acc
		}
		total += rowSum / float64(samples)
	}
	return total/float64(n) - logZTop, nil
}

// bernoulliLog returns x·log p + (1 − x)·log(1 − p), with 0·log 0 = 0 and p
// clamped away from 0 and 1 by float32 resolution (σ in float32 saturates).
func bernoulliLog(x float32, p float64) float64 {
	const eps = 1e-7
	p = min(max(p, eps), 1-eps)
	return float64(x)*math.Log(p) + float64(1-x)*math.Log1p(-p)
}
