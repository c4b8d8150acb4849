package bench

// Throughput of training steps and epochs through the public engine API.
//
//	go test -run '^$' -bench . ./bench                        # CPU matrix
//	go test -run '^$' -bench 'Step/cpu/CD-1/784x500/B100$' ./bench
//	RBMGPU_BENCH_DEVICE=cuda:0 ./bench.test -test.run '^$' -test.bench Step   # a -tags cuda build
//
// Environment:
//
//	RBMGPU_BENCH_DEVICE  backend, any value engine.NewBackend accepts: "cpu"
//	                     (default, engine.Host()), "cpu-tape" (the reference
//	                     tape machine), "cuda", "cuda:N", "auto", or "emu" (the
//	                     CUDA backend on the kernel emulator). Benchmarks skip
//	                     when the backend cannot be opened (no CUDA in the
//	                     build, no device) or cannot compile a configuration.
//	RBMGPU_BENCH_BIG=1   also run, on the CPU, the configurations with a
//	                     4096 in them (4096×4096 models, batch 4096) and the
//	                     synthetic 60,000-sample epoch; other backends always
//	                     run them.
//
// Names: BenchmarkStep/<device>/<algorithm>/<V>x<H>/B<batch>, e.g.
// BenchmarkStep/cpu/CD-1/784x500/B100; BenchmarkEpoch/<device>/<data>/...
// Metrics: samples/s (data rows per second), GFLOP/s (StepFLOPs over the
// time), allocs/op and B/op (allocations per step, which should be zero on
// the hot path).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

const fashionTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

// stepCase is one configuration of BenchmarkStep.
type stepCase struct {
	alg        string // "CD" or "PCD"
	k          int
	v, h, b    int
	persistent bool
}

func (c stepCase) config() graph.StepConfig {
	return graph.StepConfig{Visible: c.v, Hidden: c.h, Batch: c.b, K: c.k, Persistent: c.persistent}
}

func (c stepCase) name() string { return fmt.Sprintf("%s-%d/%dx%d/B%d", c.alg, c.k, c.v, c.h, c.b) }

// big reports whether the case has a 4096 in it: skipped on the CPU unless
// RBMGPU_BENCH_BIG=1 (one CD-10 step of 4096×4096 at batch 4096 is 3 TFLOP).
func (c stepCase) big() bool { return c.v >= 4096 || c.h >= 4096 || c.b >= 4096 }

// stepCases is the union of the CPU matrix (CD-1, CD-10, PCD-1; 784×500 and
// 784×2000; batch 100 and 1000) and the GPU matrix (CD-1, CD-10; 784×500
// and 4096×4096; batch 128, 1024 and 4096), without repeats.
func stepCases() []stepCase {
	var out []stepCase
	seen := map[string]bool{}
	add := func(c stepCase) {
		if !seen[c.name()] {
			seen[c.name()] = true
			out = append(out, c)
		}
	}
	algs := []stepCase{{alg: "CD", k: 1}, {alg: "CD", k: 10}, {alg: "PCD", k: 1, persistent: true}}
	for _, a := range algs {
		for _, vh := range [][2]int{{784, 500}, {784, 2000}} {
			for _, b := range []int{100, 1000} {
				c := a
				c.v, c.h, c.b = vh[0], vh[1], b
				add(c)
			}
		}
	}
	for _, a := range algs[:2] {
		for _, vh := range [][2]int{{784, 500}, {4096, 4096}} {
			for _, b := range []int{128, 1024, 4096} {
				c := a
				c.v, c.h, c.b = vh[0], vh[1], b
				add(c)
			}
		}
	}
	return out
}

// The backend is opened once per process: a CUDA backend holds a Driver,
// which must not be made per sub-benchmark.
var (
	backendOnce sync.Once
	backend     engine.Backend
	backendSkip string // why a CUDA device is absent (engine.FindCUDA)
	backendErr  error
	deviceName  string
)

// openBackend opens the backend of RBMGPU_BENCH_DEVICE once: it returns
// the backend, the device's name, a reason to skip (a CUDA device the
// driver does not list) or an error (any other failure to open, a listed
// CUDA device's included: engine.FindCUDA's rule).
func openBackend() (engine.Backend, string, string, error) {
	backendOnce.Do(func() {
		deviceName = os.Getenv("RBMGPU_BENCH_DEVICE")
		if deviceName == "" {
			deviceName = "cpu"
		}
		if deviceName == "emu" {
			// The CUDA backend's plan on the CPU emulator of the .cu sources:
			// slow, but checks the harness and the GPU path without a GPU.
			backend = &engine.DeviceBackend{Driver: emu.NewDriver(), Label: "emu"}
			return
		}
		if kind, ordinal, err := engine.ParseDevice(deviceName); err == nil && kind == "cuda" {
			backend, backendSkip, backendErr = engine.FindCUDA(ordinal)
			return
		}
		backend, backendErr = engine.NewBackend(deviceName)
		if backendErr == nil && deviceName == "auto" {
			deviceName = backend.Name()
		}
	})
	return backend, deviceName, backendSkip, backendErr
}

// requireBackend returns the backend of RBMGPU_BENCH_DEVICE, skipping tb
// where it names a CUDA device the driver does not list and failing it
// where the backend does not open.
func requireBackend(tb testing.TB) engine.Backend {
	tb.Helper()
	be, dev, skip, err := openBackend()
	if skip != "" {
		tb.Skipf("backend %q: %s", dev, skip)
	}
	if err != nil {
		tb.Fatalf("backend %q: %v", dev, err)
	}
	return be
}

func bigAllowed(dev string) bool {
	return dev != "cpu" || os.Getenv("RBMGPU_BENCH_BIG") == "1"
}

// randomBatches returns n batches of B×V independent fair bits.
func randomBatches(n, B, V int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 0x62656e6368))
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, B*V)
		for j := range out[i] {
			out[i][j] = float32(r.Uint32() & 1)
		}
	}
	return out
}

// BenchmarkStep times Program.Step, the trainer's inner loop: upload of the
// batch, the step graph and the parameter update with momentum and weight
// decay. The clock stops after ReconError, which waits for the device.
func BenchmarkStep(b *testing.B) {
	_, dev, _, _ := openBackend()
	for _, c := range stepCases() {
		b.Run(dev+"/"+c.name(), func(b *testing.B) {
			be := requireBackend(b)
			if c.big() && !bigAllowed(dev) {
				b.Skip("4096-sized case skipped on the CPU; set RBMGPU_BENCH_BIG=1 to run it")
			}
			cfg := c.config()
			benchStep(b, be, cfg, randomBatches(4, cfg.Batch, cfg.Visible, 1))
		})
	}
}

// BenchmarkStepFashion is BenchmarkStep for the cases scikit-learn is
// compared on (CD-1 and PCD-1, 784×500, batch 100), on the first 20,000
// binarized Fashion-MNIST images — the data bench/peers/sklearn_rbm.py
// trains on — instead of fair bits. The step's products skip the zeros of
// their sparse operands (kernels/host), so the density of the data (0.31
// here, 0.5 for fair bits) changes the time.
func BenchmarkStepFashion(b *testing.B) {
	_, dev, _, _ := openBackend()
	for _, c := range []stepCase{{alg: "CD", k: 1, v: 784, h: 500, b: 100}, {alg: "PCD", k: 1, persistent: true, v: 784, h: 500, b: 100}} {
		b.Run(dev+"/"+c.name(), func(b *testing.B) {
			be := requireBackend(b)
			ds, derr := loadFashion()
			if derr != nil {
				b.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", derr)
			}
			cfg := c.config()
			n := min(ds.N, 20000) / cfg.Batch
			batches := make([][]float32, n)
			for i := range batches {
				batches[i] = ds.Rows(i*cfg.Batch, cfg.Batch)
			}
			benchStep(b, be, cfg, batches)
		})
	}
}

// BenchmarkStepFashionGrey is the CD-1 case of BenchmarkStepFashion on the
// grey levels scaled to [0, 1] instead of binarized images: what `rbmgpu
// train --data …/train-images-idx3-ubyte.gz --cd 1` trains on. Half the
// pixels are nonzero, the centre's in nearly every image, so the gradient
// product v0ᵀ p(h|v0) runs mixed (dense centre blocks, sparse border ones).
func BenchmarkStepFashionGrey(b *testing.B) {
	_, dev, _, _ := openBackend()
	c := stepCase{alg: "CD", k: 1, v: 784, h: 500, b: 100}
	b.Run(dev+"/"+c.name(), func(b *testing.B) {
		be := requireBackend(b)
		if _, err := os.Stat(fashionTrain); err != nil {
			b.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
		}
		ds, err := data.Load(fashionTrain, data.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ds.ScaleTo01()
		cfg := c.config()
		batches := make([][]float32, min(ds.N, 20000)/cfg.Batch)
		for i := range batches {
			batches[i] = ds.Rows(i*cfg.Batch, cfg.Batch)
		}
		benchStep(b, be, cfg, batches)
	})
}

// benchStep times prog.Step on cfg, cycling through batches (each Batch ×
// Visible).
func benchStep(b *testing.B, be engine.Backend, cfg graph.StepConfig, batches [][]float32) {
	m, err := models.NewRBM(cfg.Visible, cfg.Hidden, 1)
	if err != nil {
		b.Fatal(err)
	}
	prog, err := compileRBM(be, cfg, 1, m, nil)
	if err != nil {
		b.Skipf("%s cannot compile %+v: %v", be.Name(), cfg, err)
	}
	defer prog.Close()
	u := graph.Hyper{LR: 0.01, Momentum: 0.5, WeightDecay: 1e-4}
	// Warm-up: first-touch of buffers, module load and caches stay out of
	// the figures.
	for i := range 2 {
		if err := prog.Step(batches[i%len(batches)], 1, u); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := prog.ReconError(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := prog.Step(batches[i%len(batches)], 1, u); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := prog.ReconError(); err != nil { // synchronises a device backend
		b.Fatal(err)
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*cfg.Batch)/secs, "samples/s")
	b.ReportMetric(StepFLOPs(cfg)*float64(b.N)/secs/1e9, "GFLOP/s")
}

var (
	fashionOnce sync.Once
	fashion     *data.Dataset
	fashionErr  error
)

func loadFashion() (*data.Dataset, error) {
	fashionOnce.Do(func() {
		if _, fashionErr = os.Stat(fashionTrain); fashionErr != nil {
			return
		}
		fashion, fashionErr = data.Load(fashionTrain, data.LoadOptions{})
		if fashionErr == nil {
			fashion.ScaleTo01()
			fashion.Binarize(0.5)
		}
	})
	return fashion, fashionErr
}

// syntheticDataset returns n rows of d fair bits, Fashion-MNIST-sized by
// default (60,000 × 784), for machines without the data set.
func syntheticDataset(n, d int) (*data.Dataset, error) {
	return &data.Dataset{Name: fmt.Sprintf("synthetic:%dx%d", n, d), N: n, D: d, X: randomBatches(1, n, d, 7)[0]}, nil
}

// BenchmarkEpoch times engine.Trainer.Fit for one epoch (shuffling, batch
// assembly, steps, the end-of-epoch sync and evaluation): on Fashion-MNIST
// (60,000 binarized images, CD-1, 784×500, batch 100) where it is
// installed, and on synthetic Fashion-MNIST-sized data (CD-1, 784×500,
// batch 128), which the CPU runs only with RBMGPU_BENCH_BIG=1.
func BenchmarkEpoch(b *testing.B) {
	_, dev, _, _ := openBackend()
	cases := []struct {
		name  string
		batch int
		load  func() (*data.Dataset, error)
		big   bool
	}{
		{"fashion-mnist/CD-1/784x500/B100", 100, loadFashion, false},
		{"synthetic-60k/CD-1/784x500/B128", 128, func() (*data.Dataset, error) { return syntheticDataset(60000, 784) }, true},
	}
	for _, c := range cases {
		b.Run(dev+"/"+c.name, func(b *testing.B) {
			be := requireBackend(b)
			if c.big && !bigAllowed(dev) {
				b.Skip("synthetic epoch skipped on the CPU; set RBMGPU_BENCH_BIG=1 to run it")
			}
			d, derr := c.load()
			if derr != nil {
				b.Skipf("data: %v", derr)
			}
			cfg := engine.Config{Hidden: 500, K: 1, Epochs: 1, Batch: c.batch, LR: 0.05, Momentum: 0.5,
				WeightDecay: 1e-4, Seed: 1, ExactLLMaxUnits: -1}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := (&engine.Trainer{Config: cfg, Backend: be}).Fit(context.Background(), d, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			secs := b.Elapsed().Seconds()
			n := d.N / c.batch * c.batch
			b.ReportMetric(float64(b.N*n)/secs, "samples/s")
			step := graph.StepConfig{Visible: d.D, Hidden: cfg.Hidden, Batch: c.batch, K: cfg.K}
			b.ReportMetric(StepFLOPs(step)*float64(b.N*(d.N/c.batch))/secs/1e9, "GFLOP/s")
		})
	}
}
