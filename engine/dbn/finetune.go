package dbn

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// seedFineTune is mixed into FineTuneConfig.Seed for the fine-tuning data
// order and the classifier head's initial weights, so that they differ from
// the streams of a pretraining run with the same seed.
const seedFineTune uint64 = 0xF17E_0000_0000_0000

// FineTuneConfig holds the hyperparameters of discriminative fine-tuning.
// Zero values mean the documented defaults.
type FineTuneConfig struct {
	Epochs int // passes over the labelled training data (default 10)
	Batch  int // mini-batch size B (default 100; capped at the data size)
	// LR is the learning rate (default 0.001 for "adam", 0.1 for "momentum").
	LR float64
	// Optimizer is "adam" (default; Kingma & Ba, β = 0.9, 0.999) or
	// "momentum" (v ← μv − LR·g, θ ← θ + v).
	Optimizer   string
	Momentum    float64 // μ for "momentum" (default 0.9)
	WeightDecay float64 // L2 penalty added to the gradient of every weight and bias (default 0)
	// Schedule scales LR per epoch (default constant), as in engine.Config.
	Schedule engine.Schedule
	Seed     uint64 // seeds the data order and a fresh classifier head
	// Patience enables early stopping: training ends after this many epochs
	// without a better validation accuracy (0: run every epoch). With
	// validation data the DBN always ends up holding the weights of the
	// best epoch (highest validation accuracy, ties to the lower loss).
	Patience int
	// Classes is the number of output classes (default: max label + 1 over
	// the training and validation labels).
	Classes int
	// Backend runs the fine-tuning step (default engine.CPU{}, the tape
	// executor; the lowered executor has no Adam kernel yet).
	Backend exec.Backend `json:"-"`
}

// Defaults returns c with zero fields replaced by their defaults.
func (c FineTuneConfig) Defaults() FineTuneConfig {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if c.LR == 0 {
		c.LR = 0.001
		if c.Optimizer == "momentum" {
			c.LR = 0.1
		}
	}
	if c.Momentum == 0 && c.Optimizer == "momentum" {
		c.Momentum = 0.9
	}
	if c.Schedule == nil {
		c.Schedule = engine.ConstantSchedule{}
	}
	return c
}

// Validate reports the first impossible hyperparameter.
func (c FineTuneConfig) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("fine-tune: epochs = %d, want ≥ 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("fine-tune: batch = %d, want ≥ 1", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("fine-tune: learning rate = %v, want a positive number", c.LR)
	case c.Optimizer != "adam" && c.Optimizer != "momentum":
		return fmt.Errorf("fine-tune: optimizer %q, want adam or momentum", c.Optimizer)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("fine-tune: momentum = %v, want a value in [0, 1)", c.Momentum)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("fine-tune: weight decay = %v, want ≥ 0", c.WeightDecay)
	case c.Patience < 0:
		return fmt.Errorf("fine-tune: patience = %d epochs, want ≥ 0", c.Patience)
	case c.Classes < 0:
		return fmt.Errorf("fine-tune: classes = %d, want ≥ 0", c.Classes)
	}
	return nil
}

// FineTuneResult records a fine-tuning run, one entry per epoch run.
type FineTuneResult struct {
	// TrainLoss and TrainAcc are the mean cross-entropy and accuracy over
	// the epoch's mini-batches, each measured by the forward pass that
	// computed its gradient (so with the weights as they moved).
	TrainLoss, TrainAcc []float64
	// ValLoss and ValAcc are measured on the validation data after each
	// epoch (empty without validation data).
	ValLoss, ValAcc []float64
	// Best is the 1-based epoch whose weights the DBN holds on return (the
	// last epoch without validation data); BestValAcc its validation
	// accuracy (NaN without validation data).
	Best       int
	BestValAcc float64
	Stopped    bool    // early stopping ended the run before Epochs
	Seconds    float64 // wall time of the run
}

// FineTune trains dbn as a classifier by backpropagation (Hinton &
// Salakhutdinov 2006): the recognition weights become a sigmoid MLP and a
// softmax layer is put on top,
//
//	h⁰ = x,  hˡ⁺¹ = σ(hˡ Wˡ + cˡ),  z = h^L W_out + b_out,
//	loss = −(1/B) Σ_r log softmax(z_r)_{y_r},
//
// initialised from the layers' W and hidden biases c (label units of a
// labelled top RBM are left out) and from dbn's classifier head when it has
// one with the right number of classes, otherwise a fresh head with
// Glorot-normal weights, std √(2/(H_top+C)), and zero biases. One step
// is the declared step graph.MLPStep for a fixed batch B (the loss, its
// gradients by gorgonia's autodiff and the update by the parameters' rule,
// graph.RuleAdam or graph.RuleMomentum, with the L2 weight decay on every
// weight and bias), compiled by cfg.Backend and driven through
// exec.Program only: the weights are Set by name, each mini-batch is one
// Step with the schedule's learning rate, and the weights are read back
// with Get. Each epoch visits ⌊N/B⌋ mini-batches of a seeded permutation
// (the remainder rotates through the epochs).
//
// train needs labels; val (may be nil) too. On return dbn holds the
// fine-tuned weights (of the best epoch, see FineTuneConfig.Patience) and
// its classifier head; the visible biases are untouched, so the layers
// stay usable as RBMs. When ctx is cancelled FineTune stops after the
// current mini-batch, leaves dbn with the best weights so far and returns
// the result so far with ctx's error.
func FineTune(ctx context.Context, dbn *models.DBN, train, val *data.Dataset, cfg FineTuneConfig) (*FineTuneResult, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := dbn.Validate(); err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	if train == nil || train.N == 0 {
		return nil, fmt.Errorf("fine-tune: no training data")
	}
	V := dbn.Visible()
	classes, err := numClasses(train)
	if err != nil {
		return nil, fmt.Errorf("fine-tune: training %w", err)
	}
	if train.D != V {
		return nil, fmt.Errorf("fine-tune: data %s has %d features, the DBN %d visible units", train.Name, train.D, V)
	}
	if val != nil && val.N == 0 {
		val = nil
	}
	if val != nil {
		cv, err := numClasses(val)
		if err != nil {
			return nil, fmt.Errorf("fine-tune: validation %w", err)
		}
		if val.D != V {
			return nil, fmt.Errorf("fine-tune: validation data %s has %d features, the DBN %d visible units", val.Name, val.D, V)
		}
		classes = max(classes, cv)
	}
	if cfg.Classes > 0 {
		if cfg.Classes < classes {
			return nil, fmt.Errorf("fine-tune: classes = %d, but the data has label %d", cfg.Classes, classes-1)
		}
		classes = cfg.Classes
	}
	if classes < 2 {
		return nil, fmt.Errorf("fine-tune: data %s has a single class, want ≥ 2", train.Name)
	}
	B := min(cfg.Batch, train.N)
	if int64(B)*int64(max(V, classes)) > 1<<31 {
		return nil, fmt.Errorf("fine-tune: batch %d of %d inputs is too large", B, V)
	}

	ft, err := newFineTuner(dbn, classes, B, cfg)
	if err != nil {
		return nil, err
	}
	defer ft.prog.Close()
	res := &FineTuneResult{BestValAcc: math.NaN()}
	start := time.Now()
	defer func() { res.Seconds = time.Since(start).Seconds() }()

	best, err := ft.snapshot()
	if err != nil {
		return nil, err
	}
	bestLoss := math.Inf(1)
	perm := make([]int, train.N)
	nBatches := train.N / B
	finish := func(err error) (*FineTuneResult, error) {
		if werr := ft.writeTo(dbn, best); werr != nil {
			return res, werr
		}
		return res, err
	}
	h := graph.Hyper{Momentum: float32(cfg.Momentum), WeightDecay: float32(cfg.WeightDecay)}
	hits := []float32{0}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		// Rotate which rows fall off the end when N is not a multiple of B.
		engine.Permutation(perm, cfg.Seed^seedFineTune, uint64(epoch))
		h.LR = float32(cfg.LR * cfg.Schedule.Factor(epoch, cfg.Epochs))
		hits[0] = 0
		if err := ft.prog.Set(graph.NameHits, hits); err != nil {
			return finish(fmt.Errorf("fine-tune: %w", err))
		}
		for b := 0; b < nBatches; b++ {
			if err := ctx.Err(); err != nil {
				return finish(err)
			}
			ft.load(dbn, train, perm[b*B:(b+1)*B])
			if err := ft.prog.Step(ft.batch, 1, h); err != nil {
				return finish(fmt.Errorf("fine-tune: epoch %d, batch %d: %w", epoch+1, b+1, err))
			}
		}
		// The step's monitor output is the batch's mean cross-entropy.
		loss, lerr := ft.prog.ReconError()
		if _, err := ft.prog.Get(graph.NameHits, hits); err != nil {
			return finish(fmt.Errorf("fine-tune: %w", err))
		}
		res.TrainLoss = append(res.TrainLoss, loss)
		res.TrainAcc = append(res.TrainAcc, float64(hits[0])/float64(nBatches*B))
		if lerr != nil {
			return finish(fmt.Errorf("fine-tune: epoch %d: training diverged (loss %v)", epoch+1, loss))
		}
		cur, err := ft.snapshot()
		if err != nil {
			return finish(err)
		}
		if val == nil {
			best = cur
			res.Best = epoch + 1
			continue
		}
		if err := ft.writeTo(dbn, cur); err != nil {
			return finish(err)
		}
		vl, va, err := lossAccuracy(dbn, val)
		if err != nil {
			return finish(fmt.Errorf("fine-tune: epoch %d: %w", epoch+1, err))
		}
		res.ValLoss = append(res.ValLoss, vl)
		res.ValAcc = append(res.ValAcc, va)
		if res.Best == 0 || va > res.BestValAcc || (va == res.BestValAcc && vl < bestLoss) {
			best, res.Best, res.BestValAcc, bestLoss = cur, epoch+1, va, vl
		} else if cfg.Patience > 0 && epoch+1-res.Best >= cfg.Patience {
			res.Stopped = epoch+1 < cfg.Epochs
			break
		}
	}
	return finish(nil)
}

// Evaluate returns the classification accuracy of dbn's classifier head on
// d (fraction of rows whose argmax class equals the label).
func Evaluate(dbn *models.DBN, d *data.Dataset) (float64, error) {
	_, acc, err := lossAccuracy(dbn, d)
	return acc, err
}

// evalChunk bounds the rows of one forward pass in lossAccuracy.
const evalChunk = 4096

// lossAccuracy returns the mean cross-entropy and the accuracy of dbn's
// classifier on the labelled d, computed in float64 from the float32 logits.
func lossAccuracy(dbn *models.DBN, d *data.Dataset) (loss, acc float64, err error) {
	if err := dbn.Validate(); err != nil {
		return 0, 0, fmt.Errorf("evaluate: %w", err)
	}
	if !dbn.HasClassifier() {
		return 0, 0, fmt.Errorf("evaluate: the DBN has no classifier head (fine-tune it first)")
	}
	if d == nil || d.N == 0 {
		return 0, 0, fmt.Errorf("evaluate: no data")
	}
	if d.D != dbn.Visible() {
		return 0, 0, fmt.Errorf("evaluate: data %s has %d features, the DBN %d visible units", d.Name, d.D, dbn.Visible())
	}
	if _, err := numClasses(d); err != nil {
		return 0, 0, fmt.Errorf("evaluate: %w", err)
	}
	C := dbn.Classes
	correct := 0
	for lo := 0; lo < d.N; lo += evalChunk {
		n := min(evalChunk, d.N-lo)
		z, err := dbn.Logits(d.Rows(lo, n), n)
		if err != nil {
			return 0, 0, fmt.Errorf("evaluate: %w", err)
		}
		for r := 0; r < n; r++ {
			row := z[r*C : (r+1)*C]
			y := d.Labels[lo+r]
			best, m := 0, math.Inf(-1)
			for k, v := range row {
				if float64(v) > m {
					best, m = k, float64(v)
				}
			}
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v) - m)
			}
			if y >= C {
				loss = math.Inf(1)
			} else {
				loss += m + math.Log(s) - float64(row[y])
			}
			if best == y {
				correct++
			}
		}
	}
	return loss / float64(d.N), float64(correct) / float64(d.N), nil
}

// InitRandom returns a DBN with the shape sizes = [V, H_0, …, H_{L−1}] and
// a classes-way classifier head whose weights are all small random numbers,
// W_ij ~ N(0, models.InitStd²) (0.01, the RBM initialisation), and whose
// biases are zero: the "same net from random init" that fine-tuning a
// pretrained DBN is classically compared against (Hinton & Salakhutdinov
// 2006). The draws are those of models.NewRBM, layer l with seed+l and the
// head with seed+L. See InitGlorot for a stronger random baseline.
func InitRandom(sizes []int, classes int, seed uint64) (*models.DBN, error) {
	return initMLP(sizes, classes, seed, false)
}

// InitGlorot is InitRandom with Glorot-normal weights, W_ij ~
// N(0, 2/(fan_in + fan_out)) (Glorot & Bengio 2010): a random
// initialisation under which a deep sigmoid MLP trains well without
// pretraining.
func InitGlorot(sizes []int, classes int, seed uint64) (*models.DBN, error) {
	return initMLP(sizes, classes, seed, true)
}

func initMLP(sizes []int, classes int, seed uint64, glorotInit bool) (*models.DBN, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("init random: sizes %v: want [V, H_0, …] with at least one layer", sizes)
	}
	if classes < 2 {
		return nil, fmt.Errorf("init random: classes = %d, want ≥ 2", classes)
	}
	layer := func(in, out int, seed uint64) (*models.RBM, error) {
		if glorotInit {
			return glorot(in, out, seed)
		}
		return models.NewRBM(in, out, seed)
	}
	d := &models.DBN{}
	for l := 0; l+1 < len(sizes); l++ {
		m, err := layer(sizes[l], sizes[l+1], seed+uint64(l))
		if err != nil {
			return nil, fmt.Errorf("init random: layer %d: %w", l, err)
		}
		d.Layers = append(d.Layers, m)
	}
	head, err := layer(sizes[len(sizes)-1], classes, seed+uint64(len(sizes)-1))
	if err != nil {
		return nil, fmt.Errorf("init random: classifier: %w", err)
	}
	d.Classes, d.OutW, d.OutB = classes, head.W, head.HBias
	return d, nil
}

// glorot returns an RBM-shaped in×out layer with Glorot-normal weights.
func glorot(in, out int, seed uint64) (*models.RBM, error) {
	m, err := models.NewRBM(in, out, seed)
	if err != nil {
		return nil, err
	}
	scale := float32(math.Sqrt(2/float64(in+out)) / models.InitStd)
	for i := range m.W {
		m.W[i] *= scale
	}
	return m, nil
}

// fineTuner is the fine-tuning step (graph.MLPStep) of one DBN compiled
// into an exec.Program, with the host buffers of one mini-batch.
type fineTuner struct {
	prog  exec.Program
	names []string // the step's parameters: layer<l>.W, layer<l>.hbias, …, classifier.W, classifier.b
	lens  []int
	V, C  int
	B     int
	xs    []float32 // B×V features (the bottom layer's input transform in place)
	batch []float32 // B×(V+C): features, then the one-hot labels
}

// mlpNames returns the fine-tuning step's parameter names for L layers:
// the DBN checkpoint's tensor names (models.DBNLayerTensor, the
// classifier's).
func mlpNames(L int) []string {
	var names []string
	for l := 0; l < L; l++ {
		names = append(names, models.DBNLayerTensor(l, "W"), models.DBNLayerTensor(l, "hbias"))
	}
	return append(names, models.TensorClassifierW, models.TensorClassifierB)
}

// newFineTuner builds the fine-tuning step of dbn for classes classes and
// batch B, compiles it with cfg.Backend and sets its parameters: each
// layer's recognition weights (the first rows of W: the label rows of a
// labelled top RBM are left out) and hidden biases, and dbn's classifier
// head when it has classes classes, else a fresh Glorot-normal one.
func newFineTuner(dbn *models.DBN, classes, B int, cfg FineTuneConfig) (*fineTuner, error) {
	V, L := dbn.Visible(), len(dbn.Layers)
	sizes := append(dbn.Sizes(), classes)
	rule := graph.RuleMomentum
	if cfg.Optimizer == "adam" {
		rule = graph.RuleAdam
	}
	step, err := graph.BuildMLPStep(graph.MLPConfig{Sizes: sizes, Batch: B, Names: mlpNames(L), Rule: rule, Decay: true})
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	backend := cfg.Backend
	if backend == nil {
		backend = engine.CPU{}
	}
	prog, err := backend.Compile(step)
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	f := &fineTuner{prog: prog, names: step.Config.Names, V: V, C: classes, B: B,
		xs: make([]float32, B*V), batch: make([]float32, B*(V+classes))}
	vals := make([][]float32, 0, 2*L+2)
	for l, m := range dbn.Layers {
		vals = append(vals, m.W[:sizes[l]*m.H], m.HBias)
	}
	outW, outB := dbn.OutW, dbn.OutB
	if dbn.Classes != classes {
		head, err := glorot(sizes[L], classes, cfg.Seed^seedFineTune)
		if err != nil {
			prog.Close()
			return nil, fmt.Errorf("fine-tune: classifier: %w", err)
		}
		outW, outB = head.W, head.HBias
	}
	vals = append(vals, outW, outB)
	for i, n := range f.names {
		f.lens = append(f.lens, len(vals[i]))
		if err := prog.Set(n, vals[i]); err != nil {
			prog.Close()
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
	}
	return f, nil
}

// load packs rows of d into the mini-batch: the features (through the
// bottom layer's input transform of a Gaussian DBN) and the one-hot labels.
func (f *fineTuner) load(dbn *models.DBN, d *data.Dataset, rows []int) {
	V, W := f.V, f.V+f.C
	for r, i := range rows {
		d.RowTo(f.xs[r*V:(r+1)*V], i)
	}
	// A Gaussian bottom layer reads standardised, precision-scaled inputs.
	dbn.BottomInput(f.xs, f.xs, f.B)
	for r, i := range rows {
		row := f.batch[r*W : (r+1)*W]
		copy(row, f.xs[r*V:(r+1)*V])
		clear(row[V:])
		row[V+d.Labels[i]] = 1
	}
}

// snapshot copies the program's current parameters.
func (f *fineTuner) snapshot() ([][]float32, error) {
	s := make([][]float32, len(f.names))
	for i, n := range f.names {
		s[i] = make([]float32, f.lens[i])
		if _, err := f.prog.Get(n, s[i]); err != nil {
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
	}
	return s, nil
}

// writeTo copies the parameters s (a snapshot) into dbn: the recognition
// rows of W and the hidden biases of every layer, and the classifier head.
func (f *fineTuner) writeTo(dbn *models.DBN, s [][]float32) error {
	L := len(dbn.Layers)
	for l, m := range dbn.Layers {
		copy(m.W, s[2*l]) // the label rows of a labelled top layer come after these
		copy(m.HBias, s[2*l+1])
	}
	dbn.Classes = f.C
	dbn.OutW = append(dbn.OutW[:0], s[2*L]...)
	dbn.OutB = append(dbn.OutB[:0], s[2*L+1]...)
	if err := dbn.Validate(); err != nil {
		return fmt.Errorf("fine-tune: %w", err)
	}
	return nil
}
