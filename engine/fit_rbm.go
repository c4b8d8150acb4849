package engine

import "github.com/rbmgpu/rbmgpu/engine/data"

// rbmFit is the fitModel of an RBM, Bernoulli or (gauss set) Gaussian.
type rbmFit struct {
	snap  *Snapshot
	prog  Program
	gauss *gaussianRun // nil for Bernoulli visible units
}

func (f *rbmFit) program() stepProgram { return f.prog }

func (f *rbmFit) load() error {
	if err := f.prog.SetModel(f.snap.Model); err != nil {
		return err
	}
	if err := f.prog.SetState(f.snap.State); err != nil {
		return err
	}
	if f.gauss != nil {
		return f.gauss.load()
	}
	return nil
}

func (f *rbmFit) pull() error {
	if err := f.prog.Model(f.snap.Model); err != nil {
		return err
	}
	if f.gauss != nil {
		return f.gauss.save()
	}
	return nil
}

func (f *rbmFit) limit(b, n int) int { return f.gauss.limit(b, n) }

func (f *rbmFit) prepare(rows []float32) {
	if f.gauss != nil {
		f.gauss.standardise(rows)
	}
}

func (f *rbmFit) check(b int) error { return f.gauss.check(b) }

// diverged names the first non-finite tensor: the parameters (the
// Gaussian's own check first, with its learning-rate advice), then the
// training state, then the statistic that overflowed.
func (f *rbmFit) diverged(epoch int, recon float64, rerr error) error {
	if f.gauss != nil {
		if err := f.gauss.epochEnd(epoch, recon, f.snap.GRBM()); err != nil {
			return err
		}
	}
	if err := f.snap.Model.Validate(); err != nil {
		return divergedAt(epoch, err)
	}
	if err := checkFinite(f.snap.State); err != nil {
		return divergedAt(epoch, err)
	}
	if rerr != nil {
		return divergedAt(epoch, rerr)
	}
	return nil
}

func (f *rbmFit) evaluate(m *EpochMetrics, train, heldout *data.Dataset, cfg Config) error {
	if g := f.snap.GRBM(); g != nil {
		return evaluateGaussian(m, g, train, heldout, cfg)
	}
	return evaluate(m, f.snap.Model, train, heldout, cfg)
}
