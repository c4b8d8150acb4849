package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine/pictures"
	"github.com/rbmgpu/rbmgpu/models"
)

// bmCheckpoint resolves --model (a run directory or a checkpoint file) and
// reports whether it holds a general Boltzmann machine. A file that cannot
// be read is not one: the RBM path then reports why.
func bmCheckpoint(model string) (dir, file string, ok bool) {
	st, err := os.Stat(model)
	if err != nil {
		return "", "", false
	}
	dir, file = filepath.Dir(model), model
	if st.IsDir() {
		dir, file = model, filepath.Join(model, modelFile)
	}
	kind, err := models.CheckpointKind(file)
	return dir, file, err == nil && kind == models.KindBM
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
	if b, err := os.ReadFile(filepath.Join(dir, configFile)); err == nil && filepath.Join(dir, modelFile) == file {
		run := &trainFlags{}
		if err := json.Unmarshal(b, run); err != nil {
			return fmt.Errorf("model: %s: %v", filepath.Join(dir, configFile), err)
		}
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
	if m.N() > models.MaxExactBMUnits {
		return usagef("eval: --exact needs V+H ≤ %d units for a Boltzmann machine; this one has %d+%d", models.MaxExactBMUnits, m.V, m.H)
	}
	d, err := prepareData(f.Data, f.Labels, f.Binarize, f.Seed)
	if err != nil {
		return err
	}
	if d.D != m.V {
		return fmt.Errorf("eval: %s has %d features, the model %d visible units", f.Data, d.D, m.V)
	}
	n := d.N
	if f.N > 0 {
		n = min(n, f.N)
	}
	logZ, err := m.LogZ()
	if err != nil {
		return err
	}
	ll, err := m.LogLikelihood(d.X[:n*d.D], n)
	if err != nil {
		return err
	}
	res := evalResult{Model: file, Data: f.Data, Visible: m.V, Hidden: m.H, N: n, Kind: models.KindBM,
		ExactLogZ: num(logZ), ExactLL: num(ll)}
	out := cmd.OutOrStdout()
	if f.JSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(b))
		return nil
	}
	lateral := "custom"
	if l, ok := m.Lateral(); ok {
		lateral = l.String()
	}
	fmt.Fprintf(out, "model  %s: BM %d+%d (lateral %s)\ndata   %s: %d samples\n", file, m.V, m.H, lateral, f.Data, n)
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
	rc := inferShape(dir, m.V)
	if f.Shape != "" {
		r, c, err := parseShape(f.Shape)
		if err != nil || r*c != m.V {
			return usagef("sample: --shape %q: want RxC with R·C = %d", f.Shape, m.V)
		}
		rc = [2]int{r, c}
	}
	img, err := pictures.Grid(x, f.N, rc[0], rc[1], 0)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := pictures.WritePNG(f.PNG, img); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	b := img.Bounds()
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%dx%d pixels): %d samples of BM %d+%d after %d sweeps\n", f.PNG, b.Dx(), b.Dy(), f.N, m.V, m.H, f.Steps)
	return nil
}
