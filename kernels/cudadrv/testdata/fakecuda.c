// fakecuda.c — a stand-in libcuda.so.1 for cudadrv's tests on machines
// without a GPU. It implements the driver functions cudadrv resolves, on the
// host, strictly enough to catch misuse of the driver API:
//
//   - every call that needs a context fails unless one is current on the
//     calling thread, and pushing a context onto a non-empty stack fails
//     (cudadrv must leave every thread's context stack as it found it);
//   - device memory is malloc'd with a 1 GiB budget (CUDA_ERROR_OUT_OF_MEMORY
//     beyond it); memcpy copies;
//   - cuModuleLoadDataEx rejects PTX containing "BROKEN" with a JIT error
//     log, and cuModuleGetFunction finds ".entry NAME(" in the PTX;
//   - cuLaunchKernel reads each parameter with the size its PTX .param type
//     says (4 or 8 bytes) and appends the launch, as one line of hex, to the
//     file named by $FAKECUDA_LOG.
//
// $FAKECUDA_NODEVICE=1 makes cuInit fail with CUDA_ERROR_NO_DEVICE.
//
// Build: cc -shared -fPIC -o DIR/libcuda.so.1 fakecuda.c (the test does).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st { int alive; } *CUcontext;
typedef struct CUmod_st { char *ptx; } *CUmodule;
typedef struct CUfunc_st { char name[128]; const char *ptx; } *CUfunction;

enum {
	OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, NO_DEVICE = 100,
	INVALID_DEVICE = 101, INVALID_CONTEXT = 201, INVALID_PTX = 218, NOT_FOUND = 500,
	STACK_NOT_EMPTY = 998,
};

static const size_t budget = (size_t)1 << 30;
static size_t used;
static int inited;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread CUcontext stack[4];
static __thread int depth;

static CUresult need_ctx(void) {
	if (!inited) return NOT_INITIALIZED;
	if (depth == 0 || !stack[depth - 1]->alive) return INVALID_CONTEXT;
	return OK;
}

CUresult cuInit(unsigned int flags) {
	if (flags != 0) return INVALID_VALUE;
	const char *e = getenv("FAKECUDA_NODEVICE");
	if (e != NULL && strcmp(e, "1") == 0) return NO_DEVICE;
	inited = 1;
	return OK;
}

CUresult cuDriverGetVersion(int *v) { *v = 12040; return OK; }

CUresult cuGetErrorName(CUresult r, const char **s) {
	switch (r) {
	case OK: *s = "CUDA_SUCCESS"; return OK;
	case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return OK;
	case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
	case NO_DEVICE: *s = "CUDA_ERROR_NO_DEVICE"; return OK;
	case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; return OK;
	case INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; return OK;
	}
	*s = NULL;
	return INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
	switch (r) {
	case OUT_OF_MEMORY: *s = "out of memory"; return OK;
	case NO_DEVICE: *s = "no CUDA-capable device is detected"; return OK;
	case INVALID_PTX: *s = "a PTX JIT compilation failed"; return OK;
	}
	*s = NULL;
	return INVALID_VALUE;
}

CUresult cuDeviceGetCount(int *n) { if (!inited) return NOT_INITIALIZED; *n = 1; return OK; }

CUresult cuDeviceGet(int *dev, int ordinal) {
	if (!inited) return NOT_INITIALIZED;
	if (ordinal != 0) return INVALID_DEVICE;
	*dev = 0;
	return OK;
}

CUresult cuDeviceGetName(char *name, int len, int dev) {
	if (dev != 0) return INVALID_DEVICE;
	snprintf(name, len, "Fake CUDA Device");
	return OK;
}

CUresult cuDeviceTotalMem_v2(size_t *n, int dev) { if (dev != 0) return INVALID_DEVICE; *n = budget; return OK; }

CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
	if (dev != 0) return INVALID_DEVICE;
	switch (attr) {
	case 75: *v = 9; return OK;
	case 76: *v = 0; return OK;
	}
	return INVALID_VALUE;
}

CUresult cuCtxPushCurrent_v2(CUcontext c) {
	if (depth != 0) return STACK_NOT_EMPTY;
	if (c == NULL || !c->alive) return INVALID_CONTEXT;
	stack[depth++] = c;
	return OK;
}

CUresult cuCtxPopCurrent_v2(CUcontext *c) {
	if (depth == 0) return INVALID_CONTEXT;
	*c = stack[--depth];
	return OK;
}

CUresult cuCtxCreate_v2(CUcontext *c, unsigned int flags, int dev) {
	if (!inited) return NOT_INITIALIZED;
	if (dev != 0) return INVALID_DEVICE;
	if (depth != 0) return STACK_NOT_EMPTY;
	*c = calloc(1, sizeof **c);
	(*c)->alive = 1;
	stack[depth++] = *c;
	return OK;
}

CUresult cuCtxDestroy_v2(CUcontext c) {
	if (c == NULL || !c->alive) return INVALID_CONTEXT;
	c->alive = 0; // leaked on purpose: a stale handle must stay detectable
	return OK;
}

CUresult cuCtxSynchronize(void) { return need_ctx(); }

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (n == 0) return INVALID_VALUE;
	pthread_mutex_lock(&mu);
	if (n > budget - used) {
		pthread_mutex_unlock(&mu);
		return OUT_OF_MEMORY;
	}
	used += n;
	pthread_mutex_unlock(&mu);
	size_t *b = malloc(n + 16);
	b[0] = n;
	*p = (CUdeviceptr)(b + 2);
	return OK;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	size_t *b = (size_t *)p - 2;
	pthread_mutex_lock(&mu);
	used -= b[0];
	pthread_mutex_unlock(&mu);
	free(b);
	return OK;
}

CUresult cuMemGetInfo_v2(size_t *f, size_t *t) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	pthread_mutex_lock(&mu);
	*f = budget - used;
	pthread_mutex_unlock(&mu);
	*t = budget;
	return OK;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
	CUresult r = need_ctx();
	if (r == OK) memcpy((void *)dst, src, n);
	return r;
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
	CUresult r = need_ctx();
	if (r == OK) memcpy(dst, (const void *)src, n);
	return r;
}

CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n, int *opts, void **vals) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (strstr(image, "BROKEN") != NULL) {
		char *log = NULL;
		size_t size = 0;
		for (unsigned int i = 0; i < n; i++) {
			if (opts[i] == 5) log = vals[i];
			if (opts[i] == 6) size = (size_t)vals[i];
		}
		if (log != NULL && size > 0) {
			snprintf(log, size, "ptxas application ptx input, line 2; error   : syntax error\nptxas fatal   : Ptx assembly aborted\n");
		}
		return INVALID_PTX;
	}
	*m = calloc(1, sizeof **m);
	(*m)->ptx = strdup(image);
	return OK;
}

CUresult cuModuleUnload(CUmodule m) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	free(m->ptx);
	free(m);
	return OK;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	char pat[160];
	snprintf(pat, sizeof pat, ".entry %s(", name);
	if (strlen(name) >= sizeof (*f)->name || strstr(m->ptx, pat) == NULL) return NOT_FOUND;
	*f = calloc(1, sizeof **f);
	snprintf((*f)->name, sizeof (*f)->name, "%s", name);
	(*f)->ptx = m->ptx;
	return OK;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem,
		void *stream, void **params, void **extra) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (extra != NULL || gx == 0 || gy == 0 || gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024) return INVALID_VALUE;
	char pat[160];
	snprintf(pat, sizeof pat, ".entry %s(", f->name);
	const char *p = strstr(f->ptx, pat) + strlen(pat);
	const char *end = strchr(p, ')');
	char line[4096];
	int len = snprintf(line, sizeof line, "%s %u %u %u %u %u %u %u %d", f->name, gx, gy, gz, bx, by, bz, shmem, stream != NULL);
	for (int i = 0; (p = strstr(p, ".param ")) != NULL && p < end; i++) {
		p += strlen(".param ");
		if (strncmp(p, ".u64", 4) == 0) {
			unsigned long long v;
			memcpy(&v, params[i], 8);
			len += snprintf(line + len, sizeof line - len, " %016llx", v);
		} else {
			unsigned int v;
			memcpy(&v, params[i], 4);
			len += snprintf(line + len, sizeof line - len, " %08x", v);
		}
	}
	const char *path = getenv("FAKECUDA_LOG");
	if (path != NULL) {
		pthread_mutex_lock(&mu);
		FILE *fp = fopen(path, "a");
		if (fp != NULL) {
			fprintf(fp, "%s\n", line);
			fclose(fp);
		}
		pthread_mutex_unlock(&mu);
	}
	return OK;
}
