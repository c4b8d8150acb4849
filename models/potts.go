package models

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the random streams of Potts sampling.
const (
	// OpPottsGibbs draws the categorical site updates of Potts.Gibbs.
	OpPottsGibbs uint32 = 0x1430
	// OpPottsInit draws the uniform initial states of Potts.Sample.
	OpPottsInit uint32 = 0x1431
	// OpPottsPlanted draws the graph and parameters of NewPlantedPotts.
	OpPottsPlanted uint32 = 0x1432
)

// MaxExactPottsBits bounds exact evaluation by enumeration of a Potts
// model's q^L states: L·log₂ q ≤ 20, about a million states.
const MaxExactPottsBits = 20

// Potts is a Potts model (a Boltzmann machine of categorical units, as in
// direct-coupling analysis) on L sites of q states each, a state s ∈ [0, q)^L
// having energy and probability
//
//	E(s) = −Σ_i h_i(s_i) − Σ_{i<j} J_ij(s_i, s_j),   p(s) = e^{−E(s)} / Z,
//
// with fields H[i·Q+a] = h_i(a) and couplings J[((i·L+j)·Q+a)·Q+b] =
// J_ij(a, b), stored in full (L×L×Q×Q) with J_ij(a, b) = J_ji(b, a) and
// zero diagonal blocks J_ii. Each site's conditional given the others is
// the softmax
//
//	p(s_i = a | s_−i) ∝ exp(h_i(a) + Σ_{j≠i} J_ij(a, s_j)).
//
// The parameters are defined up to a gauge (ZeroSumGauge); states of n
// sequences are n×L codes, row-major.
type Potts struct {
	L, Q int
	H    []float32 // L×Q fields
	J    []float32 // L×L×Q×Q couplings, symmetric, zero diagonal blocks
}

// NewPotts returns the Potts model on L sites of q states with all
// parameters zero (the uniform distribution). It refuses L < 1, q < 2,
// q > 256 (states are uint8 codes) and L²q² > MaxParams.
func NewPotts(L, q int) (*Potts, error) {
	if err := checkPottsSize(L, q); err != nil {
		return nil, fmt.Errorf("new Potts model: %w", err)
	}
	return &Potts{L: L, Q: q, H: make([]float32, L*q), J: make([]float32, L*L*q*q)}, nil
}

func checkPottsSize(L, q int) error {
	if L < 1 || q < 2 || q > 256 {
		return fmt.Errorf("%d sites of %d states: need at least 1 site and 2 to 256 states", L, q)
	}
	if L > MaxParams/(L*q*q) {
		return fmt.Errorf("%d sites of %d states: %d² × %d² couplings exceed %d", L, q, L, q, MaxParams)
	}
	return nil
}

// Validate reports the first inconsistency: sizes, slice lengths (L·Q and
// L²Q²), a non-finite value, a non-zero diagonal block or an asymmetric
// coupling J_ij(a,b) ≠ J_ji(b,a), naming the tensor and index.
func (m *Potts) Validate() error {
	if m == nil {
		return errors.New("Potts model is nil")
	}
	if err := checkPottsSize(m.L, m.Q); err != nil {
		return fmt.Errorf("Potts model: %w", err)
	}
	L, q := m.L, m.Q
	if len(m.H) != L*q || len(m.J) != L*L*q*q {
		return fmt.Errorf("Potts model %d×%d: H has %d values, J %d; want %d and %d", L, q, len(m.H), len(m.J), L*q, L*L*q*q)
	}
	if i := firstNonFinite(m.H); i >= 0 {
		return fmt.Errorf("Potts model %d×%d: h[%d][%d] = %v is not finite", L, q, i/q, i%q, m.H[i])
	}
	if k := firstNonFinite(m.J); k >= 0 {
		i, j, a, b := m.jIndex(k)
		return fmt.Errorf("Potts model %d×%d: J[%d][%d][%d][%d] = %v is not finite", L, q, i, j, a, b, m.J[k])
	}
	for i := 0; i < L; i++ {
		for j := i; j < L; j++ {
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					v, w := m.J[m.jAt(i, j, a, b)], m.J[m.jAt(j, i, b, a)]
					switch {
					case i == j && v != 0:
						return fmt.Errorf("Potts model %d×%d: J[%d][%d][%d][%d] = %v: diagonal blocks must be zero", L, q, i, i, a, b, v)
					case v != w:
						return fmt.Errorf("Potts model %d×%d: J[%d][%d][%d][%d] = %v but J[%d][%d][%d][%d] = %v: couplings must be symmetric", L, q, i, j, a, b, v, j, i, b, a, w)
					}
				}
			}
		}
	}
	return nil
}

// jAt returns the index of J_ij(a, b) in J.
func (m *Potts) jAt(i, j, a, b int) int { return ((i*m.L+j)*m.Q+a)*m.Q + b }

// jIndex inverts jAt.
func (m *Potts) jIndex(k int) (i, j, a, b int) {
	q, L := m.Q, m.L
	return k / (L * q * q), k / (q * q) % L, k / q % q, k % q
}

// SetCoupling sets J_ij(a, b) and its mirror J_ji(b, a) to v (i ≠ j).
func (m *Potts) SetCoupling(i, j, a, b int, v float32) {
	m.J[m.jAt(i, j, a, b)] = v
	m.J[m.jAt(j, i, b, a)] = v
}

// Clone returns a deep copy of m.
func (m *Potts) Clone() *Potts {
	return &Potts{L: m.L, Q: m.Q, H: append([]float32(nil), m.H...), J: append([]float32(nil), m.J...)}
}

// Energy returns E(s) of the state s (L codes < Q) in float64, summing the
// fields and then the couplings i < j in increasing (i, j). It panics if s
// is shorter than L or holds a code ≥ Q; Energies checks.
func (m *Potts) Energy(s []uint8) float64 {
	L, q := m.L, m.Q
	s = s[:L]
	e := 0.0
	for i, a := range s {
		e -= float64(m.H[i*q+int(a)])
	}
	for i, a := range s {
		row := m.J[(i*L)*q*q+int(a)*q:]
		for j := i + 1; j < L; j++ {
			e -= float64(row[j*q*q+int(s[j])])
		}
	}
	return e
}

// Energies returns E of each of the n states in s (n×L codes), with an
// error naming the first state and site whose code is not below Q.
func (m *Potts) Energies(s []uint8, n int) ([]float64, error) {
	if err := m.checkStates(s, n); err != nil {
		return nil, fmt.Errorf("energies: %w", err)
	}
	e := make([]float64, n)
	for r := range e {
		e[r] = m.Energy(s[r*m.L : (r+1)*m.L])
	}
	return e, nil
}

// checkStates reports a short s or a code ≥ Q among its n states.
func (m *Potts) checkStates(s []uint8, n int) error {
	if n < 0 || len(s) < n*m.L {
		return fmt.Errorf("%d codes for %d states of %d sites", len(s), n, m.L)
	}
	for k, c := range s[:n*m.L] {
		if int(c) >= m.Q {
			return fmt.Errorf("state %d, site %d: code %d is not below q = %d", k/m.L, k%m.L, c, m.Q)
		}
	}
	return nil
}

// ZeroSumGauge returns the model in the zero-sum (Ising) gauge, which
// defines the same distribution: every energy shifts by one constant. With
// means over a state written as a dot, J_ij(·,b) = (1/q) Σ_a J_ij(a,b),
//
//	J'_ij(a,b) = J_ij(a,b) − J_ij(·,b) − J_ij(a,·) + J_ij(·,·)
//	h'_i(a)    = h_i(a) − h_i(·) + Σ_{j≠i} (J_ij(a,·) − J_ij(·,·))
//
// so that Σ_a h'_i(a) = 0 and Σ_a J'_ij(a,b) = Σ_b J'_ij(a,b) = 0. It is
// computed in float64 and rounded to float32 once.
func (m *Potts) ZeroSumGauge() *Potts {
	L, q := m.L, m.Q
	g := &Potts{L: L, Q: q, H: make([]float32, L*q), J: make([]float32, L*L*q*q)}
	h := make([]float64, L*q)
	for k, v := range m.H {
		h[k] = float64(v)
	}
	rowMean, colMean := make([]float64, q), make([]float64, q)
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			blk := m.J[(i*L+j)*q*q : (i*L+j+1)*q*q]
			all := blockMeans(blk, q, rowMean, colMean)
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					g.SetCoupling(i, j, a, b, float32(float64(blk[a*q+b])-colMean[b]-rowMean[a]+all))
				}
				h[i*q+a] += rowMean[a] - all // J_ij(a,·) − J_ij(·,·)
				h[j*q+a] += colMean[a] - all // J_ji(a,·) = J_ij(·,a)
			}
		}
	}
	for i := 0; i < L; i++ {
		mean := 0.0
		for a := 0; a < q; a++ {
			mean += h[i*q+a]
		}
		mean /= float64(q)
		for a := 0; a < q; a++ {
			g.H[i*q+a] = float32(h[i*q+a] - mean)
		}
	}
	return g
}

// blockMeans fills rowMean[a] = J(a,·) and colMean[b] = J(·,b) of the q×q
// block blk and returns J(·,·), all in float64.
func blockMeans(blk []float32, q int, rowMean, colMean []float64) float64 {
	for b := range colMean {
		colMean[b] = 0
	}
	all := 0.0
	for a := 0; a < q; a++ {
		r := 0.0
		for b := 0; b < q; b++ {
			v := float64(blk[a*q+b])
			r += v
			colMean[b] += v
		}
		rowMean[a] = r / float64(q)
		all += r
	}
	for b := range colMean {
		colMean[b] /= float64(q)
	}
	return all / float64(q*q)
}

// Logits writes into dst (Q values) u_a = h_i(a) + Σ_{j≠i} J_ij(a, s_j)
// for the state s, accumulated in float64 in increasing j starting from
// the field, so p(s_i = a | s_−i) = softmax(u)_a. It returns dst.
func (m *Potts) Logits(s []uint8, i int, dst []float64) []float64 {
	L, q := m.L, m.Q
	dst = dst[:q]
	for a := range dst {
		dst[a] = float64(m.H[i*q+a])
	}
	for j := 0; j < L; j++ {
		if j == i {
			continue
		}
		// Column s_j of block (i, j): the blocks of row i are contiguous
		// (L·q² values), so a sweep over j stays in cache.
		col := m.J[(i*L+j)*q*q+int(s[j]):]
		for a := range dst {
			dst[a] += float64(col[a*q])
		}
	}
	return dst
}

// Conditional writes p(s_i = a | s_−i) for a = 0..Q−1 into dst: the
// softmax of Logits, in float64. It returns dst.
func (m *Potts) Conditional(s []uint8, i int, dst []float64) []float64 {
	u := m.Logits(s, i, dst)
	softmaxWeights(u)
	z := 0.0
	for _, w := range u {
		z += w
	}
	for a := range u {
		u[a] /= z
	}
	return u
}

// softmaxWeights replaces u by w_a = exp(u_a − max u) in place.
func softmaxWeights(u []float64) {
	mx := math.Inf(-1)
	for _, x := range u {
		mx = math.Max(mx, x)
	}
	for a, x := range u {
		u[a] = math.Exp(x - mx)
	}
}

// CategoricalDraw returns the state drawn from the softmax of the logits
// u (overwritten with its weights) with the uniform r ∈ [0, 1), by inverse
// CDF in float64:
//
//	w_a = exp(u_a − max_b u_b),  Z = Σ_a w_a (summed in increasing a),
//	t = r·Z,  return the smallest a with t < Σ_{b≤a} w_b,
//
// or, when rounding leaves t at or above the last partial sum, the largest
// a with w_a > 0. exp is Go's math.Exp; a twin that must agree to the bit
// needs an exp with the same rounding (one correctly rounded agrees except
// in rare ties of the last bit).
func CategoricalDraw(u []float64, r float32) int {
	softmaxWeights(u)
	z := 0.0
	for _, w := range u {
		z += w
	}
	t := float64(r) * z
	c := 0.0
	last := 0
	for a, w := range u {
		c += w
		if t < c {
			return a
		}
		if w > 0 {
			last = a
		}
	}
	return last
}

// Gibbs runs `sweeps` sequential Gibbs sweeps in place on the n states in
// s (n×L codes < Q). In each sweep the sites of each chain are resampled in
// order 0..L−1, site i from p(s_i | s_−i) with the current values of the
// others, by CategoricalDraw(Logits(s, i), u) with the uniform
//
//	u = element (t·n + c)·L + i of Philox stream (seed, OpPottsGibbs, step)
//
// for chain c in sweep t (so chain·L + site in the first sweep). The result
// is a pure function of the arguments, whatever the number of goroutines
// (chains are shared among GOMAXPROCS of them).
func (m *Potts) Gibbs(s []uint8, n, sweeps int, seed, step uint64) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("gibbs: %w", err)
	}
	if sweeps < 0 {
		return fmt.Errorf("gibbs: %d sweeps: must be non-negative", sweeps)
	}
	if err := m.checkStates(s, n); err != nil {
		return fmt.Errorf("gibbs: %w", err)
	}
	if uint64(sweeps)*uint64(n)*uint64(m.L) > 1<<34 {
		return fmt.Errorf("gibbs: %d sweeps of %d chains of %d sites exceed the 2^34 draws of one Philox stream; split the call", sweeps, n, m.L)
	}
	st := kernels.Stream{Seed: seed, Op: OpPottsGibbs, Step: step}
	L := m.L
	parallelRows(n, func(c int) {
		x := s[c*L : (c+1)*L]
		u := make([]float64, m.Q)
		for t := 0; t < sweeps; t++ {
			base := (uint64(t)*uint64(n) + uint64(c)) * uint64(L)
			for i := 0; i < L; i++ {
				x[i] = uint8(CategoricalDraw(m.Logits(x, i, u), st.Uniform(base+uint64(i))))
			}
		}
	})
	return nil
}

// Sample returns n states (n×L) from n independent chains, each started
// from a uniformly random state (site i of chain c from element c·L + i of
// stream (seed, OpPottsInit, 0): code ⌊u·Q⌋) and run for `sweeps` Gibbs
// sweeps (Gibbs with seed, step 0).
func (m *Potts) Sample(n, sweeps int, seed uint64) ([]uint8, error) {
	if n < 1 || sweeps < 1 {
		return nil, fmt.Errorf("sample: %d chains, %d sweeps: need at least one of each", n, sweeps)
	}
	s := make([]uint8, n*m.L)
	st := kernels.Stream{Seed: seed, Op: OpPottsInit}
	for k := range s {
		c := int(st.Uniform(uint64(k)) * float32(m.Q))
		s[k] = uint8(min(c, m.Q-1))
	}
	if err := m.Gibbs(s, n, sweeps, seed, 0); err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	return s, nil
}

// parallelRows calls f(r) for r = 0..n−1, shared among GOMAXPROCS
// goroutines in contiguous ranges.
func parallelRows(n int, f func(r int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for r := 0; r < n; r++ {
			f(r)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := lo; r < hi; r++ {
				f(r)
			}
		}()
	}
	wg.Wait()
}
