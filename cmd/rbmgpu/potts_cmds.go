package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// The Potts side of eval, sample and convert: a Potts model is given as a
// run directory of `train --model potts`, one of its checkpoints, or an
// adabmDCA params.dat text file, so a model moves between the two tools.

// Defaults of the fresh chains eval samples the model statistics from when
// it has no persistent chains of the model to use.
const (
	pottsEvalChains = 1000
	pottsEvalSweeps = 500
)

// pottsSource is a Potts model read for eval, sample, contacts or convert.
type pottsSource struct {
	file  string
	model *models.Potts // in the zero-sum gauge
	// snap is the checkpoint's snapshot (its persistent chains and data
	// statistics); nil for a params.dat file.
	snap *engine.Snapshot
	// opts are the run's settings (alphabet, reweighting, pseudocount);
	// for a params.dat file, the defaults with the alphabet asked for.
	opts engine.PottsOptions
	// run is the config.json of the run directory, nil when there is none.
	run *trainFlags
	// alphabet is the alphabet of the model's q states.
	alphabet *align.Alphabet
}

// isParamsFile reports whether path is an adabmDCA params.dat text file:
// a regular file whose first line that is not blank or a comment starts
// with "J " or "h ".
func isParamsFile(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return false
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	sc := bufio.NewScanner(io.LimitReader(fh, 1<<16))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return strings.HasPrefix(line, "J ") || strings.HasPrefix(line, "h ") ||
			strings.HasPrefix(line, "J\t") || strings.HasPrefix(line, "h\t")
	}
	return false
}

// isPottsModel reports whether --model names a Potts model: a params.dat
// file, or a run directory or checkpoint of kind "potts".
func isPottsModel(path string) bool {
	if isParamsFile(path) {
		return true
	}
	kind, err := models.CheckpointKind(checkpointIn(path, modelFile))
	return err == nil && kind == models.KindPotts
}

// openPotts reads the Potts model named by path. alphabet names the
// alphabet of a params.dat file (its states may be letters of it or 0-based
// integers); "" means protein. A checkpoint carries its own alphabet, and
// an alphabet given that differs from it is a usage error.
func openPotts(path, alphabet string) (*pottsSource, error) {
	src := &pottsSource{opts: *engine.NewPottsOptions()}
	if alphabet != "" {
		src.opts.Alphabet = alphabet
	}
	if isParamsFile(path) {
		a, err := align.ParseAlphabet(src.opts.Alphabet)
		if err != nil {
			return nil, usagef("--alphabet: %v", err)
		}
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		defer fh.Close()
		m, err := models.ReadPottsParams(bufio.NewReader(fh), path, a.Letters)
		if err != nil {
			return nil, err
		}
		src.file, src.model, src.alphabet = path, m.ZeroSumGauge(), a
		src.opts.Q, src.opts.Letters = a.Q(), a.Letters
		return src, nil
	}
	m, snap, err := loadPotts(path)
	if err != nil {
		return nil, err
	}
	src.file, src.model, src.snap = checkpointIn(path, modelFile), m.ZeroSumGauge(), snap
	if o, ok := snap.Config.Options.(*engine.PottsOptions); ok && o != nil {
		saved := o.Alphabet
		src.opts = *o
		if alphabet != "" && alphabet != saved && saved != "" {
			return nil, usagef("--alphabet %s: the model was trained on the %s alphabet", alphabet, saved)
		}
	}
	a, err := align.ParseAlphabet(src.opts.Alphabet)
	if err != nil || a.Q() != m.Q {
		// The letters recorded with the model are its alphabet.
		a = &align.Alphabet{Name: "custom", Letters: src.opts.Letters, Gap: strings.IndexByte(src.opts.Letters, '-')}
		if len(a.Letters) != m.Q {
			return nil, fmt.Errorf("%s: the model has %d states and records no alphabet of that size", src.file, m.Q)
		}
	}
	src.alphabet = a
	if filepath.Base(src.file) == modelFile {
		if src.run, err = runConfig(filepath.Dir(src.file)); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// readAlignment reads an alignment for the model of src: its alphabet,
// ambiguous letters as gaps (as training reads them), as many columns as
// the model has sites.
func (src *pottsSource) readAlignment(path string) (*align.MSA, error) {
	msa, err := align.ReadFile(path, align.Options{Alphabet: src.alphabet, Ambiguous: align.AmbiguousGap})
	if err != nil {
		return nil, err
	}
	if msa.N() == 0 || msa.L == 0 {
		return nil, fmt.Errorf("%s: the alignment is empty", path)
	}
	if msa.L != src.model.L {
		return nil, fmt.Errorf("%s: %d columns, the model has %d sites", path, msa.L, src.model.L)
	}
	return msa, nil
}

// pottsEval is the Potts part of eval's --json record.
type pottsEval struct {
	Sites    int      `json:"sites"`
	States   int      `json:"states"`
	MEff     float64  `json:"m_eff"`
	Reweight float64  `json:"reweight"`
	Lambda   float64  `json:"pseudocount"`
	PearsonC *float64 `json:"pearson_cij"`
	SlopeC   *float64 `json:"slope_cij"`
	PearsonF *float64 `json:"pearson_fi"`
	Chains   int      `json:"chains"`
	Sweeps   int      `json:"sweeps"` // 0: the run's persistent chains
	Energies string   `json:"energies_file,omitempty"`
}

// runEvalPotts scores a Potts model on an alignment: adabmDCA's
// convergence metrics (Pearson correlation and slope of the connected
// correlations, Pearson correlation of the site frequencies) of the
// model's chains against the alignment's reweighted frequencies with the
// pseudocount; the exact log Z and average log-likelihood when the states
// can be enumerated; per-sequence energies with --energies.
func runEvalPotts(cmd *cobra.Command, f *evalFlags) error {
	if f.AIS || f.PLL {
		return usagef("eval: %s is a Potts model: --ais and --pll are RBM measures (use --exact, or the Pearson metrics eval reports)", f.Model)
	}
	if f.Chains < 0 || f.Sweeps < 0 {
		return usagef("eval: --chains %d, --sweeps %d: want ≥ 0", f.Chains, f.Sweeps)
	}
	if cmd.Flags().Changed("reweight") && !(f.Reweight >= 0 && f.Reweight <= 1) {
		return usagef("eval: --reweight %v: want an identity threshold in [0, 1] (0 turns reweighting off)", f.Reweight)
	}
	src, err := openPotts(f.Model, f.Alphabet)
	if err != nil {
		return err
	}
	m := src.model
	bits := float64(m.L) * math.Log2(float64(m.Q))
	if f.Exact && bits > models.MaxExactPottsBits+1e-9 {
		return usagef("eval: --exact needs L·log₂q ≤ %d; this model has L = %d, q = %d (%.1f bits)", models.MaxExactPottsBits, m.L, m.Q, bits)
	}
	ownData := f.Data == ""
	if ownData && src.run != nil {
		f.Data = src.run.Data
	}
	if f.Data == "" {
		return usagef("eval: --data ALIGNMENT is required for a Potts model that is not a run directory")
	}
	msa, err := src.readAlignment(f.Data)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	n := msa.N()
	if f.N > 0 {
		n = min(n, f.N)
		msa.Names, msa.Seqs = msa.Names[:n], msa.Seqs[:n*msa.L]
	}
	theta := src.opts.Reweight
	if f.Reweight >= 0 {
		theta = f.Reweight
	}
	w, err := align.Weights(msa, theta)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	meff := align.MEff(w)
	lambda := src.opts.Pseudocount
	if lambda < 0 {
		lambda = 1 / meff
	}
	dataStats, err := models.PottsDataStats(msa.Seqs, n, m.L, m.Q, w, lambda)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res := pottsEval{Sites: m.L, States: m.Q, MEff: meff, Reweight: theta, Lambda: lambda}
	var chains []uint8
	if f.Chains == 0 && f.Sweeps == 0 && src.snap != nil {
		// The run's persistent chains are the model's statistics that
		// training measured.
		if ch := src.snap.Tensors[graph.NameChains]; len(ch) > 0 && len(ch)%(m.L*m.Q) == 0 {
			res.Chains = len(ch) / (m.L * m.Q)
			if chains, err = engine.PottsCodes(ch, res.Chains, m.L, m.Q); err != nil {
				return fmt.Errorf("eval: %s: chains: %w", src.file, err)
			}
		}
	}
	if chains == nil {
		res.Chains, res.Sweeps = f.Chains, f.Sweeps
		if res.Chains == 0 {
			res.Chains = pottsEvalChains
		}
		if res.Sweeps == 0 {
			res.Sweeps = pottsEvalSweeps
		}
		if chains, err = m.Sample(res.Chains, res.Sweeps, f.Seed); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	modelStats, err := models.PottsDataStats(chains, res.Chains, m.L, m.Q, nil, 0)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fit, err := models.ComparePottsStats(dataStats, modelStats)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res.PearsonC, res.SlopeC, res.PearsonF = num(fit.PearsonC), num(fit.SlopeC), num(fit.PearsonF)

	if !f.Exact && bits <= models.MaxExactPottsBits+1e-9 {
		f.Exact = true
	}
	out := evalResult{Model: src.file, Data: f.Data, Visible: m.L * m.Q, N: n, Kind: models.KindPotts, Potts: &res}
	if f.Exact {
		logZ, err := m.LogZ()
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		ll, err := m.LogLikelihood(msa.Seqs, n, nil)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		out.ExactLogZ, out.ExactLL = num(logZ), num(ll)
	}
	if f.Energies != "" {
		if err := writeEnergies(f.Energies, m, msa, n); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		res.Energies = f.Energies
	}
	stdout := cmd.OutOrStdout()
	if f.JSON {
		return printJSON(stdout, out)
	}
	printHeader(stdout, src.file, fmt.Sprintf("Potts model L=%d q=%d (%s)", m.L, m.Q, src.alphabet), f.Data, n)
	fmt.Fprintf(stdout, "M_eff                       %.1f (reweight %g, pseudocount %.3g)\n", meff, theta, lambda)
	source := fmt.Sprintf("%d persistent chains of the run", res.Chains)
	if res.Sweeps > 0 {
		source = fmt.Sprintf("%d fresh chains × %d sweeps", res.Chains, res.Sweeps)
	}
	fmt.Fprintf(stdout, "model statistics            %s\n", source)
	fmt.Fprintf(stdout, "Pearson C_ij                %.4f (slope %.3f)\nPearson f_i                 %.4f\n", fit.PearsonC, fit.SlopeC, fit.PearsonF)
	if out.ExactLogZ != nil {
		fmt.Fprintf(stdout, "exact log Z                 %.4f\nexact average log-lik.      %.4f\n", *out.ExactLogZ, *out.ExactLL)
	}
	if f.Energies != "" {
		fmt.Fprintf(stdout, "energies                    %s\n", f.Energies)
	}
	return nil
}

// writeEnergies writes "name<TAB>energy" for the first n sequences of msa,
// E(s) = −Σ_i h_i(s_i) − Σ_{i<j} J_ij(s_i, s_j) in the model's gauge (the
// zero-sum gauge: energies differ from another gauge's by a constant).
func writeEnergies(path string, m *models.Potts, msa *align.MSA, n int) error {
	e, err := m.Energies(msa.Seqs, n)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("name\tenergy\n")
	for s := 0; s < n; s++ {
		fmt.Fprintf(&b, "%s\t%.6g\n", msa.Names[s], e[s])
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("energies: %w", err)
	}
	return nil
}

// runSamplePotts draws f.N sequences of a Potts model (independent chains
// from uniformly random states, f.Steps site-by-site sweeps each) and
// writes them as FASTA to f.FASTA.
func runSamplePotts(cmd *cobra.Command, f *sampleFlags) error {
	if f.FASTA == "" {
		return usagef("sample: %s is a Potts model: its samples are sequences (--fasta FILE)", f.Model)
	}
	if f.PT != 0 || f.Label != -1 || f.Shape != "" {
		return usagef("sample: --pt, --label and --shape are not for Potts models")
	}
	src, err := openPotts(f.Model, f.Alphabet)
	if err != nil {
		return err
	}
	m := src.model
	seqs, err := m.Sample(f.N, f.Steps, f.Seed)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	return writeSampledFASTA(cmd, f, src.alphabet, m.L, seqs, "Potts model "+src.file)
}

// writeSampledFASTA writes the f.N sampled sequences seqs (f.N×L codes of
// alphabet) to f.FASTA, named sample_1… with the seed and sweeps, and
// says so on standard output (what: the model).
func writeSampledFASTA(cmd *cobra.Command, f *sampleFlags, alphabet *align.Alphabet, L int, seqs []uint8, what string) error {
	msa := &align.MSA{Name: f.FASTA, Alphabet: alphabet, L: L, Seqs: seqs, Names: make([]string, f.N)}
	for i := range msa.Names {
		msa.Names[i] = fmt.Sprintf("sample_%d seed=%d sweeps=%d", i+1, f.Seed, f.Steps)
	}
	var b bytes.Buffer
	if err := align.WriteFASTA(&b, msa); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := os.WriteFile(f.FASTA, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %d sequences of %d sites (%s, %d sweeps) to %s\n", f.N, L, what, f.Steps, f.FASTA)
	return nil
}

// runSamplePottsRBMFASTA draws f.N sequences of the Potts RBM in file
// (block Gibbs chains from its fields, f.Steps sweeps each, as sample
// draws its picture) and writes them as FASTA to f.FASTA in the alphabet
// it was trained on.
func runSamplePottsRBMFASTA(cmd *cobra.Command, f *sampleFlags, file string) error {
	if f.PT != 0 || f.Label != -1 || f.Shape != "" {
		return usagef("sample: --pt, --label and --shape are not for Potts RBMs")
	}
	x, m, err := samplePottsRBM(f, file)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	_, snap, _, _, err := loadPottsRBM(file)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	letters := ""
	if o, ok := snap.Config.Options.(*engine.PottsRBMOptions); ok && o != nil {
		letters = o.Letters
	}
	if len(letters) != m.Q {
		return fmt.Errorf("sample: %s records no alphabet of its %d states", file, m.Q)
	}
	seqs, err := engine.PottsCodes(x, f.N, m.L, m.Q)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	alpha := &align.Alphabet{Name: "custom", Letters: letters, Gap: strings.IndexByte(letters, '-')}
	return writeSampledFASTA(cmd, f, alpha, m.L, seqs, "Potts RBM "+file)
}

// convertFlags are the flags of `rbmgpu convert`.
type convertFlags struct {
	Model, Out, Alphabet string
	Integers             bool
}

func newConvertCmd() *cobra.Command {
	f := &convertFlags{}
	cmd := &cobra.Command{
		Use:   "convert",
		Short: "Convert a Potts model between rbmgpu checkpoints and adabmDCA's params.dat",
		Long: `convert writes a Potts model (train --model potts) in another format, chosen by
--out's extension:

  .dat          adabmDCA's params.dat text ("J i j a b value", "h i a value",
                0-based sites, states as the alphabet's letters; --integers
                writes 0-based state numbers, the format of adabmDCA 1.0),
                in the zero-sum gauge
  .safetensors  an rbmgpu checkpoint, read by eval, sample and contacts

--model is a run directory, a checkpoint, or a params.dat file (whose states
are letters of --alphabet, default protein, or 0-based integers). eval,
sample and contacts also read params.dat directly.`,
		Example: `  rbmgpu convert --model runs/fn3 --out fn3.params.dat
  rbmgpu convert --model adabmDCA/params.dat --out model.safetensors`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConvert(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "Potts run directory, checkpoint or params.dat (required)")
	fl.StringVar(&f.Out, "out", "", "output file: .dat or .safetensors (required)")
	fl.StringVar(&f.Alphabet, "alphabet", "", "alphabet of a params.dat input (default protein)")
	fl.BoolVar(&f.Integers, "integers", false, "params.dat output: states as 0-based integers instead of letters")
	return cmd
}

func runConvert(cmd *cobra.Command, f *convertFlags) error {
	if f.Model == "" || f.Out == "" {
		return usagef("convert: --model and --out are required")
	}
	ext := strings.ToLower(filepath.Ext(f.Out))
	if ext != ".dat" && ext != ".safetensors" {
		return usagef("convert: --out %s: want a .dat (params.dat) or .safetensors file", f.Out)
	}
	if !isPottsModel(f.Model) {
		return fmt.Errorf("convert: %s is not a Potts model (a run of train --model potts, its checkpoint, or a params.dat file)", f.Model)
	}
	src, err := openPotts(f.Model, f.Alphabet)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	m := src.model
	if ext == ".dat" {
		letters := src.alphabet.Letters
		if f.Integers {
			letters = ""
		}
		var b bytes.Buffer
		if err := models.WritePottsParams(&b, m, letters); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		if err := writeFileAtomic(f.Out, b.Bytes()); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
	} else {
		// The settings a checkpoint records, so that it reads back with its
		// alphabet.
		o := src.opts
		o.Q, o.Letters = m.Q, src.alphabet.Letters
		if o.Alphabet == "" {
			o.Alphabet = src.alphabet.Letters
		}
		hyper, err := json.Marshal(engine.Config{Model: models.KindPotts, Options: &o})
		if err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		if err := models.SavePotts(f.Out, m, models.Meta{Hyper: hyper}, nil); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote the Potts model %s (L=%d, q=%d, zero-sum gauge) to %s\n", src.file, m.L, m.Q, f.Out)
	return nil
}
