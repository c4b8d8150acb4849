package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// Gaussian–Bernoulli RBMs on the command line: `train --model grbm` (its
// flags are the kind's settings, see modelflags.go), and eval, sample and
// plot of its checkpoints (kind "grbm").

func init() {
	registerModelCLI(models.KindGRBM, &modelCLI{
		realValued: func(*trainFlags) bool { return true },
		shape: func(r *modelRun, f *trainFlags) {
			what := "Gaussian RBM (standardised data, σ fixed at 1)"
			if o, ok := r.cfg.Options.(*engine.GRBMOptions); ok && o.LearnVariance {
				what = fmt.Sprintf("Gaussian RBM (standardised data, σ learned, floor %g)", o.SigmaFloor)
			}
			r.banner = func() string { return f.banner(r, what) }
		},
	})
}

// isGRBM reports whether path (a run directory or a checkpoint) holds a
// Gaussian RBM checkpoint.
func isGRBM(path string) bool {
	k, err := models.CheckpointKind(checkpointIn(path, modelFile))
	return err == nil && k == models.KindGRBM
}

// loadGRBM reads the Gaussian RBM of a run directory or checkpoint.
func loadGRBM(path string) (*models.GRBM, error) {
	snap, _, err := engine.LoadSnapshot(checkpointIn(path, modelFile))
	if err != nil {
		return nil, err
	}
	return snap.GRBM(), nil
}

const grbmStartSeed = 0x67726d62 // "grmb"

// grbmSamples runs n chains of the Gaussian RBM of s for steps sweeps of
// block Gibbs sampling from N(0, 1) starts (standardised units), keeps the
// mean b + W h of the last visible update, maps it back to data units and
// returns it n×V as grey levels in [0, 1] (see greyLevels), with the note
// greyLevels gives.
func grbmSamples(s *engine.Snapshot, n, steps int, seed uint64) ([]float32, string, error) {
	g := s.GRBM()
	rng := rand.New(rand.NewPCG(seed, grbmStartSeed))
	v := make([]float32, n*g.V)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	if steps > 0 {
		if err := g.Gibbs(v, n, steps, seed, 0, true); err != nil {
			return nil, "", err
		}
	}
	g.Unstandardise(v)
	lo, hi, ok := s.DataRange()
	note := greyLevels(v, lo, hi, ok)
	return v, note, nil
}

// greyLevels maps x (data units, in place) to grey levels,
// (x − lo)/(hi − lo), with [lo, hi] the training data's range when known
// (ok), else x's own min and max; then the returned note says so, for a
// line on stderr ("" when the range was known).
func greyLevels(x []float32, lo, hi float32, ok bool) string {
	note := ""
	if !ok && len(x) > 0 {
		lo, hi = x[0], x[0]
		for _, v := range x {
			lo, hi = min(lo, v), max(hi, v)
		}
		note = fmt.Sprintf("the checkpoint records no range of its training data (written before it did): grey levels span the samples' own %g … %g", lo, hi)
	}
	span := hi - lo
	if !(span > 0) {
		span = 1
	}
	for i, v := range x {
		x[i] = (v - lo) / span
	}
	return note
}

// grbmEvalResult is the --json record of `eval` on a Gaussian RBM.
type grbmEvalResult struct {
	Model      string   `json:"model"`
	Data       string   `json:"data"`
	Kind       string   `json:"kind"`
	Visible    int      `json:"visible"`
	Hidden     int      `json:"hidden"`
	N          int      `json:"n"`
	ExactLogZ  *float64 `json:"exact_log_z,omitempty"`
	ExactLL    *float64 `json:"exact_log_likelihood,omitempty"`
	LogZ       *float64 `json:"log_z,omitempty"`
	LogZLo     *float64 `json:"log_z_lo,omitempty"`
	LogZHi     *float64 `json:"log_z_hi,omitempty"`
	AvgLL      *float64 `json:"avg_ll,omitempty"`
	AISRuns    int      `json:"ais_runs,omitempty"`
	AISSteps   int      `json:"ais_steps,omitempty"`
	AISSecs    float64  `json:"ais_seconds,omitempty"`
	ReconError *float64 `json:"recon_error"`
	FreeEnergy *float64 `json:"mean_free_energy"`
	// RAISE with --ais (see evalResult): the upper-side log Z and the
	// conservative average log-density (data units).
	LogZRAISE   *float64 `json:"log_z_raise,omitempty"`
	LogZRAISELo *float64 `json:"log_z_raise_lo,omitempty"`
	LogZRAISEHi *float64 `json:"log_z_raise_hi,omitempty"`
	AvgLLRAISE  *float64 `json:"avg_ll_raise,omitempty"`
	RAISERows   int      `json:"raise_rows,omitempty"`
}

// runEvalGRBM scores a Gaussian RBM: the mean-field reconstruction error
// and mean free energy in standardised units and, when H ≤ 20, the exact
// log Z and average log-likelihood (a density, in data units); with --ais
// (the default for larger models) the AIS estimate of both, annealed from
// the model's independent Gaussian (models.GRBM.AIS, on the CPU).
func runEvalGRBM(cmd *cobra.Command, f *evalFlags) error {
	if f.PLL {
		return usagef("eval: --pll is not available for Gaussian RBMs (use --exact, H ≤ %d, or --ais)", models.MaxExactUnits)
	}
	g, err := loadGRBM(f.Model)
	if err != nil {
		return err
	}
	// Unlike an RBM or BM run, a Gaussian run lends only --data and
	// --labels, and only when --data is not typed: real-valued data are
	// scored as they are (--binarize none unless typed), and a config.json
	// that does not parse counts as none rather than as an error.
	var run *trainFlags
	if f.Data == "" {
		if r, _ := runConfig(f.Model); r != nil {
			run = &trainFlags{Data: r.Data, Labels: r.Labels}
		}
	}
	if err := f.dataFrom(run); err != nil {
		return err
	}
	d, n, err := f.evalData(g.V, "model", true)
	if err != nil {
		return err
	}
	x := d.CopyRows(make([]float32, n*d.D), 0, n)
	g.Standardise(x)
	small := g.H <= models.MaxExactUnits
	if f.Exact && !small {
		return usagef("eval: --exact needs H ≤ %d for a Gaussian RBM; this model is %d×%d", models.MaxExactUnits, g.V, g.H)
	}
	if !f.Exact && !f.AIS {
		f.Exact, f.AIS = small, !small
	}
	res := grbmEvalResult{Model: checkpointIn(f.Model, modelFile), Data: f.Data, Kind: models.KindGRBM, Visible: g.V, Hidden: g.H, N: n}
	p := g.HiddenProbs(nil, x, n)
	mean := g.VisibleMean(nil, p, n)
	var recon, fe float64
	for i := range x {
		dd := float64(x[i]) - float64(mean[i])
		recon += dd * dd / float64(n)
	}
	for r := 0; r < n; r++ {
		fe += g.FreeEnergy(x[r*g.V:(r+1)*g.V]) / float64(n)
	}
	res.ReconError, res.FreeEnergy = num(recon), num(fe)
	logStd := g.LogDataScale()
	if f.Exact {
		logZ, err := g.LogZ()
		if err != nil {
			return err
		}
		res.ExactLogZ, res.ExactLL = num(logZ), num(-fe-logZ-logStd)
	}
	if f.AIS {
		start := time.Now()
		r, err := g.AIS(cmd.Context(), models.AISConfig{Runs: f.Runs, Betas: models.Betas(f.Betas), Seed: f.Seed})
		if err != nil {
			return fmt.Errorf("eval: AIS: %w", err)
		}
		res.AISSecs = time.Since(start).Seconds()
		res.LogZ, res.LogZLo, res.LogZHi = num(r.LogZ), num(r.LogZLo), num(r.LogZHi)
		res.AvgLL = num(g.AvgLogLikelihoodAIS(x, n, r) - logStd)
		res.AISRuns, res.AISSteps = r.Runs, r.Steps
		if rows := min(f.RAISE, n); rows > 0 {
			q, err := g.RAISE(cmd.Context(), x, rows, models.AISConfig{Betas: models.Betas(f.Betas), Seed: f.Seed})
			if err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			res.LogZRAISE, res.LogZRAISELo, res.LogZRAISEHi = num(q.LogZ), num(q.LogZLo), num(q.LogZHi)
			res.AvgLLRAISE, res.RAISERows = num(-fe-q.LogZ-logStd), q.Rows
		}
	}
	out := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(out, res)
	}
	printHeader(out, res.Model, fmt.Sprintf("Gaussian RBM %d×%d", g.V, g.H), f.Data, n)
	fmt.Fprintf(out, "reconstruction error        %.4f (mean-field, standardised units, per sample)\nmean free energy            %.4f\n", recon, fe)
	if res.ExactLogZ != nil {
		fmt.Fprintf(out, "exact log Z                 %.4f\nexact average log-density   %.4f (data units)\n", *res.ExactLogZ, *res.ExactLL)
	}
	if res.LogZ != nil {
		lo, hi := aisBounds(res.LogZLo, res.LogZHi)
		fmt.Fprintf(out, "AIS log Z                   %.4f  [%s, %s] (±3σ; %d runs × %d β on the CPU, %.1fs)\n",
			*res.LogZ, lo, hi, res.AISRuns, res.AISSteps, res.AISSecs)
		if res.AvgLL != nil {
			fmt.Fprintf(out, "AIS average log-density     %.4f (data units)\n", *res.AvgLL)
		}
	}
	if res.LogZRAISE != nil {
		lo, hi := aisBounds(res.LogZRAISELo, res.LogZRAISEHi)
		fmt.Fprintf(out, "RAISE log Z                 %.4f  [%s, %s] (±3 s.e.; %d rows)\nRAISE average log-density   %.4f (conservative)\n",
			*res.LogZRAISE, lo, hi, res.RAISERows, *res.AvgLLRAISE)
	}
	return nil
}
