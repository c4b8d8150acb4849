package models

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the streams RBM.RAISE draws: the hidden and the
// visible states of the reverse transition at β_k (Step k), element
// row·H+j or row·V+i.
const (
	OpRAISEHidden  uint32 = 0xA158
	OpRAISEVisible uint32 = 0xA159
)

// RAISEResult is the outcome of RBM.RAISE.
type RAISEResult struct {
	// LogZ is the RAISE estimate of log Z: the mean over the rows of
	// log Z_r = −F(x_r) − log p̂(x_r). Because E[log p̂(x)] ≤ log p_ann(x)
	// (Jensen), it tends to overestimate log Z — a stochastic upper bound
	// when the rows are samples of the model, so that −mean F − LogZ is a
	// conservative log-likelihood.
	LogZ float64
	// LogZLo and LogZHi are LogZ ∓ 3 standard errors of the mean over
	// the rows (±Inf with one row).
	LogZLo, LogZHi float64
	// LogZBase is log Z_A of the base-rate model (see AISResult).
	LogZBase float64
	// Rows is the number of rows annealed and Steps the number of β steps.
	Rows, Steps int
	// LogProbs holds log p̂(x_r) for each row.
	LogProbs []float64
}

// RAISE estimates log Z, and the log-likelihood of the n rows of x (n×V,
// binary), by reverse annealed importance sampling (RAISE; Burda, Grosse
// & Salakhutdinov 2015, "Accurate and conservative estimates of MRF
// log-likelihood using reverse annealing"). It uses the distributions
// p_k of RBM.AIS (same schedule and base-rate model, cfg.Runs unused) in
// reverse: each row x starts a chain at x_K = x and moves down with the
// transitions T_K, …, T_1 (x_{k−1} drawn by one block Gibbs sweep of p_k
// from x_k). That chain is an importance sample for the annealing model
// p_ann (draw from p_0, then T_1 … T_K forward), whose marginal likelihood
// it estimates without bias:
//
//	p̂(x) = p_0(x_0) · Π_{k=1..K} p*_k(x_k) / p*_k(x_{k−1})
//	     = exp(−F(x) − log Z_A − Σ_{k=1..K} [log p*_k(x_{k−1}) − log p*_{k−1}(x_{k−1})]).
//
// (the block Gibbs sweep v → h → v is reversible for p_k(v), so the
// reverse kernel is T_k itself). The bracket is the increment of a forward
// AIS step evaluated on the reverse chain, so log Z_r = log Z_A + Σ of
// them. p_ann → p as K grows. The draws are keyed by row and unit, so the
// result does not depend on GOMAXPROCS. The cost is that of AIS with n
// runs.
//
// It fails on an invalid model or schedule, n < 1, too little data, a
// BaseVBias of the wrong length or with non-finite values, or when ctx is
// done.
func (m *RBM) RAISE(ctx context.Context, x []float32, n int, cfg AISConfig) (RAISEResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Validate(); err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	if n < 1 {
		return RAISEResult{}, fmt.Errorf("RAISE: %d rows: need at least one", n)
	}
	if err := m.checkData(x, n); err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	cfg.Runs = 1 // unused; keeps runsAndBetas from defaulting it
	_, betas, err := cfg.runsAndBetas()
	if err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	p, logZBase, err := newAISPlan(ctx, m, cfg, betas, n, "rows")
	if err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	// The log weights of the pool are the sums S_r; log Z_r = log Z_A + S_r.
	sums, err := aisWeights(ctx, n, func(r0, r1 int, s []float64) error { return p.reverse(x, r0, r1, s) })
	if err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	fe := m.FreeEnergies(nil, x, n)
	res := RAISEResult{LogZBase: logZBase, Rows: n, Steps: len(betas) - 1, LogProbs: make([]float64, n)}
	mean := 0.0
	for r, s := range sums {
		res.LogProbs[r] = -fe[r] - logZBase - s
		mean += logZBase + s
	}
	mean /= float64(n)
	res.LogZ = mean
	res.LogZLo, res.LogZHi = math.Inf(-1), math.Inf(1)
	if n > 1 {
		ss := 0.0
		for _, s := range sums {
			d := logZBase + s - mean
			ss += d * d
		}
		se := math.Sqrt(ss / float64(n-1) / float64(n))
		res.LogZLo, res.LogZHi = mean-3*se, mean+3*se
	}
	return res, nil
}

// AvgLogLikelihoodRAISE returns −(1/n) Σ_r F(x_r) − r.LogZ, the
// conservative counterpart of AvgLogLikelihoodAIS; NaN for bad input.
func (m *RBM) AvgLogLikelihoodRAISE(x []float32, n int, r RAISEResult) float64 {
	return m.AvgLogLikelihoodAIS(x, n, AISResult{LogZ: r.LogZ})
}

// reverse anneals rows r0 … r1−1 of x from the model down to the base
// model and writes, for each, S = Σ_k [log p*_k(x_{k−1}) − log p*_{k−1}(x_{k−1})]
// into s.
func (p *aisPlan) reverse(x []float32, r0, r1 int, s []float64) error {
	m := p.m
	V, H := m.V, m.H
	n := r1 - r0
	if n == 0 {
		return nil
	}
	v := make([]float32, n*V)
	for e, xi := range x[r0*V : r1*V] {
		if xi != 0 {
			v[e] = 1 // the chains are binary
		}
	}
	hAct := make([]float32, n*H)
	vAct := make([]float32, n*V)
	u := make([]uint32, n*max(V, H))
	vis := make([]float64, n)
	act := func() {
		for r := 0; r < n; r++ {
			copy(hAct[r*H:(r+1)*H], m.HBias)
		}
		gemmAcc(n, H, V, v, m.W, hAct)
	}
	K := len(p.betas) - 1
	// h ~ p_K(h | x_K): the first half of T_K.
	act()
	fillWords(kernels.Stream{Seed: p.seed, Op: OpRAISEHidden, Step: uint64(K)}, uint64(r0)*uint64(H), u[:n*H])
	for e, a := range hAct {
		hAct[e] = bernoulliLogit(u[e], float64(a)*p.betas[K])
	}
	for k := K; k >= 1; k-- {
		select {
		case <-p.cancel:
			return errors.New("cancelled") // replaced by ctx.Err()
		default:
		}
		bk, bprev := p.betas[k], p.betas[k-1]
		// x_{k−1} ~ σ((1−β_k) b_A + β_k (b + hWᵀ)): the second half of T_k.
		for r := 0; r < n; r++ {
			copy(vAct[r*V:(r+1)*V], m.VBias)
		}
		gemmAcc(n, V, H, hAct, p.wt, vAct)
		fillWords(kernels.Stream{Seed: p.seed, Op: OpRAISEVisible, Step: uint64(k)}, uint64(r0)*uint64(V), u[:n*V])
		for e, a := range vAct {
			i := e % V
			v[e] = bernoulliLogit(u[e], (1-bk)*p.baseB[i]+bk*float64(a))
		}
		act()
		p.visibleTerm(v, vis)
		sample := k > 1
		if sample { // h ~ p_{k−1}(h | x_{k−1}): the first half of T_{k−1}
			fillWords(kernels.Stream{Seed: p.seed, Op: OpRAISEHidden, Step: uint64(k - 1)}, uint64(r0)*uint64(H), u[:n*H])
		}
		for r := 0; r < n; r++ {
			// hiddenLogRatio(a, ·, β_{k−1}, β_k) = Σ softplus(β_{k−1}a) − softplus(β_k a),
			// drawing h at β_{k−1}.
			s[r] += (bk-bprev)*vis[r] - hiddenLogRatio(hAct[r*H:(r+1)*H], u[r*H:(r+1)*H], bprev, bk, sample)
		}
	}
	return nil
}
