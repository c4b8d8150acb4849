//go:build cgo

package cudadrv

// This file is the only cgo in the package: the CUDA driver API, loaded at
// run time from libcuda.so.1 with dlopen/dlsym. The few driver types and
// prototypes it needs are declared here, so building needs neither the CUDA
// headers nor libcuda; a binary built with -tags cuda starts on any machine
// and reports a missing driver as an error value.
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
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;

enum {
	RB_ERROR_INVALID_VALUE = 1,   // CUDA_ERROR_INVALID_VALUE
	RB_JIT_ERROR_LOG_BUFFER = 5,  // CU_JIT_ERROR_LOG_BUFFER
	RB_JIT_ERROR_LOG_SIZE = 6,    // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
	RB_MAX_PARAMS = 64,           // kernel parameters per launch (gemm_f32 has 17)
};

static CUresult (*p_cuInit)(unsigned int);
static CUresult (*p_cuDriverGetVersion)(int *);
static CUresult (*p_cuGetErrorName)(CUresult, const char **);
static CUresult (*p_cuGetErrorString)(CUresult, const char **);
static CUresult (*p_cuDeviceGetCount)(int *);
static CUresult (*p_cuDeviceGet)(CUdevice *, int);
static CUresult (*p_cuDeviceGetName)(char *, int, CUdevice);
static CUresult (*p_cuDeviceTotalMem_v2)(size_t *, CUdevice);
static CUresult (*p_cuDeviceGetAttribute)(int *, int, CUdevice);
static CUresult (*p_cuCtxCreate_v2)(CUcontext *, unsigned int, CUdevice);
static CUresult (*p_cuCtxDestroy_v2)(CUcontext);
static CUresult (*p_cuCtxPushCurrent_v2)(CUcontext);
static CUresult (*p_cuCtxPopCurrent_v2)(CUcontext *);
static CUresult (*p_cuCtxSynchronize)(void);
static CUresult (*p_cuMemAlloc_v2)(CUdeviceptr *, size_t);
static CUresult (*p_cuMemFree_v2)(CUdeviceptr);
static CUresult (*p_cuMemGetInfo_v2)(size_t *, size_t *);
static CUresult (*p_cuMemcpyHtoD_v2)(CUdeviceptr, const void *, size_t);
static CUresult (*p_cuMemcpyDtoH_v2)(void *, CUdeviceptr, size_t);
static CUresult (*p_cuModuleLoadDataEx)(CUmodule *, const void *, unsigned int, CUjit_option *, void **);
static CUresult (*p_cuModuleUnload)(CUmodule);
static CUresult (*p_cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
static CUresult (*p_cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int,
	unsigned int, unsigned int, unsigned int, unsigned int, CUstream, void **, void **);

#define RB_SYM(name) { #name, (void **)&p_##name }
static const struct { const char *name; void **fn; } rb_syms[] = {
	RB_SYM(cuInit), RB_SYM(cuDriverGetVersion), RB_SYM(cuGetErrorName), RB_SYM(cuGetErrorString),
	RB_SYM(cuDeviceGetCount), RB_SYM(cuDeviceGet), RB_SYM(cuDeviceGetName),
	RB_SYM(cuDeviceTotalMem_v2), RB_SYM(cuDeviceGetAttribute),
	RB_SYM(cuCtxCreate_v2), RB_SYM(cuCtxDestroy_v2), RB_SYM(cuCtxPushCurrent_v2),
	RB_SYM(cuCtxPopCurrent_v2), RB_SYM(cuCtxSynchronize),
	RB_SYM(cuMemAlloc_v2), RB_SYM(cuMemFree_v2), RB_SYM(cuMemGetInfo_v2),
	RB_SYM(cuMemcpyHtoD_v2), RB_SYM(cuMemcpyDtoH_v2),
	RB_SYM(cuModuleLoadDataEx), RB_SYM(cuModuleUnload), RB_SYM(cuModuleGetFunction),
	RB_SYM(cuLaunchKernel),
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
		size_t *mem, int *major, int *minor) {
	CUresult r;
	if ((r = p_cuDeviceGet(dev, ordinal)) != 0) return r;
	if ((r = p_cuDeviceGetName(name, namelen, *dev)) != 0) return r;
	if ((r = p_cuDeviceTotalMem_v2(mem, *dev)) != 0) return r;
	if ((r = p_cuDeviceGetAttribute(major, 75, *dev)) != 0) return r; // COMPUTE_CAPABILITY_MAJOR
	return p_cuDeviceGetAttribute(minor, 76, *dev);                   // COMPUTE_CAPABILITY_MINOR
}

// rb_ctx_create creates a context on dev and pops it, so that it is not
// left current on this thread.
static CUresult rb_ctx_create(CUcontext *ctx, CUdevice dev) {
	CUresult r = p_cuCtxCreate_v2(ctx, 0, dev); // CU_CTX_SCHED_AUTO
	if (r != 0) return r;
	CUcontext old;
	r = p_cuCtxPopCurrent_v2(&old);
	if (r != 0) p_cuCtxDestroy_v2(*ctx);
	return r;
}

static CUresult rb_ctx_destroy(CUcontext ctx) { return p_cuCtxDestroy_v2(ctx); }

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

static CUresult rb_sync(CUcontext ctx) { RB_WITH(ctx, p_cuCtxSynchronize()); }
static CUresult rb_alloc(CUcontext ctx, CUdeviceptr *p, size_t n) { RB_WITH(ctx, p_cuMemAlloc_v2(p, n)); }
static CUresult rb_free(CUcontext ctx, CUdeviceptr p) { RB_WITH(ctx, p_cuMemFree_v2(p)); }
static CUresult rb_mem_info(CUcontext ctx, size_t *free, size_t *total) { RB_WITH(ctx, p_cuMemGetInfo_v2(free, total)); }
static CUresult rb_htod(CUcontext ctx, CUdeviceptr dst, const void *src, size_t n) {
	RB_WITH(ctx, p_cuMemcpyHtoD_v2(dst, src, n));
}
static CUresult rb_dtoh(CUcontext ctx, void *dst, CUdeviceptr src, size_t n) {
	RB_WITH(ctx, p_cuMemcpyDtoH_v2(dst, src, n));
}
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

// rb_launch launches f on the default stream with n parameters; parameter
// i is read from the low end of the 8-byte slot slots[i] (little-endian).
// The driver copies the parameter values before cuLaunchKernel returns.
static CUresult rb_launch(CUcontext ctx, CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, unsigned long long *slots, int n) {
	void *params[RB_MAX_PARAMS];
	if (n < 0 || n > RB_MAX_PARAMS) return RB_ERROR_INVALID_VALUE;
	for (int i = 0; i < n; i++) params[i] = &slots[i];
	RB_WITH(ctx, p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, 0, NULL, params, NULL));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
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

// deviceInfo returns the handle and properties of device ordinal.
func deviceInfo(ordinal int) (C.CUdevice, Device, error) {
	var (
		dev          C.CUdevice
		name         [256]C.char
		mem          C.size_t
		major, minor C.int
	)
	if err := check("cuDeviceGet", C.rb_device_info(C.int(ordinal), &dev, &name[0], C.int(len(name)), &mem, &major, &minor)); err != nil {
		return 0, Device{}, fmt.Errorf("cudadrv: device %d: %w", ordinal, err)
	}
	return dev, Device{Ordinal: ordinal, Name: C.GoString(&name[0]), Memory: int64(mem), Major: int(major), Minor: int(minor)}, nil
}

// context is a CUDA context; every method is one C call that makes it
// current on the calling thread for its duration.
type context struct{ c C.CUcontext }

func newContext(dev C.CUdevice) (context, error) {
	var c C.CUcontext
	if err := check("cuCtxCreate", C.rb_ctx_create(&c, dev)); err != nil {
		return context{}, err
	}
	return context{c}, nil
}

func (x context) destroy() error { return check("cuCtxDestroy", C.rb_ctx_destroy(x.c)) }

func (x context) synchronize() error { return check("cuCtxSynchronize", C.rb_sync(x.c)) }

func (x context) alloc(n int) (uint64, error) {
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

// htod copies src (Go memory holding no Go pointers: allowed by the cgo
// rules, and pinned for the call) to dst.
func (x context) htod(dst uint64, src []byte) error {
	return check("cuMemcpyHtoD", C.rb_htod(x.c, C.CUdeviceptr(dst), unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src))))
}

func (x context) dtoh(dst []byte, src uint64) error {
	return check("cuMemcpyDtoH", C.rb_dtoh(x.c, unsafe.Pointer(unsafe.SliceData(dst)), C.CUdeviceptr(src), C.size_t(len(dst))))
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

// launch enqueues f with one 8-byte slot per parameter (Go memory without
// pointers; the driver copies the values before the call returns).
func (x context) launch(f function, gx, gy, gz, bx, by, bz int, slots []uint64) error {
	var p *C.ulonglong
	if len(slots) > 0 {
		p = (*C.ulonglong)(unsafe.Pointer(&slots[0]))
	}
	return check("cuLaunchKernel", C.rb_launch(x.c, f.f, C.uint(gx), C.uint(gy), C.uint(gz),
		C.uint(bx), C.uint(by), C.uint(bz), p, C.int(len(slots))))
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
