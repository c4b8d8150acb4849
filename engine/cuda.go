//go:build cuda

package engine

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels/cudadrv"
)

// In a build with -tags cuda the CUDA backend is the DeviceBackend over the
// real driver (libcuda.so.1, loaded at run time: the same binary runs on
// machines without a GPU and falls back to the CPU with --device auto).
func init() {
	cudaBackend = func(ordinal int) (Backend, error) {
		drv, err := cudadrv.New(ordinal)
		if err != nil {
			return nil, fmt.Errorf("cuda:%d: %w", ordinal, err)
		}
		return &DeviceBackend{Driver: drv, Label: fmt.Sprintf("cuda:%d", ordinal)}, nil
	}
	cudaDevices = func() ([]DeviceInfo, error) {
		devs, err := cudadrv.Devices()
		if err != nil {
			return nil, err
		}
		out := make([]DeviceInfo, len(devs))
		for i, d := range devs {
			out[i] = DeviceInfo{Ordinal: d.Ordinal, Name: d.Name, Memory: d.Memory, Major: d.Major, Minor: d.Minor}
		}
		return out, nil
	}
}
