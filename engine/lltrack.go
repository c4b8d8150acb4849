package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// LLRows is the most rows of the training and of the held-out data whose
// mean free energy enters the tracked log-likelihoods (the first LLRows of
// each): 10,000 rows give the mean to about ±0.5 nat on Fashion-MNIST at a
// twentieth of an epoch's host work for a 784×500 model.
const LLRows = 5000

// llTracker follows log Z of an RBM along its training trajectory (see
// models.Trajectory) and turns it into the average log-likelihoods
// reported every evaluated epoch (EpochMetrics.TrajLL, TrajHeldOutLL). It
// runs on the host in float64 around float32 GEMMs — the maths of
// models.RBM.AIS — whatever executor trains the model, so every executor
// gets the same curve. A nil tracker does nothing.
type llTracker struct {
	traj   *models.Trajectory
	base   []float32 // AIS's base rates of the training data, for re-anchoring
	cfg    models.TrajectoryConfig
	epochs int // the run's last epoch
	evals  int // evaluations so far
}

// LLReanchorEvery is how often, in evaluations, the tracker checks the
// trajectory against a fresh adaptive AIS from the base-rate model (the
// same chains and step rule; about 200 steps on Fashion-MNIST): every
// LLReanchorEvery-th evaluation and at the last epoch. The trajectory's
// chains cannot follow the model when its mass moves to states they do not
// reach (measured: −7 nats in one epoch of PCD at lr 0.05 on 784×100
// Fashion-MNIST, where log Z fell by 20 nats; −8.9 nats over epochs 6–10
// of PCD-1 at lr 0.01 on 784×500), and such an error persists;
// both estimates tend to fall below log Z, so the tracker keeps the larger
// and continues from its chains. EpochMetrics.TrajDrift reports the
// difference. A check costs several epochs' worth of trajectory steps
// (about 250–400 adaptive steps on Fashion-MNIST).
const LLReanchorEvery = 5

// TrackLL reports whether Fit tracks the log-likelihood of a run of c
// (defaulted) on data of V features: for the "rbm" kind when
// Config.LLChains is positive. The engine tracks only when asked (a zero
// Config leaves it off); `rbmgpu train` asks by default for the rbm's PCD
// recipe. Measured on a 784×500 RBM, 10 epochs of Fashion-MNIST on 2 cores:
// tracking with 100 chains and the re-anchoring checks cost about 9% of the
// run, and the final log Ẑ was within 0.9 nat of a 100×14,500 AIS
// (bench/RESULTS.md).
func TrackLL(c Config, V int) bool {
	return c.Model == models.KindRBM && c.LLChains > 0
}

// newLLTracker starts the trajectory of a Fit from the snapshot it begins
// with. A fresh run starts from the base-rate model of the initial visible
// biases (W = 0, hidden biases 0; log Z exact) and advances to the initial
// model at once, so the path begins at the model of epoch 0; a resumed run
// starts from the base-rate model of the training data (AIS's base, the
// smoothed logits of the first LLRows rows' means), so its first
// evaluation is an ordinary adaptive AIS of the model it reaches.
func newLLTracker(ctx context.Context, c Config, s *Snapshot, train *data.Dataset, fresh bool) (*llTracker, error) {
	if !TrackLL(c, train.D) {
		return nil, nil
	}
	m := s.RBM()
	if m == nil {
		return nil, fmt.Errorf("log-likelihood tracking: the snapshot holds no RBM")
	}
	n := min(train.N, LLRows)
	rates := models.BaseRateBias(train.CopyRows(make([]float32, n*train.D), 0, n), n, train.D, 1)
	base := append([]float32(nil), m.VBias...)
	if !fresh {
		base = rates
	}
	tc := models.TrajectoryConfig{Chains: max(c.LLChains, 0), Seed: c.Seed}
	traj, err := models.NewTrajectory(base, m.H, tc)
	if err != nil {
		return nil, fmt.Errorf("log-likelihood tracking: %w", err)
	}
	if fresh {
		if _, err := traj.Advance(ctx, m.Clone()); err != nil {
			return nil, fmt.Errorf("log-likelihood tracking: %w", err)
		}
	}
	return &llTracker{traj: traj, base: rates, cfg: tc, epochs: c.Epochs}, nil
}

// evaluate advances the trajectory to the model in s, re-anchors it when
// due (see LLReanchorEvery), and fills the trajectory metrics of em: log Ẑ,
// its effective sample size, the steps taken, the drift, and −mean F −
// log Ẑ over the first LLRows rows of train and of heldout.
//
// A cancellation of ctx while it runs is not an error: the epoch is
// already saved, so its metrics are reported (without the trajectory's)
// and the trainer stops at its next check; the tracker stops tracking.
func (t *llTracker) evaluate(ctx context.Context, em *EpochMetrics, s *Snapshot, train, heldout *data.Dataset) error {
	if t == nil || t.traj == nil {
		return nil
	}
	err := t.advance(ctx, em, s, train, heldout)
	if err != nil && ctx.Err() != nil {
		t.traj = nil
		em.TrajLogZ, em.TrajLL, em.TrajHeldOutLL, em.TrajDrift = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		em.TrajESS, em.TrajSteps = 0, 0
		return nil
	}
	return err
}

// advance is evaluate's work.
func (t *llTracker) advance(ctx context.Context, em *EpochMetrics, s *Snapshot, train, heldout *data.Dataset) error {
	m := s.RBM().Clone()
	st, err := t.traj.Advance(ctx, m)
	if err != nil {
		return fmt.Errorf("log-likelihood tracking: %w", err)
	}
	t.evals++
	em.TrajDrift = math.NaN()
	if t.evals%LLReanchorEvery == 0 || s.Epoch >= t.epochs {
		fc := t.cfg
		fc.Seed = t.cfg.Seed + 0x9E3779B97F4A7C15*uint64(s.Epoch) // fresh draws per check
		fresh, err := models.NewTrajectory(t.base, m.H, fc)
		if err != nil {
			return fmt.Errorf("log-likelihood tracking: %w", err)
		}
		fst, err := fresh.Advance(ctx, m)
		if err != nil {
			return fmt.Errorf("log-likelihood tracking: %w", err)
		}
		em.TrajDrift = st.LogZ - fst.LogZ
		if fst.LogZ > st.LogZ {
			t.traj, st = fresh, fst
		}
		st.Steps += fst.Steps
	}
	fe := m.FreeEnergyFunc()
	em.TrajLogZ, em.TrajESS, em.TrajSteps = st.LogZ, st.ESS, st.Steps
	em.TrajLL = -meanOverRows(train, min(train.N, LLRows), fe) - st.LogZ
	if heldout != nil && heldout.N > 0 {
		em.TrajHeldOutLL = -meanOverRows(heldout, min(heldout.N, LLRows), fe) - st.LogZ
	}
	return nil
}
