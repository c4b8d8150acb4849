package main

import (
	"fmt"
	"path/filepath"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// `rbmgpu train --model bm`: a general Boltzmann machine of the data's V
// visible units and --hidden hidden ones, connectivity --lateral, trained
// with --sweeps clamped sweeps against --chains persistent chains advanced
// --pcd K sweeps per step. Its flags are the kind's settings (see
// modelflags.go); output, checkpoints, Ctrl-C and --resume work as for an
// RBM run.
func init() {
	registerModelCLI(models.KindBM, &modelCLI{
		refuses: map[string]string{"png": "", "sparsity-cost": "", "sparsity-target": "",
			"cd": "it trains with persistent chains: use --pcd K (model sweeps per step)"},
		prepare: func(f *trainFlags) {
			if f.PCD == 0 {
				f.PCD = 1
			}
		},
		shape: shapeBM,
	})
}

// shapeBM gives a BM run its banner and its resume check.
func shapeBM(r *modelRun, f *trainFlags) {
	cfg, train := r.cfg, r.train
	o, ok := cfg.Options.(*engine.BMOptions)
	if !ok {
		o = &engine.BMOptions{}
	}
	sweeps := o.Sweeps
	if sweeps == 0 {
		sweeps = cfg.K
	}
	phase := "Gibbs"
	if o.MeanField {
		phase = "mean-field"
	}
	chains := cfg.Chains
	if chains == 0 {
		chains = min(cfg.Batch, train.N)
	}
	r.ofKind = func(s *engine.Snapshot) error {
		if s.BM() == nil {
			return fmt.Errorf("resume: %s holds an RBM, not a Boltzmann machine", filepath.Join(f.Resume, modelFile))
		}
		return nil
	}
	r.banner = func() string {
		return fmt.Sprintf("training BM %d+%d (lateral %s) on %s (%d samples, %d held out): %d %s sweeps clamped, %d chains × %d sweeps free, %s, batch %d, lr %g, %d epochs, %s; output %s",
			train.D, cfg.Hidden, o.Lateral, f.Data, train.N, heldOut(r.val), sweeps, phase, chains, cfg.K, r.backend.Name(), min(cfg.Batch, train.N),
			cfg.LR, cfg.Epochs, deviceNote(r.backend), f.Out)
	}
	// A resumed BM run always says where it continues, even from epoch 0,
	// batch 0.
	r.announce = func(*engine.Snapshot) bool { return true }
}
