package dbn

import (
	"context"
	"fmt"
	"math"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
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
// Glorot-normal weights, std √(2/(H_top+C)), and zero biases. The loss is a
// gorgonia graph for a fixed batch B, differentiated by gorgonia's
// autodiff (G.Grad) and run by a tape machine; updates use Adam or
// momentum (our own, so that the learning rate can follow a schedule). Each epoch visits ⌊N/B⌋ mini-batches of a seeded
// permutation (the remainder rotates through the epochs).
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

	net, err := buildMLP(dbn, classes, B, cfg)
	if err != nil {
		return nil, err
	}
	res := &FineTuneResult{BestValAcc: math.NaN()}
	start := time.Now()
	defer func() { res.Seconds = time.Since(start).Seconds() }()

	best := net.snapshot()
	bestLoss := math.Inf(1)
	perm := make([]int, train.N)
	nBatches := train.N / B
	xs, ys := f32(net.xT), f32(net.yT)
	finish := func(err error) (*FineTuneResult, error) {
		net.restore(best)
		if werr := net.writeTo(dbn); werr != nil {
			return res, werr
		}
		return res, err
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		// Rotate which rows fall off the end when N is not a multiple of B.
		engine.Permutation(perm, cfg.Seed^seedFineTune, uint64(epoch))
		var lossSum float64
		correct := 0
		for b := 0; b < nBatches; b++ {
			if err := ctx.Err(); err != nil {
				return finish(err)
			}
			clear(ys)
			for r := 0; r < B; r++ {
				i := perm[b*B+r]
				copy(xs[r*V:(r+1)*V], train.Row(i))
				ys[r*classes+train.Labels[i]] = 1
			}
			// A Gaussian bottom layer reads standardised, precision-scaled
			// inputs (in place: xs is the graph's bound input).
			dbn.BottomInput(xs, xs, B)
			loss, hits, err := net.step(cfg.LR * cfg.Schedule.Factor(epoch, cfg.Epochs))
			if err != nil {
				return finish(fmt.Errorf("fine-tune: epoch %d, batch %d: %w", epoch+1, b+1, err))
			}
			lossSum += loss
			correct += hits
		}
		res.TrainLoss = append(res.TrainLoss, lossSum/float64(nBatches))
		res.TrainAcc = append(res.TrainAcc, float64(correct)/float64(nBatches*B))
		if math.IsNaN(lossSum) || math.IsInf(lossSum, 0) {
			return finish(fmt.Errorf("fine-tune: epoch %d: training diverged (loss %v)", epoch+1, lossSum))
		}
		if val == nil {
			best = net.snapshot()
			res.Best = epoch + 1
			continue
		}
		if err := net.writeTo(dbn); err != nil {
			return finish(err)
		}
		vl, va, err := lossAccuracy(dbn, val)
		if err != nil {
			return finish(fmt.Errorf("fine-tune: epoch %d: %w", epoch+1, err))
		}
		res.ValLoss = append(res.ValLoss, vl)
		res.ValAcc = append(res.ValAcc, va)
		if res.Best == 0 || va > res.BestValAcc || (va == res.BestValAcc && vl < bestLoss) {
			best, res.Best, res.BestValAcc, bestLoss = net.snapshot(), epoch+1, va, vl
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
		z, err := dbn.Logits(d.X[lo*d.D:(lo+n)*d.D], n)
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

// mlp is the fine-tuning graph: inputs x (B×V) and one-hot targets y
// (B×C) bound to xT and yT, the learnable weights and biases of every layer
// and the head, the loss and the logits, and a tape machine with dual
// values on the learnables.
type mlp struct {
	g          *G.ExprGraph
	xT, yT     *tensor.Dense
	learnables G.Nodes // W_0, c_0, …, W_{L−1}, c_{L−1}, W_out, b_out
	loss       *G.Node
	logits     *G.Node
	vm         G.VM
	opt        *optimizer
	B, C       int
}

func buildMLP(dbn *models.DBN, classes, B int, cfg FineTuneConfig) (*mlp, error) {
	V := dbn.Visible()
	g := G.NewGraph()
	n := &mlp{g: g, B: B, C: classes,
		xT: tensor.New(tensor.WithShape(B, V), tensor.Of(tensor.Float32)),
		yT: tensor.New(tensor.WithShape(B, classes), tensor.Of(tensor.Float32)),
	}
	var err error
	must := func(x *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return x
	}
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(B, V), G.WithName("x"), G.WithValue(n.xT))
	y := G.NewMatrix(g, tensor.Float32, G.WithShape(B, classes), G.WithName("y"), G.WithValue(n.yT))
	param := func(name string, src []float32, shape ...int) *G.Node {
		t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), src...)))
		var p *G.Node
		if len(shape) == 2 {
			p = G.NewMatrix(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		} else {
			p = G.NewVector(g, tensor.Float32, G.WithShape(shape...), G.WithName(name), G.WithValue(t))
		}
		n.learnables = append(n.learnables, p)
		return p
	}
	h := x
	in := V
	for l, m := range dbn.Layers {
		w := param(fmt.Sprintf("W%d", l), m.W[:in*m.H], in, m.H)
		c := param(fmt.Sprintf("c%d", l), m.HBias, m.H)
		h = must(G.Sigmoid(must(G.BroadcastAdd(must(G.Mul(h, w)), c, nil, []byte{0}))))
		in = m.H
	}
	outW, outB := dbn.OutW, dbn.OutB
	if dbn.Classes != classes {
		head, e := glorot(in, classes, cfg.Seed^seedFineTune)
		if e != nil {
			return nil, fmt.Errorf("fine-tune: classifier: %w", e)
		}
		outW, outB = head.W, head.HBias
	}
	wo := param("W_out", outW, in, classes)
	bo := param("b_out", outB, classes)
	n.logits = must(G.BroadcastAdd(must(G.Mul(h, wo)), bo, nil, []byte{0}))
	logp := must(G.LogSoftMax(n.logits, 1))
	n.loss = must(G.Neg(must(G.Mean(must(G.Sum(must(G.HadamardProd(y, logp)), 1))))))
	if err != nil {
		return nil, fmt.Errorf("fine-tune: build graph: %w", err)
	}
	if _, err := G.Grad(n.loss, n.learnables...); err != nil {
		return nil, fmt.Errorf("fine-tune: differentiate graph: %w", err)
	}
	n.vm = G.NewTapeMachine(g, G.BindDualValues(n.learnables...))
	n.opt = &optimizer{adam: cfg.Optimizer == "adam", momentum: cfg.Momentum, l2: cfg.WeightDecay}
	return n, nil
}

// step runs forward and backward on the bound batch, applies one update
// with learning rate lr and returns the batch's loss and number of correct
// predictions.
func (n *mlp) step(lr float64) (loss float64, correct int, err error) {
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return 0, 0, err
	}
	lv, ok := n.loss.Value().Data().(float32)
	if !ok {
		return 0, 0, fmt.Errorf("loss value has type %T, want float32", n.loss.Value().Data())
	}
	z := n.logits.Value().Data().([]float32)
	ys := f32(n.yT)
	for r := 0; r < n.B; r++ {
		row := z[r*n.C : (r+1)*n.C]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if ys[r*n.C+best] == 1 {
			correct++
		}
	}
	if err := n.opt.step(n.learnables, lr); err != nil {
		return 0, 0, err
	}
	return float64(lv), correct, nil
}

// snapshot copies the current learnable values.
func (n *mlp) snapshot() [][]float32 {
	s := make([][]float32, len(n.learnables))
	for i, p := range n.learnables {
		s[i] = append([]float32(nil), p.Value().Data().([]float32)...)
	}
	return s
}

// restore writes a snapshot back into the learnables.
func (n *mlp) restore(s [][]float32) {
	for i, p := range n.learnables {
		copy(p.Value().Data().([]float32), s[i])
	}
}

// writeTo copies the learnables into dbn: W rows of the recognition inputs
// and hidden biases of every layer, and the classifier head.
func (n *mlp) writeTo(dbn *models.DBN) error {
	L := len(dbn.Layers)
	for l, m := range dbn.Layers {
		w := n.learnables[2*l].Value().Data().([]float32)
		copy(m.W, w) // the label rows of a labelled top layer come after these
		copy(m.HBias, n.learnables[2*l+1].Value().Data().([]float32))
	}
	dbn.Classes = n.C
	dbn.OutW = append(dbn.OutW[:0], n.learnables[2*L].Value().Data().([]float32)...)
	dbn.OutB = append(dbn.OutB[:0], n.learnables[2*L+1].Value().Data().([]float32)...)
	if err := dbn.Validate(); err != nil {
		return fmt.Errorf("fine-tune: %w", err)
	}
	return nil
}

// optimizer is Adam (Kingma & Ba 2015; β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias
// corrected) or classical momentum (v ← μv − lr·g, θ ← θ + v), with an L2
// penalty l2·θ added to every gradient. Unlike gorgonia's solvers its
// learning rate is an argument of each step, so it can follow a schedule.
type optimizer struct {
	adam     bool
	momentum float64
	l2       float64
	t        int
	m, v     [][]float32 // first and second moments (Adam) or velocities (m)
}

// step updates every learnable from its gradient (computed by the last run
// of the tape machine).
func (o *optimizer) step(params []*G.Node, lr float64) error {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	if o.m == nil {
		o.m, o.v = make([][]float32, len(params)), make([][]float32, len(params))
	}
	o.t++
	c1, c2 := 1-math.Pow(b1, float64(o.t)), 1-math.Pow(b2, float64(o.t))
	for i, p := range params {
		w, ok := p.Value().Data().([]float32)
		if !ok {
			return fmt.Errorf("optimizer: %s holds %T, want []float32", p.Name(), p.Value().Data())
		}
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("optimizer: gradient of %s: %w", p.Name(), err)
		}
		g, ok := gv.Data().([]float32)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("optimizer: gradient of %s has the wrong type or size", p.Name())
		}
		if o.m[i] == nil {
			o.m[i], o.v[i] = make([]float32, len(w)), make([]float32, len(w))
		}
		m, v := o.m[i], o.v[i]
		for j := range w {
			gj := float64(g[j]) + o.l2*float64(w[j])
			if !o.adam {
				m[j] = float32(o.momentum*float64(m[j]) - lr*gj)
				w[j] += m[j]
				continue
			}
			m[j] = float32(b1*float64(m[j]) + (1-b1)*gj)
			v[j] = float32(b2*float64(v[j]) + (1-b2)*gj*gj)
			w[j] -= float32(lr * (float64(m[j]) / c1) / (math.Sqrt(float64(v[j])/c2) + eps))
		}
		// The tape machine adds into the gradients of bound dual
		// values, so they are cleared for the next batch.
		clear(g)
	}
	return nil
}

func f32(t *tensor.Dense) []float32 { return t.Data().([]float32) }
