package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/models"
)

// bmCheckpoint resolves --model (a run directory or a checkpoint file) and
// reports whether it holds a general Boltzmann machine. A file that cannot
// be read is not one: the RBM path then reports why.
func bmCheckpoint(model string) (dir, file string, ok bool) {
	file = checkpointIn(model, modelFile)
	kind, err := models.CheckpointKind(file)
	return filepath.Dir(file), file, err == nil && kind == models.KindBM
}

// runEvalBM scores a BM checkpoint: exact log Z and average log-likelihood
// by enumeration (V+H ≤ models.MaxExactBMUnits). AIS and the
// pseudo-likelihood are RBM measures and refused.
func runEvalBM(cmd *cobra.Command, f *evalFlags, dir, file string) error {
	if f.AIS || f.PLL {
		return usagef("eval: %s is a Boltzmann machine: only --exact is available (no --ais, --pll)", file)
	}
	m, _, _, err := models.LoadBM(file)
	if err != nil {
		return err
	}
	// A checkpoint named like a run's own (the run directory itself, or
	// DIR/model.safetensors) is scored on the run's data by default.
	var run *trainFlags
	if filepath.Join(dir, modelFile) == file {
		if run, err = runConfig(dir); err != nil {
			return err
		}
	}
	if err := f.dataFrom(run); err != nil {
		return err
	}
	if m.N() > models.MaxExactBMUnits {
		return usagef("eval: --exact needs V+H ≤ %d units for a Boltzmann machine; this one has %d+%d", models.MaxExactBMUnits, m.V, m.H)
	}
	d, n, err := f.evalData(m.V, "model", false)
	if err != nil {
		return err
	}
	logZ, err := m.LogZ()
	if err != nil {
		return err
	}
	ll, err := m.LogLikelihood(d.Rows(0, n), n)
	if err != nil {
		return err
	}
	res := evalResult{Model: file, Data: f.Data, Visible: m.V, Hidden: m.H, N: n, Kind: models.KindBM,
		ExactLogZ: num(logZ), ExactLL: num(ll)}
	out := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(out, res)
	}
	lateral := "custom"
	if l, ok := m.Lateral(); ok {
		lateral = l.String()
	}
	printHeader(out, file, fmt.Sprintf("BM %d+%d (lateral %s)", m.V, m.H, lateral), f.Data, n)
	fmt.Fprintf(out, "exact log Z                 %.4f\nexact average log-lik.      %.4f\n", logZ, ll)
	return nil
}

// runSampleBM draws f.N visible samples of a BM checkpoint (f.Steps free
// sequential Gibbs sweeps from the all-zero state) into a PNG grid.
func runSampleBM(cmd *cobra.Command, f *sampleFlags, dir, file string) error {
	if f.Label != -1 {
		return usagef("sample: --label needs a DBN trained with labels")
	}
	m, _, _, err := models.LoadBM(file)
	if err != nil {
		return err
	}
	x, err := m.Generate(f.N, f.Steps, f.Seed)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	return writeSamples(cmd, f, dir, x, m.V, fmt.Sprintf("BM %d+%d", m.V, m.H))
}
