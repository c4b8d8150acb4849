package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the streams AIS draws (see kernels.Stream). Each run's
// draws depend only on (Seed, op, Step, element), never on how runs are
// split among goroutines, so an AIS result is a pure function of the model
// and the config.
const (
	// OpAISBase draws the initial visible states from the base-rate model
	// at Step 0, element run·V+i.
	OpAISBase uint32 = 0xA150
	// OpAISHidden draws the hidden states of transition T_k at Step k (the
	// β index), element run·H+j.
	OpAISHidden uint32 = 0xA151
	// OpAISVisible draws the visible states of transition T_k at Step k,
	// element run·V+i.
	OpAISVisible uint32 = 0xA152
)

// DefaultAISRuns is the number of AIS runs used when AISConfig.Runs is 0.
const DefaultAISRuns = 100

// defaultAISSteps is the number of β steps of DefaultBetas, the schedule of
// Salakhutdinov & Murray (2008): 500 + 4,000 + 10,000.
const defaultAISSteps = 14500

// AISConfig configures RBM.AIS.
type AISConfig struct {
	// Runs is the number M of independent annealing runs; 0 means
	// DefaultAISRuns (100).
	Runs int
	// Betas is the inverse-temperature schedule 0 = β_0 < β_1 < … < β_K = 1;
	// empty means DefaultBetas().
	Betas []float64
	// Seed keys every random draw (see OpAISBase, OpAISHidden, OpAISVisible).
	Seed uint64
	// BaseVBias holds the V visible biases b_A of the base-rate model
	// p_A(v) = Π_i σ(b_A,i)^{v_i} (1-σ(b_A,i))^{1-v_i}; nil means zeros, the
	// uniform distribution. BaseRateBias gives the usual choice, the logits
	// of the smoothed data means, which makes the first distributions close
	// to the data and AIS much more accurate on trained models.
	BaseVBias []float32
}

// AISResult is the outcome of RBM.AIS.
type AISResult struct {
	// LogZ is the AIS estimate log Ẑ = LogZBase + log((1/M) Σ_m w_m).
	LogZ float64
	// LogZLo and LogZHi bound a ±3σ interval computed in log space from the
	// spread of the importance weights:
	//
	//	r = 3·std(w) / (mean(w)·√M)   (std with M-1 in the denominator)
	//	LogZHi = LogZ + log(1 + r),   LogZLo = LogZ + log(1 - r),
	//
	// with LogZLo = -Inf when r ≥ 1, and (-Inf, +Inf) when M = 1. All
	// sums are taken relative to max_m log w_m (log-sum-exp), so huge
	// weights never overflow. The interval reflects the variance of Ẑ
	// only: AIS tends to underestimate log Z when the weights are heavy
	// tailed, which this interval cannot show.
	LogZLo, LogZHi float64
	// LogZBase is the exact log partition function of the base model
	// (β = 0, visible biases b_A, the hidden units free):
	//
	//	log Z_A = Σ_i softplus(b_A,i) + H·log 2.
	LogZBase float64
	// Runs is M and Steps is K, the number of β steps (len(Betas) - 1).
	Runs, Steps int
	// LogWeights holds log w_m for each run m (length Runs).
	LogWeights []float64
}

// DefaultBetas returns the schedule of Salakhutdinov & Murray (2008):
// 14,501 values β_0 = 0 < … < β_14500 = 1 in 14,500 steps — 500 equal steps
// from 0 to 0.5, 4,000 from 0.5 to 0.9 and 10,000 from 0.9 to 1 — so the
// annealing slows down near β = 1, where the distributions change fastest.
// It equals Betas(14500).
func DefaultBetas() []float64 { return Betas(defaultAISSteps) }

// Betas returns a schedule of n steps (n+1 values from exactly 0 to exactly
// 1, strictly increasing) with the proportions of DefaultBetas: about
// n·500/14500 equal steps up to 0.5, n·4000/14500 up to 0.9 and the rest up
// to 1. A segment whose share rounds to zero steps is merged into the next
// one. n < 1 is taken as 1 (the schedule {0, 1}). More steps give a more
// accurate estimate at proportionally more cost.
func Betas(n int) []float64 {
	n = max(n, 1)
	n1 := int(math.Round(float64(n) * 500 / defaultAISSteps))
	n2 := int(math.Round(float64(n) * 4000 / defaultAISSteps))
	n3 := n - n1 - n2
	if n3 < 1 { // tiny n: the last segment keeps at least one step
		n3 = 1
		if n2 > 0 {
			n2--
		} else {
			n1--
		}
	}
	b := make([]float64, 1, n+1)
	from := 0.0
	for _, seg := range []struct {
		steps int
		to    float64
	}{{n1, 0.5}, {n2, 0.9}, {n3, 1}} {
		if seg.steps == 0 {
			continue // merged: the next segment starts from `from`
		}
		for k := 1; k <= seg.steps; k++ {
			b = append(b, from+(seg.to-from)*float64(k)/float64(seg.steps))
		}
		b[len(b)-1] = seg.to // exact segment ends, exact 1 at the end
		from = seg.to
	}
	return b
}

// BaseRateBias returns the visible biases of the base-rate model fitted to
// the n rows of x (n×v): the logits of the smoothed data means,
//
//	p_i = (Σ_r x_ri + s) / (n + 2s),   b_A,i = log(p_i / (1 - p_i)),
//
// with s = smoothing (negative taken as 0). p_i is clipped to
// [1e-6, 1 - 1e-6] so a unit that is constant in the data gets a large but
// finite bias (±13.8) even without smoothing. It returns nil when n < 1,
// v < 1 or len(x) < n·v.
func BaseRateBias(x []float32, n, v int, smoothing float64) []float32 {
	if n < 1 || v < 1 || len(x)/v < n {
		return nil
	}
	s := max(smoothing, 0)
	if math.IsNaN(s) || math.IsInf(s, 0) {
		s = 0
	}
	sum := make([]float64, v)
	for r := 0; r < n; r++ {
		for i, xi := range x[r*v : (r+1)*v] {
			sum[i] += float64(xi)
		}
	}
	const eps = 1e-6
	b := make([]float32, v)
	for i, si := range sum {
		p := (si + s) / (float64(n) + 2*s)
		p = min(max(p, eps), 1-eps)
		b[i] = float32(math.Log(p / (1 - p)))
	}
	return b
}

// aisPlan holds what every AIS worker shares: the schedule, the base model
// and the parameters in the layouts the GEMMs want.
type aisPlan struct {
	m      *RBM
	betas  []float64
	seed   uint64
	wt     []float32 // Wᵀ, H×V row-major, so h·Wᵀ is a NoTrans GEMM that skips h_j = 0
	baseB  []float64 // b_A
	baseP  []float64 // σ(b_A), the base model's marginals
	dBias  []float64 // b - b_A: ∂/∂β of the visible term of log p*_β
	cancel <-chan struct{}
}

// AIS estimates log Z by annealed importance sampling (Salakhutdinov &
// Murray 2008, "On the quantitative analysis of deep belief networks",
// section 4.2) from the base-rate model p_A (visible biases cfg.BaseVBias,
// no weights, hidden biases 0) to this RBM through the distributions
//
//	p*_k(v) = exp((1-β_k) b_Aᵀv + β_k bᵀv) · Π_j (1 + exp(β_k (c_j + (vW)_j))),
//
// whose log normaliser is log Z_A at β = 0 and log Z at β = 1. Each of the
// M runs draws v_1 ~ p_A exactly, then for k = 1..K adds
// log p*_k(v_k) - log p*_{k-1}(v_k) to its log weight and, for k < K, moves
// with one Gibbs sweep T_k that leaves p_k invariant:
//
//	h_j ~ σ(β_k (c_j + (vW)_j)),   v_i ~ σ((1-β_k) b_A,i + β_k (b_i + (Wh)_i)).
//
// Then log Ẑ = log Z_A + log mean_m w_m (see AISResult).
//
// All M runs advance together as an M×V matrix: the activations vW and hWᵀ
// are float32 GEMMs (gonum blas32 axpys over whole rows; binary inputs let
// them skip about half the work), everything after them — β scaling,
// sigmoids, log p* differences, the weights — is float64. Runs are split
// into contiguous chunks, one goroutine each (GOMAXPROCS of them); a run's
// uniforms are element run·V+i (or run·H+j) of the stream (Seed, op, k), and
// a run's arithmetic does not depend on its chunk, so the result is
// bit-identical for any GOMAXPROCS. The context is checked before every β
// step. The cost is about 2·M·K·V·H multiply-adds (≈ 1.1·10¹² FLOP for the
// defaults on a 784×500 model).
//
// It fails on an invalid model, Runs < 0, a schedule that does not start at
// exactly 0, end at exactly 1 and increase strictly, a BaseVBias of the
// wrong length or with non-finite values, or when ctx is done.
func (m *RBM) AIS(ctx context.Context, cfg AISConfig) (AISResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Validate(); err != nil {
		return AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	M, betas, err := cfg.runsAndBetas()
	if err != nil {
		return AISResult{}, err
	}
	p, logZBase, err := newAISPlan(ctx, m, cfg, betas, M, "runs")
	if err != nil {
		return AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	return runAIS(ctx, M, logZBase, len(betas)-1, p.run)
}

// newAISPlan checks what RBM.AIS and RBM.RAISE ask of cfg for a pool of n
// chains (named by what in errors) on the β schedule betas, and returns the
// plan of their annealing path from the base-rate model (visible biases
// cfg.BaseVBias, or 0 when nil; W = 0, hidden biases 0) to m, with the
// base's exact log Z_A = H log 2 + Σ_i softplus(b_A,i).
func newAISPlan(ctx context.Context, m *RBM, cfg AISConfig, betas []float64, n int, what string) (*aisPlan, float64, error) {
	V, H := m.V, m.H
	if uint64(n)*uint64(max(V, H)) >= 1<<34 {
		return nil, 0, fmt.Errorf("%d %s of %d units exceed the 2^34 elements of a random stream", n, what, max(V, H))
	}
	baseB := make([]float64, V)
	if cfg.BaseVBias != nil {
		if len(cfg.BaseVBias) != V {
			return nil, 0, fmt.Errorf("BaseVBias has %d elements, want V = %d", len(cfg.BaseVBias), V)
		}
		if i := firstNonFinite(cfg.BaseVBias); i >= 0 {
			return nil, 0, fmt.Errorf("BaseVBias[%d] = %v is not finite", i, cfg.BaseVBias[i])
		}
		for i, b := range cfg.BaseVBias {
			baseB[i] = float64(b)
		}
	}
	p := &aisPlan{
		m: m, betas: betas, seed: cfg.Seed,
		wt:     make([]float32, H*V),
		baseB:  baseB,
		baseP:  make([]float64, V),
		dBias:  make([]float64, V),
		cancel: ctx.Done(),
	}
	for i := 0; i < V; i++ {
		for j := 0; j < H; j++ {
			p.wt[j*V+i] = m.W[i*H+j]
		}
	}
	logZBase := float64(H) * math.Ln2
	for i, b := range baseB {
		p.baseP[i] = Sigmoid(b)
		p.dBias[i] = float64(m.VBias[i]) - b
		logZBase += Softplus(b)
	}
	return p, logZBase, nil
}

// aisWeights returns the log weights of M annealing runs, computed by run
// over one contiguous range of runs per worker (run(r0, r1, lw[r0:r1])).
// Each run's draws and arithmetic depend only on its index, so the weights
// do not depend on GOMAXPROCS. A cancellation, which every worker reports,
// is reported once.
func aisWeights(ctx context.Context, M int, run func(r0, r1 int, lw []float64) error) ([]float64, error) {
	lw := make([]float64, M)
	workers := max(1, min(runtime.GOMAXPROCS(0), M))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		r0, r1 := w*M/workers, (w+1)*M/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = run(r0, r1, lw[r0:r1])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return nil, fmt.Errorf("AIS: %w", err)
	}
	return lw, nil
}

// runAIS runs the M annealing runs of run (see aisWeights), unless ctx is
// already done, and returns their AISResult after steps β steps from a
// base model with log partition function logZBase.
func runAIS(ctx context.Context, M int, logZBase float64, steps int, run func(r0, r1 int, lw []float64) error) (AISResult, error) {
	if err := ctx.Err(); err != nil {
		return AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	lw, err := aisWeights(ctx, M, run)
	if err != nil {
		return AISResult{}, err
	}
	return aisResult(logZBase, steps, lw), nil
}

// aisResult is the AISResult of log weights lw after steps β steps from a
// base model with log partition function logZBase.
func aisResult(logZBase float64, steps int, lw []float64) AISResult {
	res := AISResult{LogZBase: logZBase, Runs: len(lw), Steps: steps, LogWeights: lw}
	res.LogZ, res.LogZLo, res.LogZHi = aisEstimate(logZBase, lw)
	return res
}

// runsAndBetas returns the number of runs and the schedule of cfg, with
// their defaults, or an error for Runs < 0 or an invalid schedule.
func (cfg AISConfig) runsAndBetas() (int, []float64, error) {
	M := cfg.Runs
	if M == 0 {
		M = DefaultAISRuns
	}
	if M < 0 {
		return 0, nil, fmt.Errorf("AIS: Runs = %d: need at least one run", M)
	}
	betas := cfg.Betas
	if len(betas) == 0 {
		betas = DefaultBetas()
	}
	if err := checkBetas(betas); err != nil {
		return 0, nil, fmt.Errorf("AIS: %w", err)
	}
	return M, betas, nil
}

// checkBetas reports whether b is a valid schedule: at least two finite
// values, b[0] = 0, b[K] = 1, strictly increasing.
func checkBetas(b []float64) error {
	if len(b) < 2 {
		return fmt.Errorf("betas: %d values: need at least 0 and 1", len(b))
	}
	for k, x := range b {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("betas[%d] = %v is not finite", k, x)
		}
		if k > 0 && x <= b[k-1] {
			return fmt.Errorf("betas[%d] = %v ≤ betas[%d] = %v: the schedule must increase strictly", k, x, k-1, b[k-1])
		}
	}
	if b[0] != 0 {
		return fmt.Errorf("betas[0] = %v: the schedule must start at exactly 0", b[0])
	}
	if last := b[len(b)-1]; last != 1 {
		return fmt.Errorf("betas[%d] = %v: the schedule must end at exactly 1", len(b)-1, last)
	}
	return nil
}

// aisEstimate turns log weights into log Ẑ and its ±3σ interval (see
// AISResult), relative to the largest log weight so nothing overflows.
func aisEstimate(logZBase float64, lw []float64) (logZ, lo, hi float64) {
	M := float64(len(lw))
	top := math.Inf(-1)
	for _, x := range lw {
		top = max(top, x)
	}
	mean := 0.0
	for _, x := range lw {
		mean += math.Exp(x - top)
	}
	mean /= M // ≥ 1/M: the largest weight contributes exactly 1
	logZ = logZBase + top + math.Log(mean)
	if len(lw) < 2 {
		return logZ, math.Inf(-1), math.Inf(1)
	}
	ss := 0.0
	for _, x := range lw {
		d := math.Exp(x-top) - mean
		ss += d * d
	}
	r := 3 * math.Sqrt(ss/(M-1)) / (mean * math.Sqrt(M))
	hi = logZ + math.Log1p(r)
	lo = math.Inf(-1)
	if r < 1 {
		lo = logZ + math.Log1p(-r)
	}
	return logZ, lo, hi
}

// gemmTile is the depth of the k blocks of gemmAcc: 64 rows of the
// right-hand matrix (128 KB for 500 float32 columns) stay in L2 while every
// row of the left-hand matrix streams past them.
const gemmTile = 64

// gemmAcc computes c += a·b for row-major a (m×k), b (k×n), c (m×n), in
// the calling goroutine: for each k block and each row r of a, one
// blas32.Axpy (gonum's SIMD kernel) adds a_rl·b_l to c_r for every nonzero
// a_rl. Why not blas32.Gemm: gonum's Sgemm spawns goroutines on its own
// (our workers are already parallel) and works on 64×64 tiles, where the
// per-call overhead of its 64-long axpys and zero tests cost as much as the
// arithmetic; full-width rows amortise it, and the binary states skip
// about half the rows. Each element of c is accumulated over l in
// increasing order, one multiply and one add at a time, so the result
// does not depend on m (how runs are split among workers).
func gemmAcc(m, n, k int, a, b, c []float32) {
	for l0 := 0; l0 < k; l0 += gemmTile {
		l1 := min(l0+gemmTile, k)
		for r := 0; r < m; r++ {
			cr := blas32.Vector{N: n, Inc: 1, Data: c[r*n : (r+1)*n]}
			for l, x := range a[r*k+l0 : r*k+l1] {
				if x != 0 {
					blas32.Axpy(x, blas32.Vector{N: n, Inc: 1, Data: b[(l0+l)*n : (l0+l+1)*n]}, cr)
				}
			}
		}
	}
}

// fillWords writes the 32-bit words of elements e0 .. e0+len(dst)-1 of s
// into dst, computing each Philox block once (the range need not start on a
// block boundary).
func fillWords(s kernels.Stream, e0 uint64, dst []uint32) {
	e := e0
	end := e0 + uint64(len(dst))
	for e < end {
		w := s.Block(uint32(e >> 2))
		for q := e & 3; q < 4 && e < end; q++ {
			dst[e-e0] = w[q]
			e++
		}
	}
}

// bernoulli returns 1 when the uniform of word w is below p, else 0.
func bernoulli(w uint32, p float64) float32 {
	if float64(kernels.ToUniform(w)) < p {
		return 1
	}
	return 0
}

// logitBits is log2 of the number of buckets of logitTable.
const logitBits = 10

// logitTable[q] = log(q / (2^logitBits - q)), the logit of the left end of
// bucket q of the uniforms (-Inf and +Inf at the ends).
var logitTable = func() (t [1<<logitBits + 1]float64) {
	n := 1 << logitBits
	t[0], t[n] = math.Inf(-1), math.Inf(1)
	for q := 1; q < n; q++ {
		t[q] = math.Log(float64(q) / float64(n-q))
	}
	return t
}()

// bernoulliLogit returns 1 when the uniform u of word w is below σ(x), else
// 0 — the same decision as bernoulli(w, Sigmoid(x)) — mostly without an
// exponential. u < σ(x) ⟺ logit(u) < x, and the top logitBits bits of w
// put u in bucket q, so logit(u) ∈ [logitTable[q], logitTable[q+1]): x at
// or above the bucket's upper end means 1, x below its lower end means 0,
// and only when x falls inside the bucket (probability 2^-logitBits for
// any x) is σ(x) computed. The margin between a uniform and its bucket's
// upper end (≥ 2^-24 in u) dwarfs the rounding of the table.
func bernoulliLogit(w uint32, x float64) float32 {
	q := w >> (32 - logitBits)
	if x >= logitTable[q+1] {
		return 1
	}
	if x < logitTable[q] {
		return 0
	}
	return bernoulli(w, Sigmoid(x))
}

// run anneals runs r0..r1-1 and writes their log weights into lw.
func (p *aisPlan) run(r0, r1 int, lw []float64) error {
	m := p.m
	V, H := m.V, m.H
	n := r1 - r0
	if n == 0 {
		return nil
	}
	v := make([]float32, n*V)        // states, binary
	hAct := make([]float32, n*H)     // c + vW, then the hidden states
	vAct := make([]float32, n*V)     // b + hWᵀ
	u := make([]uint32, n*max(V, H)) // Philox words
	vis := make([]float64, n)        // (b - b_A)ᵀv per run

	// v_1 ~ p_A exactly.
	fillWords(kernels.Stream{Seed: p.seed, Op: OpAISBase, Step: 0}, uint64(r0)*uint64(V), u[:n*V])
	for e := range v {
		v[e] = bernoulli(u[e], p.baseP[e%V])
	}
	p.visibleTerm(v, vis)

	K := len(p.betas) - 1
	for k := 1; k <= K; k++ {
		select {
		case <-p.cancel:
			return errors.New("cancelled") // replaced by ctx.Err() in AIS
		default:
		}
		bk, bprev := p.betas[k], p.betas[k-1]
		step := uint64(k)

		// Hidden activations a = c + vW, shared by the weight update at
		// (β_k, β_{k-1}) and the hidden draw at β_k.
		for r := 0; r < n; r++ {
			copy(hAct[r*H:(r+1)*H], m.HBias)
		}
		gemmAcc(n, H, V, v, m.W, hAct)

		if k < K {
			fillWords(kernels.Stream{Seed: p.seed, Op: OpAISHidden, Step: step}, uint64(r0)*uint64(H), u[:n*H])
		}
		for r := 0; r < n; r++ {
			a := hAct[r*H : (r+1)*H]
			ur := u[r*H : (r+1)*H]
			lw[r] += (bk-bprev)*vis[r] + hiddenLogRatio(a, ur, bk, bprev, k < K)
		}
		if k == K {
			break
		}

		// v ~ σ((1-β_k) b_A + β_k (b + hWᵀ)); hAct now holds h.
		for r := 0; r < n; r++ {
			copy(vAct[r*V:(r+1)*V], m.VBias)
		}
		gemmAcc(n, V, H, hAct, p.wt, vAct)
		fillWords(kernels.Stream{Seed: p.seed, Op: OpAISVisible, Step: step}, uint64(r0)*uint64(V), u[:n*V])
		oneMinus := 1 - bk
		for r := 0; r < n; r++ {
			va := vAct[r*V : (r+1)*V]
			vr := v[r*V : (r+1)*V]
			ur := u[r*V : (r+1)*V]
			s := 0.0 // (b - b_A)ᵀv of the new state, for the next weight update
			for i, a := range va {
				x := bernoulliLogit(ur[i], oneMinus*p.baseB[i]+bk*float64(a))
				vr[i] = x
				if x != 0 {
					s += p.dBias[i]
				}
			}
			vis[r] = s
		}
	}
	return nil
}

// visibleTerm writes (b - b_A)ᵀv_r for each row of v into vis: the visible
// part of log p*_k - log p*_{k-1} is (β_k - β_{k-1}) times it.
func (p *aisPlan) visibleTerm(v []float32, vis []float64) {
	V := p.m.V
	for r := range vis {
		s := 0.0
		for i, x := range v[r*V : (r+1)*V] {
			if x != 0 {
				s += p.dBias[i]
			}
		}
		vis[r] = s
	}
}

// hiddenLogRatio returns the hidden part of log p*_k(v) - log p*_{k-1}(v),
//
//	Σ_j softplus(β_k a_j) - softplus(β_{k-1} a_j),
//
// for one run's activations a (c + vW); when sample is true it also
// replaces a_j by a draw h_j ~ σ(β_k a_j) using the Philox words u.
//
// Why not two Softplus calls per unit: with softplus(x) = max(x,0) +
// log(1+t), t = e^{-|x|} ∈ (0,1], the difference is the exact linear part
// plus log Π_j (1+t_j)/(1+t'_j); each ratio lies in (1/2, 2), so a product
// of up to 1000 of them stays far inside float64 range and costs one
// logarithm per 1000 units instead of one log1p per unit (which dominated
// the run time). The same t gives σ(β_k a_j) for the draw.
func hiddenLogRatio(a []float32, u []uint32, bk, bprev float64, sample bool) float64 {
	const block = 1000 // 2^±1000 is inside float64's 2^±1022
	lin, sum := 0.0, 0.0
	prod := 1.0
	for j, aj := range a {
		x1, x0 := bk*float64(aj), bprev*float64(aj)
		t1, t0 := math.Exp(-math.Abs(x1)), math.Exp(-math.Abs(x0))
		lin += max(x1, 0) - max(x0, 0)
		prod *= (1 + t1) / (1 + t0)
		if (j+1)%block == 0 {
			sum += math.Log(prod)
			prod = 1
		}
		if sample {
			// σ(x1) = 1/(1+t1) for x1 ≥ 0, t1/(1+t1) otherwise.
			pj := 1 / (1 + t1)
			if x1 < 0 {
				pj = t1 / (1 + t1)
			}
			a[j] = bernoulli(u[j], pj)
		}
	}
	return lin + sum + math.Log(prod)
}

// AvgLogLikelihoodAIS returns the average log-likelihood of the n rows of x
// (n×V) under the AIS estimate r of log Z,
//
//	(1/n) Σ_r log p(x_r) ≈ -(1/n) Σ_r F(x_r) - r.LogZ.
//
// Since AIS tends to underestimate log Z, this tends to overestimate the
// log-likelihood. It returns NaN when n < 1 or len(x) < n·V.
func (m *RBM) AvgLogLikelihoodAIS(x []float32, n int, r AISResult) float64 {
	if m.checkData(x, n) != nil || m.Validate() != nil {
		return math.NaN()
	}
	s := 0.0
	for _, f := range m.FreeEnergies(nil, x, n) {
		s += f
	}
	return -s/float64(n) - r.LogZ
}

// AISEstimate turns AIS log weights into log Ẑ and its ±3σ interval exactly
// as RBM.AIS does (see AISResult), for other implementations of the
// annealing (the device AIS in package engine).
func AISEstimate(logZBase float64, logWeights []float64) (logZ, lo, hi float64) {
	return aisEstimate(logZBase, logWeights)
}

// CheckBetas reports whether b is a valid AIS schedule: at least two finite
// values, b[0] = 0, b[K] = 1, strictly increasing.
func CheckBetas(b []float64) error { return checkBetas(b) }
