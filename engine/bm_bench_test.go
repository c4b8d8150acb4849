package engine

import (
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// BenchmarkBMHostStep is one training step of a fully connected Boltzmann
// machine of 64 visible and 36 hidden units (N = 100) on the Host backend:
// 100 data rows with one clamped sweep over the hidden units, 100
// persistent chains with one free sweep. It reports GFLOP/s by the cost
// model of bench/README.md: 2N·(S·B·H + K·C·N) for the sweeps plus
// 2N²·(B + C) for the statistics.
func BenchmarkBMHostStep(b *testing.B) {
	const V, H, B, C, S, K = 64, 36, 100, 100, 1, 1
	cfg := graph.BMConfig{Visible: V, Hidden: H, Batch: B, Chains: C, Sweeps: S, ModelSweeps: K}
	p, err := compileBMStep(Host(), cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := p.SetBM(testBM(V, H, models.LateralBoth, 0.1, 1)); err != nil {
		b.Fatal(err)
	}
	batch := bmBinary(B*V, 1, 2)
	u := graph.Hyper{LR: 0.01, Momentum: 0.5}
	if err := p.Step(batch, u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Step(batch, u); err != nil {
			b.Fatal(err)
		}
	}
	N := float64(V + H)
	flops := 2*N*(S*B*H+K*C*N) + 2*N*N*(B+C)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(B)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
