package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/ais"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

type evalFlags struct {
	Model    string
	Data     string
	Labels   string
	Binarize string
	N        int
	AIS      bool
	Runs     int
	Betas    int
	Exact    bool
	PLL      bool
	JSON     bool
	Seed     uint64
	Device   string
	Samples  int
	RAISE    int
	// Potts models: --energies, --alphabet (of a params.dat), --reweight
	// (-1: the run's), fresh --chains × --sweeps (0: the run's chains).
	Energies string
	Alphabet string
	Reweight float64
	Chains   int
	Sweeps   int
}

func newEvalCmd() *cobra.Command {
	f := &evalFlags{}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate an RBM: AIS log-likelihood, exact log Z, pseudo-likelihood",
		Long: `eval scores a trained RBM on a data set with the measures the literature uses:

  --ais     annealed importance sampling (Salakhutdinov & Murray 2008): log Z with a
            ±3σ interval and the average test log-likelihood −mean F(v) − log Z;
            with it, reverse annealing (RAISE; Burda, Grosse & Salakhutdinov 2015)
            from the first --raise-rows rows: AIS tends to underestimate log Z (an
            optimistic log-likelihood), RAISE to overestimate it (a conservative one),
            so the two bracket the truth
  --exact   the exact log Z by enumeration (when min(V, H) ≤ 20)
  --pll     the exact pseudo-log-likelihood and scikit-learn's one-bit estimate

--model is a run directory (its model.safetensors), a checkpoint file, or an NPZ
of scikit-learn BernoulliRBM attributes (components_, intercept_hidden_,
intercept_visible_), so scikit-learn's models and ours meet on one evaluator.
For a run directory, --data and --binarize default to the run's own settings.
With no measure chosen, eval reports --exact when the model is small enough,
else --ais.`,
		Example: `  rbmgpu eval --model runs/fmnist --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --ais
  rbmgpu eval --model sklearn_rbm.npz --data test.npy --binarize threshold --ais --ais-runs 100 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEval(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "run directory, model.safetensors, or scikit-learn NPZ (required)")
	fl.StringVar(&f.Data, "data", "", "evaluation data (default: the run's training data)")
	fl.StringVar(&f.Labels, "labels", "", "labels file for the data")
	fl.StringVar(&f.Binarize, "binarize", "", "none | threshold[:T] | stochastic (default: the run's setting, else none)")
	fl.IntVar(&f.N, "n", 0, "evaluate the first N samples only (0: all)")
	fl.BoolVar(&f.AIS, "ais", false, "estimate log Z and the log-likelihood by AIS")
	fl.IntVar(&f.Runs, "ais-runs", models.DefaultAISRuns, "AIS runs M")
	fl.IntVar(&f.Betas, "ais-betas", 14500, "AIS β steps (schedule of Salakhutdinov & Murray scaled to this count)")
	fl.BoolVar(&f.Exact, "exact", false, "exact log Z and log-likelihood by enumeration (min(V,H) ≤ 20)")
	fl.BoolVar(&f.PLL, "pll", false, "pseudo-log-likelihood (exact, and scikit-learn's one-bit estimate)")
	fl.BoolVar(&f.JSON, "json", false, "print one JSON object instead of text")
	fl.Uint64Var(&f.Seed, "seed", 1, "seed of AIS and of the one-bit estimate")
	fl.IntVar(&f.RAISE, "raise-rows", 100, "with --ais on an RBM: RAISE chains, one per data row from the first (0: no RAISE; same β schedule)")
	fl.IntVar(&f.Samples, "bound-samples", 10, "DBN: recognition samples per row for the variational lower bound")
	fl.StringVar(&f.Energies, "energies", "", "Potts: write each sequence's energy (name<TAB>energy, zero-sum gauge) to this file")
	fl.StringVar(&f.Alphabet, "alphabet", "", "Potts params.dat: the alphabet of its states (default protein)")
	f.Reweight = -1
	fl.Var(unsetFloat{&f.Reweight}, "reweight", "Potts: identity threshold of the sequence weights (default: the run's, else 0.8; 0 off)")
	fl.IntVar(&f.Chains, "chains", 0, fmt.Sprintf("Potts: model statistics from this many fresh chains (default: the run's persistent chains, else %d)", pottsEvalChains))
	fl.IntVar(&f.Sweeps, "sweeps", 0, fmt.Sprintf("Potts: sweeps of the fresh chains (default %d)", pottsEvalSweeps))
	fl.StringVar(&f.Device, "device", "auto", "where AIS runs: auto | cpu | cpu-tape (float64 reference) | cuda | cuda:N")
	return cmd
}

// evalResult is the --json output; absent measures are null.
type evalResult struct {
	Model     string   `json:"model"`
	Data      string   `json:"data"`
	Visible   int      `json:"visible"`
	Hidden    int      `json:"hidden"`
	N         int      `json:"n"`
	LogZ      *float64 `json:"log_z"`
	LogZLo    *float64 `json:"log_z_lo"`
	LogZHi    *float64 `json:"log_z_hi"`
	AvgLL     *float64 `json:"avg_ll"`
	ExactLogZ *float64 `json:"exact_log_z"`
	ExactLL   *float64 `json:"exact_avg_ll"`
	PLL       *float64 `json:"pll"`
	PLLOneBit *float64 `json:"pll_one_bit"`
	AISRuns   int      `json:"ais_runs,omitempty"`
	AISSteps  int      `json:"ais_steps,omitempty"`
	AISSecs   float64  `json:"ais_seconds,omitempty"`
	Device    string   `json:"device,omitempty"`
	Kind      string   `json:"kind"`
	Layers    []int    `json:"layers,omitempty"`
	Bound     *float64 `json:"dbn_lower_bound,omitempty"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	// RAISE (reverse AIS) of an RBM with --ais: the upper-side estimate
	// of log Z with ±3 standard errors, the conservative log-likelihood
	// −mean F − log_z_raise over all n rows, and the rows it annealed.
	LogZRAISE   *float64 `json:"log_z_raise,omitempty"`
	LogZRAISELo *float64 `json:"log_z_raise_lo,omitempty"`
	LogZRAISEHi *float64 `json:"log_z_raise_hi,omitempty"`
	AvgLLRAISE  *float64 `json:"avg_ll_raise,omitempty"`
	RAISERows   int      `json:"raise_rows,omitempty"`
	RAISESecs   float64  `json:"raise_seconds,omitempty"`
	// Potts holds a Potts model's convergence metrics.
	Potts *pottsEval `json:"potts,omitempty"`
}

// num returns &x, or nil (JSON null) for NaN and ±Inf — an AIS interval
// whose lower end is −Inf (weights too spread to bound) is reported as null.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// loadModel reads an RBM from a run directory, a checkpoint or an NPZ and,
// for a run, the flags it was trained with.
func loadModel(path string) (*models.RBM, *trainFlags, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("model: %w", err)
	}
	var run *trainFlags
	file := path
	if st.IsDir() {
		file = filepath.Join(path, modelFile)
		if run, err = runConfig(path); err != nil {
			return nil, nil, "", err
		}
	}
	if strings.HasSuffix(strings.ToLower(file), ".npz") {
		m, err := data.ImportSklearnNPZ(file)
		return m, nil, file, err
	}
	snap, _, err := engine.LoadSnapshot(file)
	if err != nil {
		return nil, nil, "", err
	}
	m := snap.RBM()
	if m == nil {
		return nil, nil, "", fmt.Errorf("model: %s holds a Boltzmann machine, not an RBM (eval --exact and sample read it)", file)
	}
	return m, run, file, nil
}

// runConfig reads the settings a run directory was trained with (its
// config.json), so that eval can default to the run's own data; nil when dir
// holds none (a bare checkpoint), an error when it cannot be parsed.
func runConfig(dir string) (*trainFlags, error) {
	path := filepath.Join(dir, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	run := &trainFlags{}
	if err := json.Unmarshal(b, run); err != nil {
		return nil, fmt.Errorf("model: %s: %v", path, err)
	}
	return run, nil
}

// checkpointIn resolves a --model argument: a run directory stands for its
// checkpoint called name; anything else stands for itself (a path that does
// not exist is reported by whatever reads it).
func checkpointIn(path, name string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

// dbnCheckpoint resolves path — a DBN checkpoint, or a run directory that
// holds one — to the checkpoint file; ok is false for anything else.
func dbnCheckpoint(path string) (file string, ok bool) {
	file = checkpointIn(path, dbnFile)
	return file, isDBN(file)
}

// dataFrom settles which data a single model is scored on: --data, --labels
// and --binarize default to the settings of the run it came from (run; nil
// when it is not a run directory), and --binarize finally to none. Without a
// run, --data must be given.
func (f *evalFlags) dataFrom(run *trainFlags) error {
	if run != nil {
		if f.Data == "" {
			f.Data, f.Labels = run.Data, run.Labels
		}
		if f.Binarize == "" {
			f.Binarize = run.Binarize
		}
	}
	if f.Data == "" {
		return usagef("eval: --data is required for a model that is not a run directory")
	}
	if f.Binarize == "" {
		f.Binarize = "none"
	}
	return nil
}

// evalData loads and preprocesses the evaluation data for a model (what:
// "model" or "DBN", for the message) of v visible units and returns them
// with the number of rows to score: all, or the first --n. real keeps
// real values unscaled (Gaussian models, see prepareData).
func (f *evalFlags) evalData(v int, what string, real bool) (*data.Dataset, int, error) {
	d, err := prepareData(f.Data, f.Labels, f.Binarize, f.Seed, real)
	if err != nil {
		return nil, 0, err
	}
	if d.D != v {
		return nil, 0, fmt.Errorf("eval: %s has %d features, the %s %d visible units", f.Data, d.D, what, v)
	}
	n := d.N
	if f.N > 0 {
		n = min(n, f.N)
	}
	return d, n, nil
}

// printJSON writes the --json record: one object on one line.
func printJSON(w io.Writer, res any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(b))
	return nil
}

// printHeader opens the text report: the model file and what it holds, the
// data and how many samples were scored.
func printHeader(w io.Writer, file, what, dataName string, n int) {
	fmt.Fprintf(w, "model  %s: %s\ndata   %s: %d samples\n", file, what, dataName, n)
}

// isDBN reports whether a checkpoint file holds a deep belief network.
func isDBN(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return false
	}
	_, md, err := safetensors.Read(path)
	if err != nil {
		return false
	}
	var meta struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal([]byte(md[models.MetaKey]), &meta) == nil && meta.Kind == "dbn" || md["kind"] == "dbn"
}

func runEval(cmd *cobra.Command, f *evalFlags) error {
	if f.Model == "" {
		return usagef("eval: --model is required (a run directory, a checkpoint or a scikit-learn NPZ)")
	}
	if f.N < 0 || f.Runs < 1 || f.Betas < 1 {
		return usagef("eval: --n, --ais-runs and --ais-betas must be positive")
	}
	if f.RAISE < 0 {
		return usagef("eval: --raise-rows %d: want ≥ 0", f.RAISE)
	}
	if _, _, err := engine.ParseDevice(f.Device); err != nil {
		return usagef("eval: --device: %v", err)
	}
	if isPottsModel(f.Model) {
		return runEvalPotts(cmd, f)
	}
	if file, ok := dbnCheckpoint(f.Model); ok {
		f.Model = file
		return runEvalDBN(cmd, f)
	}
	if dir, file, ok := bmCheckpoint(f.Model); ok {
		return runEvalBM(cmd, f, dir, file)
	}
	if isGRBM(f.Model) {
		return runEvalGRBM(cmd, f)
	}
	if isPottsRBM(f.Model) {
		return runEvalPottsRBM(cmd, f)
	}
	m, run, file, err := loadModel(f.Model)
	if err != nil {
		return err
	}
	if err := f.dataFrom(run); err != nil {
		return err
	}
	d, n, err := f.evalData(m.V, "model", false)
	if err != nil {
		return err
	}
	x := d.Rows(0, n)
	small := min(m.V, m.H) <= models.MaxExactUnits
	if !f.AIS && !f.Exact && !f.PLL {
		f.Exact, f.AIS = small, !small
	}
	if f.Exact && !small {
		return usagef("eval: --exact needs min(V, H) ≤ %d; this model is %d×%d (use --ais)", models.MaxExactUnits, m.V, m.H)
	}
	res := evalResult{Model: file, Data: f.Data, Visible: m.V, Hidden: m.H, N: n, Kind: "rbm"}
	if f.Exact {
		logZ, err := m.LogZ()
		if err != nil {
			return err
		}
		ll, err := m.LogLikelihood(x, n)
		if err != nil {
			return err
		}
		res.ExactLogZ, res.ExactLL = num(logZ), num(ll)
	}
	if f.AIS {
		backend, note, err := openBackend(f.Device)
		if err != nil {
			return fmt.Errorf("eval: --device %s: %w", f.Device, err)
		}
		if note != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), note)
		}
		start := time.Now()
		r, err := ais.Estimate(cmd.Context(), backend, m, models.AISConfig{
			Runs: f.Runs, Betas: models.Betas(f.Betas), Seed: f.Seed,
			BaseVBias: models.BaseRateBias(x, n, m.V, 1),
		})
		if err != nil {
			return fmt.Errorf("eval: AIS: %w", err)
		}
		res.AISSecs = time.Since(start).Seconds()
		res.LogZ, res.LogZLo, res.LogZHi = num(r.LogZ), num(r.LogZLo), num(r.LogZHi)
		res.AvgLL = num(m.AvgLogLikelihoodAIS(x, n, r))
		res.AISRuns, res.AISSteps, res.Device = r.Runs, r.Steps, backend.Name()
		if err := f.raise(cmd, m, x, n, &res); err != nil {
			return err
		}
	}
	if f.PLL {
		pll, err := m.PseudoLogLikelihood(x, n)
		if err != nil {
			return err
		}
		one, err := m.PseudoLogLikelihoodOneBit(x, n, f.Seed)
		if err != nil {
			return err
		}
		res.PLL, res.PLLOneBit = num(pll), num(one)
	}
	out := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(out, res)
	}
	printHeader(out, file, fmt.Sprintf("RBM %d×%d", m.V, m.H), f.Data, n)
	if res.ExactLogZ != nil {
		fmt.Fprintf(out, "exact log Z                 %.4f\nexact average log-lik.      %.4f\n", *res.ExactLogZ, *res.ExactLL)
	}
	if res.LogZ != nil {
		lo, hi := aisBounds(res.LogZLo, res.LogZHi)
		fmt.Fprintf(out, "AIS log Z                   %.4f  [%s, %s] (±3σ; %d runs × %d β on %s, %.1fs)\n", *res.LogZ, lo, hi, res.AISRuns, res.AISSteps, res.Device, res.AISSecs)
		if res.AvgLL != nil {
			fmt.Fprintf(out, "AIS average log-likelihood  %.4f\n", *res.AvgLL)
		}
	}
	printRAISE(out, &res)
	if res.PLL != nil {
		fmt.Fprintf(out, "pseudo-log-likelihood       %.4f (exact)  %.4f (one-bit estimate, as scikit-learn)\n", *res.PLL, *res.PLLOneBit)
	}
	return nil
}

// aisBounds formats the ends of an AIS interval, "-inf" and "+inf" where
// an end is unbounded (nil: JSON null).
func aisBounds(lo, hi *float64) (string, string) {
	l, h := "-inf", "+inf"
	if lo != nil && !math.IsInf(*lo, 0) {
		l = fmt.Sprintf("%.4f", *lo)
	}
	if hi != nil && !math.IsInf(*hi, 0) {
		h = fmt.Sprintf("%.4f", *hi)
	}
	return l, h
}

// runEvalDBN scores a deep belief network: test accuracy when it has a
// classifier and the data have labels, and with --ais the variational
// lower bound on log p(v) (Salakhutdinov & Murray 2008), log Z of the top
// RBM estimated by AIS on the recognition probabilities below it.
func runEvalDBN(cmd *cobra.Command, f *evalFlags) error {
	dbn, err := models.LoadDBN(f.Model)
	if err != nil {
		return err
	}
	if f.Data == "" {
		return usagef("eval: --data is required for a DBN checkpoint")
	}
	if f.AIS && dbn.Gaussian != nil {
		return usagef("eval: --ais: the DBN lower bound is for binary data; %s has a Gaussian bottom layer (test accuracy needs no --ais)", f.Model)
	}
	if f.Binarize == "" {
		f.Binarize = "none"
	}
	if f.Samples < 1 {
		return usagef("eval: --bound-samples %d: want ≥ 1", f.Samples)
	}
	d, n, err := f.evalData(dbn.Visible(), "DBN", dbn.Gaussian != nil)
	if err != nil {
		return err
	}
	x := d.Rows(0, n)
	res := evalResult{Model: f.Model, Data: f.Data, Visible: dbn.Visible(), Hidden: dbn.TopHidden(), N: n, Kind: "dbn", Layers: dbn.Sizes()}
	if dbn.HasClassifier() && d.Labels != nil {
		pred, err := dbn.Predict(x, n)
		if err != nil {
			return err
		}
		right := 0
		for i, p := range pred {
			if p == d.Labels[i] {
				right++
			}
		}
		res.Accuracy = num(float64(right) / float64(n))
	}
	if f.AIS {
		backend, note, err := openBackend(f.Device)
		if err != nil {
			return fmt.Errorf("eval: --device %s: %w", f.Device, err)
		}
		if note != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), note)
		}
		top := dbn.Layers[len(dbn.Layers)-1]
		// The top RBM's base rates come from its own input: the recognition
		// probabilities of the layer below (the data for a one-layer DBN).
		in := x
		if len(dbn.Layers) > 1 {
			in = dbn.Up(x, n)[len(dbn.Layers)-2]
		}
		start := time.Now()
		r, err := ais.Estimate(cmd.Context(), backend, top, models.AISConfig{
			Runs: f.Runs, Betas: models.Betas(f.Betas), Seed: f.Seed, BaseVBias: models.BaseRateBias(in, n, top.V, 1),
		})
		if err != nil {
			return fmt.Errorf("eval: AIS of the top RBM: %w", err)
		}
		res.AISSecs, res.AISRuns, res.AISSteps, res.Device = time.Since(start).Seconds(), r.Runs, r.Steps, backend.Name()
		res.LogZ, res.LogZLo, res.LogZHi = num(r.LogZ), num(r.LogZLo), num(r.LogZHi)
		b, err := dbn.LowerBound(x, n, r.LogZ, f.Samples, f.Seed)
		if err != nil {
			return err
		}
		res.Bound = num(b)
	}
	out := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(out, res)
	}
	printHeader(out, f.Model, fmt.Sprintf("DBN %v", dbn.Sizes()), f.Data, n)
	if res.Accuracy != nil {
		fmt.Fprintf(out, "test accuracy               %.4f\n", *res.Accuracy)
	}
	if res.Bound != nil {
		fmt.Fprintf(out, "top RBM AIS log Z           %.4f (%d runs × %d β on %s, %.1fs)\nlower bound on log p(v)     %.4f (%d samples per row)\n",
			*res.LogZ, res.AISRuns, res.AISSteps, res.Device, res.AISSecs, *res.Bound, f.Samples)
	}
	if res.Accuracy == nil && res.Bound == nil {
		fmt.Fprintln(out, "nothing to report: the DBN has no classifier (or the data no labels); pass --ais for the lower bound")
	}
	return nil
}
