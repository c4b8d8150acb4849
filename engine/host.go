package engine

import (
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// Host returns the default CPU backend: the step graph lowered to the
// kernel launch table (as for the GPU) and executed by Go kernels over host
// memory (kernels/host) — fused GEMM epilogues, all cores, no allocation of
// tensors per step. CPU{} remains as the reference interpreter of the same
// graph (gorgonia's tape machine). Each compiled program owns its own
// host driver, so programs on different goroutines share nothing.
func Host() Backend { return hostBackend{} }

type hostBackend struct{}

func (hostBackend) Name() string { return "cpu" }

// Compile implements Backend: the lowered plan on a host driver of the
// program's own.
func (hostBackend) Compile(cfg graph.StepConfig, seed uint64) (Program, error) {
	return onHostDriver(func(b *DeviceBackend) (Program, error) { return b.Compile(cfg, seed) })
}

// BLASName says which BLAS the CPU backend multiplies matrices with.
func BLASName() string { return host.BLAS() }
