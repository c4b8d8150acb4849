package models

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// MaxExactUnits is the largest min(V, H) for which LogZ, LogLikelihood and
// ExactGradient enumerate: 2^20 states.
const MaxExactUnits = 20

// enumeration describes the sum over the smaller layer x (n units) of an RBM
// with the larger layer y (m units) summed out analytically:
//
//	log Z = log Σ_x exp( aᵀx + Σ_k softplus(d_k + Σ_j M_jk x_j) )
//
// with a = xBias, d = yBias and M = coupling (n×m row-major, row j holds
// the couplings of x_j to all of y, so flipping x_j adds one contiguous row
// to the activations of y).
type enumeration struct {
	n, m     int
	xBias    []float64
	yBias    []float64
	coupling []float64
	xIsH     bool // x is the hidden layer (H ≤ V), y the visible one
}

// enumerate sets up the sum over the smaller layer: hidden when H ≤ V
// (term cᵀh + Σ_i softplus(b_i + (Wh)_i)), else visible (term -F(v)).
func (m *RBM) enumerate() (*enumeration, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	V, H := m.V, m.H
	e := &enumeration{xIsH: H <= V}
	if e.xIsH {
		e.n, e.m = H, V
		e.xBias, e.yBias = f64(m.HBias), f64(m.VBias)
		e.coupling = make([]float64, H*V)
		for i := 0; i < V; i++ {
			for j := 0; j < H; j++ {
				e.coupling[j*V+i] = float64(m.W[i*H+j])
			}
		}
	} else {
		e.n, e.m = V, H
		e.xBias, e.yBias = f64(m.VBias), f64(m.HBias)
		e.coupling = f64(m.W)
	}
	if e.n > MaxExactUnits {
		return nil, fmt.Errorf("RBM %d×%d: exact enumeration of 2^%d states: more than 2^%d", V, H, e.n, MaxExactUnits)
	}
	return e, nil
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// chunkBits is log2 of the number of consecutive Gray-code states one chunk
// covers. Within an aligned chunk only the low chunkBits bits flip, and each
// chunk recomputes its activations from scratch, which bounds the drift of
// incremental updates to 2^chunkBits steps.
const chunkBits = 10

// chunks returns the number of chunks and states per chunk for n bits.
func chunks(n int) (int, int) {
	k := min(n, chunkBits)
	return 1 << (n - k), 1 << k
}

// start returns the state (bitmask) at Gray index g0 with the exact
// activations of y and the bias term aᵀx.
func (e *enumeration) start(g0 uint64, act []float64) (x uint64, tb float64) {
	x = g0 ^ (g0 >> 1)
	copy(act, e.yBias)
	for j := 0; j < e.n; j++ {
		if x&(1<<j) == 0 {
			continue
		}
		tb += e.xBias[j]
		row := e.coupling[j*e.m : (j+1)*e.m]
		for k, w := range row {
			act[k] += w
		}
	}
	return x, tb
}

// walk calls visit for every state of chunk c in Gray-code order with the
// state bitmask, aᵀx and the activations of y (updated by adding or
// subtracting one coupling row per step: O(m) per state).
func (e *enumeration) walk(c int, act []float64, visit func(x uint64, tb float64, act []float64)) {
	_, per := chunks(e.n)
	x, tb := e.start(uint64(c*per), act)
	for s := 0; s < per; s++ {
		if s > 0 {
			j := bits.TrailingZeros(uint(s))
			x ^= 1 << j
			row := e.coupling[j*e.m : (j+1)*e.m]
			if x&(1<<j) != 0 {
				tb += e.xBias[j]
				for k, w := range row {
					act[k] += w
				}
			} else {
				tb -= e.xBias[j]
				for k, w := range row {
					act[k] -= w
				}
			}
		}
		visit(x, tb, act)
	}
}

// lse is a streaming log-sum-exp: log Σ e^{t} = max + log(sum).
type lse struct{ max, sum float64 }

func newLSE() lse { return lse{max: math.Inf(-1)} }

func (l *lse) add(t float64) {
	if t > l.max {
		l.sum = l.sum*math.Exp(l.max-t) + 1
		l.max = t
	} else {
		l.sum += math.Exp(t - l.max)
	}
}

func (l lse) value() float64 { return l.max + math.Log(l.sum) }

// fastBound is the largest activation magnitude for which logZ uses the
// multiplicative fast path: e^300 is far from float64 overflow (e^709).
const fastBound = 300

// logZ sums all states, in parallel over chunks; the per-chunk results are
// combined in chunk order, so the value does not depend on scheduling.
func (e *enumeration) logZ(allowFast bool) float64 {
	nc, per := chunks(e.n)
	// A bounds |activation of y_k| over all states.
	A := 0.0
	for k := 0; k < e.m; k++ {
		a := math.Abs(e.yBias[k])
		for j := 0; j < e.n; j++ {
			a += math.Abs(e.coupling[j*e.m+k])
		}
		A = max(A, a)
	}
	fast := allowFast && A <= fastBound
	var ef, efInv []float64
	blockLen := 0
	if fast {
		ef = make([]float64, len(e.coupling))
		efInv = make([]float64, len(e.coupling))
		for i, w := range e.coupling {
			ef[i], efInv[i] = math.Exp(w), math.Exp(-w)
		}
		// Each factor 1+e^{act} ≤ e^{A+1}; a block of blockLen factors
		// stays below e^700 < MaxFloat64.
		blockLen = max(1, int(700/(A+1)))
	}

	results := make([]lse, nc)
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), nc)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			act := make([]float64, e.m)
			for {
				c := int(next.Add(1) - 1)
				if c >= nc {
					return
				}
				l := newLSE()
				if fast {
					e.fastChunk(c, per, act, ef, efInv, blockLen, &l)
				} else {
					e.walk(c, act, func(_ uint64, tb float64, act []float64) {
						t := tb
						for _, a := range act {
							t += Softplus(a)
						}
						l.add(t)
					})
				}
				results[c] = l
			}
		}()
	}
	wg.Wait()
	total := newLSE()
	for _, r := range results {
		if r.sum > 0 {
			// Merge r into total: add r.max with weight r.sum.
			total.add(r.max + math.Log(r.sum))
		}
	}
	return total.value()
}

// fastChunk is walk + softplus sum specialised for speed: it keeps
// ε_k = e^{act_k} and updates it by multiplying with e^{±M_jk}, and
// evaluates Σ_k softplus(act_k) = log Π_k (1+ε_k) with one logarithm per
// block of factors, so a state costs about two multiplications per unit
// instead of an exp and a log1p.
func (e *enumeration) fastChunk(c, per int, act, ef, efInv []float64, blockLen int, l *lse) {
	m := e.m
	x, tb := e.start(uint64(c*per), act)
	eps := act // reuse: ε_k = e^{act_k}
	for k, a := range act {
		eps[k] = math.Exp(a)
	}
	ones := make([]float64, m) // the "row" of the first state: no update
	for k := range ones {
		ones[k] = 1
	}
	for s := 0; s < per; s++ {
		row := ones
		if s > 0 {
			j := bits.TrailingZeros(uint(s))
			x ^= 1 << j
			if x&(1<<j) != 0 {
				tb += e.xBias[j]
				row = ef[j*m : (j+1)*m]
			} else {
				tb -= e.xBias[j]
				row = efInv[j*m : (j+1)*m]
			}
		}
		t := tb
		for k0 := 0; k0 < m; k0 += blockLen {
			k1 := min(k0+blockLen, m)
			blk := eps[k0:k1]
			f := row[k0:k1]
			f = f[:len(blk)] // lets the compiler drop bounds checks
			// Update ε and multiply the factors in one pass; four
			// interleaved products hide the multiply latency.
			p0, p1, p2, p3 := 1.0, 1.0, 1.0, 1.0
			k := 0
			for ; k+3 < len(blk); k += 4 {
				e0, e1, e2, e3 := blk[k]*f[k], blk[k+1]*f[k+1], blk[k+2]*f[k+2], blk[k+3]*f[k+3]
				blk[k], blk[k+1], blk[k+2], blk[k+3] = e0, e1, e2, e3
				p0 *= 1 + e0
				p1 *= 1 + e1
				p2 *= 1 + e2
				p3 *= 1 + e3
			}
			for ; k < len(blk); k++ {
				blk[k] *= f[k]
				p0 *= 1 + blk[k]
			}
			// Each p_i is below e^700 but their product need not be.
			t += math.Log(p0) + math.Log(p1) + math.Log(p2) + math.Log(p3)
		}
		l.add(t)
	}
}

// LogZ returns the exact log partition function
//
//	log Z = log Σ_{v,h} e^{-E(v,h)},
//
// enumerating the 2^min(V,H) states of the smaller layer and summing the
// other out analytically: log Σ_h exp(cᵀh + Σ_i softplus(b_i + (Wh)_i)) when
// H ≤ V, else log Σ_v exp(-F(v)). States are visited in Gray-code order so
// each step updates the activations in O(max(V,H)); chunks run in parallel.
// Accumulation is float64. It fails when min(V, H) > MaxExactUnits or the
// parameters are invalid.
func (m *RBM) LogZ() (float64, error) {
	e, err := m.enumerate()
	if err != nil {
		return 0, fmt.Errorf("log Z: %w", err)
	}
	return e.logZ(true), nil
}

// LogLikelihood returns the exact average log-likelihood of the n binary
// rows of x (n×V),
//
//	(1/n) Σ_r log p(x_r) = -(1/n) Σ_r F(x_r) - log Z.
//
// It fails when n < 1, x is too short, or LogZ fails.
func (m *RBM) LogLikelihood(x []float32, n int) (float64, error) {
	if err := m.checkData(x, n); err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return 0, fmt.Errorf("log-likelihood: %w", err)
	}
	fe := m.FreeEnergies(nil, x, n)
	s := 0.0
	for _, f := range fe {
		s += f
	}
	return -s/float64(n) - logZ, nil
}

func (m *RBM) checkData(x []float32, n int) error {
	if n < 1 {
		return fmt.Errorf("n = %d rows: need at least one", n)
	}
	if len(x) < n*m.V {
		return fmt.Errorf("data has %d values, %d rows of %d visible units need %d", len(x), n, m.V, n*m.V)
	}
	return nil
}

// ExactGradient returns the exact gradient of the average log-likelihood of
// the n rows of x (n×V) with respect to W (V×H row-major), b (V) and c (H):
//
//	∂/∂W_ij = E_data[v_i σ_j(v)] - E_model[v_i h_j]
//	∂/∂b_i  = E_data[v_i]        - E_model[v_i]
//	∂/∂c_j  = E_data[σ_j(v)]     - E_model[h_j]
//
// where σ_j(v) = p(h_j=1|v) and E_model is computed by enumerating the
// smaller layer with the other one's conditional in closed form. The cost
// is O(2^min(V,H) · V·H); meant as a test oracle for CD/PCD on small models.
func (m *RBM) ExactGradient(x []float32, n int) (dW, dVBias, dHBias []float64, err error) {
	if err := m.checkData(x, n); err != nil {
		return nil, nil, nil, fmt.Errorf("exact gradient: %w", err)
	}
	e, err := m.enumerate()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("exact gradient: %w", err)
	}
	V, H := m.V, m.H
	logZ := e.logZ(true)

	// Model expectations in the enumeration's (x, y) layout.
	ex := make([]float64, e.n)
	ey := make([]float64, e.m)
	exy := make([]float64, e.n*e.m)
	sig := make([]float64, e.m)
	act := make([]float64, e.m)
	nc, _ := chunks(e.n)
	for c := 0; c < nc; c++ {
		e.walk(c, act, func(x uint64, tb float64, act []float64) {
			t := tb
			for k, a := range act {
				t += Softplus(a)
				sig[k] = Sigmoid(a)
			}
			p := math.Exp(t - logZ)
			for k, s := range sig {
				ey[k] += p * s
			}
			for j := 0; j < e.n; j++ {
				if x&(1<<j) == 0 {
					continue
				}
				ex[j] += p
				row := exy[j*e.m : (j+1)*e.m]
				for k, s := range sig {
					row[k] += p * s
				}
			}
		})
	}

	dW = make([]float64, V*H)
	dVBias = make([]float64, V)
	dHBias = make([]float64, H)
	// Data term: (1/n) Σ_r v_r σ(c + v_r W)ᵀ.
	hp := make([]float64, H)
	inv := 1 / float64(n)
	for r := 0; r < n; r++ {
		v := x[r*V : (r+1)*V]
		for j := range hp {
			hp[j] = float64(m.HBias[j])
		}
		for i, vi := range v {
			for j := 0; j < H; j++ {
				hp[j] += float64(vi) * float64(m.W[i*H+j])
			}
		}
		for j := range hp {
			hp[j] = Sigmoid(hp[j])
			dHBias[j] += inv * hp[j]
		}
		for i, vi := range v {
			if vi == 0 {
				continue
			}
			dVBias[i] += inv * float64(vi)
			for j := 0; j < H; j++ {
				dW[i*H+j] += inv * float64(vi) * hp[j]
			}
		}
	}
	// Minus the model term.
	for i := 0; i < V; i++ {
		for j := 0; j < H; j++ {
			if e.xIsH {
				dW[i*H+j] -= exy[j*V+i]
			} else {
				dW[i*H+j] -= exy[i*H+j]
			}
		}
	}
	if e.xIsH {
		for i := range dVBias {
			dVBias[i] -= ey[i]
		}
		for j := range dHBias {
			dHBias[j] -= ex[j]
		}
	} else {
		for i := range dVBias {
			dVBias[i] -= ex[i]
		}
		for j := range dHBias {
			dHBias[j] -= ey[j]
		}
	}
	return dW, dVBias, dHBias, nil
}
