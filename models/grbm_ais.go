package models

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of the streams GRBM.AIS draws.
const (
	// OpGRBMAISBase draws the initial visible states from the base model
	// at Step 0, element run·V+i (a standard normal each).
	OpGRBMAISBase uint32 = 0xA160
	// OpGRBMAISHidden draws the hidden states of transition T_k at Step k,
	// element run·H+j.
	OpGRBMAISHidden uint32 = 0xA161
	// OpGRBMAISVisible draws the visible noise of transition T_k at Step
	// k, element run·V+i.
	OpGRBMAISVisible uint32 = 0xA162
)

// grbmAISBlock is the number of runs a worker anneals together, so that
// the products are matrix products.
const grbmAISBlock = 16

// AIS estimates log Z of the Gaussian RBM (model units) by annealed
// importance sampling from the independent Gaussian model with the hidden
// units free. The intermediate distributions scale the interaction and the
// hidden biases by β:
//
//	p*_β(v) = exp(−Σ_i (v_i − b_i)²/(2σ_i²)) · Π_j (1 + exp(β a_j(v))),   a_j(v) = c_j + Σ_i v_i W_ij/σ_i²
//
// so p_0 = Π_i N(b_i, σ_i²) (each h_j a fair coin), with
//
//	log Z_0 = Σ_i ½ log(2π σ_i²) + H log 2,
//
// and p_1 is the model. Each run starts from v ~ p_0 (drawn exactly), and
// for k = 1 … K adds log p*_{β_k}(v) − log p*_{β_{k−1}}(v) =
// Σ_j softplus(β_k a_j) − softplus(β_{k−1} a_j) to its log weight, then
// (k < K) moves v by one Gibbs step of p_{β_k}: h_j ~ σ(β_k a_j(v)),
// v ~ N(b + β_k W h, σ²). The estimate and its interval are those of
// RBM.AIS (see AISResult). Draws come from the streams (Seed,
// OpGRBMAISBase/Hidden/Visible, k), keyed by run and unit, so the result
// does not depend on GOMAXPROCS. cfg.BaseVBias must be nil: the base is
// always the model's own independent Gaussian.
//
// The cost is about 2·M·K·V·H multiply-adds; ctx is checked before every
// β step.
func (m *GRBM) AIS(ctx context.Context, cfg AISConfig) (AISResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Validate(); err != nil {
		return AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	if cfg.BaseVBias != nil {
		return AISResult{}, errors.New("AIS: a Gaussian RBM anneals from its own independent Gaussian model: BaseVBias must be nil")
	}
	M, betas, err := cfg.runsAndBetas()
	if err != nil {
		return AISResult{}, err
	}
	V, H := m.V, m.H
	if uint64(M)*uint64(max(V, H)) >= 1<<33 {
		return AISResult{}, fmt.Errorf("AIS: %d runs of %d units exceed the 2^33 elements of a random stream", M, max(V, H))
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
	return runAIS(ctx, M, logZBase, len(betas)-1, p.run)
}

// grbmAIS is what every worker of GRBM.AIS shares.
type grbmAIS struct {
	m          *GRBM
	betas      []float64
	seed       uint64
	wt         []float32 // Wᵀ, H×V
	invVar, sd []float32 // 1/σ_i², σ_i
	cancel     <-chan struct{}
}

// run anneals runs r0 … r1−1 in blocks of grbmAISBlock, adding their log
// weights into lw.
func (p *grbmAIS) run(r0, r1 int, lw []float64) error {
	for b := r0; b < r1; b += grbmAISBlock {
		e := min(b+grbmAISBlock, r1)
		if err := p.runBlock(b, e, lw[b-r0:e-r0]); err != nil {
			return err
		}
	}
	return nil
}

// runBlock anneals runs r0 … r1−1 together, adding their log weights into lw.
func (p *grbmAIS) runBlock(r0, r1 int, lw []float64) error {
	m, R := p.m, r1-r0
	V, H := m.V, m.H
	v := make([]float32, R*V)
	u := make([]float32, R*V) // v/σ²
	a := make([]float32, R*H)
	h := make([]float32, R*H)
	base := kernels.Stream{Seed: p.seed, Op: OpGRBMAISBase}
	for r := 0; r < R; r++ {
		for i := 0; i < V; i++ {
			e := uint64(r0+r)*uint64(V) + uint64(i)
			v[r*V+i] = m.VBias[i] + p.sd[i]*kernels.Normal(base, e)
		}
	}
	K := len(p.betas) - 1
	for k := 1; k <= K; k++ {
		select {
		case <-p.cancel:
			return context.Canceled
		default:
		}
		bk, bprev := p.betas[k], p.betas[k-1]
		// a = c + (v/σ²) W
		for r := 0; r < R; r++ {
			copy(a[r*H:(r+1)*H], m.HBias)
			for i := 0; i < V; i++ {
				u[r*V+i] = v[r*V+i] * p.invVar[i]
			}
		}
		gemmAcc(R, H, V, u, m.W, a)
		for r := 0; r < R; r++ {
			s := 0.0
			for _, x := range a[r*H : (r+1)*H] {
				s += Softplus(bk*float64(x)) - Softplus(bprev*float64(x))
			}
			lw[r] += s
		}
		if k == K {
			break
		}
		hs := kernels.Stream{Seed: p.seed, Op: OpGRBMAISHidden, Step: uint64(k)}
		for r := 0; r < R; r++ {
			for j := 0; j < H; j++ {
				e := uint64(r0+r)*uint64(H) + uint64(j)
				h[r*H+j] = 0
				if float64(hs.Uniform(e)) < Sigmoid(bk*float64(a[r*H+j])) {
					h[r*H+j] = 1
				}
			}
		}
		// v = b + β_k W h + σ n: the product first, into u as scratch.
		clear(u)
		gemmAcc(R, V, H, h, p.wt, u)
		vs := kernels.Stream{Seed: p.seed, Op: OpGRBMAISVisible, Step: uint64(k)}
		for r := 0; r < R; r++ {
			for i := 0; i < V; i++ {
				e := uint64(r0+r)*uint64(V) + uint64(i)
				mean := float64(m.VBias[i]) + bk*float64(u[r*V+i])
				v[r*V+i] = float32(mean + float64(p.sd[i])*float64(kernels.Normal(vs, e)))
			}
		}
	}
	return nil
}

// AvgLogLikelihoodAIS returns the average log-likelihood of n rows of x
// (n×V, model units) under the AIS estimate r of log Z: −mean F(v) − log Ẑ.
// Because AIS tends to underestimate log Z, this tends to overestimate the
// log-likelihood.
func (m *GRBM) AvgLogLikelihoodAIS(x []float32, n int, r AISResult) float64 {
	var f float64
	for i := 0; i < n; i++ {
		f += m.FreeEnergy(x[i*m.V : (i+1)*m.V])
	}
	return -f/float64(n) - r.LogZ
}
