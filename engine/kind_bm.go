package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// The "bm" kind: a general Boltzmann machine (models.BM) with V visible
// units (the data's features) and Config.Hidden hidden ones, trained by
// the learning rule of graph.BMStep: statistics with the visibles clamped
// (Sweeps sequential sweeps over the hidden units, or mean-field) minus
// statistics of Config.Chains persistent free-running chains (Config.K
// sweeps over all units per step). Momentum, weight decay, schedules,
// callbacks, cancellation and checkpoints work as for an RBM; sparsity is
// not supported. Checkpoints: W, bias, mask, velocity.W, velocity.bias,
// chains.

func init() { RegisterKind(bmKind{}) }

// BMOptions are the settings of the "bm" kind (Config.Options).
type BMOptions struct {
	// Lateral chooses the connections besides visible–hidden ones:
	// LateralNone (restricted), LateralVisible (semi-restricted),
	// LateralHidden or LateralBoth (the general machine). Config.Options
	// nil means LateralBoth; a BMOptions value sets it explicitly.
	Lateral models.Lateral
	// Sweeps is the number of clamped-phase sweeps per step (0 means K).
	Sweeps int
	// MeanField uses sequential mean-field updates in the clamped phase.
	MeanField bool
}

// Settings implements Options: --lateral, --sweeps and --mean-field.
func (o *BMOptions) Settings() []Setting {
	return []Setting{
		{Name: "lateral", Usage: "lateral connections besides visible–hidden: none | visible | hidden | both", Value: (*lateralValue)(&o.Lateral)},
		IntSetting("sweeps", "clamped-phase Gibbs sweeps over the hidden units per step (default: the --pcd K)", &o.Sweeps),
		BoolSetting("mean-field", "sequential mean-field updates in the clamped phase instead of sampling", &o.MeanField),
	}
}

type lateralValue models.Lateral

func (l *lateralValue) String() string { return models.Lateral(*l).String() }
func (l *lateralValue) Set(s string) error {
	v, err := models.ParseLateral(s)
	if err != nil {
		return err
	}
	*l = lateralValue(v)
	return nil
}

// bmOptionsJSON is the form of BMOptions in a checkpoint's "hyper"
// metadata.
type bmOptionsJSON struct {
	Lateral   string `json:"lateral"`
	Sweeps    int    `json:"sweeps"`
	MeanField bool   `json:"mean_field"`
}

// MarshalJSON implements json.Marshaler.
func (o *BMOptions) MarshalJSON() ([]byte, error) {
	return json.Marshal(bmOptionsJSON{Lateral: o.Lateral.String(), Sweeps: o.Sweeps, MeanField: o.MeanField})
}

// UnmarshalJSON implements json.Unmarshaler ("lateral" empty or absent
// leaves Lateral as it is).
func (o *BMOptions) UnmarshalJSON(b []byte) error {
	var j bmOptionsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Lateral != "" && j.Lateral != "custom" {
		l, err := models.ParseLateral(j.Lateral)
		if err != nil {
			return err
		}
		o.Lateral = l
	}
	o.Sweeps, o.MeanField = j.Sweeps, j.MeanField
	return nil
}

type bmKind struct{}

func (bmKind) Name() string    { return models.KindBM }
func (bmKind) Summary() string { return "general Boltzmann machine with lateral connections" }

// NewOptions implements Kind: the general machine (every pair of units
// connected), sweeps = K, sampled clamped phase.
func (bmKind) NewOptions() Options { return &BMOptions{Lateral: models.LateralBoth} }

// Defaults implements Kind: a BM's chains always persist (its free phase
// runs Config.K sweeps of persistent chains), so Persistent is set.
func (bmKind) Defaults(c *Config) { c.Persistent = true }

func bmOptions(c Config) BMOptions {
	if o, ok := c.Options.(*BMOptions); ok && o != nil {
		return *o
	}
	return BMOptions{Lateral: models.LateralBoth}
}

func (bmKind) Validate(c Config) error {
	o, ok := c.Options.(*BMOptions)
	switch {
	case !ok:
		return fmt.Errorf("model bm: options are %T, want *BMOptions", c.Options)
	case o.Lateral < models.LateralNone || o.Lateral > models.LateralBoth:
		return fmt.Errorf("BM: lateral connectivity %v is not one of none, visible, hidden, both", o.Lateral)
	case o.Sweeps < 0:
		return fmt.Errorf("BM: sweeps = %d, want ≥ 0 (0 means k)", o.Sweeps)
	case c.SparsityCost != 0:
		return errors.New("BM: sparsity is not supported for Boltzmann machines")
	}
	return nil
}

// bmStepConfig returns the BM step shapes of a defaulted Config.
func bmStepConfig(c Config, V int) graph.BMConfig {
	o := bmOptions(c)
	sweeps := o.Sweeps
	if sweeps == 0 {
		sweeps = c.K
	}
	return graph.BMConfig{Visible: V, Hidden: c.Hidden, Batch: c.Batch, Chains: c.ChainCount(), Sweeps: sweeps,
		ModelSweeps: c.K, MeanField: o.MeanField}
}

func (bmKind) CenteredDefault() bool { return false }

func (bmKind) Step(c Config, V int) (graph.Declared, error) {
	if c.Centered {
		return graph.BuildCenteredBMStep(bmStepConfig(c, V), float32(c.CenterRate), &graph.RNG{Seed: c.Seed})
	}
	return graph.BuildBMStep(bmStepConfig(c, V), &graph.RNG{Seed: c.Seed})
}

// Init starts from models.NewBM with the visible biases at the data
// marginals' logits, and C chains where unit i is 1 with probability
// σ(b_i) (the data marginals for visible units, ½ for hidden ones).
func (bmKind) Init(c Config, train *data.Dataset) (map[string][]float32, error) {
	m, err := models.NewBM(train.D, c.Hidden, bmOptions(c).Lateral, c.Seed)
	if err != nil {
		return nil, err
	}
	MarginalLogits(m.Bias, train)
	n := m.N()
	t := map[string][]float32{
		graph.NameW: m.W, graph.NameBias: m.Bias, graph.NameMask: m.Mask,
		graph.VelocityOf(graph.NameW): zeros(n * n), graph.VelocityOf(graph.NameBias): zeros(n),
		graph.NameChains: BiasChains(m.Bias, c.ChainCount(), c.Seed),
	}
	if c.Centered {
		t[graph.NameOffsetV] = bmCenterTensors(train, c.Hidden)
	}
	return t, nil
}

func (bmKind) CheckResume(c Config, s *Snapshot, V int) error {
	m := s.BM()
	C := c.ChainCount()
	switch {
	case s.Config.Model != models.KindBM || m == nil:
		return errors.New("the checkpoint holds no Boltzmann machine")
	case m.V != V:
		return fmt.Errorf("checkpoint model has %d visible units, data has %d", m.V, V)
	case m.H != c.Hidden:
		return fmt.Errorf("checkpoint model has %d hidden units, config %d", m.H, c.Hidden)
	case len(s.Tensors[graph.NameChains]) != C*m.N():
		return fmt.Errorf("checkpoint has %d chain values, config wants %d chains of %d units", len(s.Tensors[graph.NameChains]), C, m.N())
	}
	if l, ok := m.Lateral(); !ok || l != bmOptions(c).Lateral {
		return fmt.Errorf("checkpoint connectivity differs from lateral=%v", bmOptions(c).Lateral)
	}
	return checkCenterResume(c, s, m.N(), -1)
}

// BM returns the Boltzmann machine of a "bm" snapshot (sharing its
// slices), nil for any other.
func (s *Snapshot) BM() *models.BM {
	if s == nil {
		return nil
	}
	b, w, mask := s.Tensors[graph.NameBias], s.Tensors[graph.NameW], s.Tensors[graph.NameMask]
	if b == nil || w == nil || mask == nil {
		return nil
	}
	H := s.Config.Hidden
	return &models.BM{V: len(b) - H, H: H, W: w, Bias: b, Mask: mask}
}

func (bmKind) Model(s *Snapshot) (any, error) {
	m := s.BM()
	if m == nil {
		return nil, errors.New("snapshot holds no Boltzmann machine")
	}
	return m, nil
}

func (bmKind) Begin(Config, *Snapshot, *data.Dataset, bool) Run { return bmRun{} }

type bmRun struct{ NopRun }

// RawRows implements RawRows: a BM trains on the data values themselves.
func (bmRun) RawRows() bool { return true }

// Diverged reports the monitor's error, then the parameters'.
func (bmRun) Diverged(epoch int, s *Snapshot, _ float64, rerr error) error {
	if rerr != nil {
		return DivergedAt(epoch, rerr)
	}
	if err := s.BM().Validate(); err != nil {
		return DivergedAt(epoch, err)
	}
	return nil
}

// Evaluate fills the free-energy gap (when the 2^H hidden states can be
// enumerated) and the exact log-likelihood (when N = V+H ≤
// min(ExactLLMaxUnits, models.MaxExactBMUnits)).
func (bmKind) Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, cfg Config) error {
	model := s.BM()
	if cfg.ExactLLMaxUnits < 0 || model.H > models.MaxExactBMUnits {
		return nil
	}
	meanLogU := func(d *data.Dataset, n int) float64 { return meanOverRows(d, n, model.LogUnnormalized) }
	if heldout != nil && heldout.N > 0 && model.H <= cfg.ExactLLMaxUnits {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		m.FreeEnergyGap = meanLogU(train, n) - meanLogU(heldout, n)
	}
	if model.N() > min(cfg.ExactLLMaxUnits, models.MaxExactBMUnits) {
		return nil
	}
	logZ, err := model.LogZ()
	if err != nil {
		return err
	}
	m.LogZ = logZ
	m.LogLikelihood = meanLogU(train, train.N) - logZ
	if heldout != nil && heldout.N > 0 {
		m.HeldOutLogLikelihood = meanLogU(heldout, heldout.N) - logZ
	}
	return nil
}

func (bmKind) Save(path string, s *Snapshot, meta models.Meta) error {
	m := s.BM()
	if m == nil {
		return fmt.Errorf("save %s: snapshot holds no Boltzmann machine", path)
	}
	n := m.N()
	vw, vb, ch := s.Tensors[graph.VelocityOf(graph.NameW)], s.Tensors[graph.VelocityOf(graph.NameBias)], s.Tensors[graph.NameChains]
	if len(vw) != n*n || len(vb) != n || len(ch)%n != 0 {
		return fmt.Errorf("save %s: training state has %d, %d, %d values for %d units", path, len(vw), len(vb), len(ch), n)
	}
	shapes := map[string][]int{graph.VelocityOf(graph.NameW): {n, n}, graph.NameChains: {len(ch) / n, n}}
	return models.SaveBM(path, m, meta, ExtraTensors(s, shapes, graph.NameW, graph.NameBias, graph.NameMask))
}

// Load reads a "bm" checkpoint; a plain model file without training state
// resumes with zero momentum and all-zero chains of Config.Chains (or
// Batch) rows.
func (bmKind) Load(path string) (map[string][]float32, models.Meta, error) {
	m, meta, extra, err := models.LoadBM(path)
	if err != nil {
		return nil, meta, err
	}
	var h struct {
		Lateral string `json:"lateral"`
		Chains  int    `json:"chains"`
		Batch   int    `json:"batch"`
	}
	if len(meta.Hyper) > 0 {
		if err := json.Unmarshal(meta.Hyper, &h); err != nil {
			return nil, meta, fmt.Errorf("load %s: metadata hyper: %w", path, err)
		}
	}
	lateral, ok := m.Lateral()
	if !ok {
		return nil, meta, fmt.Errorf("load %s: the mask is not one of the connectivities none, visible, hidden, both", path)
	}
	if h.Lateral != "" && h.Lateral != lateral.String() {
		return nil, meta, fmt.Errorf("load %s: metadata lateral %q, the mask is %q", path, h.Lateral, lateral)
	}
	n := m.N()
	t := map[string][]float32{graph.NameW: m.W, graph.NameBias: m.Bias, graph.NameMask: m.Mask}
	for _, v := range []struct {
		name string
		n    int
	}{{graph.VelocityOf(graph.NameW), n * n}, {graph.VelocityOf(graph.NameBias), n}} {
		x, err := extraTensor(path, extra, v.name, v.n)
		if err != nil {
			return nil, meta, err
		}
		if x == nil {
			x = zeros(v.n)
		}
		t[v.name] = x
	}
	chains, err := extraTensor(path, extra, graph.NameChains, -1)
	if err != nil {
		return nil, meta, err
	}
	if chains != nil && (len(chains) == 0 || len(chains)%n != 0) {
		return nil, meta, fmt.Errorf("load %s: tensor %q has %d values, not a positive multiple of N = %d", path, graph.NameChains, len(chains), n)
	}
	if chains == nil {
		c := max(h.Chains, h.Batch, 1)
		if h.Chains == 0 && h.Batch > 0 {
			c = h.Batch
		}
		chains = zeros(c * n)
	}
	t[graph.NameChains] = chains
	if err := centerState(path, t, extra, n, 0); err != nil {
		return nil, meta, err
	}
	return t, meta, nil
}

// ModelSizes implements ModelSizer: N = V + H units, the N×N weights and
// mask, N biases; the chains hold all N units.
func (bmKind) ModelSizes(c Config, V int) (params, chainWidth float64) {
	n := float64(V + c.Hidden)
	return 2*n*n + n, n
}
