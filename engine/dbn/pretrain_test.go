package dbn_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// basKind classifies the n 4×4 samples in x (probabilities, binarized at
// 0.5): stripes (every row constant), bars (every column constant) or
// neither. The blank and full images count as both.
func basKind(x []float32, n int) (valid, stripesOnly, barsOnly int, distinct map[uint16]bool) {
	distinct = map[uint16]bool{}
	for r := 0; r < n; r++ {
		var code uint16
		for i := 0; i < 16; i++ {
			if x[r*16+i] >= 0.5 {
				code |= 1 << i
			}
		}
		bit := func(i, j int) bool { return code>>(4*i+j)&1 == 1 }
		stripes, bars := true, true
		for i := 0; i < 4; i++ {
			for j := 1; j < 4; j++ {
				stripes = stripes && bit(i, j) == bit(i, 0)
				bars = bars && bit(j, i) == bit(0, i)
			}
		}
		if stripes || bars {
			valid++
			distinct[code] = true
		}
		if stripes && !bars {
			stripesOnly++
		}
		if bars && !stripes {
			barsOnly++
		}
	}
	return valid, stripesOnly, barsOnly, distinct
}

// basConfig is the per-layer setting of the bars-and-stripes DBNs: CD-1,
// 600 epochs of the 30 patterns in batches of 10.
var basConfig = engine.Config{Epochs: 600, Batch: 10, LR: 0.1, Momentum: 0.5, Seed: 1, ExactLLMaxUnits: -1}

// A 16-32-32 DBN greedily pretrained on the 30 bars-and-stripes 4×4
// patterns generates valid patterns: of 500 samples (200 Gibbs sweeps in the
// top RBM from a random start, then the down-pass), binarized at 0.5, 91.8%
// are bars-and-stripes images (chance: 30/65536 = 0.05%) covering 29 of
// the 30 patterns. Seeds 1–4 gave 0.89–0.93, 300 epochs per layer only
// 0.41–0.56, 1000 epochs 0.96–0.98. The test asks for ≥ 75% and ≥ 20
// distinct patterns.
func TestPretrainDBNBarsAndStripes(t *testing.T) {
	bas, err := data.BarsAndStripes(4, 4)
	if err != nil {
		t.Fatal(err)
	}
	epochs := map[int]int{}
	start := time.Now()
	net, err := dbn.Pretrain(context.Background(), []int{16, 32, 32}, []engine.Config{basConfig}, bas, nil,
		func(layer int, m engine.EpochMetrics) error {
			epochs[layer]++
			if m.Epoch != epochs[layer] {
				return fmt.Errorf("layer %d: epoch %d reported as number %d", layer, m.Epoch, epochs[layer])
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	pretrain := time.Since(start)
	if epochs[0] != 600 || epochs[1] != 600 || len(epochs) != 2 {
		t.Errorf("callbacks saw epochs per layer %v, want 600 for layers 0 and 1", epochs)
	}
	if got := net.Sizes(); fmt.Sprint(got) != "[16 32 32]" {
		t.Errorf("sizes %v", got)
	}
	const n = 500
	start = time.Now()
	x, err := net.Generate(n, 200, 5, -1)
	if err != nil {
		t.Fatal(err)
	}
	valid, _, _, distinct := basKind(x, n)
	rate := float64(valid) / n
	t.Logf("16-32-32 DBN: pretrain %v, generate %v; %d/%d = %.1f%% valid bars-and-stripes samples, %d distinct patterns",
		pretrain.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), valid, n, 100*rate, len(distinct))
	if rate < 0.75 || len(distinct) < 20 {
		t.Errorf("valid-sample rate %.3f with %d distinct patterns, want ≥ 0.75 and ≥ 20", rate, len(distinct))
	}
	again, _ := net.Generate(n, 200, 5, -1)
	for i := range x {
		if x[i] != again[i] {
			t.Fatalf("Generate is not a pure function of its seed: element %d %v vs %v", i, x[i], again[i])
		}
	}
}

// With label units in the top RBM (label 0 = the 16 stripe patterns,
// 1 = the 14 bar patterns), clamping the label steers generation: measured
// 436 stripes / 4 bars for label 0 and 35 stripes / 410 bars for label 1
// out of 500 samples each (blank and full images not counted).
func TestPretrainDBNWithLabelsClamp(t *testing.T) {
	bas, _ := data.BarsAndStripes(4, 4)
	bas.Labels = make([]int, bas.N)
	for i := 16; i < bas.N; i++ {
		bas.Labels[i] = 1 // data.BarsAndStripes lists the 16 stripe patterns first
	}
	net, err := dbn.PretrainWithLabels(context.Background(), []int{16, 32, 32}, []engine.Config{basConfig}, bas, nil)
	if err != nil {
		t.Fatal(err)
	}
	if net.LabelUnits != 2 || net.Layers[1].V != 34 {
		t.Fatalf("label units %d, top layer %d×%d; want 2 and 34×32", net.LabelUnits, net.Layers[1].V, net.Layers[1].H)
	}
	const n = 500
	for label := 0; label < 2; label++ {
		x, err := net.Generate(n, 200, 5, label)
		if err != nil {
			t.Fatal(err)
		}
		_, stripes, bars, _ := basKind(x, n)
		t.Logf("label %d: %d stripes, %d bars of %d samples", label, stripes, bars, n)
		want, other := stripes, bars
		if label == 1 {
			want, other = bars, stripes
		}
		if want < n/2 || want < 5*other {
			t.Errorf("label %d: %d samples of its class and %d of the other, want ≥ %d and ≥ 5× the other", label, want, other, n/2)
		}
	}
	if _, err := net.Generate(10, 1, 1, 2); err == nil || !strings.Contains(err.Error(), "label 2") {
		t.Errorf("label out of range: %v", err)
	}
}

func TestPretrainDBNErrors(t *testing.T) {
	ctx := context.Background()
	bas, _ := data.BarsAndStripes(3, 3)
	cfg := []engine.Config{{Epochs: 1, Batch: 7}}
	for _, c := range []struct {
		name   string
		sizes  []int
		cfgs   []engine.Config
		labels bool
		want   string
	}{
		{"no layers", []int{9}, cfg, false, "at least one layer"},
		{"wrong V", []int{10, 4}, cfg, false, "10 visible units"},
		{"configs", []int{9, 4, 3}, make([]engine.Config, 3), false, "3 configs for 2 layers"},
		{"zero units", []int{9, 0}, cfg, false, "0 hidden units"},
		{"bad config", []int{9, 4}, []engine.Config{{Epochs: -2}}, false, "epochs"},
		{"labels need labels", []int{9, 4, 3}, cfg, true, "no labels"},
		{"labels need 2 layers", []int{9, 4}, cfg, true, "at least 2 layers"},
	} {
		var err error
		if c.labels {
			_, err = dbn.PretrainWithLabels(ctx, c.sizes, c.cfgs, bas, nil)
		} else {
			_, err = dbn.Pretrain(ctx, c.sizes, c.cfgs, bas, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", c.name, err, c.want)
		}
	}
	// A callback error aborts; ErrStop ends only the layer.
	boom := errors.New("boom")
	_, err := dbn.Pretrain(ctx, []int{9, 4, 3}, cfg, bas, nil, func(l int, _ engine.EpochMetrics) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("callback error: got %v", err)
	}
	seen := map[int]int{}
	net, err := dbn.Pretrain(ctx, []int{9, 4, 3}, []engine.Config{{Epochs: 5, Batch: 7}}, bas, nil,
		func(l int, _ engine.EpochMetrics) error { seen[l]++; return engine.ErrStop })
	if err != nil || len(net.Layers) != 2 || seen[0] != 1 || seen[1] != 1 {
		t.Errorf("ErrStop: err %v, epochs seen %v", err, seen)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dbn.Pretrain(cctx, []int{9, 4}, cfg, bas, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

const fashionDir = "/usr/share/datasets/fashion-mnist"

// loadFashion loads one Fashion-MNIST split scaled to [0, 1], with labels.
func loadFashion(t *testing.T, split string) *data.Dataset {
	t.Helper()
	d, err := data.Load(filepath.Join(fashionDir, split+"-images-idx3-ubyte.gz"),
		data.LoadOptions{Labels: filepath.Join(fashionDir, split+"-labels-idx1-ubyte.gz")})
	if err != nil {
		t.Fatal(err)
	}
	d.ScaleTo01()
	return d
}

// Real data, sized for about 2.5 minutes on 2 busy CPU cores (the CPU step
// runs gorgonia's tape machine, ~1,500–1,800 samples/s for 784×256 CD-1):
//
//  1. pretrain a 784-256-256 DBN on the 60,000 training images (grey levels
//     in [0, 1], labels unused), one epoch of CD-1 per layer (~55 s);
//  2. the reason DBNs exist: fine-tune on only the first 1,000 labelled
//     images for 10 epochs (Adam, lr 0.001, batch 50) from the pretrained
//     weights and, for comparison, from InitRandom (N(0, 0.01²), the
//     classical baseline) and InitGlorot (a stronger one). Measured test
//     accuracy on t10k: pretrained 77.9%, small random init 63.2%,
//     Glorot 76.3% — the assertions are pretrained > random + 5 points and
//     pretrained ≥ Glorot − 1 point (with 20 epochs the figures were
//     79.9 / 75.2 / 79.1: Glorot catches up, small-weight init does not);
//  3. fine-tune the pretrained DBN on all 60,000 labelled images for 2
//     epochs (Adam, lr 0.002, batch 100; ~65 s): 86.0% test accuracy. The
//     issue's 89% needs 784-500-500 and ~10 fine-tuning epochs, about 10
//     minutes of this CPU; asserted here: ≥ 84%.
func TestFashionMNISTDBN(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fashionDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (%v); apt-get install dataset-fashion-mnist to run this test", err)
	}
	if testing.Short() {
		t.Skip("pretraining and fine-tuning on Fashion-MNIST take about 2.5 minutes; skipped with -short")
	}
	ctx := context.Background()
	train, test := loadFashion(t, "train"), loadFashion(t, "t10k")
	start := time.Now()
	cfg := engine.Config{Epochs: 1, Batch: 100, LR: 0.05, Momentum: 0.5, Seed: 1}
	net, err := dbn.Pretrain(ctx, []int{784, 256, 256}, []engine.Config{cfg}, train, nil,
		func(l int, m engine.EpochMetrics) error {
			t.Logf("pretrain layer %d epoch %d: recon error %.2f, %.0f samples/s", l, m.Epoch, m.ReconError, m.SamplesPerSec)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pretraining 784-256-256 on 60,000 images: %v", time.Since(start).Round(time.Second))

	const nl = 1000
	small := &data.Dataset{Name: "fashion[:1000]", N: nl, D: train.D, X: train.Rows(0, nl), Labels: train.Labels[:nl]}
	smallCfg := dbn.FineTuneConfig{Epochs: 10, Batch: 50, LR: 0.001, Seed: 2}
	acc := map[string]float64{}
	for _, init := range []string{"pretrained", "random", "glorot"} {
		var d *models.DBN
		switch init {
		case "pretrained":
			d = net.Clone()
		case "random":
			d, err = dbn.InitRandom(net.Sizes(), 10, 7)
		case "glorot":
			d, err = dbn.InitGlorot(net.Sizes(), 10, 7)
		}
		if err != nil {
			t.Fatal(err)
		}
		st := time.Now()
		res, err := dbn.FineTune(ctx, d, small, nil, smallCfg)
		if err != nil {
			t.Fatal(err)
		}
		if acc[init], err = dbn.Evaluate(d, test); err != nil {
			t.Fatal(err)
		}
		t.Logf("1,000 labels, %s init, %d epochs: train acc %.3f, test acc %.4f (%v)",
			init, smallCfg.Epochs, res.TrainAcc[len(res.TrainAcc)-1], acc[init], time.Since(st).Round(time.Millisecond))
	}
	if !(acc["pretrained"] > acc["random"]+0.05) {
		t.Errorf("1,000 labels: pretrained %.4f, random init %.4f: want pretrained ahead by > 5 points", acc["pretrained"], acc["random"])
	}
	if !(acc["pretrained"] >= acc["glorot"]-0.01) {
		t.Errorf("1,000 labels: pretrained %.4f, Glorot init %.4f: want pretrained ≥ Glorot − 1 point", acc["pretrained"], acc["glorot"])
	}

	start = time.Now()
	res, err := dbn.FineTune(ctx, net, train, nil, dbn.FineTuneConfig{Epochs: 2, Batch: 100, LR: 0.002, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	full, err := dbn.Evaluate(net, test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("60,000 labels, 2 epochs: train acc %v, t10k test accuracy %.4f (%v)", res.TrainAcc, full, time.Since(start).Round(time.Second))
	if full < 0.84 {
		t.Errorf("t10k accuracy %.4f after pretraining and 2 fine-tuning epochs, want ≥ 0.84", full)
	}
}

// Pretrain a small DBN without labels, then fine-tune it as a classifier
// with the labels and check its accuracy on held-out data.
func ExampleFineTune() {
	// Two classes of 3×3 images: stripes (label 0) and bars (label 1),
	// each repeated so that mini-batches are meaningful.
	bas, err := data.BarsAndStripes(3, 3)
	if err != nil {
		log.Fatal(err)
	}
	x := &data.Dataset{Name: "bas:3x3 ×20", N: 0, D: bas.D}
	for rep := 0; rep < 20; rep++ {
		for i := 1; i < bas.N; i++ { // skip the blank image (both classes)
			if i == 7 {
				continue // and the full one
			}
			label := 0 // rows 1–6 are stripes
			if i > 7 {
				label = 1 // rows 8–13 are bars
			}
			x.X = append(x.X, bas.Row(i)...)
			x.Labels = append(x.Labels, label)
			x.N++
		}
	}
	ctx := context.Background()
	net, err := dbn.Pretrain(ctx, []int{9, 16, 8}, []engine.Config{{Epochs: 20, Batch: 10, LR: 0.1, Momentum: 0.5, Seed: 1}}, x, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := dbn.FineTune(ctx, net, x, x, dbn.FineTuneConfig{Epochs: 20, Batch: 10, LR: 0.01, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	acc, _ := dbn.Evaluate(net, x)
	fmt.Printf("layers %v, %d classes, accuracy %.2f (best epoch's %.2f)\n", net.Sizes(), net.Classes, acc, res.BestValAcc)
	// Output: layers [9 16 8], 2 classes, accuracy 1.00 (best epoch's 1.00)
}

// A DBN with a Gaussian bottom layer learns real-valued data: two classes
// of 12-dimensional points, N(±1.5, 1) on the first 6 features and pure
// noise on the rest, every feature on its own offset and scale (so the
// standardisation matters). Pretrained (GRBM + RBM) and fine-tuned, it
// classifies held-out points well above chance, and generation returns
// finite values in data units.
func TestPretrainDBNGaussianBottom(t *testing.T) {
	const n, D = 600, 12
	all := &data.Dataset{Name: "two Gaussians", N: n, D: D, X: make([]float32, n*D), Labels: make([]int, n)}
	s := kernels.Stream{Seed: 4, Op: 0x6A55}
	normal := func(k uint64) float32 { // Box–Muller from two uniforms
		u1, u2 := float64(s.Uniform(2*k))+1e-12, float64(s.Uniform(2*k+1))
		return float32(math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2))
	}
	for i := 0; i < n; i++ {
		y := i % 2
		all.Labels[i] = y
		for j := 0; j < D; j++ {
			mu := float32(0)
			if j < 6 {
				mu = 1.5 * float32(2*y-1)
			}
			all.X[i*D+j] = 10*float32(j) + float32(j+1)*(mu+normal(uint64(i*D+j)))
		}
	}
	train, val, err := all.Split(1.0/3, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{Epochs: 30, Batch: 20, Momentum: 0.5, Seed: 2, ExactLLMaxUnits: -1, Model: "grbm"}
	p := &dbn.Pretrainer{Sizes: []int{D, 16, 8}, Configs: []engine.Config{cfg}}
	net, _, err := p.Fit(context.Background(), train)
	if err != nil {
		t.Fatal(err)
	}
	if net.Gaussian == nil {
		t.Fatal("no Gaussian bottom")
	}
	if _, err := dbn.FineTune(context.Background(), net, train, nil, dbn.FineTuneConfig{Epochs: 20, Batch: 20, LR: 0.01, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	acc, err := dbn.Evaluate(net, val)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out accuracy %.3f", acc)
	if acc < 0.9 {
		t.Errorf("held-out accuracy %.3f, want ≥ 0.9", acc)
	}
	x, err := net.Generate(50, 20, 3, -1)
	if err != nil {
		t.Fatal(err)
	}
	var mean float64
	for r := 0; r < 50; r++ {
		v := float64(x[r*D+D-1])
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("generated %v", v)
		}
		mean += v / 50
	}
	// The last feature lives around 10·11 = 110 in data units.
	if mean < 80 || mean > 140 {
		t.Errorf("generated last feature averages %.1f, want data units near 110", mean)
	}
}
