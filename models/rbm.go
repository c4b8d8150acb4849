// Package models holds the Boltzmann machines rbmgpu trains — parameters,
// exact evaluation for small models (partition function, log-likelihood,
// gradient), sampling and checkpoints — as plain Go on the CPU. The training
// graphs built from these parameters live in package graph.
package models

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the random streams drawn in this file (see
// kernels.Stream). They are distinct from each other and must stay distinct
// from the op ids of the training graphs.
const (
	// OpInitW draws the initial weights in NewRBM (Step 0).
	OpInitW uint32 = 0x1417
	// OpGibbsHidden draws the hidden samples of Gibbs sweep t at
	// Step step0+t, element r·H+j for row r, hidden unit j.
	OpGibbsHidden uint32 = 0x1418
	// OpGibbsVisible draws the visible samples of Gibbs sweep t at
	// Step step0+t, element r·V+i for row r, visible unit i.
	OpGibbsVisible uint32 = 0x1419
)

// MaxParams bounds V×H so that sizes never overflow and a typo in a size
// fails with an error instead of an attempt to allocate terabytes.
const MaxParams = 1 << 31

// InitStd is the standard deviation of the initial weights, 0.01, as in
// Hinton's "A Practical Guide to Training Restricted Boltzmann Machines"
// (2010), section 8.
const InitStd = 0.01

// RBM is a Bernoulli–Bernoulli restricted Boltzmann machine with V visible
// and H hidden binary units and energy
//
//	E(v, h) = -vᵀWh - bᵀv - cᵀh,   v ∈ {0,1}^V, h ∈ {0,1}^H,
//	p(v, h) = e^{-E(v,h)} / Z,     Z = Σ_{v,h} e^{-E(v,h)}.
//
// Its conditionals factorise:
//
//	p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij),  p(v_i = 1 | h) = σ(b_i + Σ_j W_ij h_j).
//
// Batches of n rows are row-major: n×V for visible, n×H for hidden.
type RBM struct {
	V, H  int
	W     []float32 // V×H row-major: W[i*H+j] couples visible i and hidden j
	VBias []float32 // V visible biases b
	HBias []float32 // H hidden biases c
}

// NewRBM returns an RBM with v visible and h hidden units, biases 0 and
// weights W_ij ~ N(0, InitStd²), drawn deterministically from seed: element
// k of W comes from the Box–Muller transform of uniforms 2⌊k/2⌋ and
// 2⌊k/2⌋+1 of kernels.Stream{Seed: seed, Op: OpInitW, Step: 0},
//
//	r = √(-2 ln(1-u₁)),  W_{2m} = σ r cos(2πu₂),  W_{2m+1} = σ r sin(2πu₂),
//
// with 1-u₁ ∈ (0, 1] so the logarithm is always finite.
func NewRBM(v, h int, seed uint64) (*RBM, error) {
	if v < 1 || h < 1 {
		return nil, fmt.Errorf("new RBM: sizes %d×%d: need at least one visible and one hidden unit", v, h)
	}
	if v > MaxParams/h {
		return nil, fmt.Errorf("new RBM: sizes %d×%d: more than %d weights", v, h, MaxParams)
	}
	m := &RBM{V: v, H: h, W: make([]float32, v*h), VBias: make([]float32, v), HBias: make([]float32, h)}
	initNormal(m.W, kernels.Stream{Seed: seed, Op: OpInitW, Step: 0}, InitStd)
	return m, nil
}

// initNormal fills w with N(0, std²) draws by Box–Muller: the pair w[k],
// w[k+1] (k even) from uniforms k and k+1 of s. Every pair depends on its
// index only, so the halves of a large w are drawn on two goroutines with
// the same bits.
func initNormal(w []float32, s kernels.Stream, std float64) {
	fill := func(k0, k1 int) {
		for k := k0; k < k1; k += 2 {
			u1 := float64(s.Uniform(uint64(k)))
			u2 := float64(s.Uniform(uint64(k + 1)))
			r := math.Sqrt(-2 * math.Log(1-u1))
			sin, cos := math.Sincos(2 * math.Pi * u2)
			w[k] = float32(std * r * cos)
			if k+1 < len(w) {
				w[k+1] = float32(std * r * sin)
			}
		}
	}
	if len(w) < 1<<16 {
		fill(0, len(w))
		return
	}
	half := len(w) / 4 * 2 // even: a pair is never split
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fill(half, len(w))
	}()
	fill(0, half)
	wg.Wait()
}

// Validate reports whether the sizes are consistent (V, H ≥ 1, len(W) = V·H,
// len(VBias) = V, len(HBias) = H) and every parameter is finite. The error
// names the first offending tensor and index.
func (m *RBM) Validate() error {
	if m == nil {
		return errors.New("RBM is nil")
	}
	if m.V < 1 || m.H < 1 {
		return fmt.Errorf("RBM sizes %d×%d: need at least one visible and one hidden unit", m.V, m.H)
	}
	if m.V > MaxParams/m.H {
		return fmt.Errorf("RBM sizes %d×%d: more than %d weights", m.V, m.H, MaxParams)
	}
	for _, p := range []struct {
		name string
		x    []float32
		n    int
	}{{"W", m.W, m.V * m.H}, {"vbias", m.VBias, m.V}, {"hbias", m.HBias, m.H}} {
		if len(p.x) != p.n {
			return fmt.Errorf("RBM %d×%d: %s has %d elements, want %d", m.V, m.H, p.name, len(p.x), p.n)
		}
		if i := firstNonFinite(p.x); i >= 0 {
			return fmt.Errorf("RBM %d×%d: %s[%d] = %v is not finite", m.V, m.H, p.name, i, p.x[i])
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy of m.
func (m *RBM) Clone() *RBM {
	return &RBM{
		V: m.V, H: m.H,
		W:     append([]float32(nil), m.W...),
		VBias: append([]float32(nil), m.VBias...),
		HBias: append([]float32(nil), m.HBias...),
	}
}

// FreeEnergy returns the free energy of the visible vector v (length V),
//
//	F(v) = -log Σ_h e^{-E(v,h)} = -bᵀv - Σ_j softplus(c_j + (vᵀW)_j),
//
// accumulated in float64 with a stable softplus. v need not be binary.
// It panics if len(v) < V.
func (m *RBM) FreeEnergy(v []float32) float64 {
	v = v[:m.V]
	act := make([]float64, m.H)
	return m.freeEnergy(v, act)
}

// freeEnergy is FreeEnergy with a caller-provided scratch of length H.
func (m *RBM) freeEnergy(v []float32, act []float64) float64 {
	H := m.H
	for j := range act {
		act[j] = float64(m.HBias[j])
	}
	f := 0.0
	for i, vi := range v {
		if vi == 0 {
			continue // binary data is mostly zeros; skip the row of W
		}
		x := float64(vi)
		f -= float64(m.VBias[i]) * x
		row := m.W[i*H : i*H+H]
		for j, w := range row {
			act[j] += x * float64(w)
		}
	}
	for _, a := range act {
		f -= Softplus(a)
	}
	return f
}

// FreeEnergyFunc returns FreeEnergy for the parameters m has now, with W
// converted to float64 once: each nonzero visible then costs one SIMD axpy
// over a row of W (gonum floats.AddScaled, which multiplies and then adds
// in float64 as FreeEnergy does), so the values have FreeEnergy's bits and
// many rows cost about half as much. The function is safe for concurrent
// use and does not see later changes to m.
func (m *RBM) FreeEnergyFunc() func(v []float32) float64 {
	V, H := m.V, m.H
	w := make([]float64, len(m.W))
	for i, x := range m.W {
		w[i] = float64(x)
	}
	vbias := append([]float32(nil), m.VBias...)
	hbias := append([]float32(nil), m.HBias...)
	scratch := sync.Pool{New: func() any { return make([]float64, H) }}
	return func(v []float32) float64 {
		act := scratch.Get().([]float64)
		defer scratch.Put(act)
		for j, c := range hbias {
			act[j] = float64(c)
		}
		f := 0.0
		for i, vi := range v[:V] {
			if vi == 0 {
				continue
			}
			x := float64(vi)
			f -= float64(vbias[i]) * x
			floats.AddScaled(act, x, w[i*H:(i+1)*H])
		}
		for _, a := range act {
			f -= Softplus(a)
		}
		return f
	}
}

// FreeEnergies writes F(x_r) for the n rows of x (n×V) into dst[:n] and
// returns it; dst is allocated when nil or too short. It panics if
// len(x) < n·V.
func (m *RBM) FreeEnergies(dst []float64, x []float32, n int) []float64 {
	x = x[:n*m.V]
	if len(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	act := make([]float64, m.H)
	for r := range dst {
		dst[r] = m.freeEnergy(x[r*m.V:(r+1)*m.V], act)
	}
	return dst
}

// HiddenProbs writes p(h_j = 1 | v_r) = σ(c_j + Σ_i v_ri W_ij) for the n
// rows of v (n×V) into dst (n×H) and returns it; dst is allocated when nil
// or too short. Sums are accumulated in float32. It panics if len(v) < n·V.
func (m *RBM) HiddenProbs(dst, v []float32, n int) []float32 {
	V, H := m.V, m.H
	v = v[:n*V]
	if len(dst) < n*H {
		dst = make([]float32, n*H)
	}
	dst = dst[:n*H]
	for r := 0; r < n; r++ {
		out := dst[r*H : r*H+H]
		copy(out, m.HBias)
		for i, vi := range v[r*V : r*V+V] {
			if vi == 0 {
				continue
			}
			row := m.W[i*H : i*H+H]
			for j, w := range row {
				out[j] += vi * w
			}
		}
		for j, a := range out {
			out[j] = Sigmoid32(a)
		}
	}
	return dst
}

// VisibleProbs writes p(v_i = 1 | h_r) = σ(b_i + Σ_j W_ij h_rj) for the n
// rows of h (n×H) into dst (n×V) and returns it; dst is allocated when nil
// or too short. Sums are accumulated in float32. It panics if len(h) < n·H.
func (m *RBM) VisibleProbs(dst, h []float32, n int) []float32 {
	V, H := m.V, m.H
	h = h[:n*H]
	if len(dst) < n*V {
		dst = make([]float32, n*V)
	}
	dst = dst[:n*V]
	for r := 0; r < n; r++ {
		hr := h[r*H : r*H+H]
		out := dst[r*V : r*V+V]
		for i := range out {
			a := m.VBias[i]
			row := m.W[i*H : i*H+H]
			for j, w := range row {
				a += w * hr[j]
			}
			out[i] = Sigmoid32(a)
		}
	}
	return dst
}

// Gibbs runs `steps` sweeps of block Gibbs sampling in place on the n chains
// held in v (n×V): each sweep t = 0..steps-1 samples h ~ p(h|v) then
// v ~ p(v|h), a unit being 1 when its uniform u < p. The uniforms of sweep t
// are kernels.Stream{Seed: seed, Op: OpGibbsHidden, Step: step0+t} element
// r·H+j for hidden unit j of chain r, and Op OpGibbsVisible element r·V+i
// for visible unit i, so the result is a pure function of (m, v, seed,
// step0, steps); a caller continuing the chains passes step0+steps next.
// On return v holds binary samples (when steps > 0). The initial v may hold
// probabilities.
func (m *RBM) Gibbs(v []float32, n, steps int, seed uint64, step0 uint64) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("gibbs: %w", err)
	}
	if n < 0 || steps < 0 {
		return fmt.Errorf("gibbs: n = %d, steps = %d: must be non-negative", n, steps)
	}
	if n > 0 && len(v) < n*m.V {
		return fmt.Errorf("gibbs: v has %d elements, %d chains of %d visible units need %d", len(v), n, m.V, n*m.V)
	}
	if n == 0 || steps == 0 {
		return nil
	}
	v = v[:n*m.V]
	h := make([]float32, n*m.H)
	for t := 0; t < steps; t++ {
		step := step0 + uint64(t)
		m.HiddenProbs(h, v, n)
		sample(h, kernels.Stream{Seed: seed, Op: OpGibbsHidden, Step: step})
		m.VisibleProbs(v, h, n)
		sample(v, kernels.Stream{Seed: seed, Op: OpGibbsVisible, Step: step})
	}
	return nil
}

// sample replaces each probability p[k] by its Bernoulli draw with
// uniform k of s (kernels.SampleBernoulli, in place).
func sample(p []float32, s kernels.Stream) { kernels.SampleBernoulli(p, p, s) }
