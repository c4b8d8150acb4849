package dbn

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// blobs returns n labelled rows of d binary features in k classes: class c
// turns on pixel j with probability 0.8 when j mod k == c, else 0.2 — a
// noisy but well separated task (Bayes accuracy near 100% for d = 32).
func blobs(n, d, k int, seed uint64) *data.Dataset {
	ds := &data.Dataset{Name: "blobs", N: n, D: d, X: make([]float32, n*d), Labels: make([]int, n)}
	s := kernels.Stream{Seed: seed, Op: 0xB10B}
	for i := 0; i < n; i++ {
		c := int(s.Uint64(uint64(i)) % uint64(k))
		ds.Labels[i] = c
		for j := 0; j < d; j++ {
			p := float32(0.2)
			if j%k == c {
				p = 0.8
			}
			if s.Uniform(uint64(n+i*d+j)) < p {
				ds.X[i*d+j] = 1
			}
		}
	}
	return ds
}

// Fine-tuning a small pretrained DBN on a synthetic 4-class task reaches
// high accuracy on held-out rows, with both optimizers.
func TestFineTuneBlobs(t *testing.T) {
	all := blobs(600, 32, 4, 1)
	train, val, err := all.Split(1.0/3, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dbn, err := Pretrain(ctx, []int{32, 24, 16}, []engine.Config{{Epochs: 5, Batch: 20, LR: 0.05, Momentum: 0.5, Seed: 3}}, train, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []FineTuneConfig{
		{Epochs: 15, Batch: 20, Optimizer: "adam", LR: 0.01, Seed: 4},
		{Epochs: 15, Batch: 20, Optimizer: "momentum", LR: 0.2, Momentum: 0.9, Seed: 4},
	} {
		d := dbn.Clone()
		res, err := FineTune(ctx, d, train, val, opt)
		if err != nil {
			t.Fatalf("%s: %v", opt.Optimizer, err)
		}
		acc, err := Evaluate(d, val)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: train acc %.3f → %.3f, val acc %.3f → %.3f, best epoch %d (%.3f), %.2fs",
			opt.Optimizer, res.TrainAcc[0], res.TrainAcc[len(res.TrainAcc)-1], res.ValAcc[0], res.ValAcc[len(res.ValAcc)-1], res.Best, res.BestValAcc, res.Seconds)
		if acc != res.BestValAcc {
			t.Errorf("%s: Evaluate gives %v, the best epoch's validation accuracy %v: best weights not restored", opt.Optimizer, acc, res.BestValAcc)
		}
		if acc < 0.95 {
			t.Errorf("%s: validation accuracy %.3f, want ≥ 0.95", opt.Optimizer, acc)
		}
		if !d.HasClassifier() || d.Classes != 4 {
			t.Errorf("%s: classifier head: classes %d", opt.Optimizer, d.Classes)
		}
	}
}

// The autodiff gradient of the fine-tuning step matches central finite
// differences of lossAccuracy's float64 loss on a tiny net. The step is
// compiled as FineTune compiles it and driven through exec.Program only:
// one Step with momentum 0 and learning rate 1 leaves each parameter's
// velocity equal to its gradient output (the ascent direction −∂loss/∂θ),
// and Recon reports the batch's loss.
func TestFineTuneGradient(t *testing.T) {
	d := blobs(8, 6, 3, 7)
	dbn, err := InitRandom([]int{6, 5, 4}, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := newFineTuner(dbn, 3, d.N, FineTuneConfig{Optimizer: "momentum"}.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	defer ft.prog.Close()
	rows := make([]int, d.N)
	for i := range rows {
		rows[i] = i
	}
	ft.load(dbn, d, rows)
	if err := ft.prog.Step(ft.batch, 1, graph.Hyper{LR: 1}); err != nil {
		t.Fatal(err)
	}
	loss, _, _ := lossAccuracy(dbn, d)
	if got, err := ft.prog.Recon(); err != nil || math.Abs(got-loss) > 1e-5 {
		t.Errorf("step's loss %v (%v), lossAccuracy %v", got, err, loss)
	}
	// Perturb W0[1][2], layer 1's hbias[3] and the head's b[1]; compare
	// with the step's gradients.
	for _, c := range []struct {
		param, idx int
		get        func(*models.DBN) []float32
	}{
		{0, 1*5 + 2, func(m *models.DBN) []float32 { return m.Layers[0].W }},
		{3, 3, func(m *models.DBN) []float32 { return m.Layers[1].HBias }},
		{5, 1, func(m *models.DBN) []float32 { return m.OutB }},
	} {
		vel := make([]float32, ft.lens[c.param])
		if _, err := ft.prog.Get(graph.VelocityOf(ft.names[c.param]), vel); err != nil {
			t.Fatal(err)
		}
		got := -float64(vel[c.idx])
		const eps = 1e-2
		p := c.get(dbn)
		p[c.idx] += eps
		lp, _, _ := lossAccuracy(dbn, d)
		p[c.idx] -= 2 * eps
		lm, _, _ := lossAccuracy(dbn, d)
		p[c.idx] += eps
		want := (lp - lm) / (2 * eps)
		if math.Abs(got-want) > 1e-3+1e-2*math.Abs(want) {
			t.Errorf("param %d[%d]: autodiff gradient %v, finite difference %v", c.param, c.idx, got, want)
		}
	}
}

func TestFineTuneErrors(t *testing.T) {
	ctx := context.Background()
	d := blobs(20, 6, 2, 1)
	dbn, _ := InitRandom([]int{6, 4}, 2, 1)
	unlabelled := &data.Dataset{Name: "u", N: 2, D: 6, X: make([]float32, 12)}
	wide := blobs(20, 7, 2, 1)
	for _, c := range []struct {
		name  string
		train *data.Dataset
		cfg   FineTuneConfig
		want  string
	}{
		{"optimizer", d, FineTuneConfig{Optimizer: "sgd"}, "optimizer"},
		{"epochs", d, FineTuneConfig{Epochs: -1}, "epochs"},
		{"labels", unlabelled, FineTuneConfig{}, "no labels"},
		{"features", wide, FineTuneConfig{}, "7 features"},
		{"classes", d, FineTuneConfig{Classes: 1}, "classes"},
	} {
		_, err := FineTune(ctx, dbn.Clone(), c.train, nil, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := Evaluate(&models.DBN{Layers: dbn.Layers}, d); err == nil || !strings.Contains(err.Error(), "classifier") {
		t.Errorf("Evaluate without a head: %v", err)
	}
	if _, err := InitRandom([]int{6}, 2, 1); err == nil {
		t.Error("InitRandom with no layer: no error")
	}
}

// Early stopping ends the run and keeps the best epoch's weights.
func TestFineTuneEarlyStopping(t *testing.T) {
	train := blobs(40, 8, 2, 1)
	val := blobs(40, 8, 2, 2)
	dbn, _ := InitRandom([]int{8, 6}, 2, 3)
	// A huge learning rate makes validation accuracy jump around.
	res, err := FineTune(context.Background(), dbn, train, val, FineTuneConfig{Epochs: 30, Batch: 10, LR: 0.5, Patience: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := Evaluate(dbn, val)
	t.Logf("epochs run %d, best %d (%.3f), stopped %v", len(res.ValAcc), res.Best, res.BestValAcc, res.Stopped)
	if len(res.ValAcc) < 30 && !res.Stopped {
		t.Errorf("ran %d of 30 epochs without Stopped", len(res.ValAcc))
	}
	if len(res.ValAcc)-res.Best > 2 {
		t.Errorf("ran %d epochs past the best (%d) with patience 2", len(res.ValAcc)-res.Best, res.Best)
	}
	if acc != res.BestValAcc {
		t.Errorf("accuracy after restore %v, best %v", acc, res.BestValAcc)
	}
}

// A DBN whose top RBM has label units fine-tunes too (the label rows are
// left out of the MLP and survive unchanged); a cancelled context stops
// fine-tuning with ctx's error and leaves a usable classifier.
func TestFineTuneLabelledTopAndCancel(t *testing.T) {
	ctx := context.Background()
	train := blobs(200, 16, 2, 5)
	dbn, err := PretrainWithLabels(ctx, []int{16, 8, 6}, []engine.Config{{Epochs: 3, Batch: 20, Seed: 1}}, train, nil)
	if err != nil {
		t.Fatal(err)
	}
	top := dbn.Layers[1]
	labelRows := append([]float32(nil), top.W[8*6:]...)
	if _, err := FineTune(ctx, dbn, train, nil, FineTuneConfig{Epochs: 10, Batch: 20, LR: 0.01, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if acc, err := Evaluate(dbn, train); err != nil || acc < 0.9 {
		t.Errorf("labelled top: training accuracy %v (%v), want ≥ 0.9", acc, err)
	}
	for i, w := range top.W[8*6:] {
		if w != labelRows[i] {
			t.Fatalf("label row weight %d changed: %v → %v", i, labelRows[i], w)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	d2, _ := InitRandom([]int{16, 4}, 2, 1)
	res, err := FineTune(cctx, d2, train, nil, FineTuneConfig{Epochs: 3, Batch: 20})
	if err != context.Canceled || res == nil || !d2.HasClassifier() {
		t.Errorf("cancelled: err %v, result %v, head %v", err, res, d2.HasClassifier())
	}
}

// The learning-rate schedule is applied per epoch: with factor γ^e, γ = 0,
// only the first epoch moves the weights, so 3 epochs end where 1 does
// (both optimizers); a constant schedule keeps moving them.
func TestFineTuneSchedule(t *testing.T) {
	train := blobs(200, 16, 2, 3)
	for _, opt := range []string{"adam", "momentum"} {
		run := func(epochs int, s engine.Schedule) []float32 {
			dbn, err := InitGlorot([]int{16, 8}, 2, 5)
			if err != nil {
				t.Fatal(err)
			}
			cfg := FineTuneConfig{Epochs: epochs, Batch: 20, Optimizer: opt, Seed: 1, Schedule: s}
			if _, err := FineTune(context.Background(), dbn, train, nil, cfg); err != nil {
				t.Fatal(err)
			}
			return dbn.Layers[0].W
		}
		one, frozen, moving := run(1, engine.ConstantSchedule{}), run(3, engine.ExpSchedule{Gamma: 0}), run(3, engine.ConstantSchedule{})
		// Momentum keeps coasting on its velocity after the rate drops to 0.
		if opt == "adam" && !slices.Equal(one, frozen) {
			t.Errorf("%s: a zero learning rate after epoch 1 still changed the weights", opt)
		}
		if slices.Equal(one, moving) {
			t.Errorf("%s: constant schedule: epochs 2–3 did not change the weights", opt)
		}
	}
}
