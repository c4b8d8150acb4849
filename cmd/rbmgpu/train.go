package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// trainFlags are the shared flags of `rbmgpu train`; zero values of
// epochs, batch and lr mean "the default for this data set" (see
// dataDefaults). Each model's own flags write into its options (models).
type trainFlags struct {
	Data           string  `json:"data"`
	Labels         string  `json:"labels,omitempty"`
	Binarize       string  `json:"binarize"`
	Val            float64 `json:"val"`
	Hidden         int     `json:"hidden"`
	CD             int     `json:"cd,omitempty"`
	PCD            int     `json:"pcd,omitempty"`
	Chains         int     `json:"chains,omitempty"`
	PT             int     `json:"pt,omitempty"`
	PTTarget       float64 `json:"pt_target,omitempty"`
	PTBetaMin      float64 `json:"pt_beta_min,omitempty"`
	Epochs         int     `json:"epochs"`
	Batch          int     `json:"batch"`
	LR             float64 `json:"lr"`
	Schedule       string  `json:"lr_schedule"`
	Momentum       float64 `json:"momentum"`
	WeightDecay    float64 `json:"weight_decay"`
	L1             float64 `json:"l1,omitempty"`
	SparsityTarget float64 `json:"sparsity_target,omitempty"`
	SparsityCost   float64 `json:"sparsity_cost,omitempty"`
	Centered       bool    `json:"centered,omitempty"`
	CenterRate     float64 `json:"center_rate,omitempty"`
	Seed           uint64  `json:"seed"`
	EvalEvery      int     `json:"eval_every"`
	LLChains       int     `json:"ll_chains"`
	Device         string  `json:"-"`
	Out            string  `json:"-"`
	Resume         string  `json:"-"`
	Quiet          bool    `json:"-"`
	deviceNote     string  // why --device auto fell back to the CPU, printed as training starts
	PNG            bool    `json:"-"`
	PNGSteps       int     `json:"-"`
	Model          string  `json:"model"`
	Visible        string  `json:"visible,omitempty"` // --visible: bernoulli or potts (train_prbm.go)

	// models are the values of --model with their settings (saved in
	// config.json beside the fields above).
	models *modelFlags
	// clock times the parts of the run for its last line.
	clock runClock
}

func newTrainCmd() *cobra.Command { return newTrainCmdWith(&trainFlags{}) }

// newTrainCmdWith returns the train command writing its flags into f.
func newTrainCmdWith(f *trainFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a model (--model " + strings.Join(modelNames(), ", ") + ") on a data set",
		Long: `train fits a model to a data set — by default (--model rbm) a Bernoulli–Bernoulli
restricted Boltzmann machine, with contrastive divergence (--cd K) or
persistent contrastive divergence (--pcd K) — and writes, in --out:

  model.safetensors  the model and training state (a checkpoint, rewritten
                     atomically after every epoch, at most once a second,
                     after the last epoch and on Ctrl-C)
  metrics.jsonl      one JSON object per epoch
  config.json        the settings of the run

With no flags it trains on the built-in bars-and-stripes 4x4 data set in
seconds (centred PCD-5, 100 chains) and prints the exact log-likelihood
every 10 epochs (optimum -log 30 = -3.401; the defaults reach about -3.59). Data files: IDX (MNIST/Fashion-MNIST, raw or .gz), .npy, .npz, .csv;
values are scaled to [0,1] when they exceed it.

--model chooses another model; flags prefixed with a model name in the list
below apply to that model only. --visible potts makes the RBM's visible units
the categorical columns of an alignment (--data FASTA/A2M/Stockholm, --alphabet,
--reweight): a Potts–Bernoulli RBM.

Interrupt with Ctrl-C: the run is saved and can be continued with
--resume DIR, which gives exactly the model an uninterrupted run would.
A DBN run (--model dbn) checkpoints every layer (layer0.safetensors, …)
and resumes in the layer where it stopped.`,
		Example: `  rbmgpu train
  rbmgpu train --cd 1 --momentum 0.5 --epochs 300
  rbmgpu train --data /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
               --hidden 500 --cd 1 --epochs 5 --binarize threshold --out runs/fmnist
  rbmgpu train --resume runs/fmnist --epochs 10
  rbmgpu train --visible potts --data RRM_1.sto.gz --hidden 64 --pcd 1 --out runs/rrm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrain(cmd, f) },
	}
	fl := cmd.Flags()
	f.models = addModelFlags(fl)
	def := engine.Config{}.Defaults()
	bas, file := dataDefaults(true, engine.DefaultKind), dataDefaults(false, engine.DefaultKind)
	fl.StringVar(&f.Data, "data", "bas:4x4", "training data: bas:RxC (built in), fashion-mnist[:test], mnist[:test], or a file (IDX, .npy, .npz, .csv)")
	fl.StringVar(&f.Labels, "labels", "", "labels file (IDX, .npy or one-column .csv), kept with the data")
	fl.StringVar(&f.Binarize, "binarize", "none", "none | threshold[:T] (x ≥ T → 1, T default 0.5) | stochastic (x → 1 with probability x)")
	f.Val = -1
	fl.Var(unsetFloat{&f.Val}, "val", fmt.Sprintf("fraction held out for the free-energy gap and held-out log-likelihood (default %g for files, %g for bas)", file.val, bas.val))
	fl.IntVar(&f.Hidden, "hidden", def.Hidden, "number of hidden units")
	fl.IntVar(&f.CD, "cd", 0, "train with CD-K (K Gibbs steps from the data)")
	fl.IntVar(&f.PCD, "pcd", 0, fmt.Sprintf("train with PCD-K (K Gibbs steps of persistent chains); the default algorithm: rbm PCD-%d for bas, PCD-%d for files; bm PCD-1; grbm and dbn CD-%d",
		bas.pcd, file.pcd, def.K))
	fl.IntVar(&f.Chains, "chains", 0, fmt.Sprintf("number of persistent chains for PCD (default: rbm %d for bas, %d for files; other models the batch size)", bas.chains, file.chains))
	addPTFlags(fl, f)
	otherBAS := dataDefaults(true, "")
	fl.IntVar(&f.Epochs, "epochs", 0, fmt.Sprintf("passes over the data (default %d for bas (other models than rbm: %d), %d for files)", bas.epochs, otherBAS.epochs, file.epochs))
	fl.IntVar(&f.Batch, "batch", 0, fmt.Sprintf("mini-batch size (default %d for bas, %d for files)", bas.batch, file.batch))
	fl.Float64Var(&f.LR, "lr", 0, lrHelp(f.models))
	fl.StringVar(&f.Schedule, "lr-schedule", "", fmt.Sprintf("constant | linear[:FINAL] (to FINAL·lr) | exp:GAMMA (lr·GAMMA^epoch) (default: rbm with PCD %s; otherwise %s)",
		file.pcdSchedule, engine.ConstantSchedule{}))
	f.Momentum = -1
	fl.Var(unsetFloat{&f.Momentum}, "momentum", fmt.Sprintf("momentum in [0,1) (default: rbm with PCD %g; otherwise %g)", file.pcdMomentum, file.cdMomentum))
	fl.Float64Var(&f.WeightDecay, "weight-decay", 0, "L2 weight decay on W")
	fl.Float64Var(&f.L1, "l1", 0, "L1 penalty on W (a Potts model's couplings): −λ·sign(W) added to the gradient")
	fl.Float64Var(&f.SparsityTarget, "sparsity-target", 0.1, "target mean hidden activation (with --sparsity-cost)")
	fl.Float64Var(&f.SparsityCost, "sparsity-cost", 0, "weight of the sparsity penalty (0 disables it)")
	// The default depends on the model (resolved in runTrain, stated in
	// the usage), so pflag shows none of its own.
	fl.BoolVar(&f.Centered, "centered", false, centeredHelp)
	fl.Float64Var(&f.CenterRate, "center-rate", 0, fmt.Sprintf("running-average rate ν of the offsets of --centered (default %g)", graph.DefaultCenterRate))
	fl.Uint64Var(&f.Seed, "seed", 1, "seed of initialisation, data order and every Gibbs draw")
	fl.IntVar(&f.EvalEvery, "eval-every", 0, fmt.Sprintf("compute log-likelihood (exact, or by trajectory AIS for an RBM too big to enumerate) and free-energy gap every N epochs and after the last (default %d for bas (other models than rbm: %d), %d for files)", bas.evalEvery, otherBAS.evalEvery, file.evalEvery))
	f.LLChains = -1
	fl.Var(unsetInt{&f.LLChains}, "ll-chains", fmt.Sprintf("track the log-likelihood of an rbm too big to enumerate at the evaluated epochs by trajectory AIS with N chains (default %d for an rbm trained on files by PCD, else 0; 0: off)", file.llChains))
	fl.StringVar(&f.Device, "device", "auto", "auto | cpu | cpu-tape (reference interpreter) | cuda | cuda:N")
	fl.StringVar(&f.Out, "out", "", "output directory (default runs/YYYYMMDD-HHMMSS)")
	fl.StringVar(&f.Resume, "resume", "", "continue the run saved in this directory (its settings and data are reused; --epochs may extend it)")
	fl.BoolVar(&f.Quiet, "quiet", false, "no progress output, only the per-epoch lines")
	fl.BoolVar(&f.PNG, "png", false, "after every epoch write filters.png and samples.png into --out (see rbmgpu plot)")
	fl.IntVar(&f.PNGSteps, "png-steps", 200, "Gibbs sweeps of the 64 chains drawn into samples.png by --png")
	fl.StringVar(&f.Model, "model", engine.DefaultKind, f.models.help())
	fl.StringVar(&f.Visible, "visible", visibleBernoulli, visibleUsage)
	return cmd
}

// unsetFloat is a float flag whose negative value means "the data set's
// default": it shows as empty while unset, so that --help prints only the
// default its usage names, not pflag's "(default -1)".
type unsetFloat struct{ p *float64 }

func (v unsetFloat) String() string {
	if v.p == nil || *v.p < 0 {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v unsetFloat) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v.p = x
	return nil
}

func (unsetFloat) Type() string { return "float" }

// unsetInt is unsetFloat for an integer flag.
type unsetInt struct{ p *int }

func (v unsetInt) String() string {
	if v.p == nil || *v.p < 0 {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v unsetInt) Set(s string) error {
	x, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v.p = x
	return nil
}

func (unsetInt) Type() string { return "int" }

// isBuiltin reports whether the data spec names built-in data.
func isBuiltin(spec string) bool { return strings.HasPrefix(spec, "bas:") }

// runDefaults are the settings whose default depends on the data set and
// the model.
type runDefaults struct {
	epochs, batch int
	lr, val       float64
	// pcd is the default algorithm: PCD-pcd when positive, else CD-1.
	pcd int
	// chains is the default number of persistent chains, 0 for the batch.
	chains int
	// The momentum and learning-rate schedule of PCD and CD runs.
	pcdMomentum, cdMomentum float64
	pcdSchedule, cdSchedule string
	// evalEvery is the default cadence of the evaluation, in epochs.
	evalEvery int
	// llChains is the default number of trajectory-AIS chains that track
	// the log-likelihood of a PCD run (0: not tracked); CD runs are not
	// tracked by default.
	llChains int
}

// dataDefaults are the CLI's defaults for the built-in bars-and-stripes
// (builtin) or a data file, for a run of the engine kind `kind`: the tiny
// built-in set trains long, on small batches, with nothing held out; the
// learning rate is the kind's own default, except that on bars-and-stripes
// a kind at the engine's shared rate trains at 0.1.
//
// The Bernoulli RBM (the model "rbm", not a DBN's layers) trains by the
// recipe of the defaults study in bench/RESULTS.md: PCD with many
// persistent chains, no momentum (the chains cannot follow fast parameter
// changes) and a learning rate decaying linearly to 0. Other models keep
// CD-1 with momentum 0.5 and a constant rate.
func dataDefaults(builtin bool, model string) runDefaults {
	kind := model
	if _, err := engine.LookupKind(model); err != nil {
		kind = engine.DefaultKind
	}
	constant := engine.ConstantSchedule{}.String()
	// The kind's rate at the CLI's momentum 0.5 (potts scales its rate by
	// 1 − momentum; the others do not).
	d := runDefaults{epochs: 10, batch: 100, lr: engine.Config{Model: kind, Momentum: 0.5}.Defaults().LR, val: 0.1, evalEvery: 1,
		pcdMomentum: 0.5, cdMomentum: 0.5, pcdSchedule: constant, cdSchedule: constant}
	if builtin {
		d.epochs, d.batch, d.val = 300, 10, 0
		if d.lr == engine.DefaultLR {
			d.lr = 0.1
		}
	}
	if model == engine.DefaultKind {
		d.pcd, d.chains, d.pcdMomentum, d.pcdSchedule = 1, 1000, 0, "linear:0"
		d.llChains = models.DefaultTrajectoryChains
		if builtin {
			// Bars-and-stripes is evaluated exactly: nothing to track.
			d.epochs, d.pcd, d.chains, d.evalEvery, d.llChains = 1000, 5, 100, 10, 0
		}
	}
	return d
}

// lrHelp is the usage of --lr: the defaults of dataDefaults, and every
// kind's whose differ.
func lrHelp(mf *modelFlags) string {
	bas, file := dataDefaults(true, engine.DefaultKind), dataDefaults(false, engine.DefaultKind)
	s := fmt.Sprintf("learning rate (default %g for bas, %g for files", bas.lr, file.lr)
	for _, m := range mf.models {
		if b, f := dataDefaults(true, m.name), dataDefaults(false, m.name); m.kind && (b.lr != bas.lr || f.lr != file.lr) {
			if b.lr == f.lr {
				s += fmt.Sprintf("; --model %s: %g", m.name, b.lr)
			} else {
				s += fmt.Sprintf("; --model %s: %g for bas, %g for files", m.name, b.lr, f.lr)
			}
		}
	}
	return s + ")"
}

// kind is the engine kind of the run: the model's, or for a model the CLI
// builds from kinds (a DBN) the default kind.
func (f *trainFlags) kind() string {
	if m := f.models.lookup(f.Model); m != nil && m.kind {
		return m.name
	}
	return engine.DefaultKind
}

// fillDefaults fills the settings left unset (dataDefaults) for the data
// set and the model: epochs, batch, lr, val, the algorithm, the chains,
// the momentum and the schedule.
func (f *trainFlags) fillDefaults() {
	model := f.Model
	if model == "" {
		model = engine.DefaultKind
	}
	d := dataDefaults(isBuiltin(f.Data), model)
	if f.CD == 0 && f.PCD == 0 && d.pcd > 0 {
		f.PCD = d.pcd
	}
	if f.PCD > 0 && f.Chains == 0 {
		f.Chains = d.chains
	}
	if f.Momentum < 0 {
		f.Momentum = d.cdMomentum
		if f.PCD > 0 {
			f.Momentum = d.pcdMomentum
		}
	}
	if f.Schedule == "" {
		f.Schedule = d.cdSchedule
		if f.PCD > 0 {
			f.Schedule = d.pcdSchedule
		}
	}
	if f.Epochs == 0 {
		f.Epochs = d.epochs
	}
	if f.Batch == 0 {
		f.Batch = d.batch
	}
	if f.LR == 0 {
		f.LR = d.lr
	}
	if f.Val < 0 {
		f.Val = d.val
	}
	if f.EvalEvery == 0 {
		f.EvalEvery = d.evalEvery
	}
	if f.LLChains < 0 {
		f.LLChains = 0
		if f.PCD > 0 {
			f.LLChains = d.llChains
		}
	}
}

// config turns validated flags into the trainer's configuration.
func (f *trainFlags) config() (engine.Config, error) {
	if f.CD != 0 && f.PCD != 0 {
		return engine.Config{}, usagef("train: --cd and --pcd are exclusive: pick one algorithm")
	}
	if f.CD < 0 || f.PCD < 0 {
		return engine.Config{}, usagef("train: --cd/--pcd K must be ≥ 1 Gibbs steps")
	}
	if f.Chains != 0 && f.PCD == 0 {
		return engine.Config{}, usagef("train: --chains only applies to PCD (--pcd K), not to --cd")
	}
	if err := f.checkPT(); err != nil {
		return engine.Config{}, err
	}
	if !(f.Val >= 0 && f.Val < 1) {
		return engine.Config{}, usagef("train: --val %v: want a fraction in [0, 1)", f.Val)
	}
	if f.CenterRate != 0 && !f.Centered {
		return engine.Config{}, usagef("train: --center-rate only applies with --centered")
	}
	sched, err := engine.ParseSchedule(f.Schedule)
	if err != nil {
		return engine.Config{}, usagef("train: --lr-schedule: %v", err)
	}
	k, pcd := f.CD, false
	if f.PCD != 0 {
		k, pcd = f.PCD, true
	}
	c := engine.Config{
		Model: f.kind(), Options: f.models.lookup(f.kind()).opts,
		Hidden: f.Hidden, K: k, Persistent: pcd, Chains: f.Chains, Epochs: f.Epochs, Batch: f.Batch,
		LR: f.LR, Schedule: sched, Momentum: f.Momentum, InitialMomentum: f.Momentum, WeightDecay: f.WeightDecay, L1: f.L1,
		SparsityTarget: f.SparsityTarget, SparsityCost: f.SparsityCost, Seed: f.Seed, EvalEvery: f.EvalEvery,
		PT: f.PT, PTTarget: f.PTTarget, PTBetaMin: f.PTBetaMin,
		Centered: f.Centered, CenterRate: f.CenterRate,
		LLChains: f.LLChains,
	}
	// Zero means "default" inside engine.Config, so reject explicit
	// non-positive values here where the user typed them.
	for _, v := range []struct {
		name string
		val  int
	}{{"--hidden", f.Hidden}, {"--epochs", f.Epochs}, {"--batch", f.Batch}, {"--eval-every", f.EvalEvery}} {
		if v.val < 1 {
			return c, usagef("train: %s %d: want ≥ 1", v.name, v.val)
		}
	}
	c = c.Defaults()
	if err := c.Validate(); err != nil {
		return c, usagef("train: %v", err)
	}
	return c, nil
}

// loadData loads and preprocesses the data and splits off the held-out part.
func (f *trainFlags) loadData() (train, val *data.Dataset, err error) {
	var d *data.Dataset
	if m := f.models.lookup(f.Model); m != nil && m.cli.loadData != nil {
		d, err = m.cli.loadData(f)
	} else {
		d, err = prepareData(f.Data, f.Labels, f.Binarize, f.Seed, f.realValued())
	}
	if err != nil {
		return nil, nil, err
	}
	if f.Val == 0 {
		return d, nil, nil
	}
	train, val, err = d.Split(f.Val, f.Seed)
	if err != nil {
		return nil, nil, usagef("train: --val %v: %v", f.Val, err)
	}
	return train, val, nil
}

// heldOut is the number of held-out samples (none without --val).
func heldOut(val *data.Dataset) int {
	if val == nil {
		return 0
	}
	return val.N
}

// realValued reports whether the run models real-valued data (see
// modelCLI.realValued): its data keep their units, since the model
// standardises them itself.
func (f *trainFlags) realValued() bool {
	m := f.models.lookup(f.Model)
	return m != nil && m.cli.realValued != nil && m.cli.realValued(f)
}

// resumeFlags reads the flags saved with a run (the models' settings
// included); explicitly set flags other than --epochs, --device, --quiet,
// --eval-every, --out and the --png ones may not change them.
func resumeFlags(cmd *cobra.Command, f *trainFlags) error {
	path := filepath.Join(f.Resume, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	saved := *f
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("resume: %s: %v", path, err)
	}
	if saved.LLChains < 0 {
		// Saved before ll_chains was always written: such a run was
		// tracked only when asked, and then it was written.
		saved.LLChains = 0
	}
	if err := f.models.load(b); err != nil {
		return fmt.Errorf("resume: %s: %v", path, err)
	}
	var bad []string
	cmd.Flags().Visit(func(fl *pflagFlag) {
		switch fl.Name {
		case "resume", "epochs", "device", "quiet", "eval-every", "out", "png", "png-steps":
		default:
			bad = append(bad, "--"+fl.Name)
		}
	})
	if len(bad) > 0 {
		return usagef("train: --resume continues the saved settings; %s cannot be changed (only --epochs, --eval-every, --device, --out)", strings.Join(bad, ", "))
	}
	epochs, evalEvery := f.Epochs, f.EvalEvery
	saved.Device, saved.Out, saved.Resume, saved.Quiet = f.Device, f.Out, f.Resume, f.Quiet
	saved.PNG, saved.PNGSteps = f.PNG, f.PNGSteps
	*f = saved
	if cmd.Flags().Changed("epochs") {
		f.Epochs = epochs
	}
	if cmd.Flags().Changed("eval-every") {
		f.EvalEvery = evalEvery
	}
	if f.Out == "" {
		f.Out = f.Resume
	}
	return nil
}

func runTrain(cmd *cobra.Command, f *trainFlags) error {
	f.clock.start = time.Now()
	stderr := cmd.ErrOrStderr()
	data.DownloadNotify = func(s string) { fmt.Fprintln(stderr, "rbmgpu: "+s) }
	if f.Resume != "" {
		// The saved settings (the model included) come first: a resumed
		// DBN run is dispatched as a DBN run.
		if err := resumeFlags(cmd, f); err != nil {
			return err
		}
	}
	if err := routeVisible(cmd, f); err != nil {
		return err
	}
	m := f.models.lookup(f.Model)
	if m == nil {
		return usagef("train: --model %q: want %s", f.Model, f.models.names())
	}
	if err := f.models.check(cmd.Flags(), f.Model); err != nil {
		return err
	}
	if err := f.models.validate(cmd.Flags()); err != nil {
		return err
	}
	if err := checkTyped(cmd, f); err != nil {
		return err
	}
	if f.Resume == "" && !cmd.Flags().Changed("centered") {
		// The kind's default, for the model itself and its default
		// algorithm (the study's PCD recipe): a DBN's layers, CD runs and
		// parallel tempering (which has no centring) train uncentred.
		f.Centered = engine.CenteredDefault(f.kind()) && f.Model == f.kind() && f.PT == 0 && f.CD == 0
	}
	if m.cli.run != nil {
		return m.cli.run(cmd, f)
	}
	return trainSingle(cmd, f, m)
}

// checkTyped rejects zero or negative counts and rates typed on the
// command line: zero means "the default" inside, so a typed one is a
// mistake, not a request (the held-out fraction may be 0).
func checkTyped(cmd *cobra.Command, f *trainFlags) error {
	for _, name := range []string{"epochs", "batch", "lr", "cd", "pcd", "chains", "eval-every", "pt", "pt-target", "pt-beta-min", "center-rate"} {
		if fl := cmd.Flags().Lookup(name); fl.Changed {
			if v, err := strconv.ParseFloat(fl.Value.String(), 64); err == nil && !(v > 0) {
				return usagef("train: --%s %s: want a positive value", name, fl.Value.String())
			}
		}
	}
	if cmd.Flags().Changed("val") && f.Val < 0 {
		return usagef("train: --val %v: want a fraction in [0, 1)", f.Val)
	}
	if cmd.Flags().Changed("ll-chains") && (f.LLChains < 0 || f.LLChains == 1) {
		return usagef("train: --ll-chains %d: want 0 (off) or at least 2 chains", f.LLChains)
	}
	if cmd.Flags().Changed("momentum") && f.Momentum < 0 {
		return usagef("train: --momentum %v: want a value in [0, 1)", f.Momentum)
	}
	return nil
}

// trainSingle trains one model of an engine kind: the model's CLI shapes
// the run (prepare, shape), everything else is shared.
func trainSingle(cmd *cobra.Command, f *trainFlags, m *trainModel) error {
	if m.cli.prepare != nil {
		m.cli.prepare(f)
	}
	if f.PNGSteps < 1 {
		return usagef("train: --png-steps %d: want ≥ 1", f.PNGSteps)
	}
	cfg, backend, train, val, err := prepareRun(cmd, f)
	if err != nil {
		return err
	}
	est := engine.EstimateMemory(cfg, train.N+heldOut(val), train.D).WithData(data.StorageBytesOf(train, val))
	if err := checkMemory(cmd.OutOrStdout(), "train", est, backend); err != nil {
		return err
	}
	r := &modelRun{
		cfg: cfg, backend: backend, train: train, val: val, stdout: cmd.OutOrStdout(),
		// A checkpoint saved before the first batch finished holds no
		// progress worth a line.
		announce: func(s *engine.Snapshot) bool { return s.Epoch > 0 || s.Batch > 0 },
		afterEpoch: func(_ engine.EpochMetrics, s *engine.Snapshot) error {
			if !f.PNG {
				return nil
			}
			return epochPictures(f.Out, s, train.Shape, f.PNGSteps, f.Seed)
		},
	}
	r.banner = func() string { return f.banner(r, strings.ToUpper(m.name)) }
	if m.cli.shape != nil {
		m.cli.shape(r, f)
	}
	return f.fitModel(cmd, *r)
}

// banner is the first line of a single-model run of the model what.
func (f *trainFlags) banner(r *modelRun, what string) string {
	cfg, train := r.cfg, r.train
	if cfg.Centered {
		what = "centred " + what
	}
	return fmt.Sprintf("training %s %s %d×%d on %s (%d samples, %d held out), %s, batch %d, lr %g, %d epochs, %s; output %s",
		cfg.Algorithm(), what, train.D, cfg.Hidden, f.Data, train.N, heldOut(r.val), r.backend.Name(), min(cfg.Batch, train.N),
		cfg.LR, cfg.Epochs, deviceNote(r.backend), f.Out)
}

// modelRun is what one single-model training run brings to fitModel;
// everything else about a run is shared.
type modelRun struct {
	cfg        engine.Config
	backend    engine.Backend
	train, val *data.Dataset
	// ofKind rejects, on --resume, a checkpoint that holds another kind of
	// model (nil: any kind).
	ofKind func(*engine.Snapshot) error
	// banner is the first line of output; it is called once --out is
	// settled, since the line names it.
	banner func() string
	// announce reports whether a resumed run says where it continues.
	announce func(*engine.Snapshot) bool
	// afterEpoch runs after every epoch, once its checkpoint (if due) is
	// written (nil: nothing).
	afterEpoch func(engine.EpochMetrics, *engine.Snapshot) error
	stdout     io.Writer // where afterEpoch may print
}

// checkpointInterval is the least time between two checkpoints of a run
// whose epochs are shorter.
const checkpointInterval = time.Second

// checkpointShare bounds the share of a run's wall time spent writing
// checkpoints: after a write that took d, the next waits at least
// d·(1/checkpointShare − 1), so large models with short epochs (a Potts
// model of 80 sites, 0.2 s per write, 0.8 s per epoch) write every few
// epochs instead of after each.
const checkpointShare = 0.1

// nextCheckpointWait is how long after a checkpoint write that took d the
// next one waits: checkpointInterval, or longer for slow writes.
func nextCheckpointWait(d time.Duration) time.Duration {
	return max(checkpointInterval, time.Duration(float64(d)*(1/checkpointShare-1)))
}

// fitModel trains a single model to the end or to Ctrl-C: it prepares
// --out, continues the --resume checkpoint, and after every epoch prints the
// metrics, appends them to metrics.jsonl and rewrites the checkpoint (at
// most once per checkpointInterval, less often when a write is slow enough
// to take more than checkpointShare of the run, always after the last epoch
// and on an interrupt), so an interrupted or crashed run resumes where its files say
// it stopped.
func (f *trainFlags) fitModel(cmd *cobra.Command, r modelRun) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := f.makeOutDir(); err != nil {
		return err
	}
	tr := &engine.Trainer{Config: r.cfg, Backend: r.backend}
	fingerprint := r.train.Fingerprint()
	// lastGood is the newest checkpoint this run can fall back on: the one
	// it resumed from, then each it wrote; none for a fresh run that has
	// not written one yet.
	lastGood := ""
	if f.Resume != "" {
		lastGood = filepath.Join(f.Resume, modelFile)
		snap, err := f.resumeSnapshot(r.cfg.Epochs, r.train, r.ofKind)
		if err != nil {
			return err
		}
		tr.Resume = snap
	}
	metrics, err := f.openMetrics()
	if err != nil {
		return err
	}
	defer metrics.Close()

	f.noteDevice(stderr)
	fmt.Fprintln(stdout, r.banner())
	if s := tr.Resume; s != nil && r.announce(s) {
		fmt.Fprintf(stdout, "resuming after epoch %d, batch %d\n", s.Epoch, s.Batch)
	}
	epochs := r.cfg.Epochs
	var lastSave time.Time // zero: the first epoch is saved
	wait := checkpointInterval
	prog := newProgress(stderr, f.Quiet, epochs)
	tr.OnBatch = prog.batch
	tr.Callbacks = append(tr.Callbacks, func(m engine.EpochMetrics, s *engine.Snapshot) error {
		prog.clear()
		fmt.Fprintln(stdout, formatMetrics(m, epochs))
		line, err := json.Marshal(jsonMetrics(m))
		if err != nil {
			return err
		}
		if _, err := metrics.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		f.clock.epoch(m)
		// Epochs of a few milliseconds (bars-and-stripes) would spend
		// most of the run in fsync: save at most once a second, and
		// always after the last epoch. A resumed run truncates
		// metrics.jsonl to its checkpoint's epoch.
		if s.Epoch >= epochs || time.Since(lastSave) >= wait {
			if err := metrics.Sync(); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			t0 := time.Now()
			if err := f.clock.saved(func() error { return engine.SaveSnapshot(filepath.Join(f.Out, modelFile), s, fingerprint) }); err != nil {
				return err
			}
			lastSave, lastGood = time.Now(), filepath.Join(f.Out, modelFile)
			wait = nextCheckpointWait(lastSave.Sub(t0))
		}
		if r.afterEpoch != nil {
			return f.clock.evaluated(func() error { return r.afterEpoch(m, s) })
		}
		return nil
	})

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tr.Fit(ctx, r.train, r.val)
	prog.clear()
	if errors.Is(err, context.Canceled) && res != nil {
		if serr := engine.SaveSnapshot(filepath.Join(f.Out, modelFile), res.Snapshot, fingerprint); serr != nil {
			return fmt.Errorf("interrupted; saving the checkpoint failed: %w", serr)
		}
		fmt.Fprintf(stderr, "rbmgpu: interrupted at epoch %d, batch %d; saved %s; continue with: rbmgpu train --resume %s\n",
			res.Snapshot.Epoch+1, res.Snapshot.Batch, filepath.Join(f.Out, modelFile), f.Out)
		return errInterrupted
	}
	if err != nil && lastGood != "" {
		return fmt.Errorf("train: %w (last good checkpoint: %s)", err, lastGood)
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(stdout, "saved %s\n", filepath.Join(f.Out, modelFile))
	fmt.Fprintln(stdout, f.clock.summary())
	return nil
}

// resumeSnapshot loads the checkpoint that --resume continues, checks that
// it fits this run (ofKind, nil for any; the same data; epochs left to
// train) and cuts metrics.jsonl back to it, so that the resumed run appends
// where the checkpoint left off.
func (f *trainFlags) resumeSnapshot(epochs int, train *data.Dataset, ofKind func(*engine.Snapshot) error) (*engine.Snapshot, error) {
	snap, meta, err := engine.LoadSnapshot(filepath.Join(f.Resume, modelFile))
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if ofKind != nil {
		if err := ofKind(snap); err != nil {
			return nil, err
		}
	}
	if err := sameData(f.Data, train, meta.DataFingerprint); err != nil {
		return nil, err
	}
	if snap.Epoch >= epochs && snap.Batch == 0 {
		return nil, usagef("train: --resume: the run already completed %d epochs; pass --epochs N with N > %d to train further", snap.Epoch, snap.Epoch)
	}
	if err := truncateMetrics(filepath.Join(f.Out, metricsFile), snap.Epoch); err != nil {
		return nil, err
	}
	return snap, nil
}

// prepareRun does what every training run (RBM or DBN) does before it
// starts: fill the data set's defaults, validate the
// settings, open the backend and load and split the data.
func prepareRun(cmd *cobra.Command, f *trainFlags) (cfg engine.Config, backend engine.Backend, train, val *data.Dataset, err error) {
	f.fillDefaults()
	if cfg, err = f.config(); err != nil {
		return cfg, nil, nil, nil, err
	}
	if _, _, err := engine.ParseDevice(f.Device); err != nil {
		return cfg, nil, nil, nil, usagef("train: --device: %v", err)
	}
	if backend, f.deviceNote, err = openBackend(f.Device); err != nil {
		return cfg, nil, nil, nil, fmt.Errorf("train: --device %s: %w", f.Device, err)
	}
	train, val, err = f.loadData()
	f.clock.loaded(train)
	return cfg, backend, train, val, err
}

// noteDevice prints, once, why --device auto fell back to the CPU (set by
// prepareRun; nothing when it did not).
func (f *trainFlags) noteDevice(w io.Writer) {
	if f.deviceNote != "" {
		fmt.Fprintln(w, f.deviceNote)
		f.deviceNote = ""
	}
}

func deviceNote(b engine.Backend) string {
	switch b.Name() {
	case "cpu":
		return "lowered plan on Go kernels, " + engine.BLASName()
	case "cpu-tape":
		return "gorgonia tape machine (reference)"
	}
	return "GPU"
}
