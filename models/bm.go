package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the random streams of BM initialisation and sampling.
const (
	// OpBMInitW draws the initial BM weights in NewBM (Step 0).
	OpBMInitW uint32 = 0x1420
	// OpBMGibbs draws the free-running Gibbs sweeps of BM.Gibbs.
	OpBMGibbs uint32 = 0x1421
)

// MaxExactBMUnits is the most units (V + H) a BM may have for exact log Z,
// log-likelihood and gradient by enumeration of its 2^N states.
const MaxExactBMUnits = 20

// Lateral chooses which lateral (within-layer) connections a Boltzmann
// machine has besides the visible–hidden ones.
type Lateral int

// Connectivities. LateralNone is a restricted machine (an RBM),
// LateralVisible a semi-restricted one (Osindero & Hinton 2008),
// LateralBoth the general BM of Hinton & Sejnowski.
const (
	LateralNone    Lateral = iota // visible–hidden only
	LateralVisible                // plus visible–visible
	LateralHidden                 // plus hidden–hidden
	LateralBoth                   // every pair of units
)

var lateralNames = []string{"none", "visible", "hidden", "both"}

// String returns the flag spelling: none, visible, hidden or both.
func (l Lateral) String() string {
	if l < 0 || int(l) >= len(lateralNames) {
		return fmt.Sprintf("Lateral(%d)", int(l))
	}
	return lateralNames[l]
}

// ParseLateral parses none, visible, hidden or both.
func ParseLateral(s string) (Lateral, error) {
	for i, n := range lateralNames {
		if s == n {
			return Lateral(i), nil
		}
	}
	return 0, fmt.Errorf("lateral connectivity %q: want none, visible, hidden or both", s)
}

// BMMask returns the N×N connectivity mask (N = v+h) of l: M_ij = 1 when
// units i ≠ j are connected, else 0. Units 0..v-1 are visible, v..N-1
// hidden; visible–hidden pairs are always connected, the diagonal never.
func BMMask(v, h int, l Lateral) []float32 {
	n := v + h
	m := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			vi, vj := i < v, j < v
			on := false
			switch {
			case i == j:
			case vi != vj:
				on = true
			case vi:
				on = l == LateralVisible || l == LateralBoth
			default:
				on = l == LateralHidden || l == LateralBoth
			}
			if on {
				m[i*n+j] = 1
			}
		}
	}
	return m
}

// BM is a general Boltzmann machine (Hinton & Sejnowski 1983) of N = V+H
// binary units s = (v, h), units 0..V-1 visible and V..N-1 hidden, with
//
//	E(s) = -½ sᵀWs - bᵀs,   p(s) = e^{-E(s)} / Z,   Z = Σ_s e^{-E(s)},
//
// W symmetric with zero diagonal and W = M ⊙ W for the 0/1 connectivity
// mask M (symmetric, zero diagonal): lateral weights may be absent
// (restricted and semi-restricted machines are special cases). Each unit's
// conditional given all others is
//
//	p(s_i = 1 | s_{-i}) = σ(b_i + Σ_j W_ij s_j).
//
// States of n rows are n×N row-major.
type BM struct {
	V, H int
	W    []float32 // N×N row-major, symmetric, zero diagonal, zero where Mask is 0
	Bias []float32 // N biases: visible then hidden
	Mask []float32 // N×N 0/1 connectivity
}

// N returns the number of units V+H.
func (m *BM) N() int { return m.V + m.H }

// NewBM returns a BM with v visible and h hidden units and connectivity l:
// biases 0, connected weights W_ij = W_ji ~ N(0, InitStd²) drawn for i < j
// from seed (element i·N+j of Philox stream (seed, OpBMInitW, 0) and the
// next, by Box–Muller), the others 0.
func NewBM(v, h int, l Lateral, seed uint64) (*BM, error) {
	if v < 1 || h < 0 {
		return nil, fmt.Errorf("new BM: sizes %d visible, %d hidden: need at least one visible unit and no negative count", v, h)
	}
	if l < LateralNone || l > LateralBoth {
		return nil, fmt.Errorf("new BM: %v is not a connectivity", l)
	}
	n := v + h
	if n > 46340 { // N² must fit MaxParams
		return nil, fmt.Errorf("new BM: %d units: more than %d weights", n, MaxParams)
	}
	m := &BM{V: v, H: h, W: make([]float32, n*n), Bias: make([]float32, n), Mask: BMMask(v, h, l)}
	s := kernels.Stream{Seed: seed, Op: OpBMInitW}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if m.Mask[i*n+j] == 0 {
				continue
			}
			e := uint64(2 * (i*n + j))
			u1, u2 := float64(s.Uniform(e)), float64(s.Uniform(e+1))
			x := float32(InitStd * math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2))
			m.W[i*n+j], m.W[j*n+i] = x, x
		}
	}
	return m, nil
}

// FromRBM returns the restricted BM (mask LateralNone) with r's weights:
// W_{i,V+j} = W_{V+j,i} = r.W[i,j], biases (r.VBias, r.HBias). Both
// machines define the same distribution.
func FromRBM(r *RBM) *BM {
	m := &BM{V: r.V, H: r.H, Mask: BMMask(r.V, r.H, LateralNone)}
	n := m.N()
	m.W = make([]float32, n*n)
	for i := 0; i < r.V; i++ {
		for j := 0; j < r.H; j++ {
			w := r.W[i*r.H+j]
			m.W[i*n+r.V+j], m.W[(r.V+j)*n+i] = w, w
		}
	}
	m.Bias = append(append([]float32(nil), r.VBias...), r.HBias...)
	return m
}

// Validate reports the first inconsistency: sizes (V ≥ 1, H ≥ 0, slice
// lengths N², N, N²), non-finite values, a mask entry other than 0 or 1, a
// non-zero mask diagonal, an asymmetric mask or W, or a weight where the
// mask is 0 (the diagonal included). The error names the tensor and index.
func (m *BM) Validate() error {
	if m == nil {
		return errors.New("BM is nil")
	}
	if m.V < 1 || m.H < 0 || m.V+m.H > 46340 {
		return fmt.Errorf("BM sizes %d visible, %d hidden: invalid", m.V, m.H)
	}
	n := m.N()
	for _, p := range []struct {
		name string
		x    []float32
		n    int
	}{{"W", m.W, n * n}, {"bias", m.Bias, n}, {"mask", m.Mask, n * n}} {
		if len(p.x) != p.n {
			return fmt.Errorf("BM %d+%d: %s has %d elements, want %d", m.V, m.H, p.name, len(p.x), p.n)
		}
		if i := firstNonFinite(p.x); i >= 0 {
			return fmt.Errorf("BM %d+%d: %s[%d] = %v is not finite", m.V, m.H, p.name, i, p.x[i])
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			k := i*n + j
			switch mk := m.Mask[k]; {
			case mk != 0 && mk != 1:
				return fmt.Errorf("BM %d+%d: mask[%d,%d] = %v, want 0 or 1", m.V, m.H, i, j, mk)
			case i == j && mk != 0:
				return fmt.Errorf("BM %d+%d: mask[%d,%d] = 1 on the diagonal", m.V, m.H, i, j)
			case mk != m.Mask[j*n+i]:
				return fmt.Errorf("BM %d+%d: mask is not symmetric at [%d,%d]", m.V, m.H, i, j)
			case m.W[k] != m.W[j*n+i]:
				return fmt.Errorf("BM %d+%d: W is not symmetric at [%d,%d]: %v vs %v", m.V, m.H, i, j, m.W[k], m.W[j*n+i])
			case mk == 0 && m.W[k] != 0:
				return fmt.Errorf("BM %d+%d: W[%d,%d] = %v where the mask is 0", m.V, m.H, i, j, m.W[k])
			}
		}
	}
	return nil
}

// Clone returns a deep copy of m.
func (m *BM) Clone() *BM {
	return &BM{V: m.V, H: m.H,
		W:    append([]float32(nil), m.W...),
		Bias: append([]float32(nil), m.Bias...),
		Mask: append([]float32(nil), m.Mask...)}
}

// Lateral returns the connectivity of m's mask when it is one of the four
// standard ones, and false otherwise.
func (m *BM) Lateral() (Lateral, bool) {
	for l := LateralNone; l <= LateralBoth; l++ {
		std := BMMask(m.V, m.H, l)
		same := len(std) == len(m.Mask)
		for i := 0; same && i < len(std); i++ {
			same = std[i] == m.Mask[i]
		}
		if same {
			return l, true
		}
	}
	return 0, false
}

// Energy returns E(s) = -½ sᵀWs - bᵀs of the state s (N values; need not
// be binary), in float64. It panics if len(s) < N.
func (m *BM) Energy(s []float32) float64 {
	n := m.N()
	s = s[:n]
	e := 0.0
	for i, si := range s {
		if si == 0 {
			continue
		}
		a := 0.0
		for j, sj := range s[:i] {
			a += float64(m.W[i*n+j]) * float64(sj)
		}
		e -= float64(si) * (a + float64(m.Bias[i]))
	}
	return e
}

// Input returns b_i + Σ_j W_ij s_j, the total input of unit i in state s
// (N values), in float64; p(s_i = 1 | s_{-i}) is its sigmoid.
func (m *BM) Input(s []float32, i int) float64 {
	n := m.N()
	a := float64(m.Bias[i])
	for j, sj := range s[:n] {
		a += float64(m.W[i*n+j]) * float64(sj)
	}
	return a
}

// Gibbs runs `sweeps` sequential Gibbs sweeps in place on the n states in s
// (n×N): in each sweep units first..N-1 are resampled in order from their
// conditionals, units below first stay clamped (first = V samples the
// hidden units given the visibles, 0 runs the machine freely). The draws are
// kernels.BMGibbs's: uniform (t·n + r)·N + i of Philox stream
// (seed, OpBMGibbs, step) for unit i of row r in sweep t, so the result is a
// pure function of its arguments and equals the bm_gibbs_f32 kernel's.
func (m *BM) Gibbs(s []float32, n, sweeps, first int, seed, step uint64) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("gibbs: %w", err)
	}
	N := m.N()
	switch {
	case n < 0 || sweeps < 0:
		return fmt.Errorf("gibbs: n = %d, sweeps = %d: must be non-negative", n, sweeps)
	case first < 0 || first > N:
		return fmt.Errorf("gibbs: first unit %d of %d", first, N)
	case len(s) < n*N:
		return fmt.Errorf("gibbs: s has %d values, %d states of %d units need %d", len(s), n, N, n*N)
	}
	x := append([]float32(nil), s[:n*N]...)
	kernels.BMGibbs(n, N, N, first, sweeps, false, x, m.W, m.Bias, s, kernels.Stream{Seed: seed, Op: OpBMGibbs, Step: step})
	return nil
}

// Generate returns n visible samples (n×V): n chains started from the
// all-zero state, run for `sweeps` free sweeps with Gibbs(seed, step 0).
func (m *BM) Generate(n, sweeps int, seed uint64) ([]float32, error) {
	if n < 1 || sweeps < 1 {
		return nil, fmt.Errorf("generate: n = %d samples, %d sweeps: need at least one of each", n, sweeps)
	}
	N := m.N()
	s := make([]float32, n*N)
	if err := m.Gibbs(s, n, sweeps, 0, seed, 0); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	v := make([]float32, n*m.V)
	for r := 0; r < n; r++ {
		copy(v[r*m.V:(r+1)*m.V], s[r*N:r*N+m.V])
	}
	return v, nil
}
