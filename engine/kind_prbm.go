package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// The "prbm" kind: a Potts–Bernoulli RBM (models.PottsRBM) on the one-hot
// rows of an alignment (PottsOneHot: L sites of Q states, V = L·Q units),
// H Bernoulli hidden units, trained by CD-k or PCD-k on the step graph
// graph.BuildPottsRBMStep: the Bernoulli RBM's step with each site drawn
// from its softmax (one Philox uniform per site, kernels.PottsVisible).
// The CLI trains it as `rbmgpu train --model rbm --visible potts`.
//
// Start: W ~ N(0, 0.01²) (models.NewRBM's draws), c = 0, and the fields of
// the independent-site model of the training rows (models.PottsSiteFields,
// zero-sum per site); PCD chains are drawn from that model (site i of chain
// r with uniform r·L + i of (seed, OpPottsRBMChainInit, 0)).
//
// Gauge: training runs in the free gauge with L2 — no projection after the
// updates. Σ_a b_i(a) stays at its initial 0 to float32 rounding (the
// field gradient f_data − f_model sums to zero over a at every step), and
// the weight decay (Config.WeightDecay, on W only) selects Σ_a W_{ia,j} = 0 among the
// W that the likelihood cannot tell apart (a shift of W_{i·,j} trades
// against c_j). Every block — W, b, c — trains; none is frozen.
// models.PottsRBM.ZeroSumGauge gives the zero-sum representative of the
// same distribution.
//
// Evaluation: the exact log-likelihood when the smaller layer can be
// enumerated (models.PottsRBM.ExactBits ≤ min(ExactLLMaxUnits, 20) and
// the enumeration is cheap), else AIS from the independent-site model of
// the training data (EpochMetrics.TrajLogZ, TrajLL, TrajHeldOutLL); the
// free-energy gap as for the RBM. Checkpoints: models.SavePottsRBM's
// tensors beside the RBM's training state (velocities, chains).

func init() { RegisterKind(pottsRBMKind{}) }

// OpPottsRBMChainInit is the Philox op id of the initial chains of a
// Potts RBM run.
const OpPottsRBMChainInit uint32 = 0xB502

// Defaults of the Potts RBM's evaluation by AIS.
const (
	// PottsRBMAISRuns is the number of AIS runs per evaluated epoch.
	PottsRBMAISRuns = 32
	// PottsRBMAISSteps is the most β steps per evaluated epoch; fewer are
	// taken when runs × steps × L·Q·H exceeds pottsRBMAISBudget.
	PottsRBMAISSteps  = 1000
	pottsRBMAISBudget = 5e8
	// pottsRBMExactBudget bounds the work of an exact evaluation:
	// 2^H·L·Q (hidden enumeration) or Q^L·L·H (visible).
	pottsRBMExactBudget = 1 << 24
)

// PottsRBMOptions are the settings of the "prbm" kind (Config.Options).
// The CLI binds no flags of its own to them: it copies --alphabet and
// --reweight of the potts kind.
type PottsRBMOptions struct {
	// Q is the number of states per site (the alphabet's size, gap
	// included); the data have L·Q features.
	Q int `json:"q"`
	// Letters are the alphabet's letters in code order; may be empty.
	Letters string `json:"letters"`
	// Alphabet names the alphabet (align.ParseAlphabet); Defaults sets Q
	// and Letters from it when Q is 0.
	Alphabet string `json:"alphabet"`
	// Reweight records the identity threshold of the sequence weights
	// the training rows were resampled with (ResampleWeighted; 0: none).
	Reweight float64 `json:"reweight"`
}

// Settings implements Options: none (see PottsRBMOptions).
func (o *PottsRBMOptions) Settings() []Setting { return nil }

// NewPottsRBMOptions returns the defaults: the protein alphabet (Q set by
// Config.Defaults) and reweighting at PottsDefaultReweight.
func NewPottsRBMOptions() *PottsRBMOptions {
	return &PottsRBMOptions{Alphabet: "protein", Reweight: PottsDefaultReweight}
}

type pottsRBMKind struct{}

func (pottsRBMKind) Name() string { return models.KindPottsRBM }
func (pottsRBMKind) Summary() string {
	return "Potts–Bernoulli RBM on one-hot alignment columns (rbm --visible potts)"
}
func (pottsRBMKind) NewOptions() Options { return NewPottsRBMOptions() }

func pottsRBMOptions(c Config) PottsRBMOptions {
	if o, ok := c.Options.(*PottsRBMOptions); ok && o != nil {
		return *o
	}
	return *NewPottsRBMOptions()
}

// Defaults implements Kind: Q and the letters from the alphabet.
func (pottsRBMKind) Defaults(c *Config) {
	if o, ok := c.Options.(*PottsRBMOptions); ok && o != nil && o.Q == 0 && o.Alphabet != "" {
		if a, err := align.ParseAlphabet(o.Alphabet); err == nil {
			o.Q, o.Letters = a.Q(), a.Letters
		}
	}
}

func (pottsRBMKind) Validate(c Config) error {
	o, ok := c.Options.(*PottsRBMOptions)
	switch {
	case !ok || o == nil:
		return fmt.Errorf("model prbm: options are %T, want *PottsRBMOptions", c.Options)
	case o.Q == 0 && o.Alphabet != "":
		_, err := align.ParseAlphabet(o.Alphabet)
		return fmt.Errorf("Potts RBM: --alphabet: %v", err)
	case o.Q < 2 || o.Q > kernels.PottsMaxStates:
		return fmt.Errorf("Potts RBM: %d states per site: want 2 to %d (set by the alphabet)", o.Q, kernels.PottsMaxStates)
	case o.Letters != "" && len(o.Letters) != o.Q:
		return fmt.Errorf("Potts RBM: %d letters for %d states", len(o.Letters), o.Q)
	case !(o.Reweight >= 0 && o.Reweight <= 1):
		return fmt.Errorf("Potts RBM: reweight = %v, want a threshold in [0, 1] (0 turns it off)", o.Reweight)
	case c.PT > 0:
		return errors.New("Potts RBM: parallel tempering is not supported (binary RBMs only)")
	case c.Centered:
		return errors.New("Potts RBM: centring is not supported (binary RBMs only)")
	}
	return nil
}

// pottsRBMSites returns L for V one-hot features of c's Q states.
func pottsRBMSites(c Config, V int) (int, error) {
	return oneHotSites("Potts RBM", V, pottsRBMOptions(c).Q)
}

func (pottsRBMKind) Step(c Config, V int) (graph.Declared, error) {
	if _, err := pottsRBMSites(c, V); err != nil {
		return nil, err
	}
	return graph.BuildPottsRBMStep(stepConfig(c, V), pottsRBMOptions(c).Q, &graph.RNG{Seed: c.Seed})
}

// pottsRBMInitSmoothing is the pseudocount of the initial fields.
const pottsRBMInitSmoothing = 0.5

// Init implements Kind: see the kind's comment.
func (pottsRBMKind) Init(c Config, train *data.Dataset) (map[string][]float32, error) {
	L, err := pottsRBMSites(c, train.D)
	if err != nil {
		return nil, err
	}
	q := pottsRBMOptions(c).Q
	rows := train.Rows(0, train.N)
	m, err := models.NewPottsRBM(L, q, c.Hidden, c.Seed)
	if err != nil {
		return nil, err
	}
	if _, err := m.Codes(rows, train.N); err != nil {
		return nil, fmt.Errorf("%s: %w", train.Name, err)
	}
	copy(m.VBias, models.PottsSiteFields(rows, train.N, L, q, pottsRBMInitSmoothing))
	t := rbmTensors(m.RBM())
	if c.Persistent {
		t[graph.NameChains] = PottsFieldChains(m.VBias, L, q, c.ChainCount(), c.Seed)
	}
	return t, nil
}

// PottsFieldChains returns C one-hot chains (C×L·q) drawn from the
// independent-site model with fields b (L·q): site i of chain r is
// kernels.CategoricalF32(b_i, U(r·L+i)) of the stream (seed,
// OpPottsRBMChainInit, 0).
func PottsFieldChains(b []float32, L, q, C int, seed uint64) []float32 {
	N := L * q
	out := make([]float32, C*N)
	u := make([]float32, q)
	st := kernels.Stream{Seed: seed, Op: OpPottsRBMChainInit}
	for r := 0; r < C; r++ {
		for i := 0; i < L; i++ {
			copy(u, b[i*q:(i+1)*q])
			out[r*N+i*q+kernels.CategoricalF32(u, st.Uniform(uint64(r*L+i)))] = 1
		}
	}
	return out
}

func (k pottsRBMKind) CheckResume(c Config, s *Snapshot, V int) error {
	if err := checkRBMResume(k.Name(), c, s, V); err != nil {
		return err
	}
	if _, err := pottsRBMSites(c, V); err != nil {
		return err
	}
	if ch := s.Tensors[graph.NameChains]; c.Persistent && len(ch) != c.ChainCount()*V {
		return fmt.Errorf("checkpoint has %d chain values, config wants %d chains of %d units", len(ch), c.ChainCount(), V)
	}
	return nil
}

// PottsRBM returns the Potts RBM of a "prbm" snapshot in the gauge it was
// trained in, sharing the snapshot's slices; nil for any other.
func (s *Snapshot) PottsRBM() *models.PottsRBM {
	if s == nil || s.Config.Model != models.KindPottsRBM {
		return nil
	}
	r := s.RBM()
	q := pottsRBMOptions(s.Config).Q
	if r == nil || q < 2 || r.V%q != 0 {
		return nil
	}
	m, err := models.PottsRBMOf(r, r.V/q, q)
	if err != nil {
		return nil
	}
	return m
}

func (pottsRBMKind) Model(s *Snapshot) (any, error) {
	m := s.PottsRBM()
	if m == nil {
		return nil, errors.New("snapshot holds no Potts RBM")
	}
	return m, nil
}

func (pottsRBMKind) Begin(Config, *Snapshot, *data.Dataset, bool) Run { return rbmRun{} }

// Evaluate implements Kind: see the kind's comment.
func (pottsRBMKind) Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, cfg Config) error {
	model := s.PottsRBM()
	if model == nil {
		return errors.New("evaluate: snapshot holds no Potts RBM")
	}
	meanF := func(d *data.Dataset, n int) (float64, error) {
		codes, err := model.Codes(d.Rows(0, n), n)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", d.Name, err)
		}
		return model.MeanFreeEnergy(codes, n), nil
	}
	if heldout != nil && heldout.N > 0 {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		fh, err := meanF(heldout, n)
		if err != nil {
			return err
		}
		ft, err := meanF(train, n)
		if err != nil {
			return err
		}
		m.FreeEnergyGap = fh - ft
	}
	if cfg.ExactLLMaxUnits < 0 {
		return nil
	}
	logZ, exact := 0.0, PottsRBMExact(model, cfg.ExactLLMaxUnits)
	if exact {
		var err error
		if logZ, err = model.LogZ(); err != nil {
			return err
		}
	} else {
		steps := int(math.Min(PottsRBMAISSteps, pottsRBMAISBudget/(PottsRBMAISRuns*float64(model.L*model.Q*model.H))))
		r, err := model.AIS(context.Background(), models.PottsAISConfig{
			Runs: PottsRBMAISRuns, Betas: models.Betas(max(steps, 100)), Seed: cfg.Seed + uint64(s.Epoch),
			BaseFields: models.PottsSiteFields(train.Rows(0, train.N), train.N, model.L, model.Q, 1),
		})
		if err != nil {
			return err
		}
		logZ = r.LogZ
	}
	ll := func(d *data.Dataset) (float64, error) {
		f, err := meanF(d, d.N)
		return -f - logZ, err
	}
	var llT, llH float64 = math.NaN(), math.NaN()
	var err error
	if llT, err = ll(train); err != nil {
		return err
	}
	if heldout != nil && heldout.N > 0 {
		if llH, err = ll(heldout); err != nil {
			return err
		}
	}
	if exact {
		m.LogZ, m.LogLikelihood, m.HeldOutLogLikelihood = logZ, llT, llH
	} else {
		m.TrajLogZ, m.TrajLL, m.TrajHeldOutLL = logZ, llT, llH
	}
	return nil
}

// PottsRBMExact reports whether Evaluate computes m's log-likelihood
// exactly: the smaller layer has at most min(maxUnits, 20) bits
// (models.PottsRBM.ExactBits) and its enumeration is cheap (2^H·L·Q or
// Q^L·L·H at most 2^24).
func PottsRBMExact(m *models.PottsRBM, maxUnits int) bool {
	if maxUnits < 0 || m.ExactBits() > float64(min(maxUnits, models.MaxExactPottsRBMBits)) {
		return false
	}
	L, q, H := float64(m.L), float64(m.Q), float64(m.H)
	cost := math.Min(math.Exp2(H)*L*q, math.Pow(q, L)*L*H)
	return cost <= pottsRBMExactBudget
}

func (pottsRBMKind) Save(path string, s *Snapshot, meta models.Meta) error {
	m := s.PottsRBM()
	if m == nil {
		return fmt.Errorf("save %s: snapshot holds no Potts RBM", path)
	}
	return models.SavePottsRBM(path, m, meta, ExtraTensors(s, rbmShapes(s), graph.NameW, graph.NameVBias, graph.NameHBias))
}

// Load reads a "prbm" checkpoint: the model and the RBM's training state
// (zero velocities for a plain model file).
func (pottsRBMKind) Load(path string) (map[string][]float32, models.Meta, error) {
	m, meta, extra, err := models.LoadPottsRBM(path)
	if err != nil {
		return nil, meta, err
	}
	t := map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias}
	if err := rbmState(path, t, extra, m.L*m.Q, m.H); err != nil {
		return nil, meta, err
	}
	return t, meta, nil
}

// ModelSizes implements ModelSizer: the RBM's on V = L·Q one-hot units.
func (pottsRBMKind) ModelSizes(c Config, V int) (params, chainWidth float64) {
	v, h := float64(V), float64(c.Hidden)
	return v*h + v + h, v
}

// ResampleWeighted returns n = d.N rows of d drawn by systematic
// resampling with probabilities w_s / Σw (row k of the result is the row
// s whose cumulative weight interval holds (k + ½)·Σw/n): a deterministic
// dataset whose row frequencies follow the sequence weights
// (align.Weights), so that a trainer averaging rows uniformly fits the
// reweighted distribution. Labels are dropped; d is returned as is when
// all weights are equal.
func ResampleWeighted(d *data.Dataset, w []float64) (*data.Dataset, error) {
	if len(w) != d.N || d.N == 0 {
		return nil, fmt.Errorf("%s: %d weights for %d rows", d.Name, len(w), d.N)
	}
	total, equal := 0.0, true
	for _, x := range w {
		if !(x >= 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s: weight %v is not a finite non-negative number", d.Name, x)
		}
		total += x
		equal = equal && x == w[0]
	}
	if total <= 0 {
		return nil, fmt.Errorf("%s: the sequence weights sum to 0", d.Name)
	}
	if equal {
		return d, nil
	}
	n, D := d.N, d.D
	x := make([]float32, n*D)
	row := make([]float32, D)
	s, cum := 0, w[0]
	for k := 0; k < n; k++ {
		t := (float64(k) + 0.5) * total / float64(n)
		for cum <= t && s < n-1 {
			s++
			cum += w[s]
		}
		d.RowTo(row, s)
		copy(x[k*D:], row)
	}
	return &data.Dataset{Name: d.Name, N: n, D: D, X: x, Shape: d.Shape}, nil
}
