// Package cudadrv is the real-GPU kernels.Driver: it loads the embedded PTX
// (kernels.PTX) with cuModuleLoadData, so the driver JIT-compiles it for the
// GPU at hand, and launches the kernels of kernels.Kernels by name with
// cuLaunchKernel, through gorgonia.org/cu (CUDA driver API only: no runtime,
// cuBLAS or managed memory; device memory comes from cuMemAlloc).
//
// The implementation is behind the build tag cuda; without it the package is
// empty, so `go build ./...` never needs CUDA. To compile and vet it on a
// machine without a GPU, against the toolkit of kernels/tools/install-cuda.sh:
//
//	P=/opt/rbmgpu-cuda/usr
//	CGO_CFLAGS=-I$P/include CGO_LDFLAGS=-L$P/lib/x86_64-linux-gnu/stubs \
//	    go vet -tags cuda ./kernels/cudadrv
//
// At run time only the NVIDIA driver's libcuda.so.1 is needed.
package cudadrv
