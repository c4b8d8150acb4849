// Package bench holds the throughput benchmarks of rbmgpu (go test -bench
// ./bench), the peer scripts that time the same RBM step in scikit-learn and
// PyTorch (peers/), the GPU kit (gpu/) and the measured figures
// (RESULTS.md). This file is the cost model the benchmarks report against;
// README.md derives it.
package bench

import "github.com/rbmgpu/rbmgpu/graph"

// StepFLOPs returns the floating-point operations of the matrix products of
// one training step built by graph.BuildCDStep for cfg, counting a multiply
// and an add as two operations. With V visible units, H hidden units, B data
// rows, C negative rows (C = B for CD) and k Gibbs steps:
//
//	CD-k:   (2k + 3) · 2·B·V·H
//	        1 + k products x·W (p(h|v0), p(h|v_t) for t = 1..k),
//	        k products h·Wᵀ (p(v|h0), p(v|h_{t-1}) for t = 2..k),
//	        2 statistics v0ᵀ·p(h|v0) and v_kᵀ·p(h|v_k)
//	PCD-k:  3 · 2·B·V·H  +  (2k + 2) · 2·C·V·H
//	        data side: p(h|v0), p(v|h0) (reconstruction monitor), v0ᵀ·p(h|v0);
//	        chain side: p(h|chain), k products h·Wᵀ, k products v·W, v_kᵀ·p(h|v_k)
//
// Element-wise work (bias, sigmoid, Philox sampling, reductions, the
// momentum update) is O(B·(V+H)·k + V·H) and left out: it is memory traffic,
// not arithmetic, and StepBytes bounds it.
func StepFLOPs(cfg graph.StepConfig) float64 {
	V, H, B, K := float64(cfg.Visible), float64(cfg.Hidden), float64(cfg.Batch), float64(cfg.K)
	if !cfg.Persistent {
		return (2*K + 3) * 2 * B * V * H
	}
	C := float64(cfg.NegativeRows())
	return 3*2*B*V*H + (2*K+2)*2*C*V*H
}

// StepBytes returns a floor on the device-memory traffic of one step, in
// bytes of float32: each parameter-sized array touched the fewest times a
// fully fused implementation could (W read once and written once, its
// momentum buffer read once and written once), plus the data batch read
// once and every visible and hidden layer of the chain written once and
// read once. An implementation that materialises the weight gradient moves
// 8·V·H more; one whose W does not stay in cache between the 2k+3 products
// re-reads it each time.
func StepBytes(cfg graph.StepConfig) float64 {
	V, H, B, K := float64(cfg.Visible), float64(cfg.Hidden), float64(cfg.Batch), float64(cfg.K)
	C := float64(cfg.NegativeRows())
	params := 4 * (2*V*H + 2*V*H) // W r/w, velocity r/w
	batch := 4 * B * V
	// Layers: data side h0, p(v|h0); chain side k visible and k+1 hidden layers.
	layers := 4 * 2 * (B*(V+H) + C*(K*V+(K+1)*H))
	return params + batch + layers
}
