package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// bmStepConfig returns the BM step shapes of a defaulted Config.
func bmStepConfig(cfg Config, V int) graph.BMConfig {
	sweeps := cfg.BM.Sweeps
	if sweeps == 0 {
		sweeps = cfg.K
	}
	chains := cfg.Chains
	if chains == 0 {
		chains = cfg.Batch
	}
	return graph.BMConfig{Visible: V, Hidden: cfg.Hidden, Batch: cfg.Batch, Chains: chains, Sweeps: sweeps,
		ModelSweeps: cfg.K, MeanField: cfg.BM.MeanField}
}

// fitBM is Fit for a Boltzmann machine (cfg.BM set, cfg defaulted and
// validated, the batch capped at the data size): the same loop — data
// order, schedules, momentum warm-up, callbacks, cancellation with a
// resumable snapshot — over a BMProgram.
func (t *Trainer) fitBM(ctx context.Context, cfg Config, train, heldout *data.Dataset) (*Result, error) {
	opt := *cfg.BM
	switch {
	case opt.Lateral < models.LateralNone || opt.Lateral > models.LateralBoth:
		return nil, fmt.Errorf("BM: lateral connectivity %v is not one of none, visible, hidden, both", opt.Lateral)
	case opt.Sweeps < 0:
		return nil, fmt.Errorf("BM: sweeps = %d, want ≥ 0 (0 means k)", opt.Sweeps)
	case cfg.SparsityCost != 0:
		return nil, errors.New("BM: sparsity is not supported for Boltzmann machines")
	}
	cfg.BM = &opt
	backend := t.Backend
	if backend == nil {
		backend = Host()
	}
	V := train.D
	stepCfg := bmStepConfig(cfg, V)
	N := V + cfg.Hidden
	snap := t.Resume
	if snap != nil {
		switch {
		case snap.BM == nil:
			return nil, errors.New("resume: the checkpoint holds no Boltzmann machine")
		case snap.BM.V != V:
			return nil, fmt.Errorf("resume: checkpoint model has %d visible units, data has %d", snap.BM.V, V)
		case snap.BM.H != cfg.Hidden:
			return nil, fmt.Errorf("resume: checkpoint model has %d hidden units, config %d", snap.BM.H, cfg.Hidden)
		case len(snap.State.Chains) != stepCfg.Chains*N:
			return nil, fmt.Errorf("resume: checkpoint has %d chain values, config wants %d chains of %d units", len(snap.State.Chains), stepCfg.Chains, N)
		}
		if l, ok := snap.BM.Lateral(); !ok || l != opt.Lateral {
			return nil, fmt.Errorf("resume: checkpoint connectivity differs from lateral=%v", opt.Lateral)
		}
		snap = &Snapshot{Config: cfg, BM: snap.BM.Clone(), State: snap.State, Epoch: snap.Epoch, Batch: snap.Batch}
	} else {
		m, err := models.NewBM(V, cfg.Hidden, opt.Lateral, cfg.Seed)
		if err != nil {
			return nil, err
		}
		initBMVisibleBias(m, train)
		snap = &Snapshot{Config: cfg, BM: m, State: TrainState{
			VelW:     make([]float32, N*N),
			VelVBias: make([]float32, N),
			Chains:   initBMChains(m, stepCfg.Chains, cfg.Seed),
		}}
	}
	prog, err := CompileBM(backend, stepCfg, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("compile BM step on %s: %w", backend.Name(), err)
	}
	defer prog.Close()
	f := &bmFit{snap: snap, prog: prog}
	if err := f.load(); err != nil {
		return nil, err
	}
	return t.runLoop(ctx, cfg, train, heldout, snap, f, &Result{BM: snap.BM, Snapshot: snap})
}

// bmFit is the fitModel of a Boltzmann machine: no data transform, no
// first-epoch guard.
type bmFit struct {
	snap *Snapshot
	prog BMProgram
}

func (f *bmFit) program() stepProgram { return f.prog }

func (f *bmFit) load() error {
	if err := f.prog.SetModel(f.snap.BM); err != nil {
		return err
	}
	return f.prog.SetState(f.snap.State)
}

func (f *bmFit) pull() error { return f.prog.Model(f.snap.BM) }

func (f *bmFit) limit(_, n int) int { return n }

func (f *bmFit) prepare([]float32) {}

func (f *bmFit) check(int) error { return nil }

// diverged reports the monitor's error before the parameters', as the BM
// trainer always has.
func (f *bmFit) diverged(epoch int, _ float64, rerr error) error {
	if rerr != nil {
		return divergedAt(epoch, rerr)
	}
	if err := f.snap.BM.Validate(); err != nil {
		return divergedAt(epoch, err)
	}
	return nil
}

func (f *bmFit) evaluate(m *EpochMetrics, train, heldout *data.Dataset, cfg Config) error {
	return evaluateBM(m, f.snap.BM, train, heldout, cfg)
}

// evaluateBM fills the free-energy gap (when the 2^H hidden states can be
// enumerated) and the exact log-likelihood (when N = V+H ≤
// min(ExactLLMaxUnits, models.MaxExactBMUnits)).
func evaluateBM(m *EpochMetrics, model *models.BM, train, heldout *data.Dataset, cfg Config) error {
	if cfg.ExactLLMaxUnits < 0 || model.H > models.MaxExactBMUnits {
		return nil
	}
	meanLogU := func(d *data.Dataset, n int) float64 {
		s := 0.0
		for i := 0; i < n; i++ {
			s += model.LogUnnormalized(d.Row(i))
		}
		return s / float64(n)
	}
	if heldout != nil && heldout.N > 0 && model.H <= cfg.ExactLLMaxUnits {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		m.FreeEnergyGap = meanLogU(train, n) - meanLogU(heldout, n)
	}
	if model.N() > min(cfg.ExactLLMaxUnits, models.MaxExactBMUnits) {
		return nil
	}
	logZ, err := model.LogZ()
	if err != nil {
		return err
	}
	m.LogZ = logZ
	m.LogLikelihood = meanLogU(train, train.N) - logZ
	if heldout != nil && heldout.N > 0 {
		m.HeldOutLogLikelihood = meanLogU(heldout, heldout.N) - logZ
	}
	return nil
}

// initBMVisibleBias sets the visible biases from the data marginals, as
// initVisibleBias does for an RBM.
func initBMVisibleBias(m *models.BM, d *data.Dataset) { setMarginalLogits(m.Bias, d) }

// initBMChains draws C initial chain states (C×N): unit i is 1 with
// probability σ(b_i) (the data marginals for visible units, ½ for hidden
// ones), element r·N+i of Philox stream (seed, opChainsInit, 0).
func initBMChains(m *models.BM, C int, seed uint64) []float32 { return biasChains(m.Bias, C, seed) }
