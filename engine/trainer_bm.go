package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
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
	if err := prog.SetModel(snap.BM); err != nil {
		return nil, err
	}
	if err := prog.SetState(snap.State); err != nil {
		return nil, err
	}
	res := &Result{BM: snap.BM, Snapshot: snap}
	perm := make([]int, train.N)
	// Device programs take several mini-batches per upload.
	chunk := 1
	stepper, _ := prog.(BatchStepper)
	if stepper != nil {
		chunk = max(1, stepper.MaxBatches())
	}
	batch := make([]float32, chunk*cfg.Batch*V)
	nBatches := train.N / cfg.Batch
	save := func(epoch, b int) error {
		if err := prog.Model(snap.BM); err != nil {
			return err
		}
		st, err := prog.State()
		if err != nil {
			return err
		}
		snap.State, snap.Epoch, snap.Batch = st, epoch, b
		return nil
	}
	for epoch := snap.Epoch; epoch < cfg.Epochs; epoch++ {
		start := time.Now()
		lr := cfg.LR * cfg.Schedule.Factor(epoch, cfg.Epochs)
		mom := cfg.Momentum
		if epoch < cfg.MomentumWarmup {
			mom = cfg.InitialMomentum
		}
		u := Update{LR: float32(lr), Momentum: float32(mom), WeightDecay: float32(cfg.WeightDecay)}
		Permutation(perm, cfg.Seed, uint64(epoch))
		first := 0
		if epoch == snap.Epoch {
			first = snap.Batch
		}
		for b := first; b < nBatches; {
			if err := ctx.Err(); err != nil {
				if serr := save(epoch, b); serr != nil {
					return res, serr
				}
				return res, err
			}
			n := min(chunk, nBatches-b)
			for r := 0; r < n*cfg.Batch; r++ {
				copy(batch[r*V:(r+1)*V], train.Row(perm[b*cfg.Batch+r]))
			}
			var err error
			if stepper != nil {
				err = stepper.StepBatches(batch[:n*cfg.Batch*V], n, u)
			} else {
				err = prog.Step(batch, u)
			}
			if err != nil {
				return res, fmt.Errorf("epoch %d, batch %d: %w", epoch+1, b+1, err)
			}
			for i := 0; i < n; i++ {
				b++
				if t.OnBatch != nil {
					t.OnBatch(epoch+1, b*cfg.Batch, nBatches*cfg.Batch)
				}
			}
		}
		recon, rerr := prog.ReconError()
		if err := save(epoch+1, 0); err != nil {
			return res, err
		}
		if rerr != nil {
			return res, fmt.Errorf("epoch %d: training diverged: %w", epoch+1, rerr)
		}
		if err := snap.BM.Validate(); err != nil {
			return res, fmt.Errorf("epoch %d: training diverged: %w", epoch+1, err)
		}
		secs := time.Since(start).Seconds()
		done := (nBatches - first) * cfg.Batch
		m := EpochMetrics{Epoch: epoch + 1, LR: lr, ReconError: recon, Samples: done, Seconds: secs,
			SamplesPerSec: float64(done) / secs}
		m.FreeEnergyGap, m.LogLikelihood, m.HeldOutLogLikelihood, m.LogZ = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if (epoch+1)%cfg.EvalEvery == 0 || epoch+1 == cfg.Epochs {
			if err := evaluateBM(&m, snap.BM, train, heldout, cfg); err != nil {
				return res, fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
		}
		res.Metrics = append(res.Metrics, m)
		for _, cb := range t.Callbacks {
			if err := cb(m, snap); err != nil {
				if errors.Is(err, ErrStop) {
					return res, nil
				}
				return res, err
			}
		}
	}
	return res, nil
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
func initBMVisibleBias(m *models.BM, d *data.Dataset) {
	mean := make([]float64, d.D)
	for i := 0; i < d.N; i++ {
		for j, x := range d.Row(i) {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		p := min(max(mean[j]/float64(d.N), 0.01), 0.99)
		m.Bias[j] = float32(math.Log(p / (1 - p)))
	}
}

// initBMChains draws C initial chain states (C×N): unit i is 1 with
// probability σ(b_i) (the data marginals for visible units, ½ for hidden
// ones), element r·N+i of Philox stream (seed, opChainsInit, 0).
func initBMChains(m *models.BM, C int, seed uint64) []float32 {
	n := m.N()
	chains := make([]float32, C*n)
	s := kernels.Stream{Seed: seed, Op: opChainsInit}
	for i := range chains {
		if float64(s.Uniform(uint64(i))) < models.Sigmoid(float64(m.Bias[i%n])) {
			chains[i] = 1
		}
	}
	return chains
}
