package engine

import (
	"errors"
	"fmt"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// PTSampleOptions configure SamplePT.
type PTSampleOptions struct {
	Chains   int     // n chains of the β = 1 replica (the samples), ≥ 1
	Replicas int     // R ≥ 2
	Sweeps   int     // block-Gibbs sweeps, each followed by a swap attempt, ≥ 2
	BetaMin  float64 // initial hottest inverse temperature (0: DefaultPTBetaMin)
	Target   float64 // swap acceptance the ladder is adapted to in the burn-in (0: DefaultPTTarget)
	Seed     uint64
	Backend  Backend // nil: Host()
}

// PTSampleResult is what SamplePT returns.
type PTSampleResult struct {
	// Chains are the β = 1 chains' visible states after the last sweep,
	// Chains×V binary values.
	Chains []float32
	// Traces holds, per β = 1 chain, its free energy F(v) after each sweep
	// of the second half (the first half is the burn-in).
	Traces [][]float64
	// Acceptance is each replica pair's swap acceptance over the second
	// half; Betas the ladder it ran with (fixed there).
	Acceptance []float64
	Betas      []float32
}

// ptSampleAdaptEvery is the burn-in's ladder adaptation period, in sweeps.
const ptSampleAdaptEvery = 50

// SamplePT draws samples from m by parallel tempering: the PT step graph of
// training (graph.BuildPTStep, PCD-1 with R replicas of o.Chains chains) run
// with learning off, from all-zero chains. During the first half of the
// sweeps (the burn-in) the ladder, geometric from o.BetaMin, is adapted
// towards o.Target every 50 sweeps (AdaptLadder); in the second half it is
// fixed, so those sweeps are a valid Markov chain whose β = 1 marginal is
// m's distribution, and the traces and acceptance are of that half.
func SamplePT(m *models.RBM, o PTSampleOptions) (*PTSampleResult, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("parallel tempering: %w", err)
	}
	if o.BetaMin == 0 {
		o.BetaMin = DefaultPTBetaMin
	}
	if o.Target == 0 {
		o.Target = DefaultPTTarget
	}
	switch {
	case o.Chains < 1:
		return nil, fmt.Errorf("parallel tempering: %d chains, want ≥ 1", o.Chains)
	case o.Replicas < 2 || o.Replicas > MaxPTReplicas:
		return nil, fmt.Errorf("parallel tempering: %d replicas, want 2 … %d", o.Replicas, MaxPTReplicas)
	case o.Sweeps < 2:
		return nil, fmt.Errorf("parallel tempering: %d sweeps, want ≥ 2", o.Sweeps)
	case !(o.BetaMin >= PTBetaFloor && o.BetaMin < 1):
		return nil, fmt.Errorf("parallel tempering: β_min %v, want [%g, 1)", o.BetaMin, PTBetaFloor)
	case !(o.Target > 0 && o.Target < 1):
		return nil, fmt.Errorf("parallel tempering: target acceptance %v, want (0, 1)", o.Target)
	}
	b := o.Backend
	if b == nil {
		b = Host()
	}
	V, H, R, C := m.V, m.H, o.Replicas, o.Chains
	s, err := graph.BuildPTStep(graph.StepConfig{Visible: V, Hidden: H, Batch: 1, K: 1, Persistent: true, Chains: C}, R,
		&graph.RNG{Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	p, err := b.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("parallel tempering on %s: %w", b.Name(), err)
	}
	defer p.Close()
	betas := GeometricLadder(R, o.BetaMin)
	t := map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias,
		graph.VelocityOf(graph.NameW): zeros(V * H), graph.VelocityOf(graph.NameVBias): zeros(V),
		graph.VelocityOf(graph.NameHBias): zeros(H), graph.NameChains: zeros(R * C * V),
		graph.NamePTBetas: betas, graph.NamePTSwaps: zeros(2 * (R - 1))}
	for _, x := range p.Tensors() {
		if err := p.Set(x.Name, t[x.Name]); err != nil {
			return nil, err
		}
	}
	burn := o.Sweeps / 2
	res := &PTSampleResult{Traces: make([][]float64, C)}
	data := zeros(V)
	chains := make([]float32, R*C*V)
	swaps := make([]float32, 2*(R-1))
	fe := make([]float64, C)
	for sweep := 1; sweep <= o.Sweeps; sweep++ {
		if err := p.Step(data, 1, graph.Hyper{}); err != nil { // LR 0: the model stays
			return nil, fmt.Errorf("parallel tempering, sweep %d: %w", sweep, err)
		}
		if sweep <= burn && (sweep%ptSampleAdaptEvery == 0 || sweep == burn) {
			if _, err := p.Get(graph.NamePTSwaps, swaps); err != nil {
				return nil, err
			}
			if sweep < burn {
				betas, _ = AdaptLadder(betas, PTAcceptance(swaps), o.Target, PTBetaFloor)
			}
			for _, x := range []struct {
				name string
				v    []float32
			}{{graph.NamePTBetas, betas}, {graph.NamePTSwaps, zeros(len(swaps))}} {
				if err := p.Set(x.name, x.v); err != nil {
					return nil, err
				}
			}
		}
		if sweep > burn {
			if _, err := p.Get(graph.NameChains, chains); err != nil {
				return nil, err
			}
			m.FreeEnergies(fe, chains, C)
			for c := range res.Traces {
				res.Traces[c] = append(res.Traces[c], fe[c])
			}
		}
	}
	if _, err := p.Get(graph.NamePTSwaps, swaps); err != nil {
		return nil, err
	}
	if len(res.Traces[0]) == 0 {
		return nil, errors.New("parallel tempering: no sweeps after the burn-in")
	}
	res.Chains = append([]float32(nil), chains[:C*V]...)
	res.Acceptance, res.Betas = PTAcceptance(swaps), betas
	return res, nil
}
