// Package engine trains Boltzmann machines: the Backend interface that
// executes the step graphs of package graph, the CPU backend, and the
// Trainer (epochs, schedules, metrics, checkpoints, callbacks).
package engine

import (
	"fmt"
	"strings"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// Backend executes step graphs on one device.
type Backend interface {
	// Name identifies the backend and device, e.g. "cpu" or "cuda:0".
	Name() string
	// Compile builds the step graph for cfg once and prepares it for
	// repeated execution; every call to Program.Step reuses it.
	Compile(cfg graph.StepConfig, seed uint64) (Program, error)
}

// Update holds the hyperparameters of one parameter update. With g the
// gradient (ascent direction) from the step graph and θ the parameters:
//
//	vel ← Momentum·vel + LR·(g − WeightDecay·θ)     (decay applies to W only)
//	θ   ← θ + vel
//
// Sparsity (Lee et al. 2008; Hinton's guide §11): with q a running mean of
// the hidden activations on data, q ← 0.9·q + 0.1·mean p(h|v0), the hidden
// bias gradient gains SparsityCost·(SparsityTarget − q). Zero cost disables it.
type Update struct {
	LR, Momentum, WeightDecay    float32
	SparsityTarget, SparsityCost float32
}

// TrainState is everything besides the parameters that a step depends on:
// what a checkpoint must hold for a resumed run to continue bit-identically.
type TrainState struct {
	VelW, VelVBias, VelHBias []float32 // momentum buffers, shapes of W, b, c
	Chains                   []float32 // C×V persistent chains (PCD), nil for CD
	HiddenMean               []float32 // H sparsity running mean q, nil until used
	RNGStep                  uint64    // Philox step counter: runs of the graph so far
}

// Program is a compiled step graph together with the training state it
// updates: parameters, momentum, chains and the RNG counter. On the CUDA
// backend all of it stays in device memory between steps.
type Program interface {
	// SetModel copies the parameters of m into the program (shapes must match).
	SetModel(m *models.RBM) error
	// Model copies the current parameters into dst.
	Model(dst *models.RBM) error
	// SetState restores momentum, chains, sparsity mean and the RNG counter.
	SetState(s TrainState) error
	// State returns a copy of the current training state.
	State() (TrainState, error)
	// Step runs the graph on batch (B×V, row-major) and applies the update.
	Step(batch []float32, u Update) error
	// ReconError returns the mean reconstruction error of the steps run
	// since the previous call (NaN if none) and starts a new mean; an error
	// when it is NaN or infinite. Backends may accumulate it on the device:
	// this is the only place a step's numbers come back to the host.
	ReconError() (float64, error)
	// Close releases the program's resources.
	Close() error
}

// BatchStepper is implemented by programs that run several steps per data
// upload (device backends). The trainer then hands over up to MaxBatches
// consecutive mini-batches at once; the result equals that many Step calls.
type BatchStepper interface {
	MaxBatches() int
	// StepBatches runs n steps on batches, n mini-batches of B×V back to back.
	StepBatches(batches []float32, n int, u Update) error
}

// ParseDevice checks a --device value: "auto", "cpu", "cpu-tape" (the
// reference interpreter), "cuda" or "cuda:N". It returns the kind and the
// device ordinal.
func ParseDevice(s string) (kind string, ordinal int, err error) {
	switch {
	case s == "auto" || s == "cpu" || s == "cpu-tape" || s == "cuda":
		return s, 0, nil
	case strings.HasPrefix(s, "cuda:"):
		var n int
		if _, err := fmt.Sscanf(s, "cuda:%d", &n); err != nil || n < 0 || fmt.Sprintf("cuda:%d", n) != s {
			return "", 0, fmt.Errorf("device %q: want auto, cpu, cuda or cuda:N with N ≥ 0", s)
		}
		return "cuda", n, nil
	}
	return "", 0, fmt.Errorf("device %q: want auto, cpu, cpu-tape, cuda or cuda:N", s)
}

// cudaBackend is set in cgo builds (cuda.go); nil means no CUDA support.
var cudaBackend func(ordinal int) (Backend, error)

// CUDAAvailable reports whether this binary has the CUDA backend (cgo
// builds); whether a driver and a device exist is known only at run time.
func CUDAAvailable() bool { return cudaBackend != nil }

// NewBackend returns the backend for a --device value. "auto" picks CUDA
// device 0 when the build has CUDA and a device exists, else the CPU.
func NewBackend(device string) (Backend, error) {
	kind, ordinal, err := ParseDevice(device)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "cpu":
		return Host(), nil
	case "cpu-tape":
		return CPU{}, nil
	case "cuda":
		if cudaBackend == nil {
			return nil, fmt.Errorf("device %s: this binary was built without cgo, so without the CUDA backend", device)
		}
		return cudaBackend(ordinal)
	}
	if cudaBackend != nil {
		if b, err := cudaBackend(0); err == nil {
			return b, nil
		}
	}
	return Host(), nil
}
