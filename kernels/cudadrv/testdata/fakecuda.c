// fakecuda.c — a stand-in libcuda.so.1 for cudadrv's tests on machines
// without a GPU. It implements the driver functions cudadrv resolves, on the
// host, strictly enough to catch misuse of the driver API (stricter than
// CUDA where a real driver would let a bug pass silently):
//
//   - contexts: device 0's primary context only (cuDevicePrimaryCtxRetain /
//     cuDevicePrimaryCtxRelease_v2, reference-counted; a release without a
//     retain fails). Every call that needs a context fails unless one is
//     current on the calling thread, and pushing onto a non-empty context
//     stack fails (cudadrv must leave every thread's stack as it found it).
//     The last release fails with FAKECUDA_ERROR_LEAK if streams, events,
//     pinned or device memory, modules, graphs or executable graphs are
//     still allocated;
//   - streams run for real: each has a worker thread that performs its
//     copies, memsets, launches and event records in order, after
//     $FAKECUDA_DELAY_US microseconds each (default 0), so a caller that
//     reads results before synchronising, or refills a staging buffer that
//     is still being copied, sees wrong data. The legacy NULL stream is
//     refused (CUDA_ERROR_INVALID_HANDLE): cudadrv puts all work on its own
//     stream;
//   - async copies must go between pinned memory (cuMemHostAlloc) and a
//     live device allocation, within their bounds; freeing pinned memory
//     with a copy in flight fails (CUDA_ERROR_ILLEGAL_STATE). Device memory
//     is malloc'd with a 1 GiB budget (CUDA_ERROR_OUT_OF_MEMORY beyond it);
//     cuMemFree of anything but a live allocation fails;
//   - cuModuleLoadDataEx rejects PTX containing "BROKEN" with a JIT error
//     log, and cuModuleGetFunction finds ".entry NAME(" in the PTX;
//   - cuLaunchKernel reads each parameter with the size its PTX .param type
//     says (4 or 8 bytes) when called, and the stream's worker appends the
//     launch, as one line of hex, to the file named by $FAKECUDA_LOG;
//   - graphs: kernel nodes keep their parameters as read when added or set
//     (the _v2 entry points, with kern and ctx NULL; the v1 ones fail);
//     cuGraphInstantiateWithFlags orders the nodes by their dependencies,
//     taking the LAST added of the nodes that are ready (so a missing
//     dependency shows as launches out of order); cuGraphLaunch logs every
//     node as cuLaunchKernel would, in that order; cuGraphExecKernelNodeSetParams
//     refuses a different kernel and appends "#set GRAPH NODE" to the log
//     when called.
//
// $FAKECUDA_NODEVICE=1 makes cuInit fail with CUDA_ERROR_NO_DEVICE;
// $FAKECUDA_COMPUTE_MODE=N sets the compute mode the device reports.
//
// Build: cc -shared -fPIC -o DIR/libcuda.so.1 fakecuda.c -lpthread (the tests do).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st { int alive; int refs; } *CUcontext;
typedef struct CUmod_st { char *ptx; } *CUmodule;
typedef struct CUfunc_st { char name[128]; const char *ptx; } *CUfunction;

enum {
	OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, NO_DEVICE = 100,
	INVALID_DEVICE = 101, INVALID_CONTEXT = 201, INVALID_PTX = 218, INVALID_HANDLE = 400,
	ILLEGAL_STATE = 401, NOT_FOUND = 500, STACK_NOT_EMPTY = 998, LEAK = 999,
};

enum { MAXP = 64 };

static const size_t budget = (size_t)1 << 30;
static size_t used;
static int inited, delay_us, compute_mode;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; // everything shared below
static pthread_cond_t evcond = PTHREAD_COND_INITIALIZER;
static __thread CUcontext stack[4];
static __thread int depth;
static struct CUctx_st primary;
static int n_streams, n_events, n_host, n_dev, n_modules, n_graphs, n_execs;

// Live allocations, device and pinned host memory.
typedef struct block { struct block *next; char *p; size_t n; int inflight; } block;
static block *devs, *hosts;

static block *find(block *list, const void *p, size_t n) {
	for (block *b = list; b != NULL; b = b->next) {
		if ((const char *)p >= b->p && n <= b->n && (size_t)((const char *)p - b->p) <= b->n - n) return b;
	}
	return NULL;
}

static CUresult need_ctx(void) {
	if (!inited) return NOT_INITIALIZED;
	if (depth == 0 || !stack[depth - 1]->alive) return INVALID_CONTEXT;
	return OK;
}

// ---- streams: a worker thread each ----

enum { OP_COPY, OP_MEMSET32, OP_LOG, OP_EVENT };

struct CUevent_st;
typedef struct op {
	struct op *next;
	int kind;
	char *dst;
	const char *src;
	size_t n;
	unsigned int value;
	block *pinned;     // OP_COPY: the pinned block in flight
	char *text;        // OP_LOG: lines to append to $FAKECUDA_LOG
	struct CUevent_st *ev;
	long seq;
} op;

typedef struct CUstream_st {
	int alive;
	CUcontext ctx;
	pthread_t th;
	pthread_mutex_t m;
	pthread_cond_t c;
	op *head, *tail;
	long enq, done;
	int stop;
} *CUstream;

typedef struct CUevent_st { int alive; long recorded, completed; } *CUevent;

static void write_log(const char *text) {
	const char *path = getenv("FAKECUDA_LOG");
	if (path == NULL) return;
	pthread_mutex_lock(&mu);
	FILE *fp = fopen(path, "a");
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
	pthread_mutex_unlock(&mu);
}

static void *worker(void *arg) {
	CUstream s = arg;
	for (;;) {
		pthread_mutex_lock(&s->m);
		while (s->head == NULL && !s->stop) pthread_cond_wait(&s->c, &s->m);
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->m);
			return NULL;
		}
		op *o = s->head;
		s->head = o->next;
		if (s->head == NULL) s->tail = NULL;
		pthread_mutex_unlock(&s->m);
		if (delay_us > 0 && o->kind != OP_EVENT) usleep(delay_us);
		switch (o->kind) {
		case OP_COPY:
			memcpy(o->dst, o->src, o->n);
			pthread_mutex_lock(&mu);
			o->pinned->inflight--;
			pthread_mutex_unlock(&mu);
			break;
		case OP_MEMSET32:
			for (size_t i = 0; i < o->n; i++) memcpy(o->dst + 4 * i, &o->value, 4);
			break;
		case OP_LOG:
			write_log(o->text);
			free(o->text);
			break;
		case OP_EVENT:
			pthread_mutex_lock(&mu);
			if (o->seq > o->ev->completed) o->ev->completed = o->seq;
			pthread_cond_broadcast(&evcond);
			pthread_mutex_unlock(&mu);
			break;
		}
		free(o);
		pthread_mutex_lock(&s->m);
		s->done++;
		pthread_cond_broadcast(&s->c);
		pthread_mutex_unlock(&s->m);
	}
}

static void enqueue(CUstream s, op *o) {
	pthread_mutex_lock(&s->m);
	o->next = NULL;
	if (s->tail != NULL) s->tail->next = o; else s->head = o;
	s->tail = o;
	s->enq++;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
}

static void drain(CUstream s) {
	pthread_mutex_lock(&s->m);
	while (s->done < s->enq) pthread_cond_wait(&s->c, &s->m);
	pthread_mutex_unlock(&s->m);
}

// need_stream: a context is current and s is a live stream of it (never NULL).
static CUresult need_stream(CUstream s) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (s == NULL || !s->alive || s->ctx != stack[depth - 1]) return INVALID_HANDLE;
	return OK;
}

// ---- initialisation, errors, devices ----

CUresult cuInit(unsigned int flags) {
	if (flags != 0) return INVALID_VALUE;
	const char *e = getenv("FAKECUDA_NODEVICE");
	if (e != NULL && strcmp(e, "1") == 0) return NO_DEVICE;
	if ((e = getenv("FAKECUDA_DELAY_US")) != NULL) delay_us = atoi(e);
	if ((e = getenv("FAKECUDA_COMPUTE_MODE")) != NULL) compute_mode = atoi(e);
	inited = 1;
	return OK;
}

CUresult cuDriverGetVersion(int *v) { *v = 12040; return OK; }

CUresult cuGetErrorName(CUresult r, const char **s) {
	switch (r) {
	case OK: *s = "CUDA_SUCCESS"; return OK;
	case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return OK;
	case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
	case NOT_INITIALIZED: *s = "CUDA_ERROR_NOT_INITIALIZED"; return OK;
	case NO_DEVICE: *s = "CUDA_ERROR_NO_DEVICE"; return OK;
	case INVALID_DEVICE: *s = "CUDA_ERROR_INVALID_DEVICE"; return OK;
	case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; return OK;
	case INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; return OK;
	case INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; return OK;
	case ILLEGAL_STATE: *s = "CUDA_ERROR_ILLEGAL_STATE"; return OK;
	case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return OK;
	case LEAK: *s = "FAKECUDA_ERROR_LEAK"; return OK;
	}
	*s = NULL;
	return INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
	switch (r) {
	case OUT_OF_MEMORY: *s = "out of memory"; return OK;
	case NO_DEVICE: *s = "no CUDA-capable device is detected"; return OK;
	case INVALID_PTX: *s = "a PTX JIT compilation failed"; return OK;
	case LEAK: *s = "resources still allocated at the last release of the primary context"; return OK;
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
	case 20: *v = compute_mode; return OK; // CU_DEVICE_ATTRIBUTE_COMPUTE_MODE
	case 75: *v = 9; return OK;
	case 76: *v = 0; return OK;
	}
	return INVALID_VALUE;
}

// ---- contexts ----

CUresult cuDevicePrimaryCtxRetain(CUcontext *c, int dev) {
	if (!inited) return NOT_INITIALIZED;
	if (dev != 0) return INVALID_DEVICE;
	pthread_mutex_lock(&mu);
	if (primary.refs++ == 0) primary.alive = 1;
	pthread_mutex_unlock(&mu);
	*c = &primary;
	return OK;
}

CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
	if (!inited) return NOT_INITIALIZED;
	if (dev != 0) return INVALID_DEVICE;
	pthread_mutex_lock(&mu);
	if (primary.refs == 0) {
		pthread_mutex_unlock(&mu);
		return INVALID_CONTEXT; // released more often than retained
	}
	CUresult r = OK;
	if (--primary.refs == 0) {
		primary.alive = 0;
		if (n_streams || n_events || n_host || n_dev || n_modules || n_graphs || n_execs) {
			fprintf(stderr, "fakecuda: leak at the last release: %d streams, %d events, %d pinned, %d device allocations, %d modules, %d graphs, %d execs\n",
				n_streams, n_events, n_host, n_dev, n_modules, n_graphs, n_execs);
			r = LEAK;
		}
	}
	pthread_mutex_unlock(&mu);
	return r;
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

// ---- memory ----

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
	block *b = calloc(1, sizeof *b);
	b->p = malloc(n);
	b->n = n;
	b->next = devs;
	devs = b;
	n_dev++;
	pthread_mutex_unlock(&mu);
	*p = (CUdeviceptr)b->p;
	return OK;
}

// unlink removes the block starting at p from *list; NULL if there is none.
static block *unlink_block(block **list, const void *p) {
	for (block **q = list; *q != NULL; q = &(*q)->next) {
		if ((*q)->p == p) {
			block *b = *q;
			*q = b->next;
			return b;
		}
	}
	return NULL;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	pthread_mutex_lock(&mu);
	block *b = unlink_block(&devs, (void *)p);
	if (b != NULL) {
		used -= b->n;
		n_dev--;
	}
	pthread_mutex_unlock(&mu);
	if (b == NULL) return INVALID_VALUE;
	free(b->p);
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

CUresult cuMemHostAlloc(void **p, size_t n, unsigned int flags) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (n == 0 || flags > 7) return INVALID_VALUE;
	block *b = calloc(1, sizeof *b);
	b->p = malloc(n);
	b->n = n;
	pthread_mutex_lock(&mu);
	b->next = hosts;
	hosts = b;
	n_host++;
	pthread_mutex_unlock(&mu);
	*p = b->p;
	return OK;
}

CUresult cuMemFreeHost(void *p) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	pthread_mutex_lock(&mu);
	block *b = find(hosts, p, 0);
	if (b == NULL || b->p != p) {
		pthread_mutex_unlock(&mu);
		return INVALID_VALUE;
	}
	if (b->inflight > 0) {
		pthread_mutex_unlock(&mu);
		return ILLEGAL_STATE; // a copy from or to it is still queued
	}
	unlink_block(&hosts, p);
	n_host--;
	pthread_mutex_unlock(&mu);
	free(b->p);
	free(b);
	return OK;
}

// copy_async queues a copy between pinned memory (host) and a device
// allocation (dev); dir 0 is host to device.
static CUresult copy_async(int dir, void *host, CUdeviceptr dev, size_t n, CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	if (n == 0) return OK;
	pthread_mutex_lock(&mu);
	block *h = find(hosts, host, n);
	block *d = find(devs, (void *)dev, n);
	if (h == NULL || d == NULL) {
		pthread_mutex_unlock(&mu);
		return INVALID_VALUE; // pageable memory or outside an allocation
	}
	h->inflight++;
	pthread_mutex_unlock(&mu);
	op *o = calloc(1, sizeof *o);
	o->kind = OP_COPY;
	o->dst = dir == 0 ? (char *)dev : host;
	o->src = dir == 0 ? host : (const char *)dev;
	o->n = n;
	o->pinned = h;
	enqueue(s, o);
	return OK;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s) {
	return copy_async(0, (void *)src, dst, n, s);
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s) {
	return copy_async(1, dst, src, n, s);
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	if (dst % 4 != 0 || n > ((size_t)1 << 62)) return INVALID_VALUE;
	if (n == 0) return OK;
	pthread_mutex_lock(&mu);
	block *d = find(devs, (void *)dst, 4 * n);
	pthread_mutex_unlock(&mu);
	if (d == NULL) return INVALID_VALUE;
	op *o = calloc(1, sizeof *o);
	o->kind = OP_MEMSET32;
	o->dst = (char *)dst;
	o->n = n;
	o->value = value;
	enqueue(s, o);
	return OK;
}

// ---- streams and events ----

CUresult cuStreamCreate(CUstream *ps, unsigned int flags) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (flags > 1) return INVALID_VALUE;
	CUstream s = calloc(1, sizeof *s);
	s->alive = 1;
	s->ctx = stack[depth - 1];
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->c, NULL);
	pthread_create(&s->th, NULL, worker, s);
	pthread_mutex_lock(&mu);
	n_streams++;
	pthread_mutex_unlock(&mu);
	*ps = s;
	return OK;
}

CUresult cuStreamSynchronize(CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	drain(s);
	return OK;
}

CUresult cuStreamDestroy_v2(CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	s->alive = 0; // kept: a stale handle must stay detectable
	pthread_mutex_lock(&s->m);
	s->stop = 1;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	pthread_join(s->th, NULL); // the worker finishes what was queued first
	pthread_mutex_lock(&mu);
	n_streams--;
	pthread_mutex_unlock(&mu);
	return OK;
}

CUresult cuEventCreate(CUevent *pe, unsigned int flags) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (flags > 7) return INVALID_VALUE;
	CUevent e = calloc(1, sizeof *e);
	e->alive = 1;
	pthread_mutex_lock(&mu);
	n_events++;
	pthread_mutex_unlock(&mu);
	*pe = e;
	return OK;
}

CUresult cuEventRecord(CUevent e, CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	if (e == NULL || !e->alive) return INVALID_HANDLE;
	op *o = calloc(1, sizeof *o);
	o->kind = OP_EVENT;
	o->ev = e;
	pthread_mutex_lock(&mu);
	o->seq = ++e->recorded;
	pthread_mutex_unlock(&mu);
	enqueue(s, o);
	return OK;
}

CUresult cuEventSynchronize(CUevent e) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (e == NULL || !e->alive) return INVALID_HANDLE;
	pthread_mutex_lock(&mu);
	while (e->completed < e->recorded) pthread_cond_wait(&evcond, &mu);
	pthread_mutex_unlock(&mu);
	return OK;
}

CUresult cuEventDestroy_v2(CUevent e) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (e == NULL || !e->alive) return INVALID_HANDLE;
	e->alive = 0; // kept: the worker may still complete a record of it
	pthread_mutex_lock(&mu);
	n_events--;
	pthread_mutex_unlock(&mu);
	return OK;
}

// ---- modules and launches ----

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
	pthread_mutex_lock(&mu);
	n_modules++;
	pthread_mutex_unlock(&mu);
	return OK;
}

CUresult cuModuleUnload(CUmodule m) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	free(m->ptx);
	free(m);
	pthread_mutex_lock(&mu);
	n_modules--;
	pthread_mutex_unlock(&mu);
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

// A kernel launch as the fake records it: the parameter values read with
// their PTX sizes.
typedef struct launch {
	CUfunction f;
	unsigned int dims[6], shmem;
	int n;
	int size[MAXP];
	unsigned long long val[MAXP];
} launch;

// read_launch fills l from a launch's arguments.
static CUresult read_launch(launch *l, CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem, void **params, void **extra) {
	if (f == NULL || extra != NULL || gx == 0 || gy == 0 || gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024) return INVALID_VALUE;
	l->f = f;
	unsigned int d[6] = {gx, gy, gz, bx, by, bz};
	memcpy(l->dims, d, sizeof d);
	l->shmem = shmem;
	char pat[160];
	snprintf(pat, sizeof pat, ".entry %s(", f->name);
	const char *p = strstr(f->ptx, pat) + strlen(pat);
	const char *end = strchr(p, ')');
	l->n = 0;
	for (; (p = strstr(p, ".param ")) != NULL && p < end; l->n++) {
		if (l->n == MAXP) return INVALID_VALUE;
		p += strlen(".param ");
		l->size[l->n] = strncmp(p, ".u64", 4) == 0 ? 8 : 4;
		l->val[l->n] = 0;
		memcpy(&l->val[l->n], params[l->n], l->size[l->n]);
	}
	return OK;
}

// format_launch appends l's log line to buf (at least 4096 bytes free).
static int format_launch(char *buf, size_t cap, const launch *l) {
	int len = snprintf(buf, cap, "%s %u %u %u %u %u %u %u 1", l->f->name, l->dims[0], l->dims[1], l->dims[2],
		l->dims[3], l->dims[4], l->dims[5], l->shmem);
	for (int i = 0; i < l->n; i++) {
		if (l->size[i] == 8) len += snprintf(buf + len, cap - len, " %016llx", l->val[i]);
		else len += snprintf(buf + len, cap - len, " %08x", (unsigned int)l->val[i]);
	}
	len += snprintf(buf + len, cap - len, "\n");
	return len;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
		unsigned int bx, unsigned int by, unsigned int bz, unsigned int shmem,
		CUstream s, void **params, void **extra) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	launch l;
	if ((r = read_launch(&l, f, gx, gy, gz, bx, by, bz, shmem, params, extra)) != OK) return r;
	op *o = calloc(1, sizeof *o);
	o->kind = OP_LOG;
	o->text = malloc(4096);
	format_launch(o->text, 4096, &l);
	enqueue(s, o);
	return OK;
}

// ---- graphs ----

typedef struct {
	CUfunction func;
	unsigned int gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes;
	void **kernelParams;
	void **extra;
	void *kern;   // v2 only
	CUcontext ctx; // v2 only
} CUDA_KERNEL_NODE_PARAMS; // the v2 layout (CUDA 12.0 on); v1 is the fields up to extra

struct CUgraph_st;
typedef struct CUgraphNode_st { struct CUgraph_st *g; int idx; launch l; } *CUgraphNode;
typedef struct CUgraph_st { int alive, id, n, cap; CUgraphNode *nodes; int **deps; int *ndeps; } *CUgraph;
typedef struct CUgraphExec_st { int alive; CUgraph g; int n; int *order; launch *ls; } *CUgraphExec;
static int graph_ids;

CUresult cuGraphCreate(CUgraph *pg, unsigned int flags) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (flags != 0) return INVALID_VALUE;
	CUgraph g = calloc(1, sizeof *g);
	g->alive = 1;
	pthread_mutex_lock(&mu);
	g->id = ++graph_ids;
	n_graphs++;
	pthread_mutex_unlock(&mu);
	*pg = g;
	return OK;
}

CUresult cuGraphAddKernelNode_v2(CUgraphNode *pn, CUgraph g, const CUgraphNode *deps, size_t ndeps, const CUDA_KERNEL_NODE_PARAMS *p) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (p != NULL && (p->kern != NULL || p->ctx != NULL)) return INVALID_VALUE; // cudadrv sets func only
	if (g == NULL || !g->alive) return INVALID_HANDLE;
	if (p == NULL || (ndeps > 0 && deps == NULL)) return INVALID_VALUE;
	for (size_t i = 0; i < ndeps; i++) {
		if (deps[i] == NULL || deps[i]->g != g) return INVALID_VALUE;
	}
	CUgraphNode n = calloc(1, sizeof *n);
	if ((r = read_launch(&n->l, p->func, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
			p->blockDimZ, p->sharedMemBytes, p->kernelParams, p->extra)) != OK) {
		free(n);
		return r;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->nodes = realloc(g->nodes, g->cap * sizeof *g->nodes);
		g->deps = realloc(g->deps, g->cap * sizeof *g->deps);
		g->ndeps = realloc(g->ndeps, g->cap * sizeof *g->ndeps);
	}
	n->g = g;
	n->idx = g->n;
	g->nodes[g->n] = n;
	g->ndeps[g->n] = (int)ndeps;
	g->deps[g->n] = calloc(ndeps + 1, sizeof(int));
	for (size_t i = 0; i < ndeps; i++) g->deps[g->n][i] = deps[i]->idx;
	g->n++;
	*pn = n;
	return OK;
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec *pe, CUgraph g, unsigned long long flags) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (g == NULL || !g->alive) return INVALID_HANDLE;
	if (flags != 0) return INVALID_VALUE;
	CUgraphExec e = calloc(1, sizeof *e);
	e->alive = 1;
	e->g = g;
	e->n = g->n;
	e->order = calloc(g->n + 1, sizeof(int));
	e->ls = calloc(g->n + 1, sizeof(launch));
	int *done = calloc(g->n + 1, sizeof(int));
	// Kahn's algorithm, taking the last added ready node each time.
	for (int k = 0; k < g->n; k++) {
		int pick = -1;
		for (int i = g->n - 1; i >= 0 && pick < 0; i--) {
			if (done[i]) continue;
			int ready = 1;
			for (int j = 0; j < g->ndeps[i]; j++) ready &= done[g->deps[i][j]];
			if (ready) pick = i;
		}
		done[pick] = 1;
		e->order[k] = pick;
		e->ls[pick] = g->nodes[pick]->l;
	}
	free(done);
	pthread_mutex_lock(&mu);
	n_execs++;
	pthread_mutex_unlock(&mu);
	*pe = e;
	return OK;
}

CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec e, CUgraphNode n, const CUDA_KERNEL_NODE_PARAMS *p) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (p != NULL && (p->kern != NULL || p->ctx != NULL)) return INVALID_VALUE;
	if (e == NULL || !e->alive || n == NULL || n->g != e->g || n->idx >= e->n) return INVALID_HANDLE;
	if (p == NULL || p->func != e->ls[n->idx].f) return INVALID_VALUE; // the kernel cannot change
	launch l;
	if ((r = read_launch(&l, p->func, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
			p->blockDimZ, p->sharedMemBytes, p->kernelParams, p->extra)) != OK) return r;
	e->ls[n->idx] = l;
	char line[64];
	snprintf(line, sizeof line, "#set %d %d\n", e->g->id, n->idx);
	write_log(line);
	return OK;
}

// The v1 entry points exist beside the _v2 ones, as in CUDA 12 and 13
// drivers; cudadrv must take the _v2 where there is one.
CUresult cuGraphAddKernelNode(CUgraphNode *pn, CUgraph g, const CUgraphNode *deps, size_t ndeps, const CUDA_KERNEL_NODE_PARAMS *p) {
	return NOT_FOUND;
}

CUresult cuGraphExecKernelNodeSetParams(CUgraphExec e, CUgraphNode n, const CUDA_KERNEL_NODE_PARAMS *p) {
	return NOT_FOUND;
}

CUresult cuGraphLaunch(CUgraphExec e, CUstream s) {
	CUresult r = need_stream(s);
	if (r != OK) return r;
	if (e == NULL || !e->alive) return INVALID_HANDLE;
	size_t cap = 4096 * (size_t)(e->n + 1), len = 0;
	op *o = calloc(1, sizeof *o);
	o->kind = OP_LOG;
	o->text = malloc(cap);
	o->text[0] = 0;
	for (int k = 0; k < e->n; k++) len += format_launch(o->text + len, cap - len, &e->ls[e->order[k]]);
	enqueue(s, o);
	return OK;
}

CUresult cuGraphExecDestroy(CUgraphExec e) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (e == NULL || !e->alive) return INVALID_HANDLE;
	e->alive = 0; // kept: a stale handle must stay detectable
	pthread_mutex_lock(&mu);
	n_execs--;
	pthread_mutex_unlock(&mu);
	return OK;
}

CUresult cuGraphDestroy(CUgraph g) {
	CUresult r = need_ctx();
	if (r != OK) return r;
	if (g == NULL || !g->alive) return INVALID_HANDLE;
	g->alive = 0;
	pthread_mutex_lock(&mu);
	n_graphs--;
	pthread_mutex_unlock(&mu);
	return OK;
}
