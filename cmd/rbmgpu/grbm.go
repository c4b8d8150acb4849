package main

import (
	"fmt"
	"math/rand/v2"

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

// grbmSamples runs n chains of g for steps sweeps of block Gibbs sampling
// from N(0, 1) starts (standardised units), keeps the mean b + W h of the
// last visible update, and returns them n×V in data units clipped to [0, 1]
// (the range the CLI scales data into), ready to draw.
func grbmSamples(g *models.GRBM, n, steps int, seed uint64) ([]float32, error) {
	rng := rand.New(rand.NewPCG(seed, grbmStartSeed))
	v := make([]float32, n*g.V)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	if steps > 0 {
		if err := g.Gibbs(v, n, steps, seed, 0, true); err != nil {
			return nil, err
		}
	}
	g.Unstandardise(v)
	for i, x := range v {
		v[i] = min(max(x, 0), 1)
	}
	return v, nil
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
	ReconError *float64 `json:"recon_error"`
	FreeEnergy *float64 `json:"mean_free_energy"`
}

// runEvalGRBM scores a Gaussian RBM: the mean-field reconstruction error
// and mean free energy in standardised units and, when H ≤ 20, the exact
// log Z and average log-likelihood (a density, in data units).
func runEvalGRBM(cmd *cobra.Command, f *evalFlags) error {
	if f.AIS || f.PLL {
		return usagef("eval: --ais and --pll are not available for Gaussian RBMs (use --exact, H ≤ %d)", models.MaxExactUnits)
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
	if small {
		logZ, err := g.LogZ()
		if err != nil {
			return err
		}
		logStd := g.LogDataScale()
		res.ExactLogZ, res.ExactLL = num(logZ), num(-fe-logZ-logStd)
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
	return nil
}
