package engine

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/graph"
)

// Config holds the hyperparameters of a training run. Zero values mean the
// documented defaults (see Defaults); the kind (Model) sets those that
// depend on it, and its own settings live in Options.
type Config struct {
	// Model names the model kind (see Kind): "rbm" (the default), "grbm",
	// "bm" or any registered kind.
	Model string `json:"model,omitempty"`

	Hidden     int  `json:"hidden"`     // H, number of hidden units (default 64)
	K          int  `json:"k"`          // Gibbs steps per update, CD-k or PCD-k (default 1)
	Persistent bool `json:"persistent"` // PCD-k (persistent chains) instead of CD-k
	Chains     int  `json:"chains"`     // PCD chains (default: Batch)
	Epochs     int  `json:"epochs"`     // passes over the training data (default 10)
	Batch      int  `json:"batch"`      // mini-batch size B (default 100; capped at the data size)

	LR       float64  `json:"lr"` // learning rate (default: the kind's, 0.05 for an RBM)
	Schedule Schedule `json:"-"`  // learning-rate schedule (default constant)
	// Momentum is used from epoch MomentumWarmup on; InitialMomentum
	// before it (Hinton's guide §9: 0.5 while the weights settle, then 0.9).
	Momentum        float64 `json:"momentum"`
	InitialMomentum float64 `json:"initial_momentum"`
	MomentumWarmup  int     `json:"momentum_warmup"`
	WeightDecay     float64 `json:"weight_decay"` // L2 penalty on W (default 0)
	// L1 is the L1 penalty on the parameters weight decay applies to (W,
	// a Potts model's couplings): the gradient gets −L1·sign(θ) before
	// each update (default 0: none).
	L1 float64 `json:"l1,omitempty"`

	SparsityTarget float64 `json:"sparsity_target"` // target mean hidden activation (with SparsityCost > 0)
	SparsityCost   float64 `json:"sparsity_cost"`   // weight of the sparsity term (0 disables)

	// PT ≥ 2 runs the PCD chains as that many parallel-tempering replicas
	// of Chains chains each (pt.go); PTTarget is the swap acceptance the
	// ladder is adapted to (default 0.3), PTBetaMin the hottest replica's
	// initial inverse temperature (default 0.1).
	PT        int     `json:"pt,omitempty"`
	PTTarget  float64 `json:"pt_target,omitempty"`
	PTBetaMin float64 `json:"pt_beta_min,omitempty"`
	// Centered trains with centred gradients (Montavon & Müller 2012;
	// Melchior et al. 2016; see center.go), for a kind that implements
	// CenteringKind; CenterRate is the offsets' running-average rate ν
	// (default 0.01 when centred).
	Centered   bool    `json:"centered,omitempty"`
	CenterRate float64 `json:"center_rate,omitempty"`

	Seed uint64 `json:"-"` // seeds initialisation, data order and every Gibbs draw

	// ExactLLMaxUnits: compute the exact log-likelihood per epoch when
	// the kind can enumerate a model this small (default 20); negative
	// disables it.
	ExactLLMaxUnits int `json:"exact_ll_max_units"`
	// FreeEnergyRows caps the rows used for the free-energy gap (default 1000).
	FreeEnergyRows int `json:"free_energy_rows"`
	// EvalEvery computes the free-energy gap and the exact log-likelihood
	// every this many epochs and at the last one (default 1); other epochs
	// report NaN for them.
	EvalEvery int `json:"eval_every"`
	// LLChains is the number of chains of the trajectory AIS that tracks
	// log Z and the average log-likelihoods of an "rbm" run at the
	// evaluated epochs (see TrackLL) when positive (e.g.
	// models.DefaultTrajectoryChains), also alongside the exact values;
	// 0 or negative: no tracking. The zero Config does not track; the CLI
	// sets it for the rbm's PCD recipe unless --ll-chains 0.
	LLChains int `json:"-"`

	// Options are the kind's own settings (e.g. *GRBMOptions, *BMOptions);
	// nil means the kind's defaults.
	Options Options `json:"-"`
}

// Kind returns the kind c trains.
func (c Config) Kind() (Kind, error) { return LookupKind(c.Model) }

// Defaults returns c with zero fields replaced by their defaults: the
// kind's first (its learning rate and options), then the shared ones. An
// unknown kind is left for Validate to report.
func (c Config) Defaults() Config {
	if c.Model == "" {
		c.Model = DefaultKind
	}
	if k, err := c.Kind(); err == nil {
		if c.Options == nil {
			c.Options = k.NewOptions()
		}
		k.Defaults(&c)
	}
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
	if c.LR == 0 {
		c.LR = DefaultLR
	}
	if c.Schedule == nil {
		c.Schedule = ConstantSchedule{}
	}
	ptDefaults(&c)
	c.centerDefaults()
	return c
}

// DefaultLR is the learning rate of a kind that sets none of its own.
const DefaultLR = 0.05

// Validate reports the first impossible hyperparameter, the kind's
// checks last.
func (c Config) Validate() error {
	k, err := c.Kind()
	if err != nil {
		return err
	}
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
	case !(c.L1 >= 0) || math.IsInf(c.L1, 0):
		return fmt.Errorf("L1 penalty = %v, want ≥ 0", c.L1)
	case !(c.SparsityCost >= 0) || math.IsInf(c.SparsityCost, 0):
		return fmt.Errorf("sparsity cost = %v, want ≥ 0", c.SparsityCost)
	case c.SparsityCost > 0 && !(c.SparsityTarget > 0 && c.SparsityTarget < 1):
		return fmt.Errorf("sparsity target = %v, want a value in (0, 1)", c.SparsityTarget)
	}
	if err := validatePT(c); err != nil {
		return err
	}
	if c.PT > 0 && c.Centered {
		return fmt.Errorf("parallel tempering and centred gradients cannot be combined yet: choose one")
	}
	if err := c.validateCentering(k); err != nil {
		return err
	}
	return k.Validate(c)
}

// Algorithm names the training algorithm, e.g. "CD-1" or "PCD-10".
func (c Config) Algorithm() string {
	if c.Persistent && c.PT > 0 {
		return fmt.Sprintf("PCD-%d with %d PT replicas", c.K, c.PT)
	}
	if c.Persistent {
		return fmt.Sprintf("PCD-%d", c.K)
	}
	return fmt.Sprintf("CD-%d", c.K)
}

// ChainCount is the number of persistent chains: Chains, or Batch when 0.
func (c Config) ChainCount() int {
	if c.Chains == 0 {
		return c.Batch
	}
	return c.Chains
}

// hyper returns the epoch's update hyperparameters.
func (c Config) hyper(epoch int) (lr float64, h graph.Hyper) {
	lr = c.LR * c.Schedule.Factor(epoch, c.Epochs)
	mom := c.Momentum
	if epoch < c.MomentumWarmup {
		mom = c.InitialMomentum
	}
	return lr, graph.Hyper{LR: float32(lr), Momentum: float32(mom), WeightDecay: float32(c.WeightDecay), L1: float32(c.L1),
		SparsityTarget: float32(c.SparsityTarget), SparsityCost: float32(c.SparsityCost)}
}

// MarshalJSON writes the shared settings with their JSON names, the
// schedule as "lr_schedule" and the kind's options' fields beside them in
// one object (the checkpoint's "hyper" metadata); the seed is stored in
// the checkpoint's own field.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	obj := map[string]json.RawMessage{}
	if err := mergeJSON(obj, plain(c)); err != nil {
		return nil, err
	}
	sched := "constant"
	if c.Schedule != nil {
		sched = c.Schedule.String()
	}
	if err := mergeJSON(obj, map[string]string{"lr_schedule": sched}); err != nil {
		return nil, err
	}
	if c.Options != nil {
		if err := mergeJSON(obj, c.Options); err != nil {
			return nil, err
		}
	}
	return json.Marshal(obj)
}

// UnmarshalJSON reads what MarshalJSON writes (and the "hyper" metadata of
// earlier checkpoints, which use the same names): the shared settings, the
// schedule, and the options of the kind named by "model" (or of Model as
// set before the call, DefaultKind when empty).
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	p := plain(*c)
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var extra struct {
		Schedule string `json:"lr_schedule"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	sched, err := ParseSchedule(extra.Schedule)
	if err != nil {
		return err
	}
	*c = Config(p)
	c.Schedule = sched
	k, err := c.Kind()
	if err != nil {
		return err
	}
	c.Options = k.NewOptions()
	if c.Options != nil {
		if err := json.Unmarshal(b, c.Options); err != nil {
			return fmt.Errorf("%s options: %w", k.Name(), err)
		}
	}
	return nil
}

// mergeJSON adds the fields of v's JSON object to obj.
func mergeJSON(obj map[string]json.RawMessage, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, x := range m {
		obj[k] = x
	}
	return nil
}
