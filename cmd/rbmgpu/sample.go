package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/cmd/rbmgpu/internal/pictures"
	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

type sampleFlags struct {
	Model string
	N     int
	Steps int
	PNG   string
	Label int
	Shape string
	Seed  uint64
	// PT ≥ 2 samples an RBM by parallel tempering with that many
	// replicas; PTBetaMin is the hottest one's initial β.
	PT        int
	PTBetaMin float64
	// FASTA is where a Potts model's sampled sequences go; Alphabet is
	// the alphabet of a params.dat model.
	FASTA    string
	Alphabet string
}

func newSampleCmd() *cobra.Command {
	f := &sampleFlags{}
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Draw samples from a trained RBM or DBN into a PNG grid",
		Long: `sample runs Gibbs chains in a trained model and draws the final visible
probabilities as a grid of images: for an RBM, N chains of S block-Gibbs sweeps from
random binary starts; for a Gaussian RBM, the chains' means in data units, drawn
with grey levels from the training data's range (recorded in the checkpoint; an
older checkpoint falls back to the samples' own range and says so); for a DBN (a checkpoint written by models.SaveDBN), S sweeps in
the top RBM — clamped to --label when the top RBM was trained with label units —
followed by a down-pass through the lower layers.`,
		Example: `  rbmgpu sample --model runs/bas --n 64 --steps 1000 --png samples.png
  rbmgpu sample --model dbn.safetensors --label 3 --png threes.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSample(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "run directory, RBM checkpoint or DBN checkpoint (required)")
	fl.IntVar(&f.N, "n", 64, "number of samples (chains)")
	fl.IntVar(&f.Steps, "steps", 1000, "Gibbs sweeps per chain")
	fl.StringVar(&f.PNG, "png", "samples.png", "output PNG")
	fl.IntVar(&f.Label, "label", -1, "DBN with label units: clamp the label to this class")
	fl.StringVar(&f.Shape, "shape", "", "tile shape RxC (default: from the run, else square)")
	fl.Uint64Var(&f.Seed, "seed", 1, "seed of the chains")
	fl.IntVar(&f.PT, "pt", 0, "RBM: sample by parallel tempering with R ≥ 2 replicas (ladder adapted in the first half of --steps)")
	fl.StringVar(&f.FASTA, "fasta", "", "Potts model: write the sampled sequences to this FASTA file")
	fl.StringVar(&f.Alphabet, "alphabet", "", "Potts params.dat: the alphabet of its states (default protein)")
	fl.Float64Var(&f.PTBetaMin, "pt-beta-min", 0, fmt.Sprintf("initial inverse temperature of the hottest --pt replica (default %g)", engine.DefaultPTBetaMin))
	return cmd
}

func runSample(cmd *cobra.Command, f *sampleFlags) error {
	switch {
	case f.Model == "":
		return usagef("sample: --model is required")
	case f.N < 1 || f.N > 10000:
		return usagef("sample: --n %d: want 1..10000", f.N)
	case f.Steps < 1:
		return usagef("sample: --steps %d: want ≥ 1", f.Steps)
	case f.Label < -1:
		return usagef("sample: --label %d: want a class ≥ 0", f.Label)
	}
	if isPottsModel(f.Model) {
		return runSamplePotts(cmd, f)
	}
	if f.FASTA != "" {
		if _, file, err := runPaths(f.Model); err == nil && isPottsRBM(file) {
			return runSamplePottsRBMFASTA(cmd, f, file)
		}
		return usagef("sample: --fasta writes sequences of a Potts model or a Potts RBM; %s is neither", f.Model)
	}
	if err := checkSamplePT(f); err != nil {
		return err
	}
	if dir, file, ok := bmCheckpoint(f.Model); ok {
		if f.PT != 0 {
			return usagef("sample: --pt: a Boltzmann machine has no parallel tempering (RBM checkpoints only)")
		}
		return runSampleBM(cmd, f, dir, file)
	}
	var (
		x    []float32
		V    int
		dir  = ""
		err  error
		what string
	)
	if file, ok := dbnCheckpoint(f.Model); ok {
		if f.PT != 0 {
			return usagef("sample: --pt: a DBN has no parallel tempering (RBM checkpoints only)")
		}
		dbn, err := models.LoadDBN(file)
		if err != nil {
			return err
		}
		V = dbn.Visible()
		if x, err = dbn.Generate(f.N, f.Steps, f.Seed, f.Label); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		what = fmt.Sprintf("DBN %v", dbn.Sizes())
		if dbn.Gaussian != nil {
			// A DBN checkpoint records no data range.
			fmt.Fprintf(cmd.ErrOrStderr(), "rbmgpu: sample: %s\n", greyLevels(x, 0, 0, false))
		}
	} else {
		if f.Label != -1 {
			return usagef("sample: --label needs a DBN trained with labels")
		}
		var modelPath string
		dir, modelPath, err = runPaths(f.Model)
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		if isPottsRBM(modelPath) {
			if f.PT != 0 {
				return usagef("sample: --pt: a Potts RBM has no parallel tempering (Bernoulli RBM checkpoints only)")
			}
			var m *models.PottsRBM
			if x, m, err = samplePottsRBM(f, modelPath); err != nil {
				return fmt.Errorf("sample: %w", err)
			}
			V, what = m.L*m.Q, fmt.Sprintf("Potts RBM L=%d q=%d × %d (one-hot rows: a site per tile row)", m.L, m.Q, m.H)
			pottsSampleShape(f, m)
		} else if isGRBM(modelPath) {
			if f.PT != 0 {
				return usagef("sample: --pt: a Gaussian RBM has no parallel tempering (Bernoulli RBM checkpoints only)")
			}
			snap, _, err := engine.LoadSnapshot(modelPath)
			if err != nil {
				return err
			}
			g := snap.GRBM()
			V = g.V
			var note string
			if x, note, err = grbmSamples(snap, f.N, f.Steps, f.Seed); err != nil {
				return fmt.Errorf("sample: %w", err)
			}
			if note != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "rbmgpu: sample: %s\n", note)
			}
			what = fmt.Sprintf("Gaussian RBM %d×%d (means of the last sweep, data units)", g.V, g.H)
		} else {
			m, _, _, err := loadModel(modelPath)
			if err != nil {
				return err
			}
			V = m.V
			if x, err = sampleRBM(cmd.OutOrStdout(), f, m); err != nil {
				return fmt.Errorf("sample: %w", err)
			}
			what = fmt.Sprintf("RBM %d×%d", m.V, m.H)
		}
	}
	return writeSamples(cmd, f, dir, x, V, what)
}

// writeSamples draws x, the f.N samples of a model (what, for the summary
// line) with v visible units, as a grid into --png: tiles shaped by --shape,
// else like the data of the run in dir (see inferShape).
func writeSamples(cmd *cobra.Command, f *sampleFlags, dir string, x []float32, v int, what string) error {
	rc := inferShape(dir, v)
	if f.Shape != "" {
		r, c, err := parseShape(f.Shape)
		if err != nil || r*c != v {
			return usagef("sample: --shape %q: want RxC with R·C = %d", f.Shape, v)
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
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%dx%d pixels): %d samples of %s after %d sweeps\n", f.PNG, b.Dx(), b.Dy(), f.N, what, f.Steps)
	return nil
}
