package models

import (
	"fmt"
	"math"
	"sort"
)

// Contact is a pair of sites i < j (0-based) and its score.
type Contact struct {
	I, J  int
	Score float64
}

// FrobeniusAPC returns the DCA contact scores of m (Ekeberg et al. 2013,
// as adabmDCA computes them), L×L, symmetric, zero diagonal: each coupling
// block is put in the zero-sum gauge over all q states,
//
//	J'_ij(a,b) = J_ij(a,b) − J_ij(·,b) − J_ij(a,·) + J_ij(·,·),
//
// its Frobenius norm is taken without the state `exclude` (the gap code;
// −1 keeps every state), F_ij = sqrt(Σ_{a,b ≠ exclude} J'_ij(a,b)²), and
// the average product correction is subtracted:
//
//	F^APC_ij = F_ij − F_i· F_·j / F_··,   F_i· = Σ_j F_ij, F_·· = Σ_ij F_ij
//
// (all zero when every F_ij is). Computed in float64.
func (m *Potts) FrobeniusAPC(exclude int) ([]float64, error) {
	f, err := m.frobenius(exclude)
	if err != nil {
		return nil, fmt.Errorf("contact scores: %w", err)
	}
	L := m.L
	row := make([]float64, L)
	tot := 0.0
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			row[i] += f[i*L+j]
		}
		tot += row[i]
	}
	apc := make([]float64, L*L)
	if tot == 0 {
		return apc, nil
	}
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			if i != j {
				apc[i*L+j] = f[i*L+j] - row[i]*row[j]/tot
			}
		}
	}
	return apc, nil
}

// RankContacts returns the pairs i < j with j − i ≥ minSep of the L×L
// score matrix, best first (ties by i, then j).
func RankContacts(scores []float64, L, minSep int) []Contact {
	var cs []Contact
	for i := 0; i < L; i++ {
		for j := i + max(minSep, 1); j < L; j++ {
			cs = append(cs, Contact{I: i, J: j, Score: scores[i*L+j]})
		}
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].Score > cs[b].Score })
	return cs
}

// TopPrecision returns the fraction of the first k contacts of cs (all of
// them when fewer) for which isContact(I, J) holds: the precision of the
// top-k predictions. It is 0 for an empty list.
func TopPrecision(cs []Contact, k int, isContact func(i, j int) bool) float64 {
	k = min(k, len(cs))
	if k <= 0 {
		return 0
	}
	hit := 0
	for _, c := range cs[:k] {
		if isContact(c.I, c.J) {
			hit++
		}
	}
	return float64(hit) / float64(k)
}

// frobenius returns the L×L matrix of F_ij (FrobeniusAPC before the
// correction): zero-sum-gauged block norms without the state exclude.
func (m *Potts) frobenius(exclude int) ([]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	L, q := m.L, m.Q
	if exclude < -1 || exclude >= q {
		return nil, fmt.Errorf("excluded state %d: want −1 or a state below q = %d", exclude, q)
	}
	f := make([]float64, L*L)
	rowMean, colMean := make([]float64, q), make([]float64, q)
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			blk := m.J[(i*L+j)*q*q : (i*L+j+1)*q*q]
			all := blockMeans(blk, q, rowMean, colMean)
			s := 0.0
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					if a != exclude && b != exclude {
						v := float64(blk[a*q+b]) - colMean[b] - rowMean[a] + all
						s += v * v
					}
				}
			}
			f[i*L+j], f[j*L+i] = math.Sqrt(s), math.Sqrt(s)
		}
	}
	return f, nil
}
