package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// `rbmgpu train --model rbm --visible potts` (the engine kind prbm, also
// --model prbm): a Potts–Bernoulli RBM of an alignment (--data: FASTA,
// A2M/A3M, Stockholm) over --alphabet, its one-hot columns as categorical
// visible units, --hidden Bernoulli hidden units, trained by CD-k or PCD-k
// like the RBM; --weight-decay is the L2 penalty on W (and fixes the
// gauge: see engine's kind_prbm.go). With --reweight T (default 0.8) the
// sequences are resampled in proportion to their weights (the inverse of
// the number of sequences within identity T, align.Weights), so the
// trainer's uniform mini-batches fit the reweighted distribution;
// nothing is then held out by default, since resampled copies would leak
// into the held-out part. Each epoch prints the reconstruction error and
// the log-likelihood: exact when the smaller layer can be enumerated, else
// by AIS from the independent-site model (AIS-LL).

// Values of --visible.
const (
	visibleBernoulli = "bernoulli"
	visiblePotts     = "potts"
)

// visibleUsage is the help of --visible.
const visibleUsage = "visible units of --model rbm: bernoulli | potts (categorical sites of an alignment --data ALN with --alphabet and --reweight: a Potts–Bernoulli RBM, the prbm kind); --model bm --visible potts is bmDCA, the same as --model potts"

func init() {
	registerModelCLI(models.KindPottsRBM, &modelCLI{
		borrows: map[string]string{models.KindPotts: ""},
		refuses: map[string]string{"png": "", "binarize": "", "labels": "",
			"centered": "centring is for binary RBMs", "center-rate": "centring is for binary RBMs",
			"pt": "parallel tempering is for binary RBMs", "pt-target": "", "pt-beta-min": "",
			"sparsity-cost": "", "sparsity-target": ""},
		prepare:  preparePottsRBM,
		loadData: loadPottsRBMData,
		shape:    shapePottsRBM,
	})
}

// routeVisible applies --visible: with potts, --model rbm trains the
// prbm kind. It rejects an unknown value, --visible with a model other
// than rbm, and the potts kind's settings that a Potts RBM does not take.
func routeVisible(cmd *cobra.Command, f *trainFlags) error {
	changed := cmd.Flags().Changed("visible")
	switch f.Visible {
	case "", visibleBernoulli, visiblePotts:
	default:
		return usagef("train: --visible %q: want %s or %s", f.Visible, visibleBernoulli, visiblePotts)
	}
	switch {
	case f.Model == models.KindBM && f.Visible == visiblePotts:
		// A Boltzmann machine of Potts visible units and no hidden ones is
		// bmDCA: the potts kind.
		f.Model, f.Visible = models.KindPotts, ""
		return nil
	case f.Model == models.KindPotts:
		if f.Visible == visibleBernoulli && changed {
			return usagef("train: --visible bernoulli contradicts --model %s (Potts sites)", models.KindPotts)
		}
		f.Visible = ""
		return nil
	}
	if f.Model == models.KindPottsRBM {
		if f.Visible == visibleBernoulli && changed {
			return usagef("train: --visible bernoulli contradicts --model %s (a Potts–Bernoulli RBM)", models.KindPottsRBM)
		}
		f.Visible = visiblePotts
	} else if changed && f.Model != engine.DefaultKind {
		return usagef("train: --visible applies to --model rbm, not to --model %s", f.Model)
	} else if f.Visible == visiblePotts {
		f.Model = models.KindPottsRBM
	}
	if f.Model != models.KindPottsRBM {
		return nil
	}
	for _, name := range []string{"target-pearson", "pseudocount"} {
		if cmd.Flags().Changed(name) {
			return usagef("train: --%s applies to --model potts, not to --model rbm --visible potts", name)
		}
	}
	if cmd.Flags().Changed("val") && f.Val > 0 && pottsOpts(f).Reweight > 0 {
		return usagef("train: --val %g: a reweighted run (--reweight %g) trains on rows resampled by their weights, whose copies would leak into a held-out part; it holds nothing out", f.Val, pottsOpts(f).Reweight)
	}
	return nil
}

// pottsRBMOpts returns the prbm kind's options bound to the run.
func pottsRBMOpts(f *trainFlags) *engine.PottsRBMOptions {
	if m := f.models.lookup(models.KindPottsRBM); m != nil {
		if o, ok := m.opts.(*engine.PottsRBMOptions); ok {
			return o
		}
	}
	return engine.NewPottsRBMOptions()
}

// preparePottsRBM copies the alignment settings (the potts kind's flags)
// into the prbm options and holds nothing out of a reweighted run unless
// asked.
func preparePottsRBM(f *trainFlags) {
	p, o := pottsOpts(f), pottsRBMOpts(f)
	o.Alphabet, o.Reweight, o.Q, o.Letters = p.Alphabet, p.Reweight, 0, ""
	if f.Val < 0 && p.Reweight > 0 {
		f.Val = 0
	}
}

// loadPottsRBMData reads --data as an alignment over --alphabet, one-hot,
// resampled by the sequence weights when --reweight is positive.
func loadPottsRBMData(f *trainFlags) (*data.Dataset, error) {
	o := pottsOpts(f)
	a, err := align.ParseAlphabet(o.Alphabet)
	if err != nil {
		return nil, usagef("train: --alphabet: %v", err)
	}
	if isBuiltin(f.Data) {
		return nil, usagef("train: --visible potts needs an alignment: --data FILE (FASTA, A2M/A3M or Stockholm)")
	}
	msa, err := align.ReadFile(f.Data, align.Options{Alphabet: a, Ambiguous: align.AmbiguousGap})
	if err != nil {
		return nil, err
	}
	d, err := engine.PottsOneHot(msa)
	if err != nil || o.Reweight == 0 {
		return d, err
	}
	w, err := align.Weights(msa, o.Reweight)
	if err != nil {
		return nil, err
	}
	return engine.ResampleWeighted(d, w)
}

// shapePottsRBM gives the run its banner and the resume check.
func shapePottsRBM(r *modelRun, f *trainFlags) {
	cfg, train := r.cfg, r.train
	o := pottsRBMOpts(f)
	r.ofKind = func(s *engine.Snapshot) error {
		if s.PottsRBM() == nil {
			return fmt.Errorf("resume: %s holds no Potts RBM", filepath.Join(f.Resume, modelFile))
		}
		return nil
	}
	weights := "no reweighting"
	if o.Reweight > 0 {
		weights = fmt.Sprintf("rows resampled by sequence weights (reweight %g)", o.Reweight)
	}
	r.banner = func() string {
		return fmt.Sprintf("training %s Potts–Bernoulli RBM L=%d q=%d (%d one-hot units) × %d hidden on %s (%d samples, %d held out; %s), %s, batch %d, lr %g, weight decay %g, %d epochs, %s; output %s",
			cfg.Algorithm(), train.D/o.Q, o.Q, train.D, cfg.Hidden, f.Data, train.N, heldOut(r.val), weights, r.backend.Name(),
			min(cfg.Batch, train.N), cfg.LR, cfg.WeightDecay, cfg.Epochs, deviceNote(r.backend), f.Out)
	}
}

// isPottsRBM reports whether path (a run directory or a checkpoint) holds
// a Potts RBM.
func isPottsRBM(path string) bool {
	k, err := models.CheckpointKind(checkpointIn(path, modelFile))
	return err == nil && k == models.KindPottsRBM
}

// loadPottsRBM reads the Potts RBM of a run directory or checkpoint, its
// snapshot and, for a run directory, its settings.
func loadPottsRBM(path string) (*models.PottsRBM, *engine.Snapshot, *trainFlags, string, error) {
	file := checkpointIn(path, modelFile)
	var run *trainFlags
	if file != path {
		var err error
		if run, err = runConfig(path); err != nil {
			return nil, nil, nil, "", err
		}
	}
	snap, _, err := engine.LoadSnapshot(file)
	if err != nil {
		return nil, nil, nil, "", err
	}
	m := snap.PottsRBM()
	if m == nil {
		return nil, nil, nil, "", fmt.Errorf("model: %s holds no Potts RBM", file)
	}
	return m, snap, run, file, nil
}

// runEvalPottsRBM scores a Potts RBM on an alignment (--data, default the
// run's, over the alphabet it was trained with): the exact log Z and
// average log-likelihood when the smaller layer can be enumerated (or
// --exact), else (or with --ais) AIS from the independent-site model of
// the data.
func runEvalPottsRBM(cmd *cobra.Command, f *evalFlags) error {
	if f.PLL {
		return usagef("eval: --pll is for binary RBMs; a Potts RBM takes --exact or --ais")
	}
	m, snap, run, file, err := loadPottsRBM(f.Model)
	if err != nil {
		return err
	}
	if run != nil && f.Data == "" {
		f.Data = run.Data
	}
	if f.Data == "" {
		return usagef("eval: --data ALN is required for a Potts RBM checkpoint that is not a run directory")
	}
	o, _ := snap.Config.Options.(*engine.PottsRBMOptions)
	if o == nil {
		o = engine.NewPottsRBMOptions()
	}
	a, err := align.ParseAlphabet(o.Alphabet)
	if err != nil {
		return fmt.Errorf("eval: %s: alphabet %q: %v", file, o.Alphabet, err)
	}
	msa, err := align.ReadFile(f.Data, align.Options{Alphabet: a, Ambiguous: align.AmbiguousGap})
	if err != nil {
		return err
	}
	if msa.L != m.L || a.Q() != m.Q {
		return fmt.Errorf("eval: %s has %d columns of %d states, the model %d sites of %d", f.Data, msa.L, a.Q(), m.L, m.Q)
	}
	d, err := engine.PottsOneHot(msa)
	if err != nil {
		return err
	}
	n := d.N
	if f.N > 0 {
		n = min(n, f.N)
	}
	x := d.Rows(0, n)
	codes, err := m.Codes(x, n)
	if err != nil {
		return fmt.Errorf("eval: %s: %w", f.Data, err)
	}
	small := m.ExactBits() <= models.MaxExactPottsRBMBits
	if !f.AIS && !f.Exact {
		f.Exact, f.AIS = small, !small
	}
	if f.Exact && !small {
		return usagef("eval: --exact needs min(H, L·log2 q) ≤ %d; this Potts RBM has %d sites of %d states and %d hidden units (use --ais)",
			models.MaxExactPottsRBMBits, m.L, m.Q, m.H)
	}
	meanF := m.MeanFreeEnergy(codes, n)
	res := evalResult{Model: file, Data: f.Data, Visible: m.L * m.Q, Hidden: m.H, N: n, Kind: models.KindPottsRBM}
	if f.Exact {
		logZ, err := m.LogZ()
		if err != nil {
			return err
		}
		res.ExactLogZ, res.ExactLL = num(logZ), num(-meanF-logZ)
	}
	if f.AIS {
		start := time.Now()
		r, err := m.AIS(cmd.Context(), models.PottsAISConfig{Runs: f.Runs, Betas: models.Betas(f.Betas), Seed: f.Seed,
			BaseFields: models.PottsSiteFields(x, n, m.L, m.Q, 1)})
		if err != nil {
			return fmt.Errorf("eval: AIS: %w", err)
		}
		res.AISSecs = time.Since(start).Seconds()
		res.LogZ, res.LogZLo, res.LogZHi = num(r.LogZ), num(r.LogZLo), num(r.LogZHi)
		res.AvgLL = num(-meanF - r.LogZ)
		res.AISRuns, res.AISSteps, res.Device = r.Runs, r.Steps, "cpu"
	}
	out := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(out, res)
	}
	printHeader(out, file, fmt.Sprintf("Potts–Bernoulli RBM L=%d q=%d × %d hidden", m.L, m.Q, m.H), f.Data, n)
	if res.ExactLogZ != nil {
		fmt.Fprintf(out, "exact log Z                 %.4f\nexact average log-lik.      %.4f\n", *res.ExactLogZ, *res.ExactLL)
	}
	if res.LogZ != nil {
		lo, hi := aisBounds(res.LogZLo, res.LogZHi)
		fmt.Fprintf(out, "AIS log Z                   %.4f  [%s, %s] (±3σ; %d runs × %d β from the independent-site model, %.1fs)\n",
			*res.LogZ, lo, hi, res.AISRuns, res.AISSteps, res.AISSecs)
		if res.AvgLL != nil {
			fmt.Fprintf(out, "AIS average log-likelihood  %.4f\n", *res.AvgLL)
		}
	}
	return nil
}

// samplePottsRBM runs f.N chains of the Potts RBM at path for f.Steps
// block-Gibbs sweeps from uniformly random sequences and returns the
// one-hot rows (n×L·q), with the model.
func samplePottsRBM(f *sampleFlags, path string) ([]float32, *models.PottsRBM, error) {
	m, _, _, _, err := loadPottsRBM(path)
	if err != nil {
		return nil, nil, err
	}
	u := make([]float32, m.L*m.Q)
	v := engine.PottsFieldChains(u, m.L, m.Q, f.N, f.Seed)
	if err := m.Gibbs(v, f.N, f.Steps, f.Seed, 1); err != nil {
		return nil, nil, err
	}
	return v, m, nil
}

// pottsSampleShape defaults --shape to one tile row per site (L×q).
func pottsSampleShape(f *sampleFlags, m *models.PottsRBM) {
	if f.Shape == "" {
		f.Shape = fmt.Sprintf("%dx%d", m.L, m.Q)
	}
}
