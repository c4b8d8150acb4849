package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// addBMFlags registers the flags of `rbmgpu train --model bm`.
func addBMFlags(cmd *cobra.Command, f *trainFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.Lateral, "lateral", "both", "bm: lateral connections besides visible–hidden: none (restricted) | visible (semi-restricted) | hidden | both (general BM)")
	fl.IntVar(&f.Sweeps, "sweeps", 0, "bm: sequential Gibbs sweeps over the hidden units with the data clamped, per step (default: the --pcd K)")
	fl.BoolVar(&f.MeanField, "mean-field", false, "bm: sequential mean-field updates instead of Gibbs sweeps in the clamped phase")
}

// rejectBMFlags is a usage error when a --model bm flag is set for another model.
func rejectBMFlags(cmd *cobra.Command) error {
	for _, name := range []string{"lateral", "sweeps", "mean-field"} {
		if cmd.Flags().Changed(name) {
			return usagef("train: --%s applies to --model bm", name)
		}
	}
	return nil
}

// trainBM is `rbmgpu train --model bm` (f complete: resumed flags are
// merged by runTrain): a general Boltzmann machine of the data's V visible
// units and --hidden hidden ones, connectivity --lateral, trained with
// --sweeps clamped sweeps against --chains persistent chains advanced
// --pcd K sweeps per step. Output, checkpoints, Ctrl-C and --resume work as
// for an RBM run.
func trainBM(cmd *cobra.Command, f *trainFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, name := range []string{"layers", "finetune-epochs", "finetune-lr", "label-units", "png", "sparsity-cost", "sparsity-target"} {
		if cmd.Flags().Changed(name) {
			return usagef("train: --%s does not apply to --model bm", name)
		}
	}
	if f.CD != 0 {
		return usagef("train: --model bm trains with persistent chains: use --pcd K (model sweeps per step), not --cd")
	}
	lateral, err := models.ParseLateral(f.Lateral)
	if err != nil {
		return usagef("train: --lateral: %v", err)
	}
	if f.Sweeps < 0 {
		return usagef("train: --sweeps %d: want ≥ 1 (or 0 for the --pcd K)", f.Sweeps)
	}
	if cmd.Flags().Changed("sweeps") && f.Sweeps == 0 {
		return usagef("train: --sweeps 0: want ≥ 1")
	}
	if f.PCD == 0 {
		f.PCD = 1
	}
	f.SparsityCost = 0
	cfg, backend, train, val, err := prepareRun(cmd, f)
	if err != nil {
		return err
	}
	cfg.BM = &engine.BMOptions{Lateral: lateral, Sweeps: f.Sweeps, MeanField: f.MeanField}
	if err := f.makeOutDir(); err != nil {
		return err
	}
	tr := &engine.Trainer{Config: cfg, Backend: backend}
	fingerprint := train.Fingerprint()
	if f.Resume != "" {
		snap, meta, err := engine.LoadSnapshot(filepath.Join(f.Resume, modelFile))
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if snap.BM == nil {
			return fmt.Errorf("resume: %s holds an RBM, not a Boltzmann machine", filepath.Join(f.Resume, modelFile))
		}
		if meta.DataFingerprint != "" && meta.DataFingerprint != fingerprint {
			return fmt.Errorf("resume: %s: the data differ from the data the run was trained on (fingerprint %s, saved %s)", f.Data, fingerprint, meta.DataFingerprint)
		}
		if snap.Epoch >= cfg.Epochs && snap.Batch == 0 {
			return usagef("train: --resume: the run already completed %d epochs; pass --epochs N with N > %d to train further", snap.Epoch, snap.Epoch)
		}
		tr.Resume = snap
		if err := truncateMetrics(filepath.Join(f.Out, metricsFile), snap.Epoch); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(f.Out, metricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output directory: %w", err)
	}
	if err := f.writeConfig(); err != nil {
		return err
	}
	metrics, err := os.OpenFile(filepath.Join(f.Out, metricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer metrics.Close()
	valN := 0
	if val != nil {
		valN = val.N
	}
	sweeps := f.Sweeps
	if sweeps == 0 {
		sweeps = cfg.K
	}
	phase := "Gibbs"
	if f.MeanField {
		phase = "mean-field"
	}
	chains := cfg.Chains
	if chains == 0 {
		chains = min(cfg.Batch, train.N)
	}
	fmt.Fprintf(stdout, "training BM %d+%d (lateral %s) on %s (%d samples, %d held out): %d %s sweeps clamped, %d chains × %d sweeps free, %s, batch %d, lr %g, %d epochs, %s; output %s\n",
		train.D, cfg.Hidden, lateral, f.Data, train.N, valN, sweeps, phase, chains, cfg.K, backend.Name(), min(cfg.Batch, train.N),
		cfg.LR, cfg.Epochs, deviceNote(backend), f.Out)
	if tr.Resume != nil {
		fmt.Fprintf(stdout, "resuming after epoch %d, batch %d\n", tr.Resume.Epoch, tr.Resume.Batch)
	}
	prog := newProgress(stderr, f.Quiet, cfg.Epochs)
	tr.OnBatch = prog.batch
	tr.Callbacks = append(tr.Callbacks, func(m engine.EpochMetrics, s *engine.Snapshot) error {
		prog.clear()
		fmt.Fprintln(stdout, formatMetrics(m, cfg.Epochs))
		line, err := json.Marshal(jsonMetrics(m))
		if err != nil {
			return err
		}
		if _, err := metrics.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		if err := metrics.Sync(); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		return engine.SaveSnapshot(filepath.Join(f.Out, modelFile), s, fingerprint)
	})
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tr.Fit(ctx, train, val)
	prog.clear()
	if errors.Is(err, context.Canceled) && res != nil {
		if serr := engine.SaveSnapshot(filepath.Join(f.Out, modelFile), res.Snapshot, fingerprint); serr != nil {
			return fmt.Errorf("interrupted; saving the checkpoint failed: %w", serr)
		}
		fmt.Fprintf(stderr, "rbmgpu: interrupted at epoch %d, batch %d; saved %s; continue with: rbmgpu train --resume %s\n",
			res.Snapshot.Epoch+1, res.Snapshot.Batch, filepath.Join(f.Out, modelFile), f.Out)
		return errInterrupted
	}
	if err != nil {
		return fmt.Errorf("train: %w (last good checkpoint: %s)", err, filepath.Join(f.Out, modelFile))
	}
	fmt.Fprintf(stdout, "saved %s\n", filepath.Join(f.Out, modelFile))
	return nil
}
