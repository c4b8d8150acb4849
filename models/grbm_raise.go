package models

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the streams GRBM.RAISE draws: the hidden states and the
// visible noise of the reverse transition at β_k (Step k), element
// row·H+j or row·V+i.
const (
	OpGRBMRAISEHidden  uint32 = 0xA168
	OpGRBMRAISEVisible uint32 = 0xA169
)

// RAISE estimates log Z of the Gaussian RBM by reverse annealing (see
// RBM.RAISE) from the n rows of x (n×V, model units) down the path of
// GRBM.AIS to the independent Gaussian model. Each row starts a chain at
// x_K = x; for k = K … 1, x_{k−1} is one block Gibbs sweep of p_{β_k}
// from x_k (h_j ~ σ(β_k a_j(x_k)), x_{k−1} ~ N(b + β_k W h, σ²)), and
//
//	log Z_r = log Z_0 + Σ_{k=1..K} Σ_j softplus(β_k a_j(x_{k−1})) − softplus(β_{k−1} a_j(x_{k−1})),
//
// with log Z_0 = Σ_i ½ log(2π σ_i²) + H log 2; LogZ is their mean and
// LogProbs[r] = −F(x_r) − log Z_r. It tends to overestimate log Z (exactly
// so in expectation when the rows are model samples). cfg.Runs is unused
// and cfg.BaseVBias must be nil.
func (m *GRBM) RAISE(ctx context.Context, x []float32, n int, cfg AISConfig) (RAISEResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Validate(); err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	if cfg.BaseVBias != nil {
		return RAISEResult{}, errors.New("RAISE: a Gaussian RBM anneals to its own independent Gaussian model: BaseVBias must be nil")
	}
	if n < 1 || len(x) < n*m.V {
		return RAISEResult{}, fmt.Errorf("RAISE: %d rows of %d values in %d: need at least one complete row", n, m.V, len(x))
	}
	cfg.Runs = 1
	_, betas, err := cfg.runsAndBetas()
	if err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	V, H := m.V, m.H
	if uint64(n)*uint64(max(V, H)) >= 1<<33 {
		return RAISEResult{}, fmt.Errorf("RAISE: %d rows of %d units exceed the 2^33 elements of a random stream", n, max(V, H))
	}
	p := &grbmAIS{m: m, betas: betas, seed: cfg.Seed, wt: make([]float32, H*V),
		invVar: make([]float32, V), sd: make([]float32, V), cancel: ctx.Done()}
	for i := 0; i < V; i++ {
		for j := 0; j < H; j++ {
			p.wt[j*V+i] = m.W[i*H+j]
		}
	}
	logZBase := float64(H) * math.Ln2
	for i, z := range m.LogVar {
		p.invVar[i] = float32(math.Exp(-float64(z)))
		p.sd[i] = float32(math.Exp(0.5 * float64(z)))
		logZBase += 0.5 * (math.Log(2*math.Pi) + float64(z))
	}
	sums, err := aisWeights(ctx, n, func(r0, r1 int, s []float64) error {
		for b := r0; b < r1; b += grbmAISBlock {
			e := min(b+grbmAISBlock, r1)
			if err := p.reverseBlock(x, b, e, s[b-r0:e-r0]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return RAISEResult{}, fmt.Errorf("RAISE: %w", err)
	}
	res := RAISEResult{LogZBase: logZBase, Rows: n, Steps: len(betas) - 1, LogProbs: make([]float64, n)}
	mean := 0.0
	for r, s := range sums {
		res.LogProbs[r] = -m.FreeEnergy(x[r*V:(r+1)*V]) - logZBase - s
		mean += logZBase + s
	}
	mean /= float64(n)
	res.LogZ, res.LogZLo, res.LogZHi = mean, math.Inf(-1), math.Inf(1)
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

// reverseBlock anneals rows r0 … r1−1 of x from the model down to the
// independent Gaussian, adding each row's sum of increments into s.
func (p *grbmAIS) reverseBlock(x []float32, r0, r1 int, s []float64) error {
	m, R := p.m, r1-r0
	V, H := m.V, m.H
	v := append([]float32(nil), x[r0*V:r1*V]...)
	u := make([]float32, R*V)
	a := make([]float32, R*H)
	h := make([]float32, R*H)
	act := func() { // a = c + (v/σ²) W
		for r := 0; r < R; r++ {
			copy(a[r*H:(r+1)*H], m.HBias)
			for i := 0; i < V; i++ {
				u[r*V+i] = v[r*V+i] * p.invVar[i]
			}
		}
		gemmAcc(R, H, V, u, m.W, a)
	}
	drawHidden := func(k int) {
		hs := kernels.Stream{Seed: p.seed, Op: OpGRBMRAISEHidden, Step: uint64(k)}
		for r := 0; r < R; r++ {
			for j := 0; j < H; j++ {
				e := uint64(r0+r)*uint64(H) + uint64(j)
				h[r*H+j] = 0
				if float64(hs.Uniform(e)) < Sigmoid(p.betas[k]*float64(a[r*H+j])) {
					h[r*H+j] = 1
				}
			}
		}
	}
	K := len(p.betas) - 1
	act()
	drawHidden(K)
	for k := K; k >= 1; k-- {
		select {
		case <-p.cancel:
			return context.Canceled
		default:
		}
		bk, bprev := p.betas[k], p.betas[k-1]
		clear(u)
		gemmAcc(R, V, H, h, p.wt, u)
		vs := kernels.Stream{Seed: p.seed, Op: OpGRBMRAISEVisible, Step: uint64(k)}
		for r := 0; r < R; r++ {
			for i := 0; i < V; i++ {
				e := uint64(r0+r)*uint64(V) + uint64(i)
				mean := float64(m.VBias[i]) + bk*float64(u[r*V+i])
				v[r*V+i] = float32(mean + float64(p.sd[i])*float64(kernels.Normal(vs, e)))
			}
		}
		act()
		for r := 0; r < R; r++ {
			d := 0.0
			for _, y := range a[r*H : (r+1)*H] {
				d += Softplus(bk*float64(y)) - Softplus(bprev*float64(y))
			}
			s[r] += d
		}
		if k > 1 {
			drawHidden(k - 1)
		}
	}
	return nil
}
