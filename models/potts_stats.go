package models

import (
	"fmt"
	"math"
)

// PottsStats are the one- and two-site statistics of a distribution over
// [0, q)^L (an alignment's frequencies or a model's marginals):
// F1[i·Q+a] = f_i(a) and F2[((i·L+j)·Q+a)·Q+b] = f_ij(a, b), in full
// (L×L×Q×Q, 8·L²Q² bytes), f_ij(a,b) = f_ji(b,a), with diagonal blocks
// f_ii(a,b) = δ_ab f_i(a).
type PottsStats struct {
	L, Q int
	F1   []float64 // L×Q
	F2   []float64 // L×L×Q×Q
}

// PseudocountDefault, given as λ to PottsDataStats, selects λ = 1/M_eff.
const PseudocountDefault = -1.0

// PottsDataStats returns the weighted frequencies of the n sequences in
// seqs (n×L codes < q) with weights w (nil: all 1; non-negative, finite,
// Σw > 0), mixed with the uniform distribution by the pseudocount λ ∈
// [0, 1]:
//
//	f_i(a)    = (1−λ) Σ_s w_s [s_i = a] / Σ_s w_s + λ/q
//	f_ij(a,b) = (1−λ) Σ_s w_s [s_i = a][s_j = b] / Σ_s w_s + λ/q²   (i ≠ j)
//
// λ = PseudocountDefault (any negative value) uses λ = 1/M_eff, M_eff =
// Σ_s w_s, as adabmDCA does. Sums are in float64; the rows i of F2 are
// shared among GOMAXPROCS goroutines. Cost O(n·L²).
func PottsDataStats(seqs []uint8, n, L, q int, w []float64, lambda float64) (*PottsStats, error) {
	if err := checkPottsSize(L, q); err != nil {
		return nil, fmt.Errorf("data statistics: %w", err)
	}
	if n < 1 || len(seqs) < n*L {
		return nil, fmt.Errorf("data statistics: %d codes for %d sequences of %d sites (need at least one sequence)", len(seqs), n, L)
	}
	for k, c := range seqs[:n*L] {
		if int(c) >= q {
			return nil, fmt.Errorf("data statistics: sequence %d, site %d: code %d is not below q = %d", k/L, k%L, c, q)
		}
	}
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	if len(w) != n {
		return nil, fmt.Errorf("data statistics: %d weights for %d sequences", len(w), n)
	}
	meff := 0.0
	for s, x := range w {
		if !(x >= 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("data statistics: weight %d = %v: want a finite value ≥ 0", s, x)
		}
		meff += x
	}
	if meff <= 0 {
		return nil, fmt.Errorf("data statistics: the weights sum to %v: need a positive total", meff)
	}
	if lambda < 0 {
		lambda = 1 / meff
	}
	if lambda > 1 {
		return nil, fmt.Errorf("data statistics: pseudocount %v: want a value in [0, 1]", lambda)
	}
	st := &PottsStats{L: L, Q: q, F1: make([]float64, L*q), F2: make([]float64, L*L*q*q)}
	scale := (1 - lambda) / meff
	for s := 0; s < n; s++ {
		for i, a := range seqs[s*L : (s+1)*L] {
			st.F1[i*q+int(a)] += w[s]
		}
	}
	for k := range st.F1 {
		st.F1[k] = st.F1[k]*scale + lambda/float64(q)
	}
	qq := q * q
	parallelRows(L, func(i int) {
		row := st.F2[i*L*qq : (i+1)*L*qq]
		for s := 0; s < n; s++ {
			x := seqs[s*L : (s+1)*L]
			base := int(x[i]) * q
			for j, b := range x {
				row[j*qq+base+int(b)] += w[s]
			}
		}
		for j := 0; j < L; j++ {
			blk := row[j*qq : (j+1)*qq]
			if j == i {
				for k := range blk {
					blk[k] = 0
				}
				for a := 0; a < q; a++ {
					blk[a*q+a] = st.F1[i*q+a]
				}
				continue
			}
			for k := range blk {
				blk[k] = blk[k]*scale + lambda/float64(qq)
			}
		}
	})
	return st, nil
}

// Connected returns C_ij(a,b) = f_ij(a,b) − f_i(a) f_j(b) for i ≠ j
// (L×L×Q×Q; zero diagonal blocks).
func (st *PottsStats) Connected() []float64 {
	L, q := st.L, st.Q
	c := make([]float64, len(st.F2))
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			if i == j {
				continue
			}
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					k := ((i*L+j)*q+a)*q + b
					c[k] = st.F2[k] - st.F1[i*q+a]*st.F1[j*q+b]
				}
			}
		}
	}
	return c
}

// PottsFit holds adabmDCA's convergence metrics of a model against data.
type PottsFit struct {
	// PearsonC is the Pearson correlation between the data's and the
	// model's connected correlations C_ij(a,b) over all i < j and a, b.
	PearsonC float64
	// SlopeC is the least-squares slope of the model's C against the
	// data's, Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², x data, y model.
	SlopeC float64
	// PearsonF is the Pearson correlation of the one-site frequencies
	// f_i(a) over all i, a.
	PearsonF float64
}

// ComparePottsStats returns the convergence metrics of model statistics
// (from the model's chains, or exact) against the data's: the Pearson
// correlation and slope of the connected correlations C_ij(a,b) = f_ij(a,b)
// − f_i(a) f_j(b) over i < j and all a, b (gaps included, as adabmDCA), and
// the Pearson correlation of the f_i(a). A constant vector gives NaN.
func ComparePottsStats(data, model *PottsStats) (PottsFit, error) {
	if data.L != model.L || data.Q != model.Q {
		return PottsFit{}, fmt.Errorf("compare statistics: data %d×%d, model %d×%d: sizes differ", data.L, data.Q, model.L, model.Q)
	}
	L, q := data.L, data.Q
	conn := func(st *PottsStats, i, j, a, b int) float64 {
		return st.F2[((i*L+j)*q+a)*q+b] - st.F1[i*q+a]*st.F1[j*q+b]
	}
	var c pearson
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < L; i++ {
			for j := i + 1; j < L; j++ {
				for a := 0; a < q; a++ {
					for b := 0; b < q; b++ {
						c.add(pass, conn(data, i, j, a, b), conn(model, i, j, a, b))
					}
				}
			}
		}
	}
	var f pearson
	for pass := 0; pass < 2; pass++ {
		for k := range data.F1 {
			f.add(pass, data.F1[k], model.F1[k])
		}
	}
	return PottsFit{PearsonC: c.r(), SlopeC: c.sxy / c.sxx, PearsonF: f.r()}, nil
}

// pearson accumulates a correlation in two passes: the means (pass 0),
// then the centred sums (pass 1), in float64.
type pearson struct {
	n, sx, sy, sxx, syy, sxy float64
}

func (p *pearson) add(pass int, x, y float64) {
	if pass == 0 {
		p.n++
		p.sx += x
		p.sy += y
		return
	}
	dx, dy := x-p.sx/p.n, y-p.sy/p.n
	p.sxx += dx * dx
	p.syy += dy * dy
	p.sxy += dx * dy
}

func (p *pearson) r() float64 { return p.sxy / math.Sqrt(p.sxx*p.syy) }
