package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// dbnFile is the checkpoint `train --model dbn` writes.
const dbnFile = "dbn.safetensors"

// parseLayers reads "784,500,500" into sizes, checking the first against V.
func parseLayers(s string, V int) ([]int, error) {
	if s == "" {
		return nil, usagef("train: --model dbn needs --layers, e.g. --layers %d,500,500", V)
	}
	var sizes []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, usagef("train: --layers %q: %q is not a positive layer size", s, part)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) < 2 {
		return nil, usagef("train: --layers %q: want the visible size and at least one hidden layer", s)
	}
	if sizes[0] != V {
		return nil, usagef("train: --layers starts with %d, but the data have %d features", sizes[0], V)
	}
	return sizes, nil
}

// runTrainDBN pretrains a deep belief network greedily (every layer an RBM
// trained by the engine with the run's settings), optionally fine-tunes it
// as a classifier, and writes dbn.safetensors, metrics.jsonl (one record
// per layer epoch, then per fine-tuning epoch) and config.json.
func runTrainDBN(cmd *cobra.Command, f *trainFlags) error {
	stdout := cmd.OutOrStdout()
	switch {
	case f.Resume != "":
		return usagef("train: --resume continues RBM runs; a DBN run starts afresh")
	case f.PNG:
		return usagef("train: --png applies to --model rbm")
	case f.FineTuneEpochs < 0:
		return usagef("train: --finetune-epochs %d: want ≥ 0", f.FineTuneEpochs)
	case !(f.FineTuneLR > 0):
		return usagef("train: --finetune-lr %v: want a positive rate", f.FineTuneLR)
	case (f.FineTuneEpochs > 0 || f.LabelUnits) && f.Labels == "" && !strings.Contains(f.Data, "mnist"):
		return usagef("train: --finetune-epochs and --label-units need --labels")
	}
	cfg, backend, train, val, err := prepareRun(cmd, f)
	if err != nil {
		return err
	}
	sizes, err := parseLayers(f.Layers, train.D)
	if err != nil {
		return err
	}
	if (f.FineTuneEpochs > 0 || f.LabelUnits) && train.Labels == nil {
		return usagef("train: %s has no labels: pass --labels", f.Data)
	}
	if err := f.makeOutDir(); err != nil {
		return err
	}
	if err := f.writeConfig(); err != nil {
		return err
	}
	metrics, err := os.Create(filepath.Join(f.Out, metricsFile))
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer metrics.Close()
	record := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := metrics.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		return metrics.Sync()
	}
	fmt.Fprintf(stdout, "pretraining DBN %v on %s (%d samples), %s per layer, %d epochs, batch %d, lr %g, %s; output %s\n",
		sizes, f.Data, train.N, cfg.Algorithm(), cfg.Epochs, min(cfg.Batch, train.N), cfg.LR, backend.Name(), f.Out)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	onEpoch := func(layer int, m engine.EpochMetrics) error {
		fmt.Fprintf(stdout, "layer %d: %s\n", layer, formatMetrics(m, cfg.Epochs))
		rec := struct {
			Layer int `json:"layer"`
			metricsJSON
		}{layer, jsonMetrics(m)}
		return record(rec)
	}
	pretrain := engine.PretrainDBN
	if f.LabelUnits {
		pretrain = engine.PretrainDBNWithLabels
	}
	dbn, err := pretrain(ctx, sizes, []engine.Config{cfg}, train, backend, onEpoch)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(cmd.ErrOrStderr(), "rbmgpu: interrupted during pretraining; nothing saved (DBN runs do not resume)")
		return errInterrupted
	}
	if err != nil {
		return fmt.Errorf("train: pretrain DBN: %w", err)
	}
	if f.FineTuneEpochs > 0 {
		ft := engine.FineTuneConfig{Epochs: f.FineTuneEpochs, LR: f.FineTuneLR, Batch: cfg.Batch, Seed: f.Seed, Patience: 3}
		fmt.Fprintf(stdout, "fine-tuning %d epochs (Adam, lr %g) on %d labelled samples, %d held out\n", ft.Epochs, ft.LR, train.N, heldOut(val))
		res, err := engine.FineTune(ctx, dbn, train, val, ft)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(cmd.ErrOrStderr(), "rbmgpu: interrupted during fine-tuning; nothing saved")
			return errInterrupted
		}
		if err != nil {
			return fmt.Errorf("train: fine-tune: %w", err)
		}
		for e := range res.TrainAcc {
			line := fmt.Sprintf("fine-tune epoch %d/%d  loss %.4f  train acc %.4f", e+1, ft.Epochs, res.TrainLoss[e], res.TrainAcc[e])
			rec := map[string]any{"finetune_epoch": e + 1, "train_loss": res.TrainLoss[e], "train_accuracy": res.TrainAcc[e]}
			if e < len(res.ValAcc) {
				line += fmt.Sprintf("  held-out acc %.4f", res.ValAcc[e])
				rec["val_accuracy"], rec["val_loss"] = res.ValAcc[e], res.ValLoss[e]
			}
			fmt.Fprintln(stdout, line)
			if err := record(rec); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "kept the weights of epoch %d\n", res.Best)
	}
	path := filepath.Join(f.Out, dbnFile)
	if err := models.SaveDBN(path, dbn); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s (score it with: rbmgpu eval --model %s --data TEST [--labels TEST_LABELS] [--ais])\n", path, path)
	return nil
}

func heldOut(val *data.Dataset) int {
	if val == nil {
		return 0
	}
	return val.N
}
