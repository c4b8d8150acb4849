package main

import (
	"fmt"
	"path/filepath"

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
	for _, name := range []string{"layers", "finetune-epochs", "finetune-lr", "finetune-lr-schedule", "label-units", "gaussian-bottom", "bottom-lr", "png", "sparsity-cost", "sparsity-target"} {
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
	return f.fitModel(cmd, modelRun{
		cfg: cfg, backend: backend, train: train, val: val,
		ofKind: func(s *engine.Snapshot) error {
			if s.BM == nil {
				return fmt.Errorf("resume: %s holds an RBM, not a Boltzmann machine", filepath.Join(f.Resume, modelFile))
			}
			return nil
		},
		banner: func() string {
			return fmt.Sprintf("training BM %d+%d (lateral %s) on %s (%d samples, %d held out): %d %s sweeps clamped, %d chains × %d sweeps free, %s, batch %d, lr %g, %d epochs, %s; output %s",
				train.D, cfg.Hidden, lateral, f.Data, train.N, heldOut(val), sweeps, phase, chains, cfg.K, backend.Name(), min(cfg.Batch, train.N),
				cfg.LR, cfg.Epochs, deviceNote(backend), f.Out)
		},
		// A resumed BM run always says where it continues, even from
		// epoch 0, batch 0.
		announce: func(*engine.Snapshot) bool { return true },
	})
}
