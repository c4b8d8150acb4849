package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// BenchmarkGaussianHostCD1_784x500_B100 is one CD-1 step of a 784×500
// Gaussian RBM with learned variances on the Host backend (compare
// BenchmarkHostPlanCD1_784x500_B100, the Bernoulli step): the Gaussian
// step adds two products (p Wᵀ for the log-variance statistic) and the
// grbm.cu elementwise kernels.
func BenchmarkGaussianHostCD1_784x500_B100(b *testing.B) { benchGaussian(b, true) }

// BenchmarkGaussianFixedSigmaHostCD1_784x500_B100 is the same step with σ
// fixed (the default): no log-variance statistic.
func BenchmarkGaussianFixedSigmaHostCD1_784x500_B100(b *testing.B) { benchGaussian(b, false) }

func benchGaussian(b *testing.B, learn bool) {
	cfg := graph.StepConfig{Visible: 784, Hidden: 500, Batch: 100, K: 1}
	prog, err := compileGaussianStep(Host(), cfg, 1, gaussianTestOptions{LearnVariance: learn, MinLogVar: -4.6})
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	m, _ := models.NewRBM(cfg.Visible, cfg.Hidden, 1)
	if err := prog.SetModel(m); err != nil {
		b.Fatal(err)
	}
	st := trainState{VelW: make([]float32, cfg.Visible*cfg.Hidden), VelVBias: make([]float32, cfg.Visible), VelHBias: make([]float32, cfg.Hidden)}
	if err := prog.SetState(st); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batch := normalSlice(rng, cfg.Batch*cfg.Visible, 1)
	u := graph.Hyper{LR: 0.01, Momentum: 0.5}
	for i := 0; i < 2; i++ {
		if err := prog.Step(batch, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := prog.Step(batch, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.Batch)/b.Elapsed().Seconds(), "samples/s")
}
