package engine

import (
	"fmt"
	"math"
)

// MemoryEstimate is what a training run of Trainer.Fit needs, in bytes,
// split by what holds it. It is an estimate from the shapes (float32
// values throughout), made before anything is allocated; the lowered plan
// reuses buffers, so the real figures are somewhat lower.
type MemoryEstimate struct {
	// Data is the training rows, N·V values, held by the Dataset on the
	// host and, by a resident program (the CUDA backend), on the device.
	Data int64
	// Params is the parameters and their velocities, 2·P values (P from
	// the kind's ModelSizes), each in the program and in the host Snapshot.
	Params int64
	// Chains is the persistent chains, C·width values (0 for CD-k), in the
	// program and in the Snapshot.
	Chains int64
	// Buffers is the program's working memory: the uploaded chunk of
	// ChunkBatches mini-batches (B·V each), the activations of the positive
	// and negative rows, 4·(B + R)·(V + H) values with R = C for PCD and B
	// for CD, and the gradients, P values.
	Buffers int64
	// Host is what stays on the host: Data, the Snapshot's Params and
	// Chains, the trainer's chunk buffer (ChunkBatches·B·V values) and the
	// kind's own working memory on the host (HostWorker), if any.
	Host int64
	// Device is what the program allocates on its device: Params, Chains,
	// Buffers and, resident, Data.
	Device int64
}

// OnHost is the total when the executor's memory is host memory (the CPU
// backends, which are not resident): Host + Device − Data.
func (e MemoryEstimate) OnHost() int64 { return satAdd(e.Host, e.Device-e.Data) }

// ModelSizer is implemented by a kind whose tensors are not shaped like an
// RBM's; EstimateMemory asks it for the sizes of a model of c (defaulted)
// on V visible units: params values that are trained (each with a
// velocity) and the values per persistent chain. Other kinds count as an
// RBM: V·H + V + H parameters, chains of V units.
type ModelSizer interface {
	ModelSizes(c Config, V int) (params, chainWidth float64)
}

// HostWorker is implemented by a kind that holds large values on the
// host besides the Snapshot while it trains (statistics it evaluates in
// float64, copies of the model it reports or saves): HostWork returns
// their most at any one time, in float32-sized values, for a model of c
// (defaulted) on V visible units. EstimateMemory adds it to Host.
type HostWorker interface {
	HostWork(c Config, V int) float64
}

// EstimateMemory estimates the memory of a run of cfg on N rows of V
// features (see MemoryEstimate for the terms), before anything is
// allocated; sums that would overflow an int64 saturate at math.MaxInt64.
// The batch is capped at N as Fit caps it.
func EstimateMemory(cfg Config, N, V int) MemoryEstimate {
	c := cfg.Defaults()
	n, v, h := float64(max(N, 0)), float64(max(V, 0)), float64(max(c.Hidden, 0))
	b := float64(max(min(c.Batch, N), 1))
	params, width := v*h+v+h, v
	var work float64
	if k, err := c.Kind(); err == nil {
		if s, ok := k.(ModelSizer); ok {
			params, width = s.ModelSizes(c, V)
		}
		if w, ok := k.(HostWorker); ok {
			work = w.HostWork(c, V)
		}
	}
	negative := b
	var chains float64
	if c.Persistent {
		negative = float64(c.ChainCount() * max(1, c.PT)) // PT: R replicas of the chains
		chains = negative * width
	}
	chunk := float64(ChunkBatches) * b * v
	const f32 = 4
	e := MemoryEstimate{
		Data:    sizeOf(f32 * n * v),
		Params:  sizeOf(f32 * 2 * params),
		Chains:  sizeOf(f32 * chains),
		Buffers: sizeOf(f32 * (chunk + 4*(b+negative)*(width+h) + params)),
	}
	e.Host = satAdd(satAdd(e.Data, e.Params), satAdd(e.Chains, sizeOf(f32*(chunk+work))))
	e.Device = satAdd(satAdd(e.Params, e.Chains), satAdd(e.Buffers, e.Data))
	return e
}

// WithData returns e with the training rows held in bytes (for example
// data.Dataset.StorageBytes of rows kept as uint8 or bits, which the host
// and a resident program hold compact) instead of the N·V float32 values
// EstimateMemory assumes; Host and Device change by the difference.
func (e MemoryEstimate) WithData(bytes int64) MemoryEstimate {
	bytes = max(bytes, 0)
	e.Host = satAdd(e.Host-e.Data, bytes)
	e.Device = satAdd(e.Device-e.Data, bytes)
	e.Data = bytes
	return e
}

// sizeOf converts a non-negative size to int64, saturating.
func sizeOf(x float64) int64 {
	if !(x < math.MaxInt64) {
		return math.MaxInt64
	}
	return int64(math.Ceil(x))
}

// satAdd is a + b for non-negative sizes, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// FormatBytes writes a size for people: "512 B", "3.0 MiB", "1.2 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	x, i := float64(n), -1
	for x >= unit && i < 5 {
		x /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", x, "KMGTPE"[i])
}
