package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/models"
)

// dbnFile is the checkpoint `train --model dbn` writes.
const dbnFile = "dbn.safetensors"

// dbnModel is the --model of a deep belief network, a model of the CLI:
// greedy pretraining of engine RBMs (the bottom one a Gaussian RBM with
// --gaussian-bottom, taking the grbm kind's flags), optional fine-tuning.
const dbnModel = "dbn"

func init() {
	registerModelCLI(dbnModel, &modelCLI{
		summary:    "deep belief network: greedy pretraining, optional fine-tuning",
		newOptions: func() engine.Options { return newDBNOptions() },
		requires:   map[string]string{"bottom-lr": "gaussian-bottom"},
		borrows:    map[string]string{models.KindGRBM: "gaussian-bottom"},
		refuses:    map[string]string{"png": ""},
		realValued: func(f *trainFlags) bool { return f.dbn().GaussianBottom },
		run:        runTrainDBN,
	})
}

// dbnOptions are the settings of --model dbn.
type dbnOptions struct {
	Layers         string
	FineTuneEpochs int
	FineTuneLR     float64
	FineTuneSched  string
	LabelUnits     bool
	GaussianBottom bool
	BottomLR       float64
}

// newDBNOptions returns the DBN settings at their defaults: the engine's
// fine-tuning rate and schedule, and the Gaussian kind's rate for a
// Gaussian bottom layer (the Bernoulli layers' rate would diverge on
// standardised data).
func newDBNOptions() *dbnOptions {
	ft := dbn.FineTuneConfig{}.Defaults()
	return &dbnOptions{FineTuneLR: ft.LR, FineTuneSched: ft.Schedule.String(),
		BottomLR: engine.Config{Model: models.KindGRBM}.Defaults().LR}
}

// Settings implements engine.Options: the DBN's flags.
func (o *dbnOptions) Settings() []engine.Setting {
	return []engine.Setting{
		stringSetting("layers", "layer sizes from the visible layer up, e.g. 784,500,500,2000", &o.Layers),
		engine.IntSetting("finetune-epochs", "epochs of discriminative fine-tuning by backpropagation (needs --labels)", &o.FineTuneEpochs),
		engine.FloatSetting("finetune-lr", "Adam learning rate of fine-tuning", &o.FineTuneLR),
		stringSetting("finetune-lr-schedule", "fine-tuning learning-rate schedule, as --lr-schedule", &o.FineTuneSched),
		engine.BoolSetting("label-units", "train the top RBM with one-hot label units (needs --labels) so 'rbmgpu sample --label' can clamp a class", &o.LabelUnits),
		engine.BoolSetting("gaussian-bottom", "the bottom layer is a Gaussian–Bernoulli RBM on standardised real-valued data (with --learn-sigma, --sigma-floor, --bottom-lr)", &o.GaussianBottom),
		engine.FloatSetting("bottom-lr", "learning rate of the Gaussian bottom layer", &o.BottomLR),
	}
}

// dbn returns the DBN settings of f.
func (f *trainFlags) dbn() *dbnOptions { return f.models.lookup(dbnModel).opts.(*dbnOptions) }

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
	o := f.dbn()
	switch {
	case f.Resume != "" && cmd.Flags().Changed("epochs"):
		return usagef("train: --resume of a DBN run continues its saved epochs; --epochs cannot change")
	case o.FineTuneEpochs < 0:
		return usagef("train: --finetune-epochs %d: want ≥ 0", o.FineTuneEpochs)
	case !(o.FineTuneLR > 0):
		return usagef("train: --finetune-lr %v: want a positive rate", o.FineTuneLR)
	case !(o.BottomLR > 0) || math.IsInf(o.BottomLR, 0):
		return usagef("train: --bottom-lr %v: want a positive rate", o.BottomLR)
	case (o.FineTuneEpochs > 0 || o.LabelUnits) && f.Labels == "" && !strings.Contains(f.Data, "mnist"):
		return usagef("train: --finetune-epochs and --label-units need --labels")
	}
	ftSched, err := engine.ParseSchedule(o.FineTuneSched)
	if err != nil {
		return usagef("train: --finetune-lr-schedule: %v", err)
	}
	cfg, backend, train, val, err := prepareRun(cmd, f)
	if err != nil {
		return err
	}
	sizes, err := parseLayers(o.Layers, train.D)
	if err != nil {
		return err
	}
	if (o.FineTuneEpochs > 0 || o.LabelUnits) && train.Labels == nil {
		return usagef("train: %s has no labels: pass --labels", f.Data)
	}
	if err := checkMemory(stdout, "train", dbnMemory(f.layerConfigs(cfg, len(sizes)-1), sizes, train.N+heldOut(val)), backend); err != nil {
		return err
	}
	if err := f.makeOutDir(); err != nil {
		return err
	}
	fingerprint := train.Fingerprint()
	// saved reports whether a layer checkpoint exists to fall back on: one
	// this run wrote, or the progress it resumed.
	saved := false
	var resume *dbn.Progress
	if f.Resume != "" {
		if resume, err = loadDBNProgress(f.Resume, len(sizes)-1, cfg.Epochs, train, f.Data); err != nil {
			return err
		}
		if err := truncateDBNMetrics(filepath.Join(f.Out, metricsFile), resume); err != nil {
			return err
		}
		saved = true
	} else if err := removeLayerCheckpoints(f.Out); err != nil {
		return err
	}
	metrics, err := f.openMetrics()
	if err != nil {
		return err
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
	cfgs := f.layerConfigs(cfg, len(sizes)-1)
	bottom := ""
	if o.GaussianBottom {
		bottom = fmt.Sprintf(", Gaussian bottom layer (lr %g)", cfgs[0].Defaults().LR)
	}
	f.noteDevice(cmd.ErrOrStderr())
	fmt.Fprintf(stdout, "pretraining DBN %v on %s (%d samples), %s per layer, %d epochs, batch %d, lr %g%s, %s; output %s\n",
		sizes, f.Data, train.N, cfg.Algorithm(), cfg.Epochs, min(cfg.Batch, train.N), cfg.LR, bottom, backend.Name(), f.Out)
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
	if resume != nil {
		fmt.Fprintf(stdout, "resuming: %d layers done%s\n", len(resume.Done), resumePosition(resume))
	}
	pre := &dbn.Pretrainer{Sizes: sizes, Configs: cfgs, Labels: o.LabelUnits, Backend: backend,
		Callbacks: []dbn.LayerCallback{onEpoch}, Resume: resume,
		Checkpoint: func(p *dbn.Progress) error {
			if err := engine.SaveSnapshot(layerCheckpoint(f.Out, p.Layer()), p.Current, fingerprint); err != nil {
				return err
			}
			saved = true
			return nil
		}}
	net, prog, err := pre.Fit(ctx, train)
	if errors.Is(err, context.Canceled) {
		if prog != nil && prog.Current != nil {
			path := layerCheckpoint(f.Out, prog.Layer())
			if serr := engine.SaveSnapshot(path, prog.Current, fingerprint); serr != nil {
				return fmt.Errorf("interrupted; saving the checkpoint failed: %w", serr)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rbmgpu: interrupted in layer %d at epoch %d, batch %d; saved %s; continue with: rbmgpu train --resume %s\n",
				prog.Layer(), prog.Current.Epoch+1, prog.Current.Batch, path, f.Out)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "rbmgpu: interrupted during pretraining; finished layers are saved; continue with: rbmgpu train --resume %s\n", f.Out)
		}
		return errInterrupted
	}
	if err != nil && saved {
		return fmt.Errorf("train: pretrain DBN: %w (finished layers and the last good checkpoint are in %s)", err, f.Out)
	}
	if err != nil {
		return fmt.Errorf("train: pretrain DBN: %w", err)
	}
	if o.FineTuneEpochs > 0 {
		ft := dbn.FineTuneConfig{Epochs: o.FineTuneEpochs, LR: o.FineTuneLR, Schedule: ftSched, Batch: cfg.Batch, Seed: f.Seed, Patience: 3}
		fmt.Fprintf(stdout, "fine-tuning %d epochs (Adam, lr %g) on %d labelled samples, %d held out\n", ft.Epochs, ft.LR, train.N, heldOut(val))
		res, err := dbn.FineTune(ctx, net, train, val, ft)
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
	if err := models.SaveDBN(path, net); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s (score it with: rbmgpu eval --model %s --data TEST [--labels TEST_LABELS] [--ais])\n", path, path)
	return nil
}

// dbnMemory is the memory estimate of greedy pretraining: the layer that
// needs the most, layer l (l > 0) training on the N×sizes[l] probabilities
// of the layer below while the data (N×sizes[0]) stay loaded.
func dbnMemory(cfgs []engine.Config, sizes []int, N int) engine.MemoryEstimate {
	var most engine.MemoryEstimate
	for l := range len(sizes) - 1 {
		c := cfgs[min(l, len(cfgs)-1)]
		c.Hidden = sizes[l+1]
		e := engine.EstimateMemory(c, N, sizes[l])
		if l > 0 {
			data := 4 * int64(N) * int64(sizes[0])
			e.Data += data
			e.Host += data
		}
		if e.OnHost() > most.OnHost() {
			most = e
		}
	}
	return most
}

// layerCheckpoint is the checkpoint of layer l of a DBN run: the layer's
// training snapshot (an RBM checkpoint, see engine.SaveSnapshot), rewritten
// after every epoch; a layer whose file holds the last epoch is finished.
func layerCheckpoint(dir string, l int) string {
	return filepath.Join(dir, fmt.Sprintf("layer%d.safetensors", l))
}

// removeLayerCheckpoints deletes the layer checkpoints of an earlier run in
// dir so that a fresh run never resumes from them.
func removeLayerCheckpoints(dir string) error {
	old, err := filepath.Glob(filepath.Join(dir, "layer*.safetensors"))
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	for _, path := range old {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	return nil
}

// loadDBNProgress reads the layer checkpoints of a DBN run: layers whose
// snapshot completed all epochs are finished, the first one that did not is
// resumed, later files are ignored (they cannot exist in a run of ours).
func loadDBNProgress(dir string, layers, epochs int, train *data.Dataset, dataName string) (*dbn.Progress, error) {
	p := &dbn.Progress{}
	for l := 0; l < layers; l++ {
		path := layerCheckpoint(dir, l)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		s, meta, err := engine.LoadSnapshot(path)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if err := sameData(dataName, train, meta.DataFingerprint); err != nil {
			return nil, err
		}
		if s.Epoch >= epochs && s.Batch == 0 {
			m := s.RBM()
			if g := s.GRBM(); g != nil && l == 0 {
				if p.Bottom, m, err = models.NewGaussianBottom(g); err != nil {
					return nil, fmt.Errorf("resume: %s: %w", path, err)
				}
			}
			p.Done = append(p.Done, m)
			continue
		}
		p.Current = s
		break
	}
	if len(p.Done) == layers {
		if _, err := os.Stat(filepath.Join(dir, dbnFile)); err == nil {
			return nil, usagef("train: --resume: the DBN run in %s already completed (%s)", dir, filepath.Join(dir, dbnFile))
		}
	}
	return p, nil
}

func resumePosition(p *dbn.Progress) string {
	if p.Current == nil {
		return ""
	}
	return fmt.Sprintf(", layer %d after epoch %d, batch %d", p.Layer(), p.Current.Epoch, p.Current.Batch)
}

// truncateDBNMetrics keeps the metrics records of finished layers and of the
// resumed layer's completed epochs, so that the resumed run appends where
// its checkpoints left off; fine-tuning records are dropped (fine-tuning
// reruns from the pretrained network).
func truncateDBNMetrics(path string, p *dbn.Progress) error {
	cur, done := p.Layer(), 0
	if p.Current != nil {
		done = p.Current.Epoch
	}
	return filterMetrics(path, func(r metricsRecord) bool {
		return r.Layer != nil && (*r.Layer < cur || (*r.Layer == cur && r.Epoch >= 1 && r.Epoch <= done))
	})
}

// layerConfigs returns the per-layer settings of a DBN run: cfg for every
// layer, except that with --gaussian-bottom layer 0 is a Gaussian RBM
// (the grbm kind's settings: --learn-sigma, --sigma-floor) trained at
// --bottom-lr.
func (f *trainFlags) layerConfigs(cfg engine.Config, layers int) []engine.Config {
	o := f.dbn()
	if !o.GaussianBottom {
		return []engine.Config{cfg}
	}
	cfgs := make([]engine.Config, layers)
	for l := range cfgs {
		cfgs[l] = cfg
	}
	b := &cfgs[0]
	b.Model, b.Options, b.LR = models.KindGRBM, f.models.lookup(models.KindGRBM).opts, o.BottomLR
	b.Centered, b.CenterRate = false, 0 // --centered centres the Bernoulli layers only
	return cfgs
}
