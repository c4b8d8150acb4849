// emu.cc — the CPU emulator of kernels/*.cu: compiles the very same sources
// under cuda_emu.h and exposes a C launch API to Go (emu.go).
//
// The cu_*.h files here are symbolic links to ../*.cu and ../philox.cuh:
// cmd/go hashes header files in the package folder, so editing a .cu file
// rebuilds the emulator (it does not track includes from other folders).
// No contraction of a*b+c into fused multiply-adds: the PTX is built with
// -fmad=false, so the GPU rounds every product too. (cgo does not allow
// -ffp-contract=off as a flag; this pragma is the same for this file, and
// matters when CGO_CXXFLAGS select an FMA-capable -march.)
#pragma GCC optimize("fp-contract=off")
#include "cuda_emu.h"

#include "cu_bm.h"
#include "cu_elementwise.h"
#include "cu_gemm.h"
#include "cu_grbm.h"
#include "cu_potts.h"
#include "cu_prbm.h"
#include "cu_pt.h"
#include "cu_reduce.h"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <ucontext.h>
#include <utility>
#include <vector>

namespace {

// Each CUDA thread of the running block is a fiber (a ucontext with its own
// stack) on the one OS thread that called emu_launch. The scheduler resumes
// the fibers in threadIdx order; a fiber runs until it calls
// __syncthreads() or returns, so after one round every live thread is
// waiting at the barrier and the next round releases them all — barrier
// semantics, where a thread that has returned counts as arrived. Fibers cost
// a context switch per thread per barrier instead of an OS thread each, and
// the interleaving is deterministic (so are atomics' results).
constexpr size_t kFiberStack = 64 << 10;

struct Fiber {
    ucontext_t ctx;
    bool done;
};

ucontext_t sched_ctx;        // the scheduler's context
Fiber* fibers;               // the running block's fibers
int cur;                     // index of the running fiber
void (*cur_run)(void**);     // kernel of the running launch
void** cur_args;             // and its parameter array

void fiber_main() {
    cur_run(cur_args);
    fibers[cur].done = true;  // uc_link returns to the scheduler
}

std::mutex launch_mu;       // one launch at a time (shared memory is static)

template <typename T>
struct code;
template <> struct code<int> { static constexpr char c = 'i'; };
template <> struct code<unsigned int> { static constexpr char c = 'u'; };
template <> struct code<unsigned long long> { static constexpr char c = 'U'; };
template <> struct code<float> { static constexpr char c = 'f'; };
template <> struct code<float*> { static constexpr char c = 'F'; };
template <> struct code<const float*> { static constexpr char c = 'F'; };
template <> struct code<unsigned int*> { static constexpr char c = 'W'; };
template <> struct code<const unsigned int*> { static constexpr char c = 'W'; };

// call unpacks a cuLaunchKernel-style parameter array (args[i] points at
// the value of parameter i) into a typed call of kernel f.
template <typename... A, size_t... I>
void call(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<A*>(args[I])...);
}

template <typename... A>
constexpr size_t sizeof_args(void (*)(A...)) {
    return sizeof...(A);
}

template <typename... A>
std::string signature(void (*)(A...)) {
    return std::string{code<A>::c...};
}

struct Entry {
    const char* name;
    void (*run)(void**);
    std::string sig;
};

#define KERNEL(f) Entry{#f, [](void** a) { call(f, a, std::make_index_sequence<sizeof_args(f)>{}); }, signature(f)}

const std::vector<Entry>& table() {
    static const std::vector<Entry> t = {
        KERNEL(gemm_f32),
        KERNEL(gemm_f32_128x128),
        KERNEL(gemm_f32_64x64),
        KERNEL(col_sum_f32),
        KERNEL(sq_diff_partial_f32),
        KERNEL(sum_f32),
        KERNEL(free_energy_f32),
        KERNEL(sgd_update_f32),
        KERNEL(l1_grad_f32),
        KERNEL(bernoulli_f32),
        KERNEL(philox_fill_f32),
        KERNEL(gather_rows_f32),
        KERNEL(gather_rows_u8),
        KERNEL(gather_rows_bits),
        KERNEL(bm_gibbs_f32),
        KERNEL(bm_mask_f32),
        KERNEL(scale_exp_neg_f32),
        KERNEL(gaussian_sample_f32),
        KERNEL(logvar_grad_f32),
        KERNEL(clamp_min_f32),
        KERNEL(potts_gibbs_f32),
        KERNEL(potts_grad_f32),
        KERNEL(potts_visible_f32),
        KERNEL(pt_sample_f32),
        KERNEL(pt_energy_f32),
        KERNEL(pt_swap_f32),
        KERNEL(pt_accept_f32),
        KERNEL(pt_rows_f32),
    };
    return t;
}

const Entry* find(const char* name) {
    for (const Entry& e : table())
        if (std::strcmp(e.name, name) == 0) return &e;
    return nullptr;
}

}  // namespace

void __syncthreads() { swapcontext(&fibers[cur].ctx, &sched_ctx); }

extern "C" {

// emu_signature writes the argument codes of kernel name (see
// kernels.ArgType.Code) into buf; returns 0, or -1 if there is no such kernel.
int emu_signature(const char* name, char* buf, int buflen) {
    const Entry* e = find(name);
    if (!e) return -1;
    std::snprintf(buf, buflen, "%s", e->sig.c_str());
    return 0;
}

// emu_kernel_names writes the compiled kernels' names, space-separated.
void emu_kernel_names(char* buf, int buflen) {
    std::string s;
    for (const Entry& e : table()) {
        if (!s.empty()) s += ' ';
        s += e.name;
    }
    std::snprintf(buf, buflen, "%s", s.c_str());
}

// emu_launch runs kernel name over grid g and block b with a
// cuLaunchKernel-style parameter array. Returns 0, -1 for an unknown kernel,
// -2 for a bad shape.
int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz, void** args) {
    const Entry* e = find(name);
    if (!e) return -1;
    if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 || bx * by * bz > 1024) return -2;
    std::lock_guard<std::mutex> lk(launch_mu);
    gridDim = dim3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim = dim3{(unsigned)bx, (unsigned)by, (unsigned)bz};
    const int n = bx * by * bz;
    const long long blocks = (long long)gx * gy * gz;
    std::vector<Fiber> fs(n);
    std::vector<char> stacks((size_t)n * kFiberStack);
    fibers = fs.data();
    cur_run = e->run;
    cur_args = args;
    for (long long b = 0; b < blocks; b++) {
        blockIdx = uint3{(unsigned)(b % gx), (unsigned)(b / gx % gy), (unsigned)(b / ((long long)gx * gy))};
        for (int t = 0; t < n; t++) {
            Fiber& f = fs[t];
            f.done = false;
            getcontext(&f.ctx);
            f.ctx.uc_stack.ss_sp = stacks.data() + (size_t)t * kFiberStack;
            f.ctx.uc_stack.ss_size = kFiberStack;
            f.ctx.uc_link = &sched_ctx;
            makecontext(&f.ctx, fiber_main, 0);
        }
        for (int live = n; live > 0;) {  // one round per __syncthreads
            live = 0;
            for (int t = 0; t < n; t++) {
                if (fs[t].done) continue;
                cur = t;
                threadIdx = uint3{(unsigned)(t % bx), (unsigned)(t / bx % by), (unsigned)(t / (bx * by))};
                swapcontext(&sched_ctx, &fs[t].ctx);
                if (!fs[t].done) live++;
            }
        }
    }
    fibers = nullptr;
    return 0;
}

}  // extern "C"
