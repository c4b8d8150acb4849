//go:build cgo

package cudadrv

// This file is the only cgo in the package: the CUDA driver API, loaded at
// run time from libcuda.so.1 with dlopen/dlsym. The few driver types and
// prototypes it needs are declared here, so building needs neither the CUDA
// headers nor libcuda; any cgo build starts on any machine and reports a
// missing driver as an error value. kernels/tools/check-driver-api.sh
// checks these declarations against cuda.h (prototypes by the driver's
// type names, the node-parameter layout, the RB_ constants by the CUDA name
// in their comments).
//
// Every operation on a context is one C call that pushes the context on the
// calling OS thread, does the work and pops it again (rb_* wrappers below),
// so a goroutine may run on any thread between calls and the thread's own
// context stack is left as it was.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef int CUjit_option;
typedef int CUdevice_attribute;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphNode_st *CUgraphNode;
typedef struct CUgraphExec_st *CUgraphExec;
typedef unsigned long long CUdeviceptr;

// CUDA_KERNEL_NODE_PARAMS_v2 (CUDA 12.0 on, taken by cuGraphAddKernelNode_v2
// and cuGraphExecKernelNodeSetParams_v2). Its first fields are the whole of
// the _v1 layout the unsuffixed functions take (CUDA 10.0 on), so with kern
// and ctx NULL (func set, the current context) it serves either.
typedef struct {
	CUfunction func;
	unsigned int gridDimX, gridDimY, gridDimZ;
	unsigned int blockDimX, blockDimY, blockDimZ;
	unsigned int sharedMemBytes;
	void **kernelParams;
	void **extra;
	void *kern; // CUkernel (v2 only)
	CUcontext ctx; // (v2 only)
} RB_KERNEL_NODE_PARAMS;

enum {
	RB_ERROR_INVALID_VALUE = 1,   // CUDA_ERROR_INVALID_VALUE
	RB_JIT_ERROR_LOG_BUFFER = 5,  // CU_JIT_ERROR_LOG_BUFFER
	RB_JIT_ERROR_LOG_SIZE = 6,    // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
	RB_MAX_PARAMS = 64,           // kernel parameters per launch (gemm_f32 has 17)
	RB_STREAM_NON_BLOCKING = 1,   // CU_STREAM_NON_BLOCKING
	RB_EVENT_DISABLE_TIMING = 2,  // CU_EVENT_DISABLE_TIMING
	RB_ATTR_COMPUTE_MODE = 20,    // CU_DEVICE_ATTRIBUTE_COMPUTE_MODE
};

static CUresult (*p_cuInit)(unsigned int);
static CUresult (*p_cuDriverGetVersion)(int *);
static CUresult (*p_cuGetErrorName)(CUresult, const char **);
static CUresult (*p_cuGetErrorString)(CUresult, const char **);
static CUresult (*p_cuDeviceGetCount)(int *);
static CUresult (*p_cuDeviceGet)(CUdevice *, int);
static CUresult (*p_cuDeviceGetName)(char *, int, CUdevice);
static CUresult (*p_cuDeviceTotalMem_v2)(size_t *, CUdevice);
static CUresult (*p_cuDeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRelease_v2)(CUdevice);
static CUresult (*p_cuCtxPushCurrent_v2)(CUcontext);
static CUresult (*p_cuCtxPopCurrent_v2)(CUcontext *);
static CUresult (*p_cuMemAlloc_v2)(CUdeviceptr *, size_t);
static CUresult (*p_cuMemFree_v2)(CUdeviceptr);
static CUresult (*p_cuMemGetInfo_v2)(size_t *, size_t *);
static CUresult (*p_cuMemHostAlloc)(void **, size_t, unsigned int);
static CUresult (*p_cuMemFreeHost)(void *);
static CUresult (*p_cuMemcpyHtoDAsync_v2)(CUdeviceptr, const void *, size_t, CUstream);
static CUresult (*p_cuMemcpyDtoHAsync_v2)(void *, CUdeviceptr, size_t, CUstream);
static CUresult (*p_cuMemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
static CUresult (*p_cuStreamCreate)(CUstream *, unsigned int);
static CUresult (*p_cuStreamSynchronize)(CUstream);
static CUresult (*p_cuStreamDestroy_v2)(CUstream);
static CUresult (*p_cuEventCreate)(CUevent *, unsigned int);
static CUresult (*p_cuEventRecord)(CUevent, CUstream);
static CUresult (*p_cuEventSynchronize)(CUevent);
static CUresult (*p_cuEventDestroy_v2)(CUevent);
static CUresult (*p_cuModuleLoadDataEx)(CUmodule *, const void *, unsigned int, CUjit_option *, void **);
static CUresult (*p_cuModuleUnload)(CUmodule);
static CUresult (*p_cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
static CUresult (*p_cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int,
	unsigned int, unsigned int, unsigned int, unsigned int, CUstream, void **, void **);
static CUresult (*p_cuGraphCreate)(CUgraph *, unsigned int);
static CUresult (*p_cuGraphAddKernelNode)(CUgraphNode *, CUgraph, const CUgraphNode *, size_t, const RB_KERNEL_NODE_PARAMS *);
static CUresult (*p_cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
static CUresult (*p_cuGraphExecKernelNodeSetParams)(CUgraphExec, CUgraphNode, const RB_KERNEL_NODE_PARAMS *);
static CUresult (*p_cuGraphLaunch)(CUgraphExec, CUstream);
static CUresult (*p_cuGraphExecDestroy)(CUgraphExec);
static CUresult (*p_cuGraphDestroy)(CUgraph);

// Each symbol is looked up by its name, or, for the two graph functions
// with a _v2 (CUDA 12.0 on), by name_v2 first and then by name.
#define RB_SYM(name) { #name, NULL, (void **)&p_##name }
#define RB_SYM_V2(name) { #name "_v2", #name, (void **)&p_##name }
static const struct { const char *name, *alt; void **fn; } rb_syms[] = {
	RB_SYM(cuInit), RB_SYM(cuDriverGetVersion), RB_SYM(cuGetErrorName), RB_SYM(cuGetErrorString),
	RB_SYM(cuDeviceGetCount), RB_SYM(cuDeviceGet), RB_SYM(cuDeviceGetName),
	RB_SYM(cuDeviceTotalMem_v2), RB_SYM(cuDeviceGetAttribute),
	RB_SYM(cuDevicePrimaryCtxRetain), RB_SYM(cuDevicePrimaryCtxRelease_v2),
	RB_SYM(cuCtxPushCurrent_v2), RB_SYM(cuCtxPopCurrent_v2),
	RB_SYM(cuMemAlloc_v2), RB_SYM(cuMemFree_v2), RB_SYM(cuMemGetInfo_v2),
	RB_SYM(cuMemHostAlloc), RB_SYM(cuMemFreeHost),
	RB_SYM(cuMemcpyHtoDAsync_v2), RB_SYM(cuMemcpyDtoHAsync_v2), RB_SYM(cuMemsetD32Async),
	RB_SYM(cuStreamCreate), RB_SYM(cuStreamSynchronize), RB_SYM(cuStreamDestroy_v2),
	RB_SYM(cuEventCreate), RB_SYM(cuEventRecord), RB_SYM(cuEventSynchronize), RB_SYM(cuEventDestroy_v2),
	RB_SYM(cuModuleLoadDataEx), RB_SYM(cuModuleUnload), RB_SYM(cuModuleGetFunction),
	RB_SYM(cuLaunchKernel),
	RB_SYM(cuGraphCreate), RB_SYM_V2(cuGraphAddKernelNode), RB_SYM(cuGraphInstantiateWithFlags),
	RB_SYM_V2(cuGraphExecKernelNodeSetParams), RB_SYM(cuGraphLaunch),
	RB_SYM(cuGraphExecDestroy), RB_SYM(cuGraphDestroy),
};

// rb_open loads libcuda.so.1 and resolves every symbol above. It returns 0,
// or -1 with a one-line reason in err.
static int rb_open(char *err, size_t errlen) {
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : "libcuda.so.1: dlopen failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof rb_syms / sizeof rb_syms[0]; i++) {
		*rb_syms[i].fn = dlsym(h, rb_syms[i].name);
		if (*rb_syms[i].fn == NULL && rb_syms[i].alt != NULL) *rb_syms[i].fn = dlsym(h, rb_syms[i].alt);
		if (*rb_syms[i].fn == NULL) {
			snprintf(err, errlen, "libcuda.so.1 has no %s (driver too old?)", rb_syms[i].name);
			return -1;
		}
	}
	return 0; // h stays open for the life of the process
}

static CUresult rb_init(void) { return p_cuInit(0); }
static CUresult rb_driver_version(int *v) { return p_cuDriverGetVersion(v); }

// rb_error_text returns the name and description of r ("" when unknown).
static void rb_error_text(CUresult r, const char **name, const char **desc) {
	*name = "";
	*desc = "";
	const char *s = NULL;
	if (p_cuGetErrorName != NULL && p_cuGetErrorName(r, &s) == 0 && s != NULL) *name = s;
	s = NULL;
	if (p_cuGetErrorString != NULL && p_cuGetErrorString(r, &s) == 0 && s != NULL) *desc = s;
}

static CUresult rb_device_count(int *n) { return p_cuDeviceGetCount(n); }

// rb_device_info fills the properties of device ordinal.
static CUresult rb_device_info(int ordinal, CUdevice *dev, char *name, int namelen,
		size_t *mem, int *major, int *minor, int *mode) {
	CUresult r;
	if ((r = p_cuDeviceGet(dev, ordinal)) != 0) return r;
	if ((r = p_cuDeviceGetName(name, namelen, *dev)) != 0) return r;
	if ((r = p_cuDeviceTotalMem_v2(mem, *dev)) != 0) return r;
	if ((r = p_cuDeviceGetAttribute(major, 75, *dev)) != 0) return r; // COMPUTE_CAPABILITY_MAJOR
	if ((r = p_cuDeviceGetAttribute(minor, 76, *dev)) != 0) return r; // COMPUTE_CAPABILITY_MINOR
	return p_cuDeviceGetAttribute(mode, RB_ATTR_COMPUTE_MODE, *dev);
}

// The device's primary context: retained once per process and device by
// cudadrv (primary.go), never made current except inside one call below.
static CUresult rb_primary_retain(CUcontext *ctx, CUdevice dev) { return p_cuDevicePrimaryCtxRetain(ctx, dev); }
static CUresult rb_primary_release(CUdevice dev) { return p_cuDevicePrimaryCtxRelease_v2(dev); }

static CUresult rb_push(CUcontext ctx) { return p_cuCtxPushCurrent_v2(ctx); }

// rb_pop pops the context pushed by rb_push; r is the result of the work
// done in between, which wins over an error of the pop.
static CUresult rb_pop(CUresult r) {
	CUcontext old;
	CUresult p = p_cuCtxPopCurrent_v2(&old);
	return r != 0 ? r : p;
}

#define RB_WITH(ctx, call) do { \
	CUresult r_ = rb_push(ctx); \
	if (r_ != 0) return r_; \
	return rb_pop(call); \
} while (0)

static CUresult rb_alloc(CUcontext ctx, CUdeviceptr *p, size_t n) { RB_WITH(ctx, p_cuMemAlloc_v2(p, n)); }
static CUresult rb_free(CUcontext ctx, CUdeviceptr p) { RB_WITH(ctx, p_cuMemFree_v2(p)); }
static CUresult rb_mem_info(CUcontext ctx, size_t *free, size_t *total) { RB_WITH(ctx, p_cuMemGetInfo_v2(free, total)); }
static CUresult rb_host_alloc(CUcontext ctx, void **p, size_t n) { RB_WITH(ctx, p_cuMemHostAlloc(p, n, 0)); }
static CUresult rb_host_free(CUcontext ctx, void *p) { RB_WITH(ctx, p_cuMemFreeHost(p)); }
static CUresult rb_htod_async(CUcontext ctx, CUdeviceptr dst, const void *src, size_t n, CUstream s) {
	RB_WITH(ctx, p_cuMemcpyHtoDAsync_v2(dst, src, n, s));
}
static CUresult rb_dtoh_async(CUcontext ctx, void *dst, CUdeviceptr src, size_t n, CUstream s) {
	RB_WITH(ctx, p_cuMemcpyDtoHAsync_v2(dst, src, n, s));
}
static CUresult rb_memset32_async(CUcontext ctx, CUdeviceptr dst, unsigned int v, size_t n, CUstream s) {
	RB_WITH(ctx, p_cuMemsetD32Async(dst, v, n, s));
}
static CUresult rb_stream_create(CUcontext ctx, CUstream *s) { RB_WITH(ctx, p_cuStreamCreate(s, RB_STREAM_NON_BLOCKING)); }
static CUresult rb_stream_sync(CUcontext ctx, CUstream s) { RB_WITH(ctx, p_cuStreamSynchronize(s)); }
static CUresult rb_stream_destroy(CUcontext ctx, CUstream s) { RB_WITH(ctx, p_cuStreamDestroy_v2(s)); }
static CUresult rb_event_create(CUcontext ctx, CUevent *e) { RB_WITH(ctx, p_cuEventCreate(e, RB_EVENT_DISABLE_TIMING)); }
static CUresult rb_event_record(CUcontext ctx, CUevent e, CUstream s) { RB_WITH(ctx, p_cuEventRecord(e, s)); }
static CUresult rb_event_sync(CUcontext ctx, CUevent e) { RB_WITH(ctx, p_cuEventSynchronize(e)); }
static CUresult rb_event_destroy(CUcontext ctx, CUevent e) { RB_WITH(ctx, p_cuEventDestroy_v2(e)); }
static CUresult rb_module_unload(CUcontext ctx, CUmodule m) { RB_WITH(ctx, p_cuModuleUnload(m)); }
static CUresult rb_get_function(CUcontext ctx, CUfunction *f, CUmodule m, const char *name) {
	RB_WITH(ctx, p_cuModuleGetFunction(f, m, name));
}

// rb_module_load JIT-compiles the NUL-terminated PTX image; on failure the
// JIT's error log is in jitlog (NUL-terminated, possibly empty).
static CUresult rb_module_load(CUcontext ctx, CUmodule *m, const char *image, char *jitlog, size_t loglen) {
	CUjit_option opts[2] = { RB_JIT_ERROR_LOG_BUFFER, RB_JIT_ERROR_LOG_SIZE };
	void *vals[2] = { jitlog, (void *)loglen };
	jitlog[0] = 0;
	RB_WITH(ctx, p_cuModuleLoadDataEx(m, image, 2, opts, vals));
}

// rb_params points params[i] at the 8-byte slot slots[i] (the parameter
// value in its low bytes, little-endian), as kernelParams wants them.
static int rb_params(void **params, unsigned long long *slots, int n) {
	if (n < 0 || n > RB_MAX_PARAMS) return -1;
	for (int i = 0; i < n; i++) params[i] = &slots[i];
	return 0;
}

// rb_launch launches f on stream s with n parameters from slots. The
// driver copies the parameter values before cuLaunchKernel returns.
static CUresult rb_launch(CUcontext ctx, CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, CUstream s, unsigned long long *slots, int n) {
	void *params[RB_MAX_PARAMS];
	if (rb_params(params, slots, n) != 0) return RB_ERROR_INVALID_VALUE;
	RB_WITH(ctx, p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, 0, s, params, NULL));
}

// rb_node fills the kernel-node parameters of node i of a recording: its
// function, six dimensions (dims[6i..6i+5]: grid x, y, z, block x, y, z)
// and parameter slots (slots + off[i], n[i] of them).
static int rb_node(RB_KERNEL_NODE_PARAMS *p, void **params, int i, CUfunction *fns, unsigned int *dims,
		int *off, int *n, unsigned long long *slots) {
	if (rb_params(params, slots + off[i], n[i]) != 0) return -1;
	unsigned int *d = dims + 6 * i;
	*p = (RB_KERNEL_NODE_PARAMS){ fns[i], d[0], d[1], d[2], d[3], d[4], d[5], 0, params, NULL, NULL, NULL };
	return 0;
}

// rb_graph_build_in builds a graph of the count kernels of a recording
// (rb_node), node i depending on node i-1, and instantiates it.
static CUresult rb_graph_build_in(int count, CUfunction *fns, unsigned int *dims, int *off, int *n,
		unsigned long long *slots, CUgraph *g, CUgraphExec *ex, CUgraphNode *nodes) {
	CUresult r = p_cuGraphCreate(g, 0);
	if (r != 0) return r;
	for (int i = 0; i < count; i++) {
		RB_KERNEL_NODE_PARAMS p;
		void *params[RB_MAX_PARAMS];
		if (rb_node(&p, params, i, fns, dims, off, n, slots) != 0) r = RB_ERROR_INVALID_VALUE;
		if (r == 0) r = p_cuGraphAddKernelNode(&nodes[i], *g, i > 0 ? &nodes[i - 1] : NULL, i > 0 ? 1 : 0, &p);
		if (r != 0) {
			p_cuGraphDestroy(*g);
			return r;
		}
	}
	if ((r = p_cuGraphInstantiateWithFlags(ex, *g, 0)) != 0) p_cuGraphDestroy(*g);
	return r;
}

static CUresult rb_graph_build(CUcontext ctx, int count, CUfunction *fns, unsigned int *dims, int *off, int *n,
		unsigned long long *slots, CUgraph *g, CUgraphExec *ex, CUgraphNode *nodes) {
	RB_WITH(ctx, rb_graph_build_in(count, fns, dims, off, n, slots, g, ex, nodes));
}

// rb_graph_replay_in sets the parameters of the nchanged nodes listed in
// changed (from slots, as rb_node) in ex, then launches ex on stream s.
// *failed is the node whose update failed, or -1.
static CUresult rb_graph_replay_in(CUgraphExec ex, CUstream s, int nchanged, int *changed, CUgraphNode *nodes,
		CUfunction *fns, unsigned int *dims, int *off, int *n, unsigned long long *slots, int *failed) {
	*failed = -1;
	for (int k = 0; k < nchanged; k++) {
		int i = changed[k];
		RB_KERNEL_NODE_PARAMS p;
		void *params[RB_MAX_PARAMS];
		CUresult r = rb_node(&p, params, i, fns, dims, off, n, slots) != 0 ? RB_ERROR_INVALID_VALUE
			: p_cuGraphExecKernelNodeSetParams(ex, nodes[i], &p);
		if (r != 0) {
			*failed = i;
			return r;
		}
	}
	return p_cuGraphLaunch(ex, s);
}

static CUresult rb_graph_replay(CUcontext ctx, CUgraphExec ex, CUstream s, int nchanged, int *changed, CUgraphNode *nodes,
		CUfunction *fns, unsigned int *dims, int *off, int *n, unsigned long long *slots, int *failed) {
	RB_WITH(ctx, rb_graph_replay_in(ex, s, nchanged, changed, nodes, fns, dims, off, n, slots, failed));
}

// rb_graph_destroy destroys the executable graph and the graph; the first
// error wins.
static CUresult rb_graph_destroy_in(CUgraph g, CUgraphExec ex) {
	CUresult r = p_cuGraphExecDestroy(ex);
	CUresult r2 = p_cuGraphDestroy(g);
	return r != 0 ? r : r2;
}

static CUresult rb_graph_destroy(CUcontext ctx, CUgraph g, CUgraphExec ex) { RB_WITH(ctx, rb_graph_destroy_in(g, ex)); }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// maxParams is RB_MAX_PARAMS: the most kernel parameters one launch takes.
const maxParams = C.RB_MAX_PARAMS

// ErrNoDriver is wrapped by every error that comes from the CUDA driver
// being absent or unusable: libcuda.so.1 missing or too old, or cuInit
// failing (no GPU, driver/kernel-module mismatch). Callers that can fall
// back to the CPU test for it with errors.Is.
var ErrNoDriver = errors.New("CUDA driver not available")

var (
	loadOnce sync.Once
	loadErr  error
)

// load opens libcuda.so.1 and calls cuInit, once per process; it returns
// the same error on every call after a failure.
func load() error {
	loadOnce.Do(func() {
		var buf [512]C.char
		if C.rb_open(&buf[0], C.size_t(len(buf))) != 0 {
			loadErr = fmt.Errorf("%w: %s", ErrNoDriver, C.GoString(&buf[0]))
			return
		}
		if r := C.rb_init(); r != 0 {
			loadErr = fmt.Errorf("%w: %w", ErrNoDriver, newError("cuInit", r))
		}
	})
	return loadErr
}

// Error is a failed CUDA driver call.
type Error struct {
	Func string // driver function, e.g. "cuMemAlloc"
	Code int    // CUresult
	Name string // e.g. "CUDA_ERROR_OUT_OF_MEMORY"; empty when the driver does not know Code
	Desc string // the driver's description; may be empty
}

// CUresult codes this package tests for.
const (
	errOutOfMemory = 2 // CUDA_ERROR_OUT_OF_MEMORY
)

func newError(fn string, r C.CUresult) *Error {
	var name, desc *C.char
	C.rb_error_text(r, &name, &desc)
	return &Error{Func: fn, Code: int(r), Name: C.GoString(name), Desc: C.GoString(desc)}
}

// Error returns "cuX: NAME (description)" on one line.
func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = fmt.Sprintf("CUresult %d", e.Code)
	}
	if e.Desc == "" {
		return e.Func + ": " + name
	}
	return fmt.Sprintf("%s: %s (%s)", e.Func, name, e.Desc)
}

// check returns nil for CUDA_SUCCESS and an *Error otherwise.
func check(fn string, r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return newError(fn, r)
}

// driverVersion returns cuDriverGetVersion's value (1000*major + 10*minor).
func driverVersion() (int, error) {
	if err := load(); err != nil {
		return 0, err
	}
	var v C.int
	if err := check("cuDriverGetVersion", C.rb_driver_version(&v)); err != nil {
		return 0, err
	}
	return int(v), nil
}

func deviceCount() (int, error) {
	if err := load(); err != nil {
		return 0, err
	}
	var n C.int
	if err := check("cuDeviceGetCount", C.rb_device_count(&n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// deviceInfo returns the handle (a CUdevice) and properties of device ordinal.
func deviceInfo(ordinal int) (int, Device, error) {
	var (
		dev                C.CUdevice
		name               [256]C.char
		mem                C.size_t
		major, minor, mode C.int
	)
	o, err := cint("device ordinal", ordinal)
	if err != nil {
		return 0, Device{}, err
	}
	if err := check("cuDeviceGet", C.rb_device_info(o, &dev, &name[0], C.int(len(name)), &mem, &major, &minor, &mode)); err != nil {
		return 0, Device{}, fmt.Errorf("cudadrv: device %d: %w", ordinal, err)
	}
	return int(dev), Device{Ordinal: ordinal, Name: C.GoString(&name[0]), Memory: int64(mem), Major: int(major), Minor: int(minor),
		ComputeMode: ComputeMode(mode)}, nil
}

// cint converts v to a C int, or returns an error naming what for a value
// outside [0, MaxInt32].
func cint(what string, v int) (C.int, error) {
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("cudadrv: %s %d outside [0, %d]", what, v, math.MaxInt32)
	}
	return C.int(v), nil
}

// cuint converts v to a C unsigned int, or returns an error naming what for
// a value outside [0, MaxInt32] (the driver's grid and block limits are
// below that).
func cuint(what string, v int) (C.uint, error) {
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("cudadrv: %s %d outside [0, %d]", what, v, math.MaxInt32)
	}
	return C.uint(v), nil
}

// dims returns grid and block as the six unsigned ints of a launch (grid
// x, y, z, block x, y, z), each checked to fit.
func dims(grid, block kernels.Dim3) ([6]uint32, error) {
	var d [6]uint32
	for i, v := range [6]int{grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z} {
		u, err := cuint("launch dimension", v)
		if err != nil {
			return d, err
		}
		d[i] = uint32(u)
	}
	return d, nil
}

// context is a CUDA context; every method is one C call that makes it
// current on the calling thread for its duration.
type context struct{ c C.CUcontext }

// retainPrimary retains the primary context of dev (cuDevicePrimaryCtxRetain).
func retainPrimary(dev int) (context, error) {
	var c C.CUcontext
	if err := check("cuDevicePrimaryCtxRetain", C.rb_primary_retain(&c, C.CUdevice(dev))); err != nil {
		return context{}, err
	}
	return context{c}, nil
}

// releasePrimary releases one retain of dev's primary context.
func releasePrimary(dev int) error {
	return check("cuDevicePrimaryCtxRelease", C.rb_primary_release(C.CUdevice(dev)))
}

func (x context) alloc(n int) (uint64, error) {
	if n < 0 {
		return 0, fmt.Errorf("cudadrv: cuMemAlloc of %d bytes", n)
	}
	var p C.CUdeviceptr
	err := check("cuMemAlloc", C.rb_alloc(x.c, &p, C.size_t(n)))
	return uint64(p), err
}

func (x context) free(p uint64) error { return check("cuMemFree", C.rb_free(x.c, C.CUdeviceptr(p))) }

// memInfo returns the free and total device memory in bytes.
func (x context) memInfo() (free, total int64, err error) {
	var f, t C.size_t
	err = check("cuMemGetInfo", C.rb_mem_info(x.c, &f, &t))
	return int64(f), int64(t), err
}

// hostAlloc returns n bytes of pinned host memory (cuMemHostAlloc), as a
// byte slice over C memory.
func (x context) hostAlloc(n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cudadrv: cuMemHostAlloc of %d bytes", n)
	}
	var p unsafe.Pointer
	if err := check("cuMemHostAlloc", C.rb_host_alloc(x.c, &p, C.size_t(n))); err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

func (x context) hostFree(b []byte) error {
	return check("cuMemFreeHost", C.rb_host_free(x.c, unsafe.Pointer(unsafe.SliceData(b))))
}

// stream is a CUDA stream of the driver's context.
type stream struct{ s C.CUstream }

// newStream creates a stream that does not synchronise with the legacy
// default stream (CU_STREAM_NON_BLOCKING).
func (x context) newStream() (stream, error) {
	var s C.CUstream
	if err := check("cuStreamCreate", C.rb_stream_create(x.c, &s)); err != nil {
		return stream{}, err
	}
	return stream{s}, nil
}

func (x context) streamSync(s stream) error {
	return check("cuStreamSynchronize", C.rb_stream_sync(x.c, s.s))
}

func (x context) streamDestroy(s stream) error {
	return check("cuStreamDestroy", C.rb_stream_destroy(x.c, s.s))
}

// event is a CUDA event without timing.
type event struct{ e C.CUevent }

func (x context) newEvent() (event, error) {
	var e C.CUevent
	if err := check("cuEventCreate", C.rb_event_create(x.c, &e)); err != nil {
		return event{}, err
	}
	return event{e}, nil
}

func (x context) record(e event, s stream) error {
	return check("cuEventRecord", C.rb_event_record(x.c, e.e, s.s))
}

func (x context) eventSync(e event) error {
	return check("cuEventSynchronize", C.rb_event_sync(x.c, e.e))
}

func (x context) eventDestroy(e event) error {
	return check("cuEventDestroy", C.rb_event_destroy(x.c, e.e))
}

// htodAsync queues a copy of pinned host memory src to dst on s.
func (x context) htodAsync(dst uint64, src []byte, s stream) error {
	return check("cuMemcpyHtoDAsync", C.rb_htod_async(x.c, C.CUdeviceptr(dst), unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src)), s.s))
}

// dtohAsync queues a copy of device memory at src to pinned host memory dst on s.
func (x context) dtohAsync(dst []byte, src uint64, s stream) error {
	return check("cuMemcpyDtoHAsync", C.rb_dtoh_async(x.c, unsafe.Pointer(unsafe.SliceData(dst)), C.CUdeviceptr(src), C.size_t(len(dst)), s.s))
}

// memsetD32Async queues setting count words from dst on to v on s.
func (x context) memsetD32Async(dst uint64, v uint32, count int, s stream) error {
	if count < 0 {
		return fmt.Errorf("cudadrv: cuMemsetD32Async of %d words", count)
	}
	return check("cuMemsetD32Async", C.rb_memset32_async(x.c, C.CUdeviceptr(dst), C.uint(v), C.size_t(count), s.s))
}

// module is a loaded PTX module.
type module struct{ m C.CUmodule }

// loadModule JIT-compiles PTX text; a failure carries the JIT error log,
// joined onto one line.
func (x context) loadModule(ptx []byte) (module, error) {
	image := C.CBytes(append(ptx[:len(ptx):len(ptx)], 0))
	defer C.free(image)
	var log [8192]C.char
	var m C.CUmodule
	r := C.rb_module_load(x.c, &m, (*C.char)(image), &log[0], C.size_t(len(log)))
	if r != 0 {
		err := newError("cuModuleLoadDataEx", r)
		if l := oneLine(C.GoString(&log[0])); l != "" {
			return module{}, fmt.Errorf("%w: JIT log: %s", err, l)
		}
		return module{}, err
	}
	return module{m}, nil
}

func (x context) unload(m module) error { return check("cuModuleUnload", C.rb_module_unload(x.c, m.m)) }

// function is a kernel entry point in a loaded module.
type function struct{ f C.CUfunction }

func (x context) function(m module, name string) (function, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var f C.CUfunction
	if err := check("cuModuleGetFunction", C.rb_get_function(x.c, &f, m.m, cname)); err != nil {
		return function{}, err
	}
	return function{f}, nil
}

// slotsPtr returns the address of the first slot (nil for none): Go memory
// without pointers, read by the driver during the call only.
func slotsPtr(slots []uint64) *C.ulonglong {
	if len(slots) == 0 {
		return nil
	}
	return (*C.ulonglong)(unsafe.Pointer(&slots[0]))
}

// launch enqueues f on s with one 8-byte slot per parameter (the driver
// copies the values before the call returns).
func (x context) launch(f function, d [6]uint32, s stream, slots []uint64) error {
	if len(slots) > maxParams {
		return fmt.Errorf("cudadrv: %d kernel parameters, at most %d", len(slots), maxParams)
	}
	return check("cuLaunchKernel", C.rb_launch(x.c, f.f, C.uint(d[0]), C.uint(d[1]), C.uint(d[2]), C.uint(d[3]), C.uint(d[4]), C.uint(d[5]),
		s.s, slotsPtr(slots), C.int(len(slots))))
}

// graph is an instantiated CUDA graph of kernel nodes.
type graph struct {
	g     C.CUgraph
	exec  C.CUgraphExec
	nodes []C.CUgraphNode
}

// graphNodes is what builds and updates the kernel nodes of a graph: for
// node i, its function, six launch dimensions (dims[6i:6i+6]), and n[i]
// parameter slots from slots[off[i]].
type graphNodes struct {
	fns     []C.CUfunction
	dims    []C.uint
	off     []C.int
	n       []C.int
	slots   []uint64
	changed []C.int // scratch for replayGraph
}

// add appends a node launching f with dimensions d and nparams parameter
// slots (zero until set through params).
func (gn *graphNodes) add(f function, d [6]uint32, nparams int) {
	gn.fns = append(gn.fns, f.f)
	for _, v := range d {
		gn.dims = append(gn.dims, C.uint(v))
	}
	gn.off = append(gn.off, C.int(len(gn.slots)))
	gn.n = append(gn.n, C.int(nparams))
	gn.slots = append(gn.slots, make([]uint64, nparams)...)
}

// params returns the parameter slots of node i.
func (gn *graphNodes) params(i int) []uint64 {
	off := int(gn.off[i])
	return gn.slots[off : off+int(gn.n[i])]
}

// buildGraph creates a graph of the nodes in order, each depending on the
// one before (cuGraphAddKernelNode), and instantiates it
// (cuGraphInstantiateWithFlags).
func (x context) buildGraph(gn *graphNodes) (graph, error) {
	count := len(gn.fns)
	if count == 0 {
		return graph{}, errors.New("cudadrv: a graph of no launches")
	}
	if _, err := cint("graph parameter slots", len(gn.slots)); err != nil {
		return graph{}, err
	}
	g := graph{nodes: make([]C.CUgraphNode, count)}
	r := C.rb_graph_build(x.c, C.int(count), &gn.fns[0], &gn.dims[0], &gn.off[0], &gn.n[0], slotsPtr(gn.slots),
		&g.g, &g.exec, &g.nodes[0])
	if err := check("cuGraphInstantiate", r); err != nil {
		return graph{}, err
	}
	return g, nil
}

// replayGraph sets the parameters of the nodes listed in changed
// (cuGraphExecKernelNodeSetParams) and launches the graph on s
// (cuGraphLaunch). failed is the node whose update failed, or -1.
func (x context) replayGraph(g graph, s stream, changed []int, gn *graphNodes) (failed int, err error) {
	gn.changed = gn.changed[:0]
	for _, i := range changed {
		gn.changed = append(gn.changed, C.int(i))
	}
	var ch *C.int
	if len(gn.changed) > 0 {
		ch = &gn.changed[0]
	}
	var f C.int
	r := C.rb_graph_replay(x.c, g.exec, s.s, C.int(len(gn.changed)), ch, &g.nodes[0], &gn.fns[0], &gn.dims[0], &gn.off[0], &gn.n[0],
		slotsPtr(gn.slots), &f)
	if r == 0 {
		return -1, nil
	}
	if f >= 0 {
		return int(f), check("cuGraphExecKernelNodeSetParams", r)
	}
	return -1, check("cuGraphLaunch", r)
}

func (x context) destroyGraph(g graph) error {
	return check("cuGraphDestroy", C.rb_graph_destroy(x.c, g.g, g.exec))
}

// oneLine joins the non-empty lines of s with "; ".
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
