package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// `rbmgpu train --model potts`: bmDCA, a fully connected Potts model of an
// alignment (--data: FASTA, A2M/A3M, Stockholm) over --alphabet, trained
// against reweighted (--reweight) frequencies with a pseudocount by
// persistent chains (--chains, default 4000) of --pcd K site-by-site
// sweeps (default 5) per update, at the learning rate
// engine.PottsDefaultLR(q, momentum) (0.105 for proteins, 0.025 for RNA,
// with the default momentum 0.5) for at most engine.PottsDefaultEpochs
// epochs; --weight-decay is the L2 penalty on the couplings;
// --target-pearson (default 0.95; 0: never) stops once the chains'
// connected correlations match the data's that well. The Pearson
// correlation is printed after every epoch.
func init() {
	registerModelCLI(models.KindPotts, &modelCLI{
		refuses: map[string]string{"png": "", "sparsity-cost": "", "sparsity-target": "", "binarize": "", "labels": "",
			"hidden": "a Potts model has no hidden units",
			"cd":     "it trains with persistent chains: use --pcd K (sweeps per update)"},
		prepare: func(f *trainFlags) {
			if f.PCD == 0 {
				f.PCD = engine.PottsDefaultSweeps
			}
			if f.Epochs == 0 {
				f.Epochs = engine.PottsDefaultEpochs
			}
			if f.Momentum < 0 {
				f.Momentum = 0.5 // the default of every model but rbm
			}
			if a, err := align.ParseAlphabet(pottsOpts(f).Alphabet); err == nil && f.LR == 0 {
				f.LR = engine.PottsDefaultLR(a.Q(), f.Momentum) // the alphabet's, not the protein default's
			}
			if f.Val < 0 {
				f.Val = 0 // DCA fits the whole family
			}
		},
		loadData: loadPottsData,
		shape:    shapePotts,
	})
}

// pottsOpts returns the potts kind's options bound to the flags.
func pottsOpts(f *trainFlags) *engine.PottsOptions {
	if m := f.models.lookup(models.KindPotts); m != nil {
		if o, ok := m.opts.(*engine.PottsOptions); ok {
			return o
		}
	}
	return engine.NewPottsOptions()
}

// loadPottsData reads --data as an alignment over --alphabet, one-hot.
func loadPottsData(f *trainFlags) (*data.Dataset, error) {
	o := pottsOpts(f)
	a, err := align.ParseAlphabet(o.Alphabet)
	if err != nil {
		return nil, usagef("train: --alphabet: %v", err)
	}
	if isBuiltin(f.Data) {
		return nil, usagef("train: --model potts needs an alignment: --data FILE (FASTA, A2M/A3M or Stockholm)")
	}
	msa, err := align.ReadFile(f.Data, align.Options{Alphabet: a, Ambiguous: align.AmbiguousGap})
	if err != nil {
		return nil, err
	}
	return engine.PottsOneHot(msa)
}

// shapePotts gives a Potts run its banner (with M_eff), the Pearson line
// per epoch and the early stop.
func shapePotts(r *modelRun, f *trainFlags) {
	cfg, train := r.cfg, r.train
	o := pottsOpts(f)
	r.ofKind = func(s *engine.Snapshot) error {
		if s.Potts() == nil {
			return fmt.Errorf("resume: %s holds no Potts model", filepath.Join(f.Resume, modelFile))
		}
		return nil
	}
	var summary string
	if d, err := engine.NewPottsData(cfg, train); err == nil {
		summary = fmt.Sprintf("M = %d sequences, M_eff = %.1f (reweight %g), pseudocount %.3g", train.N, d.MEff, o.Reweight, d.Lambda)
	} else {
		summary = err.Error()
	}
	N := float64(train.D)
	r.banner = func() string {
		return fmt.Sprintf("training Potts BM (bmDCA) L=%d q=%d on %s: %s; couplings L²q² = %.0f floats (%s); %d chains × %d sweeps per update, %s, batch %d, lr %g, %d epochs, %s; output %s",
			train.D/o.Q, o.Q, f.Data, summary, N*N, engine.FormatBytes(int64(4*N*N)), cfg.ChainCount(), cfg.K, r.backend.Name(),
			min(cfg.Batch, train.N), cfg.LR, cfg.Epochs, deviceNote(r.backend), f.Out)
	}
	r.announce = func(*engine.Snapshot) bool { return true }
	r.afterEpoch = func(m engine.EpochMetrics, s *engine.Snapshot) error {
		// The trainer's evaluation has the statistics of this epoch's
		// chains; between evaluations (--eval-every) they are taken here.
		fit := models.PottsFit{PearsonC: m.Pearson, SlopeC: m.PearsonSlope, PearsonF: m.PearsonF}
		if m.EvalSeconds == 0 {
			var err error
			if fit, err = s.PottsFit(); err != nil {
				return err
			}
		}
		fmt.Fprintf(r.stdout, "epoch %d: Pearson C_ij %.4f (slope %.3f), f_i %.4f\n", s.Epoch, fit.PearsonC, fit.SlopeC, fit.PearsonF)
		if o.TargetPearson > 0 && fit.PearsonC >= o.TargetPearson {
			fmt.Fprintf(r.stdout, "target Pearson %g reached\n", o.TargetPearson)
			return engine.ErrStop
		}
		return nil
	}
}

// loadPotts reads the Potts model (zero-sum gauge) of a run directory or
// checkpoint, and its snapshot.
func loadPotts(path string) (*models.Potts, *engine.Snapshot, error) {
	file := path
	if st, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("model: %w", err)
	} else if st.IsDir() {
		file = filepath.Join(path, modelFile)
	}
	snap, _, err := engine.LoadSnapshot(file)
	if err != nil {
		return nil, nil, err
	}
	m, err := snap.Model()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	p, ok := m.(*models.Potts)
	if !ok {
		return nil, nil, fmt.Errorf("%s holds a %s model, not a Potts model", file, snap.Config.Model)
	}
	return p, snap, nil
}

// contactsFlags are the flags of `rbmgpu contacts`.
type contactsFlags struct {
	Model, Out, Alphabet string
	MinSep               int
}

func newContactsCmd() *cobra.Command {
	f := &contactsFlags{}
	cmd := &cobra.Command{
		Use:   "contacts",
		Short: "Predicted residue contacts of a Potts model (DCA scores)",
		Long: `contacts writes the direct-coupling scores of a trained Potts model (a run of
train --model potts, its checkpoint, or an adabmDCA params.dat) as TSV lines "i j score", 1-based sites i < j, best first:
the Frobenius norms of the zero-sum-gauge couplings J_ij over the states
other than the gap, with the average product correction (Ekeberg et al.
2013). --min-sep drops pairs closer than that along the sequence.`,
		Example: `  rbmgpu contacts --model runs/fn3 --out fn3.contacts.tsv`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runContacts(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "trained Potts run directory or checkpoint (required)")
	fl.StringVar(&f.Out, "out", "", "output file (default: standard output)")
	fl.StringVar(&f.Alphabet, "alphabet", "", "alphabet of a params.dat model (default protein)")
	fl.IntVar(&f.MinSep, "min-sep", 1, "minimum separation j − i of the pairs written")
	return cmd
}

func runContacts(cmd *cobra.Command, f *contactsFlags) error {
	if f.Model == "" {
		return usagef("contacts: --model RUN is required")
	}
	if f.MinSep < 1 {
		return usagef("contacts: --min-sep %d: want ≥ 1", f.MinSep)
	}
	src, err := openPotts(f.Model, f.Alphabet)
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	m, gap := src.model, src.alphabet.Gap
	scores, err := m.FrobeniusAPC(gap)
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	var w io.Writer = cmd.OutOrStdout()
	var file *os.File
	if f.Out != "" {
		if file, err = os.Create(f.Out); err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriter(w)
	for _, c := range models.RankContacts(scores, m.L, f.MinSep) {
		fmt.Fprintf(bw, "%d\t%d\t%.6g\n", c.I+1, c.J+1, c.Score)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	if file != nil {
		if err := file.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("contacts: %w", err)
		}
	}
	return nil
}
