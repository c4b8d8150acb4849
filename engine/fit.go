package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/data"
)

// stepProgram is what the training loop needs of a compiled program,
// whatever the model: Program and BMProgram both satisfy it, so one loop
// serves the RBM, the Gaussian RBM and the general BM.
type stepProgram interface {
	State() (TrainState, error)
	Step(batch []float32, u Update) error
	ReconError() (float64, error)
}

// fitModel holds the model-specific parts of one Fit; everything else —
// data order, schedules, momentum warm-up, chunked uploads, cancellation
// with a resumable snapshot, metrics and callbacks — is runLoop's.
type fitModel interface {
	// program is the compiled step; the caller of runLoop closes it.
	program() stepProgram
	// load copies the snapshot's parameters and state into the program.
	load() error
	// pull copies the program's parameters (and any state of the model's
	// own) into the snapshot; runLoop copies the TrainState itself.
	pull() error
	// limit caps n, the mini-batches of the next upload from mini-batch b
	// of the first epoch (the Gaussian RBM's guard must fall between them).
	limit(b, n int) int
	// prepare maps the copied rows of a chunk to model units in place.
	prepare(rows []float32)
	// check runs after b mini-batches of the first epoch.
	check(b int) error
	// diverged names the first non-finite value after epoch (1-based),
	// given the epoch's reconstruction error and its error.
	diverged(epoch int, recon float64, rerr error) error
	// evaluate fills the likelihood metrics of m.
	evaluate(m *EpochMetrics, train, heldout *data.Dataset, cfg Config) error
}

// runLoop trains f from snap (cfg defaulted and validated, the batch capped
// at the data size) and fills res; see Fit for cancellation and callbacks.
func (t *Trainer) runLoop(ctx context.Context, cfg Config, train, heldout *data.Dataset, snap *Snapshot, f fitModel, res *Result) (*Result, error) {
	prog := f.program()
	V := train.D
	perm := make([]int, train.N)
	// Device programs take several mini-batches per upload.
	chunk := 1
	stepper, _ := prog.(BatchStepper)
	if stepper != nil {
		chunk = max(1, stepper.MaxBatches())
	}
	batch := make([]float32, chunk*cfg.Batch*V)
	nBatches := train.N / cfg.Batch
	// save copies the program's state into snap (a device sync on GPUs).
	save := func(epoch, b int) error {
		if err := f.pull(); err != nil {
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
		u := Update{LR: float32(lr), Momentum: float32(mom), WeightDecay: float32(cfg.WeightDecay),
			SparsityTarget: float32(cfg.SparsityTarget), SparsityCost: float32(cfg.SparsityCost)}
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
			if epoch == 0 {
				n = f.limit(b, n)
			}
			for r := 0; r < n*cfg.Batch; r++ {
				copy(batch[r*V:(r+1)*V], train.Row(perm[b*cfg.Batch+r]))
			}
			f.prepare(batch[:n*cfg.Batch*V])
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
			if epoch == 0 {
				if err := f.check(b); err != nil {
					return res, fmt.Errorf("epoch 1: %w", err)
				}
			}
		}
		recon, rerr := prog.ReconError()
		if err := save(epoch+1, 0); err != nil {
			return res, err
		}
		if err := f.diverged(epoch+1, recon, rerr); err != nil {
			return res, err
		}
		secs := time.Since(start).Seconds()
		done := (nBatches - first) * cfg.Batch
		m := EpochMetrics{Epoch: epoch + 1, LR: lr, ReconError: recon, Samples: done, Seconds: secs,
			SamplesPerSec: float64(done) / secs}
		m.FreeEnergyGap, m.LogLikelihood, m.HeldOutLogLikelihood, m.LogZ = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if (epoch+1)%cfg.EvalEvery == 0 || epoch+1 == cfg.Epochs {
			if err := f.evaluate(&m, train, heldout, cfg); err != nil {
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

// divergedAt wraps err, the first non-finite value found after epoch, in
// the message every model reports.
func divergedAt(epoch int, err error) error {
	return fmt.Errorf("epoch %d: training diverged: %w", epoch, err)
}
