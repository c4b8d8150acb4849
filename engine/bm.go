package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// BMOptions, set as Config.BM, make a Trainer fit a general Boltzmann
// machine (models.BM) instead of an RBM. The machine has V visible units
// (the data's features) and Config.Hidden hidden ones, and is trained by
// the learning rule of graph.BMStep: statistics with the visibles clamped
// (Sweeps sequential sweeps over the hidden units, or mean-field) minus
// statistics of Config.Chains persistent free-running chains (Config.K
// sweeps over all units per step). Momentum, weight decay, schedules,
// callbacks, cancellation and checkpoints work as for an RBM; sparsity is
// not supported.
type BMOptions struct {
	// Lateral chooses the connections besides visible–hidden ones:
	// LateralNone (restricted), LateralVisible (semi-restricted),
	// LateralHidden or LateralBoth (the general machine).
	Lateral models.Lateral
	// Sweeps is the number of clamped-phase sweeps per step (0 means K).
	Sweeps int
	// MeanField uses sequential mean-field updates in the clamped phase.
	MeanField bool
}

// BMProgram is a compiled BM step graph with the training state it
// updates; the BM counterpart of Program. Its TrainState holds, for a BM,
// VelW (N×N) and VelVBias (N, the biases' velocity), the chains (C×N) and
// the RNG counter; VelHBias and HiddenMean are nil.
type BMProgram interface {
	// SetModel copies the parameters (W, biases, mask) of m in.
	SetModel(m *models.BM) error
	// Model copies the current parameters into dst (same sizes).
	Model(dst *models.BM) error
	// SetState restores momentum, chains and the RNG counter.
	SetState(s TrainState) error
	// State returns a copy of the current training state.
	State() (TrainState, error)
	// Step runs the graph on batch (B×V, row-major) and applies the update
	// (LR, Momentum, WeightDecay; weight decay on W only).
	Step(batch []float32, u Update) error
	// ReconError is Program.ReconError for the graph's ReconErr monitor.
	ReconError() (float64, error)
	// Close releases the program's resources.
	Close() error
}

// BMCompiler is implemented by the backends that train Boltzmann
// machines: CPU (tape), Host() and *DeviceBackend.
type BMCompiler interface {
	CompileBM(cfg graph.BMConfig, seed uint64) (BMProgram, error)
}

// CompileBM compiles the BM step for cfg on backend b.
func CompileBM(b Backend, cfg graph.BMConfig, seed uint64) (BMProgram, error) {
	c, ok := b.(BMCompiler)
	if !ok {
		return nil, fmt.Errorf("backend %s cannot train a Boltzmann machine", b.Name())
	}
	return c.CompileBM(cfg, seed)
}

func checkBMModel(label string, cfg graph.BMConfig, m *models.BM) error {
	if m == nil || m.V != cfg.Visible || m.H != cfg.Hidden {
		got := "nil"
		if m != nil {
			got = fmt.Sprintf("%d+%d", m.V, m.H)
		}
		return fmt.Errorf("%s: model is %s units, program is %d+%d", label, got, cfg.Visible, cfg.Hidden)
	}
	n := m.N()
	if len(m.W) != n*n || len(m.Bias) != n || len(m.Mask) != n*n {
		return fmt.Errorf("%s: model tensors have %d, %d, %d values for %d units", label, len(m.W), len(m.Bias), len(m.Mask), n)
	}
	return nil
}

func checkBMState(label string, cfg graph.BMConfig, s TrainState) error {
	n := cfg.Visible + cfg.Hidden
	for _, c := range []struct {
		name      string
		got, want int
	}{{"velocity W", len(s.VelW), n * n}, {"velocity bias", len(s.VelVBias), n}, {"chains", len(s.Chains), cfg.Chains * n}} {
		if c.got != c.want {
			return fmt.Errorf("%s: state %s has %d values, want %d", label, c.name, c.got, c.want)
		}
	}
	return nil
}
