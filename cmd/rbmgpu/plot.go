package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/cmd/rbmgpu/internal/pictures"
	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// plotFlags are the flags of `rbmgpu plot`.
type plotFlags struct {
	Model   string
	Out     string
	Shape   string
	Samples int
	Steps   int
	Seed    uint64
	Filters int
}

// Names of the pictures `rbmgpu plot` writes.
const (
	filtersPNG = "filters.png"
	samplesPNG = "samples.png"
	curvesPNG  = "curves.png"
)

func newPlotCmd() *cobra.Command {
	f := &plotFlags{}
	cmd := &cobra.Command{
		Use:   "plot",
		Short: "Draw a run's filters, samples and training curves as PNG pictures",
		Long: `plot reads a run written by 'rbmgpu train' (--model DIR: model.safetensors,
config.json, metrics.jsonl) and writes three pictures into --out (default DIR):

  filters.png  the weights into each hidden unit as an image tile (column j
               of W), each tile scaled on its own so that 0 is mid-grey, the
               largest |weight| white (positive) or black (negative)
  samples.png  --samples N Gibbs chains started from uniformly random
               binary vectors, after --steps S sweeps: the visible
               probabilities p(v|h) of the last sweep, 0 black and 1 white
               (a Gaussian RBM: the means b + Wh in data units, grey levels
               from the training data's range recorded in the checkpoint)
  curves.png   reconstruction error, log-likelihood, held-out log-likelihood
               and free-energy gap against the epoch — for an RBM too big to
               enumerate, the log-likelihoods tracked by trajectory AIS
               (ll_train, ll_heldout) instead — (epochs where a metric
               was not computed are skipped); not written when the run has
               no metrics.jsonl

The tile shape is --shape RxC; by default the shape of the bas:RxC data the
run was trained on, else square when the number of visible units is a
perfect square (784 → 28x28), else one row. Small tiles are magnified.
Samples are reproducible from --seed.`,
		Example: `  rbmgpu train --out runs/bas && rbmgpu plot --model runs/bas
  rbmgpu plot --model runs/fmnist --samples 100 --steps 5000 --out pictures
  rbmgpu plot --model runs/csv --shape 8x8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlot(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "run directory written by 'rbmgpu train' (or its model.safetensors)")
	fl.StringVar(&f.Out, "out", "", "directory for the pictures (default: the run directory)")
	fl.StringVar(&f.Shape, "shape", "", "tile shape RxC with R·C = visible units (default: from the run's data)")
	fl.IntVar(&f.Samples, "samples", 64, "number of Gibbs chains in samples.png")
	fl.IntVar(&f.Steps, "steps", 1000, "Gibbs sweeps per chain (0 shows the random starts)")
	fl.Uint64Var(&f.Seed, "seed", 1, "seed of the starting vectors and every Gibbs draw")
	fl.IntVar(&f.Filters, "filters", 0, "draw the first N hidden units' filters (default all)")
	return cmd
}

// maxPlotSamples bounds --samples (the picture stays below a few thousand
// pixels a side for 28x28 tiles).
const maxPlotSamples = 10000

func runPlot(cmd *cobra.Command, f *plotFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.Model == "" {
		return usagef("plot: --model DIR is required (a run directory written by 'rbmgpu train')")
	}
	if f.Samples < 1 || f.Samples > maxPlotSamples {
		return usagef("plot: --samples %d: want 1 to %d chains", f.Samples, maxPlotSamples)
	}
	if f.Steps < 0 {
		return usagef("plot: --steps %d: want ≥ 0 Gibbs sweeps", f.Steps)
	}
	if f.Filters < 0 {
		return usagef("plot: --filters %d: want ≥ 1 (or 0 for all)", f.Filters)
	}
	var shape [2]int
	if f.Shape != "" {
		r, c, err := parseShape(f.Shape)
		if err != nil {
			return usagef("plot: --shape %q: %v", f.Shape, err)
		}
		shape = [2]int{r, c}
	}

	dir, modelPath, err := runPaths(f.Model)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	snap, _, err := engine.LoadSnapshot(modelPath)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	m, sample := picturesOf(snap, f.Steps, f.Seed)
	if m == nil {
		return fmt.Errorf("plot: %s holds a Boltzmann machine: plot draws RBM runs (use rbmgpu sample for BM samples)", modelPath)
	}
	if shape[0] != 0 {
		if shape[0]*shape[1] != m.V {
			return usagef("plot: --shape %s has %d pixels, the model %s has %d visible units", f.Shape, shape[0]*shape[1], modelPath, m.V)
		}
	} else {
		shape = inferShape(dir, m.V)
	}
	metricsPath := filepath.Join(dir, metricsFile)
	recs, err := pictures.ReadMetrics(metricsPath)
	if errors.Is(err, fs.ErrNotExist) {
		recs, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}

	out := f.Out
	if out == "" {
		out = dir
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("plot: output directory: %w", err)
	}
	rows, cols := shape[0], shape[1]

	img, err := pictures.Filters(m, rows, cols, f.Filters, 0)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := writePicture(stdout, filepath.Join(out, filtersPNG), img,
		fmt.Sprintf("%d filters of %dx%d", min(m.H, cmp0(f.Filters, m.H)), rows, cols)); err != nil {
		return err
	}

	probs, note, err := sample(f.Samples)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if note != "" {
		fmt.Fprintf(stderr, "rbmgpu: plot: %s\n", note)
	}
	img, err = pictures.Grid(probs, f.Samples, rows, cols, 0)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := writePicture(stdout, filepath.Join(out, samplesPNG), img,
		fmt.Sprintf("%d chains after %d Gibbs sweeps, seed %d", f.Samples, f.Steps, f.Seed)); err != nil {
		return err
	}

	if len(recs) == 0 {
		fmt.Fprintf(stderr, "rbmgpu: plot: %s: no metrics; %s not written\n", metricsPath, curvesPNG)
		return nil
	}
	img, err = pictures.Curves(recs)
	if err != nil {
		return fmt.Errorf("plot: %s: %w", metricsPath, err)
	}
	return writePicture(stdout, filepath.Join(out, curvesPNG), img, fmt.Sprintf("%d epochs", len(recs)))
}

// cmp0 returns x, or def when x is 0.
func cmp0(x, def int) int {
	if x == 0 {
		return def
	}
	return x
}

// writePicture writes img to path and says so on w.
func writePicture(w io.Writer, path string, img image.Image, what string) error {
	if err := pictures.WritePNG(path, img); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	b := img.Bounds()
	fmt.Fprintf(w, "wrote %s (%dx%d pixels: %s)\n", path, b.Dx(), b.Dy(), what)
	return nil
}

// picturesOf returns what the pictures of a snapshot draw: the RBM whose
// weights are the filters (the Bernoulli part of a Gaussian RBM), and a
// function drawing n chains after steps sweeps as grey levels in [0, 1],
// with a note for stderr when their mapping is a fallback (see
// sampleChains and grbmSamples); nil when s holds no RBM.
func picturesOf(s *engine.Snapshot, steps int, seed uint64) (*models.RBM, func(n int) ([]float32, string, error)) {
	m := s.RBM()
	if m == nil {
		return nil, nil
	}
	if s.GRBM() != nil {
		return m, func(n int) ([]float32, string, error) { return grbmSamples(s, n, steps, seed) }
	}
	return m, func(n int) ([]float32, string, error) {
		x, err := sampleChains(m, n, steps, seed)
		return x, "", err
	}
}

// epochPictures writes the --png pictures of an epoch into dir:
// filters.png of the snapshot's weights and samples.png of 64 chains, tiles
// shaped like the data's images when they have a 2-D shape.
func epochPictures(dir string, s *engine.Snapshot, shape []int, steps int, seed uint64) error {
	m, sample := picturesOf(s, steps, seed)
	if m == nil {
		return fmt.Errorf("--png: the %s model has no filters to draw", s.Config.Model)
	}
	rc := inferShape(dir, m.V)
	if len(shape) == 2 && shape[0]*shape[1] == m.V {
		rc = [2]int{shape[0], shape[1]}
	}
	filters, err := pictures.Filters(m, rc[0], rc[1], 0, 0)
	if err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	if err := pictures.WritePNG(filepath.Join(dir, filtersPNG), filters); err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	const chains = 64
	x, _, err := sample(chains)
	if err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	grid, err := pictures.Grid(x, chains, rc[0], rc[1], 0)
	if err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	if err := pictures.WritePNG(filepath.Join(dir, samplesPNG), grid); err != nil {
		return fmt.Errorf("--png: %w", err)
	}
	return nil
}

// runPaths resolves --model: a run directory, or a model file whose
// directory is taken as the run directory.
func runPaths(model string) (dir, modelPath string, err error) {
	st, err := os.Stat(model)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("--model %s: no such run directory or file", model)
		}
		return "", "", fmt.Errorf("--model: %w", err)
	}
	if !st.IsDir() {
		return filepath.Dir(model), model, nil
	}
	modelPath = filepath.Join(model, modelFile)
	if _, err := os.Stat(modelPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("%s: no such file (is %s a run directory written by 'rbmgpu train'?)", modelPath, model)
		}
		return "", "", err
	}
	return model, modelPath, nil
}

// parseShape parses "RxC" (also "R×C" or "RXC") into positive R and C.
func parseShape(s string) (r, c int, err error) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "×", "x"), "X", "x")
	a, b, ok := strings.Cut(s, "x")
	if !ok {
		return 0, 0, errors.New("want RxC, e.g. 28x28")
	}
	r, err1 := strconv.Atoi(strings.TrimSpace(a))
	c, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || r < 1 || c < 1 {
		return 0, 0, errors.New("want RxC with positive whole numbers, e.g. 28x28")
	}
	return r, c, nil
}

// inferShape finds the tile shape of a model with v visible units: the
// R×C of the bas:RxC data named in the run's config.json, else √v×√v when
// v is a perfect square, else 1×v.
func inferShape(dir string, v int) [2]int {
	if b, err := os.ReadFile(filepath.Join(dir, configFile)); err == nil {
		var cfg struct {
			Data string `json:"data"`
		}
		if json.Unmarshal(b, &cfg) == nil && isBuiltin(cfg.Data) {
			if r, c, err := parseShape(strings.TrimPrefix(cfg.Data, "bas:")); err == nil && r*c == v {
				return [2]int{r, c}
			}
		}
	}
	if s := int(math.Round(math.Sqrt(float64(v)))); s*s == v {
		return [2]int{s, s}
	}
	return [2]int{1, v}
}

// plotStartSeed separates the stream of starting vectors from the Gibbs
// draws, which are keyed by the same --seed.
const plotStartSeed = 0x706c6f74 // "plot"

// sampleChains runs n chains of the model from uniformly random binary
// vectors (drawn from seed) for `steps` sweeps of block Gibbs sampling and
// returns, n×V, the visible probabilities p(v|h) of the last sweep: the
// sweeps are models.RBM.Gibbs(v, n, steps-1, seed, 0) followed by the
// hidden half of sweep steps-1 drawn exactly as Gibbs draws it, so the
// binary sample Gibbs(v, n, steps, seed, 0) would return is a draw from the
// returned probabilities. With steps = 0 it returns the starting vectors.
func sampleChains(m *models.RBM, n, steps int, seed uint64) ([]float32, error) {
	rng := rand.New(rand.NewPCG(seed, plotStartSeed))
	v := make([]float32, n*m.V)
	for i := range v {
		if rng.Uint64()&1 == 1 {
			v[i] = 1
		}
	}
	if steps == 0 {
		return v, nil
	}
	if err := m.Gibbs(v, n, steps-1, seed, 0); err != nil {
		return nil, err
	}
	h := m.HiddenProbs(nil, v, n)
	u := make([]float32, len(h))
	kernels.Stream{Seed: seed, Op: models.OpGibbsHidden, Step: uint64(steps - 1)}.Fill(u)
	for k, p := range h {
		if u[k] < p {
			h[k] = 1
		} else {
			h[k] = 0
		}
	}
	return m.VisibleProbs(v, h, n), nil
}
