package engine

import (
	"errors"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// The "rbm" kind: a Bernoulli–Bernoulli RBM (models.RBM) trained by CD-k
// or PCD-k on the step graph graph.BuildCDStep. Weights start at
// N(0, 0.01²), hidden biases at 0, visible biases at the logits of the
// data marginals (Hinton's guide §8), PCD chains from the visible-bias-only
// model. Checkpoints: W, vbias, hbias, their velocities, chains (PCD),
// hidden_mean (sparsity).

func init() { RegisterKind(rbmKind{}) }

type rbmKind struct{}

func (rbmKind) Name() string        { return models.KindRBM }
func (rbmKind) Summary() string     { return "Bernoulli–Bernoulli RBM (CD-k / PCD-k)" }
func (rbmKind) NewOptions() Options { return nil }
func (rbmKind) Defaults(*Config)    {}

func (rbmKind) Validate(c Config) error {
	if c.Options != nil {
		return fmt.Errorf("model rbm takes no options, got %T", c.Options)
	}
	return nil
}

// stepConfig is the RBM step's shape for c and V visible units.
func stepConfig(c Config, V int) graph.StepConfig {
	return graph.StepConfig{Visible: V, Hidden: c.Hidden, Batch: c.Batch, K: c.K, Persistent: c.Persistent, Chains: c.Chains}
}

// CenteredDefault implements CenteringKind: the CLI's rbm trains centred
// (the defaults study in bench/RESULTS.md: −245.9 against −252.3 nats on
// Fashion-MNIST, and bars-and-stripes in half the epochs).
func (rbmKind) CenteredDefault() bool { return true }

func (rbmKind) Step(c Config, V int) (graph.Declared, error) {
	if c.PT > 0 {
		return ptStep(c, V)
	}
	if c.Centered {
		return graph.BuildCenteredStep(stepConfig(c, V), float32(c.CenterRate), &graph.RNG{Seed: c.Seed})
	}
	return graph.BuildCDStep(stepConfig(c, V), &graph.RNG{Seed: c.Seed})
}

// rbmTensors returns the tensors of a fresh RBM m: its parameters and zero
// velocities.
func rbmTensors(m *models.RBM) map[string][]float32 {
	return map[string][]float32{
		graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias,
		graph.VelocityOf(graph.NameW): zeros(len(m.W)), graph.VelocityOf(graph.NameVBias): zeros(m.V),
		graph.VelocityOf(graph.NameHBias): zeros(m.H),
	}
}

func (rbmKind) Init(c Config, train *data.Dataset) (map[string][]float32, error) {
	m, err := models.NewRBM(train.D, c.Hidden, c.Seed)
	if err != nil {
		return nil, err
	}
	MarginalLogits(m.VBias, train)
	t := rbmTensors(m)
	if c.Persistent {
		// From p(v) ∝ exp(bᵀv), the visible-bias-only model: with b from
		// the data marginals the fantasy particles start near the data.
		t[graph.NameChains] = BiasChains(m.VBias, c.ChainCount(), c.Seed)
	}
	if c.PT > 0 {
		ptInit(t, c, m.VBias)
	}
	if c.Centered {
		for n, x := range centerTensors(train, c.Hidden) {
			t[n] = x
		}
	}
	return t, nil
}

// checkRBMResume checks the kind and the RBM's sizes in s against c and V.
func checkRBMResume(kind string, c Config, s *Snapshot, V int) error {
	if s.Config.Model != kind && !(s.Config.Model == "" && kind == DefaultKind) {
		return fmt.Errorf("the checkpoint holds a %s model, the config trains %s", s.Config.Model, kind)
	}
	m := s.RBM()
	if m == nil {
		return errors.New("the checkpoint holds no RBM parameters")
	}
	if m.V != V {
		return fmt.Errorf("checkpoint model has %d visible units, data has %d", m.V, V)
	}
	if m.H != c.Hidden {
		return fmt.Errorf("checkpoint model has %d hidden units, config %d", m.H, c.Hidden)
	}
	return nil
}

func (k rbmKind) CheckResume(c Config, s *Snapshot, V int) error {
	if err := checkRBMResume(k.Name(), c, s, V); err != nil {
		return err
	}
	if err := checkPTResume(c, s, V); err != nil {
		return err
	}
	return checkCenterResume(c, s, V, c.Hidden)
}

func (rbmKind) Begin(c Config, _ *Snapshot, _ *data.Dataset, _ bool) Run {
	if c.PT > 0 {
		return ptRun{cfg: c}
	}
	return rbmRun{}
}

// rbmStateNames are the training-state tensors of an RBM run, in the order
// divergence is reported.
var rbmStateNames = []string{graph.VelocityOf(graph.NameW), graph.VelocityOf(graph.NameVBias),
	graph.VelocityOf(graph.NameHBias), graph.NameChains, graph.NameHiddenMean, graph.NameOffsetV, graph.NameOffsetH}

type rbmRun struct{ NopRun }

// RawRows implements RawRows: an RBM trains on the data values themselves.
func (rbmRun) RawRows() bool { return true }

// Diverged names the first non-finite tensor: the parameters, then the
// training state, then the statistic that overflowed.
func (rbmRun) Diverged(epoch int, s *Snapshot, _ float64, rerr error) error {
	if err := s.RBM().Validate(); err != nil {
		return DivergedAt(epoch, err)
	}
	if err := CheckFinite(s.Tensors, rbmStateNames...); err != nil {
		return DivergedAt(epoch, err)
	}
	if rerr != nil {
		return DivergedAt(epoch, rerr)
	}
	return nil
}

func (rbmKind) Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, c Config) error {
	return evaluateRBM(m, s.RBM(), train, heldout, c)
}

func (rbmKind) Model(s *Snapshot) (any, error) {
	m := s.RBM()
	if m == nil {
		return nil, errors.New("snapshot holds no RBM")
	}
	return m, nil
}

// RBM returns the RBM of an "rbm" snapshot, or the Bernoulli part (W, b,
// c) of a "grbm" one, sharing the snapshot's slices; nil when s holds
// neither.
func (s *Snapshot) RBM() *models.RBM {
	if s == nil {
		return nil
	}
	vb, hb := s.Tensors[graph.NameVBias], s.Tensors[graph.NameHBias]
	w := s.Tensors[graph.NameW]
	if vb == nil || hb == nil || w == nil {
		return nil
	}
	return &models.RBM{V: len(vb), H: len(hb), W: w, VBias: vb, HBias: hb}
}

// rbmShapes are the checkpoint shapes of an RBM run's state tensors.
func rbmShapes(s *Snapshot) map[string][]int {
	V, H := len(s.Tensors[graph.NameVBias]), len(s.Tensors[graph.NameHBias])
	sh := map[string][]int{graph.VelocityOf(graph.NameW): {V, H}}
	if V > 0 {
		sh[graph.NameChains] = []int{len(s.Tensors[graph.NameChains]) / V, V}
	}
	return sh
}

func (rbmKind) Save(path string, s *Snapshot, meta models.Meta) error {
	m := s.RBM()
	if m == nil {
		return fmt.Errorf("save %s: snapshot holds no RBM", path)
	}
	return models.SaveRBM(path, m, meta, ExtraTensors(s, rbmShapes(s), graph.NameW, graph.NameVBias, graph.NameHBias))
}

func (rbmKind) Load(path string) (map[string][]float32, models.Meta, error) {
	m, meta, extra, err := models.LoadRBM(path)
	if err != nil {
		return nil, meta, err
	}
	t := map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias}
	if err := rbmState(path, t, extra, m.V, m.H); err != nil {
		return nil, meta, err
	}
	if err := ptState(path, t, extra); err != nil {
		return nil, meta, err
	}
	if err := centerState(path, t, extra, m.V, m.H); err != nil {
		return nil, meta, err
	}
	return t, meta, nil
}

// rbmState moves an RBM checkpoint's training state from extra into t:
// the velocities (zero when the file is a plain model), the sparsity mean
// and the chains when present.
func rbmState(path string, t map[string][]float32, extra map[string]safetensors.Tensor, V, H int) error {
	for _, v := range []struct {
		name string
		n    int
	}{{graph.VelocityOf(graph.NameW), V * H}, {graph.VelocityOf(graph.NameVBias), V}, {graph.VelocityOf(graph.NameHBias), H}} {
		x, err := extraTensor(path, extra, v.name, v.n)
		if err != nil {
			return err
		}
		if x == nil {
			x = zeros(v.n)
		}
		t[v.name] = x
	}
	q, err := extraTensor(path, extra, graph.NameHiddenMean, H)
	if err != nil {
		return err
	}
	if q != nil {
		t[graph.NameHiddenMean] = q
	}
	chains, err := extraTensor(path, extra, graph.NameChains, -1)
	if err != nil {
		return err
	}
	if chains != nil {
		if len(chains)%V != 0 {
			return fmt.Errorf("load %s: tensor %q has %d values, not a multiple of V = %d", path, graph.NameChains, len(chains), V)
		}
		t[graph.NameChains] = chains
	}
	return nil
}

// extraTensor returns the named tensor of a checkpoint (nil when absent),
// checking its size when want ≥ 0.
func extraTensor(path string, extra map[string]safetensors.Tensor, name string, want int) ([]float32, error) {
	x, ok := extra[name]
	if !ok {
		return nil, nil
	}
	if want >= 0 && len(x.Data) != want {
		return nil, fmt.Errorf("load %s: tensor %q has %d values, want %d", path, name, len(x.Data), want)
	}
	return x.Data, nil
}

// evaluateRBM fills the free-energy gap and exact log-likelihood of model
// (free energies by models.RBM.FreeEnergyFunc: FreeEnergy's bits, W in
// float64 once).
func evaluateRBM(m *EpochMetrics, model *models.RBM, train, heldout *data.Dataset, cfg Config) error {
	fe := model.FreeEnergyFunc()
	if heldout != nil && heldout.N > 0 {
		n := min(heldout.N, train.N, cfg.FreeEnergyRows)
		m.FreeEnergyGap = meanOverRows(heldout, n, fe) - meanOverRows(train, n, fe)
	}
	if cfg.ExactLLMaxUnits < 0 || min(model.V, model.H) > cfg.ExactLLMaxUnits {
		return nil
	}
	logZ, err := model.LogZ()
	if err != nil {
		return err
	}
	m.LogZ = logZ
	m.LogLikelihood = -meanOverRows(train, train.N, fe) - logZ
	if heldout != nil && heldout.N > 0 {
		m.HeldOutLogLikelihood = -meanOverRows(heldout, heldout.N, fe) - logZ
	}
	return nil
}

// RBMSnapshot returns a snapshot holding m (not copied) as an "rbm" run
// before its first epoch, with zero velocities: a model to continue
// training from.
func RBMSnapshot(m *models.RBM) *Snapshot {
	return &Snapshot{Config: Config{Model: models.KindRBM, Hidden: m.H}, Tensors: rbmTensors(m)}
}
