package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// Philox op ids of the trainer's own draws; the step graph uses small ids.
const (
	opShuffle    uint32 = 0x5EED0001 // per-epoch data order, Step = epoch
	opChainsInit uint32 = 0x5EED0002 // initial PCD chains
)

// Config holds the hyperparameters of a training run. Zero values mean the
// documented defaults (see Defaults).
type Config struct {
	Hidden     int  // H, number of hidden units (default 64)
	K          int  // Gibbs steps per update, CD-k or PCD-k (default 1)
	Persistent bool // PCD-k (persistent chains) instead of CD-k
	Chains     int  // PCD chains (default: Batch)
	Epochs     int  // passes over the training data (default 10)
	Batch      int  // mini-batch size B (default 100; capped at the data size)

	LR       float64  // learning rate (default 0.05)
	Schedule Schedule // learning-rate schedule (default constant)
	// Momentum is used from epoch MomentumWarmup on; InitialMomentum
	// before it (Hinton's guide §9: 0.5 while the weights settle, then 0.9).
	Momentum        float64
	InitialMomentum float64
	MomentumWarmup  int
	WeightDecay     float64 // L2 penalty on W (default 0)

	SparsityTarget float64 // target mean hidden activation (with SparsityCost > 0)
	SparsityCost   float64 // weight of the sparsity term (0 disables)

	Seed uint64 // seeds initialisation, data order and every Gibbs draw

	// ExactLLMaxUnits: compute the exact log-likelihood per epoch when
	// min(V, H) ≤ this (default 20); negative disables it.
	ExactLLMaxUnits int
	// FreeEnergyRows caps the rows used for the free-energy gap (default 1000).
	FreeEnergyRows int
	// EvalEvery computes the free-energy gap and the exact log-likelihood
	// every this many epochs and at the last one (default 1); other epochs
	// report NaN for them.
	EvalEvery int

	// BM, when set, trains a general Boltzmann machine (see BMOptions)
	// instead of an RBM.
	BM *BMOptions

	// Visible selects the visible units: VisibleBernoulli ("" too) or
	// VisibleGaussian, a Gaussian–Bernoulli RBM on standardised data
	// (gaussian.go; its default LR is DefaultGaussianLR).
	Visible string
	// LearnVariance (Gaussian only) learns the log variances z; by default
	// σ stays 1 (standardised units).
	LearnVariance bool
	// SigmaFloor (Gaussian only) is the smallest σ while learning variances
	// (default DefaultSigmaFloor).
	SigmaFloor float64
}

// Defaults returns c with zero fields replaced by their defaults.
func (c Config) Defaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Hidden, 64)
	def(&c.K, 1)
	def(&c.Epochs, 10)
	def(&c.Batch, 100)
	def(&c.ExactLLMaxUnits, 20)
	def(&c.FreeEnergyRows, 1000)
	def(&c.EvalEvery, 1)
	c.gaussianDefaults()
	if c.LR == 0 {
		c.LR = 0.05
	}
	if c.Schedule == nil {
		c.Schedule = ConstantSchedule{}
	}
	return c
}

// Validate reports the first impossible hyperparameter.
func (c Config) Validate() error {
	switch {
	case c.Hidden < 1:
		return fmt.Errorf("hidden units = %d, want ≥ 1", c.Hidden)
	case c.K < 1:
		return fmt.Errorf("gibbs steps k = %d, want ≥ 1", c.K)
	case c.Epochs < 1:
		return fmt.Errorf("epochs = %d, want ≥ 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("batch = %d, want ≥ 1", c.Batch)
	case c.Chains < 0:
		return fmt.Errorf("chains = %d, want ≥ 0", c.Chains)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate = %v, want a positive number", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1) || !(c.InitialMomentum >= 0 && c.InitialMomentum < 1):
		return fmt.Errorf("momentum = %v (initial %v), want values in [0, 1)", c.Momentum, c.InitialMomentum)
	case c.EvalEvery < 1:
		return fmt.Errorf("evaluation cadence = %d epochs, want ≥ 1", c.EvalEvery)
	case c.MomentumWarmup < 0:
		return fmt.Errorf("momentum warm-up = %d epochs, want ≥ 0", c.MomentumWarmup)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("weight decay = %v, want ≥ 0", c.WeightDecay)
	case !(c.SparsityCost >= 0) || math.IsInf(c.SparsityCost, 0):
		return fmt.Errorf("sparsity cost = %v, want ≥ 0", c.SparsityCost)
	case c.SparsityCost > 0 && !(c.SparsityTarget > 0 && c.SparsityTarget < 1):
		return fmt.Errorf("sparsity target = %v, want a value in (0, 1)", c.SparsityTarget)
	}
	return c.validateVisible()
}

// Algorithm names the training algorithm, e.g. "CD-1" or "PCD-10".
func (c Config) Algorithm() string {
	if c.Persistent {
		return fmt.Sprintf("PCD-%d", c.K)
	}
	return fmt.Sprintf("CD-%d", c.K)
}

// EpochMetrics are the numbers reported after every epoch.
type EpochMetrics struct {
	Epoch      int     `json:"epoch"` // 1-based number of the completed epoch
	LR         float64 `json:"lr"`
	ReconError float64 `json:"recon_error"` // mean Σ(v − p(v|h0))² per sample
	// FreeEnergyGap is mean F(held-out) − mean F(train slice) over equally
	// many rows; a growing gap signals over-fitting (Hinton's guide §6).
	// NaN without held-out data.
	FreeEnergyGap float64 `json:"free_energy_gap"`
	// LogLikelihood is the exact average log p(v) of the training data;
	// NaN when the model is too big to enumerate.
	LogLikelihood float64 `json:"log_likelihood"`
	// HeldOutLogLikelihood is the same on the held-out data (NaN if absent).
	HeldOutLogLikelihood float64 `json:"heldout_log_likelihood"`
	LogZ                 float64 `json:"log_z"`
	Samples              int     `json:"samples"`
	Seconds              float64 `json:"seconds"`
	SamplesPerSec        float64 `json:"samples_per_sec"`
}

// Snapshot is the complete state of a run between two mini-batches: enough
// to write a checkpoint and to resume bit-identically.
type Snapshot struct {
	Config Config
	Model  *models.RBM
	BM     *models.BM // the model instead of Model when Config.BM is set
	State  TrainState
	Epoch  int // completed epochs
	Batch  int // mini-batches done in the current epoch
	// Gaussian holds the log variances and the data standardisation of a
	// Gaussian RBM run (nil otherwise); GRBM() assembles the model.
	Gaussian *GaussianState
}

// Callback is called after every epoch with its metrics and the snapshot at
// the epoch's end. Returning ErrStop ends training early without error;
// any other error aborts it.
type Callback func(m EpochMetrics, s *Snapshot) error

// ErrStop, returned by a Callback, stops training cleanly.
var ErrStop = errors.New("stop training")

// BatchCallback is called after every mini-batch with the number of
// samples done in the epoch and in total; it must be cheap (progress bars).
type BatchCallback func(epoch, done, total int)

// Trainer fits an RBM to data with CD-k or PCD-k, or, with Config.BM set,
// a general Boltzmann machine (see BMOptions).
type Trainer struct {
	Config    Config
	Backend   Backend // nil means Host(), the CPU backend
	Callbacks []Callback
	OnBatch   BatchCallback
	// Resume, when set, continues that snapshot instead of starting afresh.
	Resume *Snapshot
}

// Result is what Fit returns: the trained model and the final snapshot.
type Result struct {
	Model    *models.RBM
	BM       *models.BM // the trained model when Config.BM is set (Model is nil)
	Snapshot *Snapshot
	Metrics  []EpochMetrics
}

// Fit trains on train (values in [0,1], N×V) and reports held-out metrics on
// heldout (may be nil). When ctx is cancelled, Fit stops after the current
// mini-batch and returns the snapshot there together with ctx's error, so
// the caller can save it.
func (t *Trainer) Fit(ctx context.Context, train, heldout *data.Dataset) (*Result, error) {
	cfg := t.Config.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if train == nil || train.N == 0 || train.D == 0 {
		return nil, errors.New("train: no training data")
	}
	if heldout != nil && heldout.D != train.D {
		return nil, fmt.Errorf("train: held-out data has %d features, training data %d", heldout.D, train.D)
	}
	if cfg.Batch > train.N {
		cfg.Batch = train.N
	}
	if cfg.BM != nil {
		return t.fitBM(ctx, cfg, train, heldout)
	}
	backend := t.Backend
	if backend == nil {
		backend = Host()
	}
	V := train.D
	snap := t.Resume
	if snap != nil {
		if snap.Model == nil || snap.Model.V != V {
			return nil, fmt.Errorf("resume: checkpoint model has %d visible units, data has %d", snapV(snap), V)
		}
		if snap.Model.H != cfg.Hidden {
			return nil, fmt.Errorf("resume: checkpoint model has %d hidden units, config %d", snap.Model.H, cfg.Hidden)
		}
		if cfg.IsGaussian() != (snap.Gaussian != nil) {
			return nil, fmt.Errorf("resume: checkpoint and config disagree on the visible units (config %q)", cfg.Visible)
		}
		gs := snap.Gaussian
		if gs != nil {
			if len(gs.LogVar) != V || len(gs.VelLogVar) != V || len(gs.DataMean) != V || len(gs.DataStd) != V {
				return nil, fmt.Errorf("resume: Gaussian state does not have %d values per tensor", V)
			}
			gs = gs.clone()
		}
		snap = &Snapshot{Config: cfg, Model: snap.Model.Clone(), State: snap.State, Epoch: snap.Epoch, Batch: snap.Batch, Gaussian: gs}
	} else {
		m, err := models.NewRBM(V, cfg.Hidden, cfg.Seed)
		if err != nil {
			return nil, err
		}
		if !cfg.IsGaussian() {
			initVisibleBias(m, train)
		}
		snap = &Snapshot{Config: cfg, Model: m, State: TrainState{
			VelW:     make([]float32, V*cfg.Hidden),
			VelVBias: make([]float32, V),
			VelHBias: make([]float32, cfg.Hidden),
		}}
		switch {
		case cfg.IsGaussian():
			snap.Gaussian = newGaussianState(train)
			if cfg.Persistent {
				snap.State.Chains = initGaussianChains(cfg, V, cfg.Seed)
			}
		case cfg.Persistent:
			snap.State.Chains = initChains(m, cfg, cfg.Seed)
		}
	}
	fresh := snap.Epoch == 0 && snap.Batch == 0
	stepCfg := graph.StepConfig{Visible: V, Hidden: cfg.Hidden, Batch: cfg.Batch, K: cfg.K, Persistent: cfg.Persistent, Chains: cfg.Chains}
	f := &rbmFit{snap: snap}
	var err error
	if cfg.IsGaussian() {
		var gp GaussianProgram
		gp, err = compileGaussian(backend, stepCfg, cfg)
		if err == nil {
			f.prog, f.gauss = gp, newGaussianRun(snap.Gaussian, gp, train, fresh, cfg.LR)
		}
	} else {
		f.prog, err = backend.Compile(stepCfg, cfg.Seed)
	}
	if err != nil {
		return nil, fmt.Errorf("compile step on %s: %w", backend.Name(), err)
	}
	defer f.prog.Close()
	if err := f.load(); err != nil {
		return nil, err
	}
	return t.runLoop(ctx, cfg, train, heldout, snap, f, &Result{Model: snap.Model, Snapshot: snap})
}

func snapV(s *Snapshot) int {
	if s.Model == nil {
		return 0
	}
	return s.Model.V
}

// evaluate fills the free-energy gap and exact log-likelihood of m.
func evaluate(m *EpochMetrics, model *models.RBM, train, heldout *data.Dataset, cfg Config) error {
	if heldout != nil && heldout.N > 0 {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		m.FreeEnergyGap = meanFreeEnergy(model, heldout, n) - meanFreeEnergy(model, train, n)
	}
	if cfg.ExactLLMaxUnits < 0 || min(model.V, model.H) > cfg.ExactLLMaxUnits {
		return nil
	}
	logZ, err := model.LogZ()
	if err != nil {
		return err
	}
	m.LogZ = logZ
	m.LogLikelihood = -meanFreeEnergy(model, train, train.N) - logZ
	if heldout != nil && heldout.N > 0 {
		m.HeldOutLogLikelihood = -meanFreeEnergy(model, heldout, heldout.N) - logZ
	}
	return nil
}

func meanFreeEnergy(model *models.RBM, d *data.Dataset, n int) float64 {
	var sum float64
	for i := 0; i < n; i++ {
		sum += model.FreeEnergy(d.Row(i))
	}
	return sum / float64(n)
}

// initVisibleBias sets b_i = log(p_i / (1 − p_i)) with p_i the mean of
// feature i, clipped to [0.01, 0.99] (Hinton's guide §8): the model then
// starts from the data's marginals instead of spending updates finding them.
func initVisibleBias(m *models.RBM, d *data.Dataset) { setMarginalLogits(m.VBias, d) }

// setMarginalLogits writes the clipped logits of the d.D feature means
// into dst[:d.D] (the visible biases of an RBM or a BM).
func setMarginalLogits(dst []float32, d *data.Dataset) {
	mean := make([]float64, d.D)
	for i := 0; i < d.N; i++ {
		for j, x := range d.Row(i) {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		p := min(max(mean[j]/float64(d.N), 0.01), 0.99)
		dst[j] = float32(math.Log(p / (1 - p)))
	}
}

// initChains draws the initial PCD chains from p(v) ∝ exp(bᵀv), the
// visible-bias-only model: with b from the data marginals the fantasy
// particles start near the data's statistics.
func initChains(m *models.RBM, cfg Config, seed uint64) []float32 {
	C := cfg.Chains
	if C == 0 {
		C = cfg.Batch
	}
	return biasChains(m.VBias, C, seed)
}

// biasChains draws C chains of len(bias) binary units, unit i on with
// probability σ(bias[i]): element r·len(bias)+i of Philox stream (seed,
// opChainsInit, 0), so RBM and BM chains start from the same recipe.
func biasChains(bias []float32, C int, seed uint64) []float32 {
	n := len(bias)
	chains := make([]float32, C*n)
	s := kernels.Stream{Seed: seed, Op: opChainsInit}
	for i := range chains {
		if float64(s.Uniform(uint64(i))) < models.Sigmoid(float64(bias[i%n])) {
			chains[i] = 1
		}
	}
	return chains
}

// Permutation fills perm with a random permutation of 0..len(perm)-1, a pure
// function of (seed, epoch): Fisher–Yates driven by a Philox stream, so a
// resumed run sees the same data order as an uninterrupted one.
func Permutation(perm []int, seed, epoch uint64) {
	for i := range perm {
		perm[i] = i
	}
	s := kernels.Stream{Seed: seed, Op: opShuffle, Step: epoch}
	for i := len(perm) - 1; i > 0; i-- {
		// Lemire's multiply-shift maps 64 random bits to [0, i]; its bias
		// (< i/2^64) is far below anything measurable.
		hi, _ := mul64(s.Uint64(uint64(i)), uint64(i+1))
		j := int(hi)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

func mul64(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

// checkFinite reports the first NaN or infinite value in the training state.
func checkFinite(s TrainState) error {
	for _, t := range []struct {
		name string
		x    []float32
	}{{TensorVelW, s.VelW}, {TensorVelVBias, s.VelVBias}, {TensorVelHBias, s.VelHBias}, {TensorChains, s.Chains}, {TensorHiddenMean, s.HiddenMean}} {
		for i, v := range t.x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("training state %s[%d] = %v is not finite", t.name, i, v)
			}
		}
	}
	return nil
}
