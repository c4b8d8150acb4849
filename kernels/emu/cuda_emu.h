// cuda_emu.h — just enough of CUDA C for kernels/*.cu to compile as host C++
// and run on CPU threads. Included by emu.cc before the .cu files.
//
// Execution model (see emu.cc): a launch runs its blocks one at a time, in
// order of linear block index; within a block each CUDA thread is a fiber
// (ucontext) on the calling OS thread, resumed in threadIdx order, and
// __syncthreads() switches back to the scheduler — a barrier over the block.
// Because __shared__ is mapped to `static`, all threads of the running block
// share it — and so would two blocks or two launches running at once, which
// is why blocks are sequential and launches are serialised by a global lock.
//
// Semantics kept: integer ops are the same; float + - * / are IEEE single
// precision, unfused (compile with -ffp-contract=off; the PTX is built with
// -fmad=false); fmaf is correctly rounded on both. Not the same bits:
// expf/log1pf (CUDA's are within 2 ulp, glibc's within 1). Not emulated:
// warp-level intrinsics (shuffles, votes), inline PTX, textures, streams;
// kernels using them must keep an emulable twin (DESIGN.md).
//
// A thread that returns early counts as arrived at every later
// __syncthreads of its block (so a kernel that returns before a barrier does
// not deadlock here; on a GPU that pattern is undefined behaviour — avoid).
#ifndef RBMGPU_CUDA_EMU_H
#define RBMGPU_CUDA_EMU_H

#include <math.h>
#include <stddef.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __shared__ static
#define __constant__ static const
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};
// float4 as in CUDA: 16-byte aligned, so that the kernels' float4 loads and
// stores (through reinterpret_cast, only at 16-byte aligned addresses) are
// the same accesses here.
struct __attribute__((aligned(16))) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

// The scheduler sets threadIdx/blockIdx before resuming each fiber; the launch
// shape is fixed during a launch. (thread_local so that nothing breaks if a
// future scheduler spreads blocks over OS threads.)
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;

void __syncthreads();  // emu.cc

inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

// Atomics: GCC builtins on the host, sequentially consistent (stronger than
// CUDA's relaxed device atomics, which is fine for emulation). They return
// the old value, as in CUDA. With fibers the interleaving is deterministic, so
// atomics give the same result every run here — unlike on a GPU.
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicAdd(float* p, float v) {
    float old, want;
    __atomic_load(p, &old, __ATOMIC_SEQ_CST);
    do {
        want = old + v;
    } while (!__atomic_compare_exchange(p, &old, &want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old;
}
inline int atomicMax(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline int atomicMin(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline int atomicCAS(int* p, int compare, int v) {
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
inline unsigned int atomicCAS(unsigned int* p, unsigned int compare, unsigned int v) {
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#endif  // RBMGPU_CUDA_EMU_H
