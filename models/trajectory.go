package models

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the streams a Trajectory draws. Step is the trajectory's
// global step counter (one per accepted interpolation step, 0 for the
// initial draw), so the draws of a whole training run never repeat.
const (
	// OpTrajBase draws the initial chains from the base-rate model at
	// Step 0, element chain·V+i.
	OpTrajBase uint32 = 0xA170
	// OpTrajHidden draws the hidden states of the Gibbs sweep of step k,
	// element chain·H+j.
	OpTrajHidden uint32 = 0xA171
	// OpTrajVisible draws the visible states of the Gibbs sweep of step k,
	// element chain·V+i.
	OpTrajVisible uint32 = 0xA172
	// OpTrajResample draws the one uniform of a systematic resampling at
	// step k, element 0.
	OpTrajResample uint32 = 0xA173
)

// Defaults of TrajectoryConfig.
const (
	// DefaultTrajectoryChains is the number of chains M when
	// TrajectoryConfig.Chains is 0.
	DefaultTrajectoryChains = 100
	// DefaultTrajectoryCESS is the conditional effective sample size, as
	// a fraction of M, that every interpolation step must keep.
	DefaultTrajectoryCESS = 0.99
	// DefaultTrajectoryMinSteps is the fewest interpolation steps between
	// two models.
	DefaultTrajectoryMinSteps = 10
	// DefaultTrajectoryMaxSteps bounds the interpolation steps between two
	// models (the smallest step is 1/MaxSteps).
	DefaultTrajectoryMaxSteps = 5000
)

// TrajectoryConfig configures a Trajectory; zero fields take the defaults
// above.
type TrajectoryConfig struct {
	// Chains is the number M of persistent annealing chains.
	Chains int
	// Seed keys every draw (OpTrajBase, OpTrajHidden, OpTrajVisible,
	// OpTrajResample).
	Seed uint64
	// CESS is the target conditional effective sample size of one step,
	// as a fraction of M in (0, 1): the step length halves until
	//
	//	(Σ_m ŵ_m e^{δ_m})² / Σ_m ŵ_m e^{2δ_m} ≥ CESS
	//
	// (Zhou, Johansen & Aston 2016), ŵ the normalised weights and δ_m the
	// step's log-weight increments.
	CESS float64
	// MinSteps and MaxSteps bound the steps of one Advance: the step
	// length never exceeds 1/MinSteps and never falls below 1/MaxSteps
	// (a step of that length is taken whatever its CESS).
	MinSteps, MaxSteps int
}

func (c TrajectoryConfig) defaults() TrajectoryConfig {
	if c.Chains == 0 {
		c.Chains = DefaultTrajectoryChains
	}
	if c.CESS == 0 {
		c.CESS = DefaultTrajectoryCESS
	}
	if c.MinSteps == 0 {
		c.MinSteps = DefaultTrajectoryMinSteps
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = DefaultTrajectoryMaxSteps
	}
	return c
}

// Trajectory estimates log Z of an RBM that changes during training by
// "trajectory AIS" (Béreux, Decelle, Furtlehner, Rosset & Seoane 2025;
// adabmDCA 2.0): instead of annealing afresh from a base model at every
// evaluation, it keeps M persistent annealing chains and their importance
// weights, and moves them along the piecewise-linear path of the models it
// is given, θ_0 → θ_1 → …, continuing from the previous estimate. Between
// two models θ_a and θ_b the path is θ(λ) = θ_a + λ(θ_b − θ_a), λ ∈ [0, 1];
// a step λ → λ' adds to each chain's log weight
//
//	δ_m = log p*_{λ'}(v_m) − log p*_λ(v_m) = F_λ(v_m) − F_{λ'}(v_m),
//
// F the free energy (hidden units summed out), then moves every chain by
// one block Gibbs sweep of p_{λ'}. The step lengths are adaptive (see
// TrajectoryConfig.CESS), so a segment where the model changes much (the
// first epochs) gets many steps and a quiet one few. When the effective
// sample size (Σ w)²/Σ w² drops below M/2 the chains are resampled
// (systematic resampling) and the weights reset, which is sequential Monte
// Carlo (Del Moral, Doucet & Jasra 2006); the estimate is
//
//	log Ẑ = L + log((1/M) Σ_m w_m),   L ← L + log((1/M) Σ_m w_m) at each resampling,
//
// and L starts at the exact log Z of the base-rate model (W = 0, visible
// biases b_A, hidden biases 0): Σ_i softplus(b_A,i) + H log 2, with the
// chains drawn from it exactly. A path that starts at the base-rate model
// is the path of RBM.AIS (the linear interpolation of (0, b_A, 0) and
// (W, b, c) is AIS's β-family), so the first Advance is an ordinary
// adaptive AIS. Like AIS, the estimate tends to underestimate log Z.
//
// The activations c + vW are float32 GEMMs as in RBM.AIS, the rest
// float64. Draws are keyed by chain and unit, so the result does not
// depend on GOMAXPROCS. A Trajectory is not safe for concurrent use.
type Trajectory struct {
	cfg   TrajectoryConfig
	cur   *RBM      // the model the chains are at
	v     []float32 // M×V chain states
	lw    []float64 // log weights since the last resampling
	logL  float64   // L: log Z accumulated at resamplings (and the base)
	step  uint64    // global step counter (Philox Step)
	steps int       // accepted steps, all Advances together
	resam int       // resamplings, all Advances together
}

// TrajectoryStats describes one Advance.
type TrajectoryStats struct {
	Steps     int     // interpolation steps taken
	Resamples int     // resamplings
	LogZ      float64 // the estimate after it
	ESS       float64 // effective sample size (Σ w)²/Σ w² after it, in chains
}

// NewTrajectory starts a trajectory at the base-rate model of V = len(base)
// visible units with visible biases base, no weights and H hidden units of
// bias 0 (exactly solvable), its M chains drawn from it exactly.
func NewTrajectory(base []float32, H int, cfg TrajectoryConfig) (*Trajectory, error) {
	cfg = cfg.defaults()
	V := len(base)
	switch {
	case V < 1 || H < 1:
		return nil, fmt.Errorf("trajectory: sizes %d×%d: need at least one visible and one hidden unit", V, H)
	case cfg.Chains < 2:
		return nil, fmt.Errorf("trajectory: %d chains: need at least 2", cfg.Chains)
	case !(cfg.CESS > 0 && cfg.CESS < 1):
		return nil, fmt.Errorf("trajectory: CESS = %v, want a fraction in (0, 1)", cfg.CESS)
	case cfg.MinSteps < 1 || cfg.MaxSteps < cfg.MinSteps:
		return nil, fmt.Errorf("trajectory: steps in [%d, %d]: want 1 ≤ MinSteps ≤ MaxSteps", cfg.MinSteps, cfg.MaxSteps)
	case uint64(cfg.Chains)*uint64(max(V, H)) >= 1<<34:
		return nil, fmt.Errorf("trajectory: %d chains of %d units exceed the 2^34 elements of a random stream", cfg.Chains, max(V, H))
	}
	if i := firstNonFinite(base); i >= 0 {
		return nil, fmt.Errorf("trajectory: base bias[%d] = %v is not finite", i, base[i])
	}
	m := &RBM{V: V, H: H, W: make([]float32, V*H), VBias: append([]float32(nil), base...), HBias: make([]float32, H)}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("trajectory: %w", err)
	}
	t := &Trajectory{cfg: cfg, cur: m, v: make([]float32, cfg.Chains*V), lw: make([]float64, cfg.Chains)}
	t.logL = float64(H) * math.Ln2
	p := make([]float64, V)
	for i, b := range base {
		t.logL += Softplus(float64(b))
		p[i] = Sigmoid(float64(b))
	}
	u := make([]uint32, len(t.v))
	fillWords(kernels.Stream{Seed: cfg.Seed, Op: OpTrajBase}, 0, u)
	for e := range t.v {
		t.v[e] = bernoulli(u[e], p[e%V])
	}
	return t, nil
}

// LogZ returns the current estimate log Ẑ of the last model advanced to
// (of the base model before the first Advance).
func (t *Trajectory) LogZ() float64 { return t.logL + logMeanExp(t.lw) }

// ESS returns the effective sample size (Σ w)²/Σ w² of the current
// weights, between 1 and M.
func (t *Trajectory) ESS() float64 { return ess(t.lw) }

// Model returns a copy of the model the chains are at.
func (t *Trajectory) Model() *RBM { return t.cur.Clone() }

// Chains returns a copy of the M×V chain states.
func (t *Trajectory) Chains() []float32 { return append([]float32(nil), t.v...) }

// Advance moves the chains and weights along the linear path from the
// current model to next (same sizes), which becomes the current model, and
// returns what it took. On error (invalid or mismatched model, ctx done)
// the trajectory is left where it was at the start of the failing step and
// should be discarded.
func (t *Trajectory) Advance(ctx context.Context, next *RBM) (TrajectoryStats, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := next.Validate(); err != nil {
		return TrajectoryStats{}, fmt.Errorf("trajectory: %w", err)
	}
	a := t.cur
	if next.V != a.V || next.H != a.H {
		return TrajectoryStats{}, fmt.Errorf("trajectory: model is %d×%d, the trajectory's %d×%d", next.V, next.H, a.V, a.H)
	}
	s := newTrajSegment(a, next, t.cfg.Chains)
	M := t.cfg.Chains
	s.activations(t.v)
	cfg := t.cfg
	maxDelta, minDelta := 1/float64(cfg.MinSteps), 1/float64(cfg.MaxSteps)
	delta := maxDelta
	inc := make([]float64, M)
	var st TrajectoryStats
	for lam := 0.0; lam < 1; {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("trajectory: %w", err)
		}
		var lam1 float64
		for {
			lam1 = min(lam+delta, 1)
			if 1-lam1 < minDelta/2 {
				lam1 = 1 // no sliver of a step left at the end
			}
			s.increments(inc, lam, lam1)
			if delta <= minDelta || cess(t.lw, inc) >= cfg.CESS {
				break
			}
			delta = max(delta/2, minDelta)
		}
		for m := range t.lw {
			t.lw[m] += inc[m]
		}
		t.step++
		st.Steps++
		if ess(t.lw) < float64(M)/2 {
			t.resample(s)
			st.Resamples++
		}
		s.gibbs(t.v, lam1, cfg.Seed, t.step)
		s.activations(t.v)
		lam = lam1
		delta = min(2*delta, maxDelta)
	}
	t.cur = next.Clone()
	t.steps += st.Steps
	t.resam += st.Resamples
	st.LogZ, st.ESS = t.LogZ(), t.ESS()
	return st, nil
}

// resample replaces the chains by a systematic resampling of themselves
// with probabilities ∝ w_m, folds log mean w into L and resets the
// weights; the segment's per-chain activations move with their chains.
func (t *Trajectory) resample(s *trajSegment) {
	M := len(t.lw)
	lme := logMeanExp(t.lw)
	t.logL += lme
	cum := make([]float64, M)
	acc := 0.0
	for m, x := range t.lw {
		acc += math.Exp(x - lme) // mean 1: acc ends at M
		cum[m] = acc
	}
	u0 := float64(kernels.Stream{Seed: t.cfg.Seed, Op: OpTrajResample, Step: t.step}.Uniform(0))
	idx := make([]int, M)
	j := 0
	for m := range idx {
		pos := (float64(m) + u0) * acc / float64(M)
		for j < M-1 && cum[j] <= pos {
			j++
		}
		idx[m] = j
	}
	s.permute(idx, t.v)
	clear(t.lw)
}

// trajSegment is the linear path θ_a + λΔ between two models and the
// chains' activations along it: for chain m,
//
//	A_m = c_a + v_m W_a,  D_m = Δc + v_m ΔW   (H each, float32 GEMMs),
//	B_m = b_aᵀv_m,        E_m = Δbᵀv_m,
//
// so c(λ) + v_m W(λ) = A_m + λD_m and b(λ)ᵀv_m = B_m + λE_m for every λ
// at no further cost.
type trajSegment struct {
	a          *RBM
	V, H       int
	dW         []float32 // ΔW, V×H
	wtA, dWt   []float32 // W_aᵀ and ΔWᵀ, H×V, for the visible GEMM
	dB, dC     []float32 // Δb, Δc
	wt         []float32 // W(λ)ᵀ of the current sweep, H×V
	A, D       []float32 // M×H
	B, E       []float64 // M
	hid        []float32 // M×H hidden states of a sweep
	vAct       []float32 // M×V
	workers, M int
}

func newTrajSegment(a, b *RBM, M int) *trajSegment {
	V, H := a.V, a.H
	s := &trajSegment{a: a, V: V, H: H, M: M,
		dW: make([]float32, V*H), wtA: make([]float32, H*V), dWt: make([]float32, H*V), wt: make([]float32, H*V),
		dB: make([]float32, V), dC: make([]float32, H),
		A: make([]float32, M*H), D: make([]float32, M*H), B: make([]float64, M), E: make([]float64, M),
		hid: make([]float32, M*H), vAct: make([]float32, M*V),
		workers: max(1, min(runtime.GOMAXPROCS(0), M/8))}
	for i := 0; i < V; i++ {
		s.dB[i] = b.VBias[i] - a.VBias[i]
		for j := 0; j < H; j++ {
			d := b.W[i*H+j] - a.W[i*H+j]
			s.dW[i*H+j] = d
			s.wtA[j*V+i] = a.W[i*H+j]
			s.dWt[j*V+i] = d
		}
	}
	for j := range s.dC {
		s.dC[j] = b.HBias[j] - a.HBias[j]
	}
	return s
}

// parallel runs f over contiguous chunks of the M chains.
func (s *trajSegment) parallel(f func(r0, r1 int)) {
	if s.workers == 1 {
		f(0, s.M)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < s.workers; w++ {
		wg.Add(1)
		go func(r0, r1 int) {
			defer wg.Done()
			f(r0, r1)
		}(w*s.M/s.workers, (w+1)*s.M/s.workers)
	}
	wg.Wait()
}

// activations recomputes A, D, B, E for the chain states v.
func (s *trajSegment) activations(v []float32) {
	V, H := s.V, s.H
	s.parallel(func(r0, r1 int) {
		n := r1 - r0
		A, D := s.A[r0*H:r1*H], s.D[r0*H:r1*H]
		for r := 0; r < n; r++ {
			copy(A[r*H:(r+1)*H], s.a.HBias)
			copy(D[r*H:(r+1)*H], s.dC)
		}
		vr := v[r0*V : r1*V]
		gemmAcc(n, H, V, vr, s.a.W, A)
		gemmAcc(n, H, V, vr, s.dW, D)
		for r := 0; r < n; r++ {
			b, e := 0.0, 0.0
			for i, x := range vr[r*V : (r+1)*V] {
				if x != 0 {
					b += float64(s.a.VBias[i])
					e += float64(s.dB[i])
				}
			}
			s.B[r0+r], s.E[r0+r] = b, e
		}
	})
}

// increments writes δ_m = log p*_{λ1}(v_m) − log p*_{λ0}(v_m) into inc.
func (s *trajSegment) increments(inc []float64, lam0, lam1 float64) {
	H := s.H
	s.parallel(func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			A, D := s.A[r*H:(r+1)*H], s.D[r*H:(r+1)*H]
			d := (lam1 - lam0) * s.E[r]
			for j := range A {
				a, dj := float64(A[j]), float64(D[j])
				d += Softplus(a+lam1*dj) - Softplus(a+lam0*dj)
			}
			inc[r] = d
		}
	})
}

// gibbs moves every chain by one block Gibbs sweep of p_λ:
// h ~ σ(A + λD), then v ~ σ(b_a + λΔb + W(λ)h), W(λ) = W_a + λΔW.
func (s *trajSegment) gibbs(v []float32, lam float64, seed, step uint64) {
	V, H := s.V, s.H
	l32 := float32(lam)
	for e := range s.wt {
		s.wt[e] = s.wtA[e] + l32*s.dWt[e]
	}
	bias := make([]float64, V)
	for i := range bias {
		bias[i] = float64(s.a.VBias[i]) + lam*float64(s.dB[i])
	}
	hs := kernels.Stream{Seed: seed, Op: OpTrajHidden, Step: step}
	vs := kernels.Stream{Seed: seed, Op: OpTrajVisible, Step: step}
	s.parallel(func(r0, r1 int) {
		n := r1 - r0
		u := make([]uint32, n*max(V, H))
		fillWords(hs, uint64(r0)*uint64(H), u[:n*H])
		hid := s.hid[r0*H : r1*H]
		for e := range hid {
			x := float64(s.A[r0*H+e]) + lam*float64(s.D[r0*H+e])
			hid[e] = bernoulliLogit(u[e], x)
		}
		va := s.vAct[r0*V : r1*V]
		clear(va)
		gemmAcc(n, V, H, hid, s.wt, va)
		fillWords(vs, uint64(r0)*uint64(V), u[:n*V])
		vr := v[r0*V : r1*V]
		for e := range vr {
			vr[e] = bernoulliLogit(u[e], bias[e%V]+float64(va[e]))
		}
	})
}

// permute replaces the chains (and their activations) by chains idx.
func (s *trajSegment) permute(idx []int, v []float32) {
	V, H := s.V, s.H
	nv := make([]float32, len(v))
	nA, nD := make([]float32, len(s.A)), make([]float32, len(s.D))
	nB, nE := make([]float64, len(s.B)), make([]float64, len(s.E))
	for m, j := range idx {
		copy(nv[m*V:(m+1)*V], v[j*V:(j+1)*V])
		copy(nA[m*H:(m+1)*H], s.A[j*H:(j+1)*H])
		copy(nD[m*H:(m+1)*H], s.D[j*H:(j+1)*H])
		nB[m], nE[m] = s.B[j], s.E[j]
	}
	copy(v, nv)
	s.A, s.D, s.B, s.E = nA, nD, nB, nE
}

// logMeanExp returns log((1/n) Σ e^{x_i}), computed relative to the
// largest x_i.
func logMeanExp(x []float64) float64 {
	top := math.Inf(-1)
	for _, v := range x {
		top = max(top, v)
	}
	if math.IsInf(top, 0) {
		return top
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - top)
	}
	return top + math.Log(s/float64(len(x)))
}

// ess returns (Σ w)²/Σ w² for log weights lw.
func ess(lw []float64) float64 {
	top := math.Inf(-1)
	for _, v := range lw {
		top = max(top, v)
	}
	s, s2 := 0.0, 0.0
	for _, v := range lw {
		w := math.Exp(v - top)
		s += w
		s2 += w * w
	}
	return s * s / s2
}

// cess returns the conditional effective sample size, as a fraction of
// M, of increments inc on the weights lw: (Σ ŵ e^δ)² / Σ ŵ e^{2δ}, ŵ the
// normalised weights.
func cess(lw, inc []float64) float64 {
	top, topInc := math.Inf(-1), math.Inf(-1)
	for m := range lw {
		top = max(top, lw[m])
		topInc = max(topInc, inc[m])
	}
	sw, s1, s2 := 0.0, 0.0, 0.0
	for m := range lw {
		w := math.Exp(lw[m] - top)
		e := math.Exp(inc[m] - topInc)
		sw += w
		s1 += w * e
		s2 += w * e * e
	}
	return s1 * s1 / (s2 * sw)
}
