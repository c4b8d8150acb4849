package engine

import (
	"fmt"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/engine/exec/device"
	"github.com/rbmgpu/rbmgpu/engine/exec/tape"
)

// Backend compiles step graphs for one device (see package exec).
type Backend = exec.Backend

// CPU is the reference executor: gorgonia's tape machine (exec/tape). It
// is the oracle the lowered executor is tested against; Host is the fast
// CPU backend.
type CPU = tape.Backend

// DeviceBackend is the lowered executor on a kernels.Driver (exec/device):
// the CUDA driver, the emulator of the CUDA sources, or the host kernels.
type DeviceBackend = device.Backend

// ChunkBatches is the most mini-batches a DeviceBackend program uploads
// in one copy.
const ChunkBatches = device.ChunkBatches

// Host returns the default CPU backend: the step graph lowered to the
// kernel launch table (as for the GPU) and executed by the Go/AVX2 kernels
// of kernels/host, a driver per program so that programs on different
// goroutines share nothing.
func Host() Backend { return device.Host() }

// BLASName says which BLAS the CPU backend multiplies matrices with.
func BLASName() string { return device.BLASName() }

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
// device 0 when the build has CUDA and a device exists and opens, else the
// CPU; OpenBackend also says why it fell back.
func NewBackend(device string) (Backend, error) {
	b, _, err := OpenBackend(device)
	return b, err
}

// OpenBackend returns the backend for a --device value, like NewBackend,
// and, when "auto" falls back to the CPU, a one-line reason (no cgo, no
// CUDA driver, no device, or the device's backend error), empty otherwise.
func OpenBackend(device string) (b Backend, fallback string, err error) {
	return openBackend(device, realCUDA())
}

// openBackend is OpenBackend with p's CUDA lister and constructor.
func openBackend(device string, p cudaProbe) (b Backend, fallback string, err error) {
	kind, ordinal, err := ParseDevice(device)
	if err != nil {
		return nil, "", err
	}
	switch kind {
	case "cpu":
		return Host(), "", nil
	case "cpu-tape":
		return CPU{}, "", nil
	case "cuda":
		if p.open == nil {
			return nil, "", fmt.Errorf("device %s: this binary was built without cgo, so without the CUDA backend", device)
		}
		b, err := p.open(ordinal)
		return b, "", err
	}
	b, absent, err := p.backend(0)
	switch {
	case absent != "":
		return Host(), absent, nil
	case err != nil:
		return Host(), oneLine(err.Error()), nil
	}
	return b, "", nil
}
