package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// trainState is the training state of an executor test: the velocities
// (VelVBias is a BM's bias velocity), the chains, the sparsity mean and
// the RNG counter.
type trainState struct {
	VelW, VelVBias, VelHBias []float32
	Chains, HiddenMean       []float32
	RNGStep                  uint64
}

// testProgram adapts an exec.Program to the model-typed calls of the
// executor tests.
type testProgram struct {
	exec.Program
	bm bool // BM tensor names (bias, velocity.bias)
}

func compileStep(b Backend, s graph.Declared, err error, bm bool) (*testProgram, error) {
	if err != nil {
		return nil, err
	}
	p, err := b.Compile(s)
	if err != nil {
		return nil, err
	}
	return &testProgram{Program: p, bm: bm}, nil
}

func compileRBMStep(b Backend, cfg graph.StepConfig, seed uint64) (*testProgram, error) {
	s, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: seed})
	return compileStep(b, s, err, false)
}

func compileBMStep(b Backend, cfg graph.BMConfig, seed uint64) (*testProgram, error) {
	s, err := graph.BuildBMStep(cfg, &graph.RNG{Seed: seed})
	return compileStep(b, s, err, true)
}

// gaussianTestOptions are the compile-time settings of a Gaussian step.
type gaussianTestOptions struct {
	LearnVariance bool
	MinLogVar     float32
}

func compileGaussianStep(b Backend, cfg graph.StepConfig, seed uint64, opt gaussianTestOptions) (*testProgram, error) {
	s, err := graph.BuildGaussianStepWith(cfg, &graph.RNG{Seed: seed},
		graph.GaussianOptions{FixedVariance: !opt.LearnVariance, MinLogVar: opt.MinLogVar})
	return compileStep(b, s, err, false)
}

func (p *testProgram) has(name string) bool {
	for _, t := range p.Tensors() {
		if t.Name == name {
			return true
		}
	}
	return false
}

func (p *testProgram) get(name string, dst []float32) error {
	_, err := p.Get(name, dst)
	return err
}

func (p *testProgram) length(name string) int {
	for _, t := range p.Tensors() {
		if t.Name == name {
			return t.Len
		}
	}
	return 0
}

// SetModel copies an RBM's parameters in.
func (p *testProgram) SetModel(m *models.RBM) error {
	for _, t := range []struct {
		n string
		x []float32
	}{{graph.NameW, m.W}, {graph.NameVBias, m.VBias}, {graph.NameHBias, m.HBias}} {
		if err := p.Set(t.n, t.x); err != nil {
			return err
		}
	}
	return nil
}

// Model copies an RBM's parameters out.
func (p *testProgram) Model(dst *models.RBM) error {
	for _, t := range []struct {
		n string
		x []float32
	}{{graph.NameW, dst.W}, {graph.NameVBias, dst.VBias}, {graph.NameHBias, dst.HBias}} {
		if err := p.get(t.n, t.x); err != nil {
			return err
		}
	}
	return nil
}

// SetBM copies a BM's parameters in.
func (p *testProgram) SetBM(m *models.BM) error {
	for _, t := range []struct {
		n string
		x []float32
	}{{graph.NameW, m.W}, {graph.NameBias, m.Bias}, {graph.NameMask, m.Mask}} {
		if err := p.Set(t.n, t.x); err != nil {
			return err
		}
	}
	return nil
}

// BMModel copies a BM's parameters out.
func (p *testProgram) BMModel(dst *models.BM) error {
	for _, t := range []struct {
		n string
		x []float32
	}{{graph.NameW, dst.W}, {graph.NameBias, dst.Bias}, {graph.NameMask, dst.Mask}} {
		if err := p.get(t.n, t.x); err != nil {
			return err
		}
	}
	return nil
}

func (p *testProgram) velNames() (w, v, h string) {
	if p.bm {
		return graph.VelocityOf(graph.NameW), graph.VelocityOf(graph.NameBias), ""
	}
	return graph.VelocityOf(graph.NameW), graph.VelocityOf(graph.NameVBias), graph.VelocityOf(graph.NameHBias)
}

// SetState copies the training state in.
func (p *testProgram) SetState(s trainState) error {
	w, v, h := p.velNames()
	for _, t := range []struct {
		n string
		x []float32
	}{{w, s.VelW}, {v, s.VelVBias}, {h, s.VelHBias}, {graph.NameChains, s.Chains}} {
		if t.n == "" || (t.x == nil && !p.has(t.n)) {
			continue
		}
		if err := p.Set(t.n, t.x); err != nil {
			return err
		}
	}
	if p.has(graph.NameHiddenMean) {
		if err := p.Set(graph.NameHiddenMean, s.HiddenMean); err != nil {
			return err
		}
	}
	p.SetRNGStep(s.RNGStep)
	return nil
}

// State copies the training state out.
func (p *testProgram) State() (trainState, error) {
	w, v, h := p.velNames()
	s := trainState{RNGStep: p.RNGStep()}
	for _, t := range []struct {
		n string
		x *[]float32
	}{{w, &s.VelW}, {v, &s.VelVBias}, {h, &s.VelHBias}, {graph.NameChains, &s.Chains}, {graph.NameHiddenMean, &s.HiddenMean}} {
		if t.n == "" || !p.has(t.n) {
			continue
		}
		x := make([]float32, p.length(t.n))
		ok, err := p.Get(t.n, x)
		if err != nil {
			return s, err
		}
		if ok {
			*t.x = x
		}
	}
	return s, nil
}

// Step runs one step on batch.
func (p *testProgram) Step(batch []float32, u graph.Hyper) error { return p.Program.Step(batch, 1, u) }

// StepBatches runs n steps on n mini-batches.
func (p *testProgram) StepBatches(batches []float32, n int, u graph.Hyper) error {
	return p.Program.Step(batches, n, u)
}

// SetLogVar copies a Gaussian RBM's log variances and their momentum in
// (the momentum only where the program learns the variances).
func (p *testProgram) SetLogVar(z, vel []float32) error {
	if err := p.Set(graph.NameLogVar, z); err != nil {
		return err
	}
	if p.has(graph.VelocityOf(graph.NameLogVar)) {
		return p.Set(graph.VelocityOf(graph.NameLogVar), vel)
	}
	return nil
}

// LogVar copies them out (a zero momentum where not learned).
func (p *testProgram) LogVar(z, vel []float32) error {
	if err := p.get(graph.NameLogVar, z); err != nil {
		return err
	}
	if p.has(graph.VelocityOf(graph.NameLogVar)) {
		return p.get(graph.VelocityOf(graph.NameLogVar), vel)
	}
	for i := range vel {
		vel[i] = 0
	}
	return nil
}

func (p *testProgram) peekRecon() (float64, error) { return p.Recon() }

func (p *testProgram) String() string { return fmt.Sprintf("program of %d tensors", len(p.Tensors())) }

// rbmSnapshot is a snapshot holding only the parameters of an RBM with the
// given sizes (zero) — a checkpoint of the wrong shape for resume tests.
func rbmSnapshot(V, H int) *Snapshot {
	return &Snapshot{Config: Config{Model: "rbm", Hidden: H}, Tensors: map[string][]float32{
		graph.NameW: make([]float32, V*H), graph.NameVBias: make([]float32, V), graph.NameHBias: make([]float32, H)}}
}

// grbmSnapshot is a snapshot holding the model g.
func grbmSnapshot(g *models.GRBM) *Snapshot {
	return &Snapshot{Config: Config{Model: "grbm", Hidden: g.H}, Tensors: map[string][]float32{
		graph.NameW: g.W, graph.NameVBias: g.VBias, graph.NameHBias: g.HBias, graph.NameLogVar: g.LogVar,
		TensorDataMean: g.DataMean, TensorDataStd: g.DataStd}}
}
