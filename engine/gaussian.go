package engine

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// Gaussian–Bernoulli RBM training (Config.Visible = VisibleGaussian): the
// model is models.GRBM (Cho, Ilin & Raiko 2011; σ_i² = exp(z_i)), the step
// graph graph.BuildGaussianStep, run by every backend (CPU tape, Host,
// DeviceBackend). The trainer standardises the data per feature (mean and
// scale of the training set, models.Standardisation, stored in the model and
// applied to each mini-batch as it is copied), starts from W ~ N(0, 0.01²),
// b = 0, c = 0, σ = 1, and updates z like the other parameters (momentum,
// no weight decay) when LearnVariance is set, clamped to σ ≥ SigmaFloor.

// Values of Config.Visible.
const (
	VisibleBernoulli = "bernoulli" // binary visible units (also "")
	VisibleGaussian  = "gaussian"  // real-valued visible units: a Gaussian–Bernoulli RBM
)

// Defaults of a Gaussian RBM run, chosen for standardised data (Hinton's
// guide §13.2: Gaussian visible units want a learning rate one or two
// orders below the binary case; variances are usually kept fixed at 1).
const (
	// DefaultGaussianLR is the learning rate when Config.LR is zero.
	DefaultGaussianLR = 0.01
	// DefaultSigmaFloor is the smallest σ when variances are learned
	// (Config.SigmaFloor zero): a unit whose σ collapses makes its
	// precision, and so every gradient through it, explode.
	DefaultSigmaFloor = 0.1
	// guardFactor: a reconstruction error above guardFactor times the
	// error of predicting the mean, early in the first epoch, means the
	// learning rate is too large.
	guardFactor = 2
)

// IsGaussian reports whether c trains a Gaussian–Bernoulli RBM.
func (c Config) IsGaussian() bool { return c.Visible == VisibleGaussian }

func (c *Config) gaussianDefaults() {
	if !c.IsGaussian() {
		return
	}
	if c.LR == 0 {
		c.LR = DefaultGaussianLR
	}
	if c.SigmaFloor == 0 {
		c.SigmaFloor = DefaultSigmaFloor
	}
}

func (c Config) validateVisible() error {
	switch c.Visible {
	case "", VisibleBernoulli:
		return nil
	case VisibleGaussian:
		if c.SigmaFloor != 0 && !(c.SigmaFloor > 0 && c.SigmaFloor <= 1) { // 0: the default
			return fmt.Errorf("sigma floor = %v, want a value in (0, 1] (data are standardised to σ = 1)", c.SigmaFloor)
		}
		return nil
	}
	return fmt.Errorf("visible units %q: want %q or %q", c.Visible, VisibleBernoulli, VisibleGaussian)
}

// GaussianState is the part of a Gaussian RBM run beside Snapshot.Model
// (which holds W, b, c): the log variances and their momentum, and the
// standardisation of the training data.
type GaussianState struct {
	LogVar    []float32 // V, z = log σ² (model units)
	VelLogVar []float32 // V, momentum of z
	DataMean  []float32 // V, per-feature mean of the training data
	DataStd   []float32 // V, per-feature scale (models.Standardisation)
}

func (g *GaussianState) clone() *GaussianState {
	c := func(x []float32) []float32 { return append([]float32(nil), x...) }
	return &GaussianState{LogVar: c(g.LogVar), VelLogVar: c(g.VelLogVar), DataMean: c(g.DataMean), DataStd: c(g.DataStd)}
}

// GRBM returns the Gaussian RBM of a Gaussian run's snapshot (sharing its
// slices), nil for a Bernoulli run.
func (s *Snapshot) GRBM() *models.GRBM {
	if s == nil || s.Gaussian == nil || s.Model == nil {
		return nil
	}
	m := s.Model
	return &models.GRBM{V: m.V, H: m.H, W: m.W, VBias: m.VBias, HBias: m.HBias, LogVar: s.Gaussian.LogVar,
		DataMean: s.Gaussian.DataMean, DataStd: s.Gaussian.DataStd}
}

// GRBM returns the trained Gaussian RBM (nil for a Bernoulli run).
func (r *Result) GRBM() *models.GRBM { return r.Snapshot.GRBM() }

// newGaussianState standardises on train and starts from σ = 1.
func newGaussianState(train *data.Dataset) *GaussianState {
	mean, std := models.Standardisation(train.X, train.N, train.D)
	return &GaussianState{LogVar: make([]float32, train.D), VelLogVar: make([]float32, train.D), DataMean: mean, DataStd: std}
}

// initGaussianChains draws the initial PCD chains from N(0, 1), the
// standardised data's marginals (the model with W = 0, b = 0, σ = 1).
func initGaussianChains(cfg Config, V int, seed uint64) []float32 {
	C := cfg.Chains
	if C == 0 {
		C = cfg.Batch
	}
	chains := make([]float32, C*V)
	s := kernels.Stream{Seed: seed, Op: opChainsInit}
	for i := range chains {
		chains[i] = kernels.Normal(s, uint64(i))
	}
	return chains
}

// GaussianOptions are the compile-time settings of a Gaussian RBM program.
type GaussianOptions struct {
	// LearnVariance updates the log variances from GradLogVar; without it
	// the graph leaves the log-variance statistic out.
	LearnVariance bool
	MinLogVar     float32 // clamp z ≥ MinLogVar after each update (2 ln σ_floor)
}

// GaussianProgram is a compiled Gaussian RBM step: a Program whose model
// is W, b, c (SetModel/Model) plus the log variances and their momentum.
type GaussianProgram interface {
	Program
	// SetLogVar copies z and its momentum (V each) into the program.
	SetLogVar(z, vel []float32) error
	// LogVar copies z and its momentum out of the program.
	LogVar(z, vel []float32) error
}

// GaussianCompiler is implemented by the backends that train Gaussian
// RBMs: CPU{}, Host() and *DeviceBackend.
type GaussianCompiler interface {
	CompileGaussian(cfg graph.StepConfig, seed uint64, opt GaussianOptions) (GaussianProgram, error)
}

func compileGaussian(b Backend, cfg graph.StepConfig, c Config) (GaussianProgram, error) {
	gc, ok := b.(GaussianCompiler)
	if !ok {
		return nil, fmt.Errorf("backend %s cannot train a Gaussian RBM", b.Name())
	}
	return gc.CompileGaussian(cfg, c.Seed, GaussianOptions{LearnVariance: c.LearnVariance,
		MinLogVar: float32(2 * math.Log(c.SigmaFloor))})
}

// --- CPU (tape) ---

type cpuGaussian struct {
	*cpuProgram
	gs     *graph.GaussianStep
	logvar *tensor.Dense
	vel    []float32
	opt    GaussianOptions
}

// CompileGaussian implements GaussianCompiler: the Gaussian step graph on
// gorgonia's tape machine.
func (CPU) CompileGaussian(cfg graph.StepConfig, seed uint64, opt GaussianOptions) (GaussianProgram, error) {
	gs, err := graph.BuildGaussianStepWith(cfg, &graph.RNG{Seed: seed}, graph.GaussianOptions{FixedVariance: !opt.LearnVariance})
	if err != nil {
		return nil, err
	}
	V := gs.Config.Visible
	lv := dense(V)
	p, err := newCPUProgram(&gs.CDStep, map[*G.Node]*tensor.Dense{gs.LogVar: lv})
	if err != nil {
		return nil, err
	}
	g := &cpuGaussian{cpuProgram: p, gs: gs, logvar: lv, vel: make([]float32, V), opt: opt}
	p.afterRun = g.update
	return g, nil
}

func (g *cpuGaussian) update(u Update) error {
	if !g.opt.LearnVariance {
		return nil
	}
	gz, err := values(g.gs.GradLogVar)
	if err != nil {
		return err
	}
	z := f32(g.logvar)
	kernels.SGDUpdate(z, g.vel, gz, u.LR, u.Momentum, 0)
	kernels.ClampMin(z, g.opt.MinLogVar)
	return nil
}

// SetLogVar implements GaussianProgram.
func (g *cpuGaussian) SetLogVar(z, vel []float32) error {
	V := g.gs.Config.Visible
	if len(z) != V || len(vel) != V {
		return fmt.Errorf("cpu backend: log variances %d and momentum %d values, want %d", len(z), len(vel), V)
	}
	copy(f32(g.logvar), z)
	copy(g.vel, vel)
	return nil
}

// LogVar implements GaussianProgram.
func (g *cpuGaussian) LogVar(z, vel []float32) error {
	V := g.gs.Config.Visible
	if len(z) != V || len(vel) != V {
		return fmt.Errorf("cpu backend: destinations of %d and %d values for %d log variances", len(z), len(vel), V)
	}
	copy(z, f32(g.logvar))
	copy(vel, g.vel)
	return nil
}

// --- lowered (Host, emulator, CUDA) ---

type devGaussian struct {
	*devProgram
	vel *lower.Buffer
	opt GaussianOptions
}

// CompileGaussian implements GaussianCompiler: the Gaussian step graph
// lowered to gemm_f32 and the grbm.cu kernels; the log-variance update
// (sgd_update_f32, then clamp_min_f32 for the σ floor) follows the other
// updates on the device.
func (b *DeviceBackend) CompileGaussian(cfg graph.StepConfig, seed uint64, opt GaussianOptions) (GaussianProgram, error) {
	gs, err := graph.BuildGaussianStepWith(cfg, &graph.RNG{Seed: seed}, graph.GaussianOptions{FixedVariance: !opt.LearnVariance})
	if err != nil {
		return nil, err
	}
	V := gs.Config.Visible
	vel := &lower.Buffer{ID: -1, Name: "velocity.logvar", Rows: 1, Cols: V, Kind: lower.Input}
	p, err := b.compile(gs, &gs.CDStep, vel)
	if err != nil {
		return nil, err
	}
	if p.plan.Inputs["logvar"] == nil || (opt.LearnVariance && p.plan.Outputs["GradLogVar"] == nil) {
		p.Close()
		return nil, fmt.Errorf("%s: lowered Gaussian plan has no logvar input or GradLogVar output", b.Label)
	}
	g := &devGaussian{devProgram: p, vel: vel, opt: opt}
	p.moreTail = g.tail
	return g, nil
}

func (g *devGaussian) tail(u Update) []tailLaunch {
	if !g.opt.LearnVariance {
		return nil
	}
	z := g.plan.Inputs["logvar"]
	n := z.Len()
	return []tailLaunch{
		g.sgd(z, g.vel, g.plan.Outputs["GradLogVar"], u, 0, "update logvar"),
		{kernels.ElementwiseGrid(n), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1},
			&kernels.ClampMinF32Args{N: int32(n), X: g.ptr(z), Lo: g.opt.MinLogVar}, "σ floor on logvar"},
	}
}

// SetLogVar implements GaussianProgram.
func (g *devGaussian) SetLogVar(z, vel []float32) error {
	if err := g.upload(g.plan.Inputs["logvar"], z); err != nil {
		return err
	}
	return g.upload(g.vel, vel)
}

// LogVar implements GaussianProgram.
func (g *devGaussian) LogVar(z, vel []float32) error {
	if err := g.download(z, g.plan.Inputs["logvar"]); err != nil {
		return err
	}
	return g.download(vel, g.vel)
}

// CompileGaussian implements GaussianCompiler for the Host backend: the
// lowered Gaussian plan on the Go kernels, with a driver of its own.
func (hostBackend) CompileGaussian(cfg graph.StepConfig, seed uint64, opt GaussianOptions) (GaussianProgram, error) {
	return onHostDriver(func(b *DeviceBackend) (GaussianProgram, error) { return b.CompileGaussian(cfg, seed, opt) })
}

// --- the trainer's side ---

// gaussianRun is the Gaussian part of one Fit: the state, the program and
// the learning-rate guard.
type gaussianRun struct {
	st   *GaussianState
	prog GaussianProgram
	// guard: the reconstruction error is checked after guardAt[i]
	// mini-batches of a fresh run's first epoch.
	guard    bool
	guardAt  []int
	baseline float64 // mean Σ u² of standardised rows: the error of predicting the mean
	lr       float64
}

var guardBatches = []int{4, 8, 16, 32}

func newGaussianRun(st *GaussianState, prog GaussianProgram, train *data.Dataset, fresh bool, lr float64) *gaussianRun {
	g := &gaussianRun{st: st, prog: prog, guard: fresh, lr: lr}
	if fresh {
		g.guardAt = guardBatches
	}
	// Σ u² over up to 1000 evenly spaced rows.
	n := min(train.N, 1000)
	row := make([]float32, train.D)
	for k := 0; k < n; k++ {
		copy(row, train.Row(k*train.N/n))
		models.StandardiseRows(row, st.DataMean, st.DataStd)
		for _, u := range row {
			g.baseline += float64(u) * float64(u) / float64(n)
		}
	}
	return g
}

// standardise maps the copied rows of a mini-batch to model units.
func (g *gaussianRun) standardise(rows []float32) {
	models.StandardiseRows(rows, g.st.DataMean, g.st.DataStd)
}

// limit caps the mini-batches of the next device chunk so that the guard's
// checkpoints fall between chunks.
func (g *gaussianRun) limit(b, n int) int {
	if g == nil || !g.guard || len(g.guardAt) == 0 {
		return n
	}
	return max(1, min(n, g.guardAt[0]-b))
}

// check runs the learning-rate guard after b mini-batches of the first epoch.
func (g *gaussianRun) check(b int) error {
	if g == nil || !g.guard || len(g.guardAt) == 0 || b < g.guardAt[0] {
		return nil
	}
	for len(g.guardAt) > 0 && b >= g.guardAt[0] {
		g.guardAt = g.guardAt[1:]
	}
	// Both the tape's and the lowered programs can report the running
	// mean without restarting it (tapeCore, devCore).
	p, ok := g.prog.(interface{ peekRecon() (float64, error) })
	if !ok {
		return nil
	}
	r, err := p.peekRecon()
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

// epochEnd checks a Gaussian run after each epoch: non-finite parameters
// stop it with an error naming the epoch and the tensor (and the likely
// cause), a reconstruction error above guardFactor times the baseline with
// the learning-rate error.
func (g *gaussianRun) epochEnd(epoch int, recon float64, m *models.GRBM) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("epoch %d: training diverged: %w (learning rate %g is likely too large for this Gaussian RBM; try %.2g)",
			epoch, err, g.lr, suggestLR(g.lr))
	}
	if recon > guardFactor*g.baseline {
		return fmt.Errorf("epoch %d: %w", epoch, g.tooLarge(recon, fmt.Sprintf("epoch %d", epoch)))
	}
	return nil
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

// load copies the log variances into the program.
func (g *gaussianRun) load() error { return g.prog.SetLogVar(g.st.LogVar, g.st.VelLogVar) }

// save copies them out of it.
func (g *gaussianRun) save() error { return g.prog.LogVar(g.st.LogVar, g.st.VelLogVar) }

// evaluateGaussian fills the free-energy gap and, when 2^H·V is small, the
// exact log-likelihood of the training (and held-out) data in data units:
// log p(x) = log p(u) − Σ_i log DataStd_i.
func evaluateGaussian(m *EpochMetrics, g *models.GRBM, train, heldout *data.Dataset, cfg Config) error {
	meanF := func(d *data.Dataset, n int) float64 {
		row := make([]float32, d.D)
		var s float64
		for i := 0; i < n; i++ {
			copy(row, d.Row(i))
			g.Standardise(row)
			s += g.FreeEnergy(row)
		}
		return s / float64(n)
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

// loadGaussianSnapshot reads a "grbm" checkpoint written by SaveSnapshot.
func loadGaussianSnapshot(path string) (*Snapshot, models.Meta, error) {
	g, meta, extra, err := models.LoadGRBM(path)
	if err != nil {
		return nil, meta, err
	}
	m := &models.RBM{V: g.V, H: g.H, W: g.W, VBias: g.VBias, HBias: g.HBias}
	vel := make([]float32, g.V)
	if t, ok := extra[TensorVelLogVar]; ok {
		if len(t.Data) != g.V {
			return nil, meta, fmt.Errorf("load %s: tensor %q has %d values, want %d", path, TensorVelLogVar, len(t.Data), g.V)
		}
		vel = t.Data
		delete(extra, TensorVelLogVar)
	}
	s, meta, err := snapshotFrom(path, m, meta, extra)
	if err != nil {
		return nil, meta, err
	}
	s.Config.Visible = VisibleGaussian
	s.Gaussian = &GaussianState{LogVar: g.LogVar, VelLogVar: vel, DataMean: g.DataMean, DataStd: g.DataStd}
	return s, meta, nil
}
