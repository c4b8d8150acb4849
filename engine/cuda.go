//go:build cgo

package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels/cudadrv"
)

// The CUDA backend is the DeviceBackend over the real driver, in every cgo
// build. libcuda.so.1 is loaded at run time (kernels/cudadrv), so the same
// binary runs on machines without a GPU and falls back to the CPU with
// --device auto. There is deliberately no build tag: `cuda` is gorgonia's
// own tag and would switch it to its cuBLAS/cuDNN engine.
func init() {
	cudaBackend = func(ordinal int) (Backend, error) {
		drv, err := cudadrv.New(ordinal)
		if err != nil {
			return nil, fmt.Errorf("cuda:%d: %w", ordinal, err)
		}
		return &DeviceBackend{Driver: drv, Label: fmt.Sprintf("cuda:%d", ordinal), Resident: true}, nil
	}
	cudaDevices = func() ([]DeviceInfo, error) {
		devs, err := cudadrv.Devices()
		if err != nil {
			return nil, err
		}
		out := make([]DeviceInfo, len(devs))
		for i, d := range devs {
			out[i] = DeviceInfo{Ordinal: d.Ordinal, Name: d.Name, Memory: d.Memory, Major: d.Major, Minor: d.Minor, ComputeMode: d.ComputeMode.String()}
		}
		return out, nil
	}
}
