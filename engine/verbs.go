package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// scikit-learn's verbs on a trained model: Transform, ScoreSamples, Gibbs
// and PartialFit as methods of the Snapshot that Trainer.Fit returns and
// LoadSnapshot reads (Fit is Trainer.Fit). Rows are row-major n×V in data
// units: a Gaussian RBM standardises them with its stored statistics.

// rbmOf returns the RBM of an "rbm" or "grbm" snapshot (the Bernoulli part
// of the latter), nil for any other kind, whose units the verbs do not know.
func (s *Snapshot) rbmOf() *models.RBM {
	switch k := s.Config.Model; k {
	case "", models.KindRBM, models.KindGRBM:
		return s.RBM()
	}
	return nil
}

// Encoder returns the recognition pass of the model in s (see Encoder):
// for an RBM p(h = 1 | v) = σ(c + vW); for a Gaussian RBM the same layer
// on u ⊙ exp(−z), u = (x − data_mean)/data_std the standardised rows and
// exp(−z) = 1/σ² the precisions, i.e. p(h_j = 1 | u) = σ(c_j + Σ_i u_i W_ij/σ_i²).
// Other kinds have no feature map: an error.
func (s *Snapshot) Encoder() (*Encoder, error) {
	m := s.rbmOf()
	if m == nil {
		return nil, fmt.Errorf("transform: the %s model has no hidden features", s.Config.Model)
	}
	e := &Encoder{Layers: []EncoderLayer{{In: m.V, Out: m.H, W: m.W, C: m.HBias}}, What: fmt.Sprintf("RBM %d×%d", m.V, m.H)}
	if g := s.GRBM(); g != nil {
		prec := make([]float32, g.V)
		for i, z := range g.LogVar {
			prec[i] = float32(math.Exp(-float64(z)))
		}
		e.What = fmt.Sprintf("Gaussian RBM %d×%d", g.V, g.H)
		e.Input = func(dst, x []float32, n int) []float32 {
			if len(dst) < n*g.V {
				dst = make([]float32, n*g.V)
			}
			dst = dst[:n*g.V]
			copy(dst, x[:n*g.V])
			g.Standardise(dst)
			for k := range dst {
				dst[k] *= prec[k%g.V]
			}
			return dst
		}
	}
	return e, nil
}

// Transform returns the hidden probabilities p(h = 1 | v) of the n rows of
// x (n×V) as an n×H matrix in dst (allocated when nil or too short), as
// scikit-learn's BernoulliRBM.transform: for an RBM
//
//	dst[r·H + j] = σ(c_j + Σ_i x_ri W_ij),
//
// for a Gaussian RBM the same on the standardised rows scaled by the
// precisions (see Snapshot.Encoder). It runs on b (nil: Host()) in batches
// of DefaultEncodeBatch rows (Encoder.Encode); ctx is checked between them.
func (s *Snapshot) Transform(ctx context.Context, b Backend, dst, x []float32, n int) ([]float32, error) {
	e, err := s.Encoder()
	if err != nil {
		return nil, err
	}
	return e.Transform(ctx, b, dst, x, n)
}

// ScoreSamples returns, in dst[:n] (allocated when too short), the
// pseudo-log-likelihood estimate of scikit-learn's
// BernoulliRBM.score_samples for each of the n rows of x (n×V) of an RBM:
//
//	score(v) = V · log σ(F(ṽ) − F(v)),   F(v) = −bᵀv − Σ_j softplus(c_j + (vW)_j),
//
// ṽ being v with one unit i flipped (v_i → 1 − v_i). scikit-learn draws i
// from its random_state; here i comes from the Philox stream (seed,
// models.OpPLLBit, 0), value r for row r (see models.RBM.ScoreSamples), so
// the scores are deterministic given seed. Gaussian RBMs (no binary units
// to flip) and other kinds are refused.
func (s *Snapshot) ScoreSamples(dst []float64, x []float32, n int, seed uint64) ([]float64, error) {
	m := s.rbmOf()
	if m == nil || s.GRBM() != nil {
		return nil, fmt.Errorf("score samples: the pseudo-likelihood of scikit-learn needs a Bernoulli RBM, not a %s model", s.Config.Model)
	}
	return m.ScoreSamples(dst, x, n, seed)
}

// Gibbs runs one step of block Gibbs sampling from each of the n rows of v
// (n×V) and returns the new visible sample in dst (allocated when nil or
// too short; it may be v), as scikit-learn's BernoulliRBM.gibbs:
//
//	h ~ p(h | v),   v' ~ p(v | h).
//
// For an RBM both draws are Bernoulli, with uniforms of the Philox streams
// (seed, models.OpGibbsHidden, step) element r·H+j and (seed,
// models.OpGibbsVisible, step) element r·V+i (models.RBM.Gibbs with one
// sweep from step0 = step), so successive calls with step, step+1, … form a
// chain. For a Gaussian RBM v is standardised, v' ~ N(b + Wh, σ²) is drawn
// on the streams of models.GRBM.Gibbs and mapped back to data units.
func (s *Snapshot) Gibbs(dst, v []float32, n int, seed, step uint64) ([]float32, error) {
	m := s.rbmOf()
	if m == nil {
		return nil, fmt.Errorf("gibbs: the %s model has no RBM sampler here (see models.BM.Gibbs)", s.Config.Model)
	}
	if n < 0 || len(v) < n*m.V {
		return nil, fmt.Errorf("gibbs: %d values for %d rows of %d visible units", len(v), n, m.V)
	}
	if len(dst) < n*m.V {
		dst = make([]float32, n*m.V)
	}
	dst = dst[:n*m.V]
	copy(dst, v[:n*m.V])
	if g := s.GRBM(); g != nil {
		g.Standardise(dst)
		if err := g.Gibbs(dst, n, 1, seed, step, false); err != nil {
			return nil, fmt.Errorf("gibbs: %w", err)
		}
		g.Unstandardise(dst)
		return dst, nil
	}
	return dst, m.Gibbs(dst, n, 1, seed, step)
}

// PartialFit runs one pass of training steps over the rows of d, continuing
// the model in s, and returns the new snapshot (s is not changed), as
// scikit-learn's partial_fit: the ⌊N/B⌋ mini-batches of B =
// min(Config.Batch, N) rows in the order Permutation(Seed, Epoch) (the
// remainder is not visited), each a step of the snapshot's algorithm (CD-k
// or PCD-k, its chains carried on) with its momentum, weight decay and
// sparsity at the constant learning rate Config.LR (a partial fit has no
// horizon for a schedule). The pass counts as one epoch (Epoch + 1); no
// evaluation runs. s must be at an epoch boundary (Batch = 0); a fresh model
// to start from is RBMSnapshot(m), or a Snapshot with Config.Epochs = 0
// from a finished run. It runs on b (nil: Host()). A Gaussian RBM keeps its
// stored standardisation; its learning-rate guard runs as in Fit.
func (s *Snapshot) PartialFit(ctx context.Context, b Backend, d *data.Dataset) (*Snapshot, error) {
	if s == nil {
		return nil, errors.New("partial fit: no snapshot")
	}
	if s.Batch != 0 {
		return nil, fmt.Errorf("partial fit: the snapshot stopped in epoch %d after %d mini-batches; finish that epoch with Trainer.Fit first", s.Epoch+1, s.Batch)
	}
	if d == nil || d.N == 0 {
		return nil, errors.New("partial fit: no rows")
	}
	orig := s.Config.Defaults()
	cfg := orig
	cfg.Epochs, cfg.Schedule, cfg.ExactLLMaxUnits = s.Epoch+1, ConstantSchedule{}, -1
	cfg.Batch = min(cfg.Batch, d.N)
	if cfg.Persistent {
		// The carried chains keep their number when the batch shrinks.
		if V := d.D; V > 0 && len(s.Tensors[graph.NameChains]) >= V {
			cfg.Chains = len(s.Tensors[graph.NameChains]) / V
		}
	}
	tr := &Trainer{Config: cfg, Backend: b, Resume: s}
	res, err := tr.Fit(ctx, d, nil)
	if err != nil {
		return nil, fmt.Errorf("partial fit: %w", err)
	}
	out := res.Snapshot
	orig.Epochs = max(orig.Epochs, out.Epoch)
	out.Config = orig
	return out, nil
}
