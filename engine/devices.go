package engine

import "errors"

// DeviceInfo describes one CUDA device.
type DeviceInfo struct {
	Ordinal      int    // the N of cuda:N
	Name         string // e.g. "NVIDIA H100 80GB HBM3"
	Memory       int64  // total device memory in bytes
	Major, Minor int    // compute capability
	ComputeMode  string // "Default", "Exclusive_Process", "Prohibited" (nvidia-smi's names)
}

// cudaDevices is set in cgo builds (cuda.go).
var cudaDevices func() ([]DeviceInfo, error)

// CUDADevices lists the CUDA devices visible to this process; an error when
// the build has no CUDA support or the driver cannot be loaded.
func CUDADevices() ([]DeviceInfo, error) {
	if cudaDevices == nil {
		return nil, errors.New("this binary was built without cgo, so without the CUDA backend")
	}
	return cudaDevices()
}
