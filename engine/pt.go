package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Parallel tempering (Config.PT ≥ 2): the negative phase of PCD-k runs R
// replicas of the persistent chains at inverse temperatures 1 = β₀ > … >
// β_{R−1} (graph.BuildPTStep), swapping neighbours after every k sweeps.
// The ladder starts geometric, β_r = β_min^{r/(R−1)}, and after every epoch
// each gap g_q = ln(β_q/β_{q+1}) is scaled by exp(acc_q − target): pairs
// that swap more often than the target spread apart, pairs that swap less
// close up (the acceptance of a pair falls with its gap). The chains, the
// ladder and the epoch's swap counts are training state: checkpointed and
// resumed bit for bit.

// Parallel-tempering defaults.
const (
	// DefaultPTTarget is the swap acceptance the ladder is adapted to.
	DefaultPTTarget = 0.3
	// DefaultPTBetaMin is the hottest replica's initial inverse
	// temperature: β_{R−1} = 0.1, energies scaled by a tenth.
	DefaultPTBetaMin = 0.1
	// PTBetaFloor bounds the adapted ladder from below: a ladder that
	// would need hotter replicas to reach the target is reported as at its
	// bound (EpochMetrics.PTLadderBound).
	PTBetaFloor = 1e-3
	// MaxPTReplicas caps R.
	MaxPTReplicas = 64
)

// ptKinds are the kinds whose step has a parallel-tempering negative phase.
var ptKinds = map[string]bool{models.KindRBM: true}

// ptDefaults fills the PT settings of a PT run.
func ptDefaults(c *Config) {
	if c.PT == 0 {
		return
	}
	if c.PTTarget == 0 {
		c.PTTarget = DefaultPTTarget
	}
	if c.PTBetaMin == 0 {
		c.PTBetaMin = DefaultPTBetaMin
	}
}

// validatePT reports the first impossible PT setting of c (defaulted).
func validatePT(c Config) error {
	if c.PT == 0 {
		if c.PTTarget != 0 || c.PTBetaMin != 0 {
			return errors.New("parallel tempering settings given without replicas (PT = 0)")
		}
		return nil
	}
	switch {
	case c.PT < 2 || c.PT > MaxPTReplicas:
		return fmt.Errorf("parallel tempering with %d replicas: want 2 … %d", c.PT, MaxPTReplicas)
	case !ptKinds[c.Model]:
		return fmt.Errorf("model %s has no parallel tempering (only %s)", c.Model, models.KindRBM)
	case !c.Persistent:
		return errors.New("parallel tempering runs persistent chains: it needs PCD, not CD")
	case !(c.PTTarget > 0 && c.PTTarget < 1):
		return fmt.Errorf("parallel tempering target acceptance %v: no ladder reaches it, want a value in (0, 1)", c.PTTarget)
	case !(c.PTBetaMin >= PTBetaFloor && c.PTBetaMin < 1):
		return fmt.Errorf("parallel tempering β_min %v: want a value in [%g, 1)", c.PTBetaMin, PTBetaFloor)
	}
	return nil
}

// GeometricLadder returns R inverse temperatures β_r = βmin^{r/(R−1)},
// from 1 down to βmin.
func GeometricLadder(R int, betaMin float64) []float32 {
	b := make([]float32, R)
	for r := range b {
		b[r] = float32(math.Pow(betaMin, float64(r)/float64(R-1)))
	}
	b[0] = 1
	return b
}

// AdaptLadder returns the ladder after one adaptation from betas (R values,
// betas[0] = 1) given each pair's measured swap acceptance acc (R−1 values;
// NaN for a pair not attempted, left as it is): gap q, ln(β_q/β_{q+1}), is
// scaled by exp(acc_q − target) and kept in [1e-4, −ln floor]; when the
// ladder would fall below floor all gaps shrink in proportion and bound is
// true.
func AdaptLadder(betas []float32, acc []float64, target, floor float64) (out []float32, bound bool) {
	R := len(betas)
	gaps := make([]float64, R-1)
	total := 0.0
	for q := range gaps {
		g := math.Log(float64(betas[q]) / float64(betas[q+1]))
		if a := acc[q]; !math.IsNaN(a) {
			g *= math.Exp(a - target)
		}
		gaps[q] = min(max(g, 1e-4), -math.Log(floor))
		total += gaps[q]
	}
	if lim := -math.Log(floor); total > lim {
		for q := range gaps {
			gaps[q] *= lim / total
		}
		bound = true
	}
	out = make([]float32, R)
	out[0] = 1
	lb := 0.0
	for q, g := range gaps {
		lb -= g
		out[q+1] = float32(math.Exp(lb))
	}
	return out, bound
}

// PTAcceptance returns each pair's acceptance from the counts of a
// pt_swaps tensor (accepted, then attempted): NaN where none was attempted.
func PTAcceptance(swaps []float32) []float64 {
	n := len(swaps) / 2
	acc := make([]float64, n)
	for q := range acc {
		acc[q] = math.NaN()
		if tried := float64(swaps[n+q]); tried > 0 {
			acc[q] = float64(swaps[q]) / tried
		}
	}
	return acc
}

// ptInit adds the state of a fresh PT run to t: R·C chains from the
// visible-bias model, the geometric ladder and zero counts.
func ptInit(t map[string][]float32, c Config, vbias []float32) {
	R := c.PT
	t[graph.NameChains] = BiasChains(vbias, R*c.ChainCount(), c.Seed)
	t[graph.NamePTBetas] = GeometricLadder(R, c.PTBetaMin)
	t[graph.NamePTSwaps] = zeros(2 * (R - 1))
}

// ptStep builds the PT step of an RBM run.
func ptStep(c Config, V int) (graph.Declared, error) {
	return graph.BuildPTStep(stepConfig(c, V), c.PT, &graph.RNG{Seed: c.Seed})
}

// ptState moves a checkpoint's ladder and swap counts from extra into t.
func ptState(path string, t map[string][]float32, extra map[string]safetensors.Tensor) error {
	b, err := extraTensor(path, extra, graph.NamePTBetas, -1)
	if err != nil || b == nil {
		return err
	}
	s, err := extraTensor(path, extra, graph.NamePTSwaps, 2*(len(b)-1))
	if err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("load %s: tensor %q without %q", path, graph.NamePTBetas, graph.NamePTSwaps)
	}
	t[graph.NamePTBetas], t[graph.NamePTSwaps] = b, s
	return nil
}

// checkPTResume reports why s cannot continue as the PT run c (R·C chains,
// a ladder of R).
func checkPTResume(c Config, s *Snapshot, V int) error {
	if c.PT == 0 {
		if _, ok := s.Tensors[graph.NamePTBetas]; ok && c.Persistent {
			return errors.New("the checkpoint is a parallel-tempering run: resume it with --pt")
		}
		return nil
	}
	if n := len(s.Tensors[graph.NamePTBetas]); n != c.PT {
		return fmt.Errorf("the checkpoint has a ladder of %d replicas, the config %d", n, c.PT)
	}
	if n, want := len(s.Tensors[graph.NameChains]), c.PT*c.ChainCount()*V; n != want {
		return fmt.Errorf("the checkpoint has %d chain values, %d replicas of %d chains need %d", n, c.PT, c.ChainCount(), want)
	}
	return nil
}

// ptRun is the Run of a PT training run: the RBM's checks, and the ladder
// adapted at the end of every epoch.
type ptRun struct {
	rbmRun
	cfg Config
}

// epochEnder is a Run with work at the end of every epoch, after the
// snapshot is saved and before the evaluation and the callbacks: it may
// change tensors of s (named in the result, which the trainer copies back
// into the program) and fill metrics of m.
type epochEnder interface {
	endEpoch(m *EpochMetrics, s *Snapshot) (changed []string, err error)
}

// endEpoch reports the epoch's swap acceptance per pair and the ladder it
// ran with, then adapts the ladder and zeroes the counts.
func (r ptRun) endEpoch(m *EpochMetrics, s *Snapshot) ([]string, error) {
	betas, swaps := s.Tensors[graph.NamePTBetas], s.Tensors[graph.NamePTSwaps]
	if len(betas) != r.cfg.PT || len(swaps) != 2*(r.cfg.PT-1) {
		return nil, fmt.Errorf("parallel tempering: ladder of %d and %d counts for %d replicas", len(betas), len(swaps), r.cfg.PT)
	}
	acc := PTAcceptance(swaps)
	m.PTBetas = make([]float64, len(betas))
	for i, b := range betas {
		m.PTBetas[i] = float64(b)
	}
	m.PTAcceptance = make([]float64, len(acc))
	for i, a := range acc {
		m.PTAcceptance[i] = a
		if math.IsNaN(a) {
			m.PTAcceptance[i] = -1 // JSON has no NaN: not attempted this epoch
		}
	}
	next, bound := AdaptLadder(betas, acc, r.cfg.PTTarget, PTBetaFloor)
	m.PTLadderBound = bound
	s.Tensors[graph.NamePTBetas] = next
	s.Tensors[graph.NamePTSwaps] = zeros(len(swaps))
	return []string{graph.NamePTBetas, graph.NamePTSwaps}, nil
}

// endEpoch runs the run's epoch-end work, if any, and copies the tensors
// it changed into the program.
func (l *loop) endEpoch(m *EpochMetrics) error {
	e, ok := l.run.(epochEnder)
	if !ok {
		return nil
	}
	changed, err := e.endEpoch(m, l.snap)
	if err != nil {
		return err
	}
	for _, n := range changed {
		if err := l.prog.Set(n, l.snap.Tensors[n]); err != nil {
			return err
		}
	}
	return nil
}
