package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// The "grbm" kind: a Gaussian–Bernoulli RBM (models.GRBM; Cho, Ilin &
// Raiko 2011; σ_i² = exp(z_i)) on the step graph graph.BuildGaussianStep.
// The trainer standardises the data per feature (mean and scale of the
// training set, models.Standardisation, stored in the model and applied to
// each mini-batch as it is copied), starts from W ~ N(0, 0.01²), b = 0,
// c = 0, σ = 1, PCD chains from N(0, 1), and updates z like the other
// parameters (momentum, no weight decay) when LearnVariance is set,
// clamped to σ ≥ SigmaFloor. Checkpoints add logvar, data_mean, data_std
// and velocity.logvar to the RBM's tensors, and the training data's range
// [min, max] to the metadata (for pictures).

func init() { RegisterKind(grbmKind{}) }

// Defaults of a Gaussian RBM run, chosen for standardised data (Hinton's
// guide §13.2: Gaussian visible units want a learning rate one or two
// orders below the binary case; variances are usually kept fixed at 1).
const (
	// DefaultGaussianLR is the learning rate when Config.LR is zero.
	DefaultGaussianLR = 0.01
	// DefaultSigmaFloor is the smallest σ when variances are learned
	// (GRBMOptions.SigmaFloor zero): a unit whose σ collapses makes its
	// precision, and so every gradient through it, explode.
	DefaultSigmaFloor = 0.1
	// guardFactor: a reconstruction error above guardFactor times the
	// error of predicting the mean, early in the first epoch, means the
	// learning rate is too large.
	guardFactor = 2
)

// Tensor names of a Gaussian RBM checkpoint beside the RBM's.
const (
	TensorDataMean = "data_mean" // V per-feature mean of the training data
	TensorDataStd  = "data_std"  // V per-feature scale (models.Standardisation)
	// TensorDataRange is the Snapshot tensor [min, max] of the training
	// data in data units; checkpoints keep it in the metadata
	// (models.Meta.DataRange), not as a tensor.
	TensorDataRange = "data_range"
)

// GRBMOptions are the settings of the "grbm" kind (Config.Options).
type GRBMOptions struct {
	// LearnVariance learns the log variances z; by default σ stays 1
	// (standardised units).
	LearnVariance bool `json:"learn_variance,omitempty"`
	// SigmaFloor is the smallest σ while learning variances (default
	// DefaultSigmaFloor), in (0, 1].
	SigmaFloor float64 `json:"sigma_floor,omitempty"`
}

// Settings implements Options: --learn-sigma and --sigma-floor.
func (o *GRBMOptions) Settings() []Setting {
	return []Setting{
		BoolSetting("learn-sigma", "learn the per-visible σ (log variances) instead of fixing σ = 1", &o.LearnVariance),
		FloatSetting("sigma-floor", "smallest σ while learning it, in (0, 1]", &o.SigmaFloor),
	}
}

type grbmKind struct{}

func (grbmKind) Name() string { return models.KindGRBM }
func (grbmKind) Summary() string {
	return "Gaussian–Bernoulli RBM on standardised real-valued data"
}
func (grbmKind) NewOptions() Options { return &GRBMOptions{SigmaFloor: DefaultSigmaFloor} }

// grbmOptions returns c's options (the defaults when c has none).
func grbmOptions(c Config) GRBMOptions {
	if o, ok := c.Options.(*GRBMOptions); ok && o != nil {
		return *o
	}
	return GRBMOptions{SigmaFloor: DefaultSigmaFloor}
}

func (grbmKind) Defaults(c *Config) {
	if c.LR == 0 {
		c.LR = DefaultGaussianLR
	}
	o, ok := c.Options.(*GRBMOptions)
	if !ok || o == nil {
		return
	}
	if o.SigmaFloor == 0 {
		d := *o
		d.SigmaFloor = DefaultSigmaFloor
		c.Options = &d
	}
}

func (grbmKind) Validate(c Config) error {
	o, ok := c.Options.(*GRBMOptions)
	if !ok {
		return fmt.Errorf("model grbm: options are %T, want *GRBMOptions", c.Options)
	}
	if !(o.SigmaFloor > 0 && o.SigmaFloor <= 1) {
		return fmt.Errorf("sigma floor = %v, want a value in (0, 1] (data are standardised to σ = 1)", o.SigmaFloor)
	}
	return nil
}

func (grbmKind) Step(c Config, V int) (graph.Declared, error) {
	o := grbmOptions(c)
	return graph.BuildGaussianStepWith(stepConfig(c, V), &graph.RNG{Seed: c.Seed},
		graph.GaussianOptions{FixedVariance: !o.LearnVariance, MinLogVar: float32(2 * math.Log(o.SigmaFloor))})
}

// Init standardises on train, records its range (TensorDataRange) and
// starts from σ = 1.
func (grbmKind) Init(c Config, train *data.Dataset) (map[string][]float32, error) {
	V := train.D
	m, err := models.NewRBM(V, c.Hidden, c.Seed)
	if err != nil {
		return nil, err
	}
	t := rbmTensors(m)
	mean, std := models.StandardisationRows(train.N, V, train.RowTo)
	t[graph.NameLogVar], t[graph.VelocityOf(graph.NameLogVar)] = zeros(V), zeros(V)
	t[TensorDataMean], t[TensorDataStd] = mean, std
	lo, hi := train.Range()
	t[TensorDataRange] = []float32{lo, hi}
	if c.Persistent {
		// N(0, 1): the standardised data's marginals, the model with
		// W = 0, b = 0, σ = 1.
		t[graph.NameChains] = NormalChains(V, c.ChainCount(), c.Seed)
	}
	return t, nil
}

func (k grbmKind) CheckResume(c Config, s *Snapshot, V int) error {
	if err := checkRBMResume(k.Name(), c, s, V); err != nil {
		return err
	}
	for _, n := range []string{graph.NameLogVar, graph.VelocityOf(graph.NameLogVar), TensorDataMean, TensorDataStd} {
		if len(s.Tensors[n]) != V {
			return fmt.Errorf("Gaussian state %s has %d values, want %d", n, len(s.Tensors[n]), V)
		}
	}
	return nil
}

// GRBM returns the Gaussian RBM of a "grbm" snapshot (sharing its
// slices), nil for any other.
func (s *Snapshot) GRBM() *models.GRBM {
	m := s.RBM()
	if m == nil || s.Tensors[graph.NameLogVar] == nil {
		return nil
	}
	return &models.GRBM{V: m.V, H: m.H, W: m.W, VBias: m.VBias, HBias: m.HBias, LogVar: s.Tensors[graph.NameLogVar],
		DataMean: s.Tensors[TensorDataMean], DataStd: s.Tensors[TensorDataStd]}
}

// DataRange returns the [lo, hi] range of the training data in data units
// that a "grbm" run records (TensorDataRange); ok is false for other kinds
// and for checkpoints written before it was recorded.
func (s *Snapshot) DataRange() (lo, hi float32, ok bool) {
	r := s.Tensors[TensorDataRange]
	if len(r) != 2 {
		return 0, 0, false
	}
	return r[0], r[1], true
}

func (grbmKind) Model(s *Snapshot) (any, error) {
	g := s.GRBM()
	if g == nil {
		return nil, errors.New("snapshot holds no Gaussian RBM")
	}
	return g, nil
}

func (grbmKind) Begin(c Config, s *Snapshot, train *data.Dataset, fresh bool) Run {
	g := &gaussianRun{mean: s.Tensors[TensorDataMean], std: s.Tensors[TensorDataStd], guard: fresh, lr: c.LR}
	if fresh {
		g.guardAt = guardBatches
	}
	// Σ u² over up to 1000 evenly spaced rows.
	n := min(train.N, 1000)
	row := make([]float32, train.D)
	for k := 0; k < n; k++ {
		train.RowTo(row, k*train.N/n)
		models.StandardiseRows(row, g.mean, g.std)
		for _, u := range row {
			g.baseline += float64(u) * float64(u) / float64(n)
		}
	}
	return g
}

// gaussianRun is the Gaussian part of one Fit: the standardisation and the
// learning-rate guard.
type gaussianRun struct {
	mean, std []float32
	// guard: the reconstruction error is checked after guardAt[i]
	// mini-batches of a fresh run's first epoch.
	guard    bool
	guardAt  []int
	baseline float64 // mean Σ u² of standardised rows: the error of predicting the mean
	lr       float64
}

var guardBatches = []int{4, 8, 16, 32}

// Prepare maps the copied rows of a mini-batch to model units.
func (g *gaussianRun) Prepare(rows []float32) { models.StandardiseRows(rows, g.mean, g.std) }

// Limit caps the mini-batches of the next device chunk so that the guard's
// checkpoints fall between chunks.
func (g *gaussianRun) Limit(b, n int) int {
	if !g.guard || len(g.guardAt) == 0 {
		return n
	}
	return max(1, min(n, g.guardAt[0]-b))
}

// Check runs the learning-rate guard after b mini-batches of the first epoch.
func (g *gaussianRun) Check(b int, recon func() (float64, error)) error {
	if !g.guard || len(g.guardAt) == 0 || b < g.guardAt[0] {
		return nil
	}
	for len(g.guardAt) > 0 && b >= g.guardAt[0] {
		g.guardAt = g.guardAt[1:]
	}
	r, err := recon()
	if err != nil {
		return err
	}
	if math.IsNaN(r) || math.IsInf(r, 0) || r > guardFactor*g.baseline {
		return g.tooLarge(r, fmt.Sprintf("%d mini-batches", b))
	}
	return nil
}

func (g *gaussianRun) tooLarge(r float64, when string) error {
	return fmt.Errorf("learning rate %g is too large for a Gaussian RBM: reconstruction error %.4g after %s (more than %d× the %.4g of predicting the mean); try a learning rate of %.2g",
		g.lr, r, when, guardFactor, g.baseline, suggestLR(g.lr))
}

// Diverged checks a Gaussian run after each epoch: non-finite parameters
// stop it with an error naming the epoch and the tensor (and the likely
// cause), a reconstruction error above guardFactor times the baseline
// with the learning-rate error; then the training state and the monitor
// as for an RBM.
func (g *gaussianRun) Diverged(epoch int, s *Snapshot, recon float64, rerr error) error {
	if err := s.GRBM().Validate(); err != nil {
		return fmt.Errorf("epoch %d: training diverged: %w (learning rate %g is likely too large for this Gaussian RBM; try %.2g)",
			epoch, err, g.lr, suggestLR(g.lr))
	}
	if recon > guardFactor*g.baseline {
		return fmt.Errorf("epoch %d: %w", epoch, g.tooLarge(recon, fmt.Sprintf("epoch %d", epoch)))
	}
	return rbmRun{}.Diverged(epoch, s, recon, rerr)
}

// suggestLR is a tenth of lr, at most the default, on a 1-2-5 grid.
func suggestLR(lr float64) float64 {
	x := math.Min(lr/10, DefaultGaussianLR)
	e := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{5, 2, 1} {
		if m*e <= x {
			return m * e
		}
	}
	return e
}

// Evaluate fills the free-energy gap and, when 2^H·V is small, the exact
// log-likelihood of the training (and held-out) data in data units:
// log p(x) = log p(u) − Σ_i log DataStd_i.
func (grbmKind) Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, cfg Config) error {
	return evaluateGaussian(m, s.GRBM(), train, heldout, cfg)
}

func evaluateGaussian(m *EpochMetrics, g *models.GRBM, train, heldout *data.Dataset, cfg Config) error {
	meanF := func(d *data.Dataset, n int) float64 {
		return meanOverRows(d, n, func(row []float32) float64 {
			g.Standardise(row)
			return g.FreeEnergy(row)
		})
	}
	if heldout != nil && heldout.N > 0 {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		m.FreeEnergyGap = meanF(heldout, n) - meanF(train, n)
	}
	if cfg.ExactLLMaxUnits < 0 || g.H > cfg.ExactLLMaxUnits || g.H > models.GRBMMaxExactHidden || (g.V<<g.H) > 1<<26 {
		return nil
	}
	logZ, err := g.LogZ()
	if err != nil {
		return err
	}
	logStd := g.LogDataScale()
	m.LogZ = logZ
	m.LogLikelihood = -meanF(train, train.N) - logZ - logStd
	if heldout != nil && heldout.N > 0 {
		m.HeldOutLogLikelihood = -meanF(heldout, heldout.N) - logZ - logStd
	}
	return nil
}

func (grbmKind) Save(path string, s *Snapshot, meta models.Meta) error {
	g := s.GRBM()
	if g == nil {
		return fmt.Errorf("save %s: snapshot holds no Gaussian RBM", path)
	}
	if lo, hi, ok := s.DataRange(); ok {
		meta.DataRange = []float64{float64(lo), float64(hi)}
	}
	return models.SaveGRBM(path, g, meta, ExtraTensors(s, rbmShapes(s), graph.NameW, graph.NameVBias, graph.NameHBias,
		graph.NameLogVar, TensorDataMean, TensorDataStd, TensorDataRange))
}

// Load reads a "grbm" checkpoint: the model, its standardisation, the
// data range of the metadata (when recorded) and the training state
// (velocity.logvar zero when absent).
func (grbmKind) Load(path string) (map[string][]float32, models.Meta, error) {
	g, meta, extra, err := models.LoadGRBM(path)
	if err != nil {
		return nil, meta, err
	}
	t := map[string][]float32{graph.NameW: g.W, graph.NameVBias: g.VBias, graph.NameHBias: g.HBias,
		graph.NameLogVar: g.LogVar, TensorDataMean: g.DataMean, TensorDataStd: g.DataStd}
	vel, err := extraTensor(path, extra, graph.VelocityOf(graph.NameLogVar), g.V)
	if err != nil {
		return nil, meta, err
	}
	if vel == nil {
		vel = zeros(g.V)
	}
	t[graph.VelocityOf(graph.NameLogVar)] = vel
	if r := meta.DataRange; len(r) == 2 && r[0] <= r[1] {
		t[TensorDataRange] = []float32{float32(r[0]), float32(r[1])}
	}
	if err := rbmState(path, t, extra, g.V, g.H); err != nil {
		return nil, meta, err
	}
	return t, meta, nil
}

// ModelSizes implements ModelSizer: a Gaussian RBM adds its log variances
// (trained) and its standardisation (two V vectors, counted with them).
func (grbmKind) ModelSizes(c Config, V int) (params, chainWidth float64) {
	v, h := float64(V), float64(c.Hidden)
	return v*h + v + h + 3*v, v
}
