package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/host"
	"github.com/rbmgpu/rbmgpu/models"
)

func benchStep(b *testing.B, cfg graph.StepConfig) { benchStepOn(b, CPU{}, cfg) }

// BenchmarkStepCD1_784x500_B100 is the headline CPU figure: one CD-1 step
// of a 784×500 RBM on a batch of 100.
func BenchmarkStepCD1_784x500_B100(b *testing.B) {
	benchStep(b, graph.StepConfig{Visible: 784, Hidden: 500, Batch: 100, K: 1})
}

func BenchmarkStepPCD5_16x64_B30(b *testing.B) {
	benchStep(b, graph.StepConfig{Visible: 16, Hidden: 64, Batch: 30, K: 5, Persistent: true, Chains: 200})
}

func benchStepOn(b *testing.B, backend Backend, cfg graph.StepConfig) {
	prog, err := compileRBMStep(backend, cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	m, _ := models.NewRBM(cfg.Visible, cfg.Hidden, 1)
	if err := prog.SetModel(m); err != nil {
		b.Fatal(err)
	}
	st := trainState{VelW: make([]float32, cfg.Visible*cfg.Hidden), VelVBias: make([]float32, cfg.Visible), VelHBias: make([]float32, cfg.Hidden)}
	if cfg.Persistent {
		st.Chains = make([]float32, cfg.NegativeRows()*cfg.Visible)
	}
	if err := prog.SetState(st); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batch := make([]float32, cfg.Batch*cfg.Visible)
	for i := range batch {
		batch[i] = float32(rng.IntN(2))
	}
	for i := 0; i < 2; i++ { // warm-up: first-use buffers of the backend
		if err := prog.Step(batch, graph.Hyper{LR: 0.01, Momentum: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := prog.Step(batch, graph.Hyper{LR: 0.01, Momentum: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.Batch)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkHostPlanCD1_784x500_B100 runs the lowered plan on the host
// driver: the same launches as the GPU, executed by Go kernels.
func BenchmarkHostPlanCD1_784x500_B100(b *testing.B) {
	benchStepOn(b, &DeviceBackend{Driver: host.NewDriver(), Label: "host"}, graph.StepConfig{Visible: 784, Hidden: 500, Batch: 100, K: 1})
}
