// Package cudadrv is the real-GPU kernels.Driver: it loads the embedded PTX
// (kernels.PTX) with cuModuleLoadDataEx, so the driver JIT-compiles it for
// the GPU at hand, and launches the kernels of kernels.Kernels by name with
// cuLaunchKernel, or as a CUDA graph (Driver.Record). CUDA driver API only:
// no runtime, cuBLAS, cuRAND, cuDNN or managed memory; device memory comes
// from cuMemAlloc, staging buffers from cuMemHostAlloc.
//
// A Driver works in the device's primary context, retained once per process
// and device (cuDevicePrimaryCtxRetain) however many Drivers are open, and
// queues all its work on one stream of its own; see Driver.
//
// The driver library is not linked: libcuda.so.1 is opened with dlopen on
// first use (New, Devices or DriverVersion), once per process, and its
// functions are resolved with dlsym. The package declares the few driver
// types and prototypes it uses itself, so building needs neither the CUDA
// toolkit nor a driver, and the binary starts on any Linux machine. Where
// the driver is missing or cannot initialise (no GPU), those functions
// return an error wrapping ErrNoDriver, e.g.
//
//	CUDA driver not available: libcuda.so.1: cannot open shared object file: No such file or directory
//
// so callers can fall back to the CPU. Nothing in the package panics or
// exits on a driver failure.
//
// The implementation is in every cgo build (//go:build cgo) and needs no
// build tag; with CGO_ENABLED=0 the package is empty. (Do not build with
// -tags cuda: that is gorgonia.org/gorgonia's own tag, which switches it to
// its cuBLAS/cuDNN engine.) kernels/tools/vet-cuda.sh vets, compiles and
// links it (no CUDA needed). Its tests run everywhere against
// testdata/fakecuda.c, a stand-in libcuda.so.1, and, where a GPU is present,
// compare every kernel on it with the host kernels (kernels/host) and the
// emulator (kernels/emu).
package cudadrv
