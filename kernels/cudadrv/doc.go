// Package cudadrv is the real-GPU kernels.Driver: it loads the embedded PTX
// (kernels.PTX) with cuModuleLoadDataEx, so the driver JIT-compiles it for
// the GPU at hand, and launches the kernels of kernels.Kernels by name with
// cuLaunchKernel. CUDA driver API only: no runtime, cuBLAS, cuRAND, cuDNN or
// managed memory; device memory comes from cuMemAlloc.
//
// The driver library is not linked: libcuda.so.1 is opened with dlopen on
// first use (New, Devices or DriverVersion), once per process, and its
// functions are resolved with dlsym. The package declares the few driver
// types and prototypes it uses itself, so building needs neither the CUDA
// toolkit nor a driver, and a binary built with -tags cuda starts on any
// Linux machine. Where the driver is missing or cannot initialise (no GPU),
// those functions return an error wrapping ErrNoDriver, e.g.
//
//	CUDA driver not available: libcuda.so.1: cannot open shared object file: No such file or directory
//
// so callers can fall back to the CPU. Nothing in the package panics or
// exits on a driver failure.
//
// The implementation is behind the build tag cuda or rbmgpu_cuda; without
// either the package is empty. Note that gorgonia.org/gorgonia has its own
// cuda tag (its CUDA VM, importing gorgonia.org/cu, cuBLAS and cuDNN), so a
// binary that imports gorgonia should enable this package with rbmgpu_cuda.
// kernels/tools/vet-cuda.sh vets, compiles and links it (no CUDA needed);
// its tests pass without a GPU and compare the GPU with the emulator
// (kernels/emu) where one is present.
package cudadrv
