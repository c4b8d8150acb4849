package models

import (
	"context"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Philox op ids of PottsRBM.AIS.
const (
	// OpPottsAISBase draws the initial sites from the base model at Step
	// 0, element run·L+i.
	OpPottsAISBase uint32 = 0xA160
	// OpPottsAISHidden draws the hidden states of transition T_k at Step
	// k, element run·H+j.
	OpPottsAISHidden uint32 = 0xA161
	// OpPottsAISVisible draws the sites of transition T_k at Step k,
	// element run·L+i.
	OpPottsAISVisible uint32 = 0xA162
)

// PottsAISConfig configures PottsRBM.AIS.
type PottsAISConfig struct {
	// Runs is the number M of annealing runs (0: DefaultAISRuns).
	Runs int
	// Betas is the schedule 0 = β_0 < … < β_K = 1 (empty: DefaultBetas()).
	Betas []float64
	// Seed keys the draws (OpPottsAISBase, OpPottsAISHidden, OpPottsAISVisible).
	Seed uint64
	// BaseFields are the L·Q fields b_A of the independent-site base
	// model p_A(v) = Π_i softmax(b_A,i)(v_i); nil means zeros (uniform).
	// PottsSiteFields of the training data is the usual choice.
	BaseFields []float32
}

// AIS estimates log Z by annealed importance sampling (Neal 2001;
// Salakhutdinov & Murray 2008) from the independent-site model with fields
// b_A and the hidden units free, through
//
//	p_β(v, h) ∝ exp((1−β) b_Aᵀv + β(bᵀv + cᵀh + vᵀWh)),
//	log f_β(v) = (1−β) b_Aᵀv + β bᵀv + Σ_j softplus(β(c_j + (vW)_j)),
//	log Z_A = Σ_i log Σ_a exp(b_A,i(a)) + H log 2.
//
// Each run starts from v ~ p_A, adds log f_{β_k}(v) − log f_{β_{k−1}}(v)
// to its log weight, then moves by one block Gibbs transition of p_{β_k}
// (h_j ~ σ(β(c_j + (vW)_j)), each site from softmax((1−β) b_A + β(b + Wh))
// with one uniform). The result's interval is AISResult's.
func (m *PottsRBM) AIS(ctx context.Context, cfg PottsAISConfig) (AISResult, error) {
	if err := m.Validate(); err != nil {
		return AISResult{}, fmt.Errorf("AIS: %w", err)
	}
	M, betas, err := AISConfig{Runs: cfg.Runs, Betas: cfg.Betas}.runsAndBetas()
	if err != nil {
		return AISResult{}, err
	}
	L, q, H := m.L, m.Q, m.H
	N := L * q
	base := cfg.BaseFields
	if base == nil {
		base = make([]float32, N)
	}
	if len(base) != N {
		return AISResult{}, fmt.Errorf("AIS: %d base fields for %d one-hot units", len(base), N)
	}
	logZA := float64(H) * math.Ln2
	bA := make([]float64, N)
	for i := 0; i < L; i++ {
		for a := 0; a < q; a++ {
			bA[i*q+a] = float64(base[i*q+a])
		}
		logZA += logSumExp(bA[i*q : (i+1)*q])
	}
	lw, err := aisWeights(ctx, M, func(r0, r1 int, lw []float64) error {
		codes := make([]int, L)
		act := make([]float64, H)
		on := make([]int, 0, H) // the hidden units that are on
		u := make([]float32, q)
		// state computes bA·v, b·v and act = c + vW of the current codes.
		state := func() (fa, fb float64) {
			for j := range act {
				act[j] = float64(m.HBias[j])
			}
			for i, a := range codes {
				k := i*q + a
				fa += bA[k]
				fb += float64(m.VBias[k])
				for j := 0; j < H; j++ {
					act[j] += float64(m.W[k*H+j])
				}
			}
			return fa, fb
		}
		logF := func(beta, fa, fb float64) float64 {
			f := (1-beta)*fa + beta*fb
			for _, x := range act {
				f += Softplus(beta * x)
			}
			return f
		}
		for r := r0; r < r1; r++ {
			s0 := kernels.Stream{Seed: cfg.Seed, Op: OpPottsAISBase}
			for i := 0; i < L; i++ {
				for a := 0; a < q; a++ {
					u[a] = float32(bA[i*q+a])
				}
				codes[i] = kernels.CategoricalF32(u, s0.Uniform(uint64(r*L+i)))
			}
			w := 0.0
			for k := 1; k < len(betas); k++ {
				if k%64 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				b0, b1 := betas[k-1], betas[k]
				fa, fb := state()
				w += logF(b1, fa, fb) - logF(b0, fa, fb)
				sh := kernels.Stream{Seed: cfg.Seed, Op: OpPottsAISHidden, Step: uint64(k)}
				on = on[:0]
				for j := 0; j < H; j++ {
					if float64(sh.Uniform(uint64(r*H+j))) < Sigmoid(b1*act[j]) {
						on = append(on, j)
					}
				}
				sv := kernels.Stream{Seed: cfg.Seed, Op: OpPottsAISVisible, Step: uint64(k)}
				for i := 0; i < L; i++ {
					for a := 0; a < q; a++ {
						kk := i*q + a
						x := float64(m.VBias[kk])
						row := m.W[kk*H : (kk+1)*H]
						for _, j := range on {
							x += float64(row[j])
						}
						u[a] = float32((1-b1)*bA[kk] + b1*x)
					}
					codes[i] = kernels.CategoricalF32(u, sv.Uniform(uint64(r*L+i)))
				}
			}
			lw[r-r0] = w
		}
		return nil
	})
	if err != nil {
		return AISResult{}, err
	}
	return aisResult(logZA, len(betas)-1, lw), nil
}
