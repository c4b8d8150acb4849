// elementwise.cu — one-pass elementwise kernels of an RBM training step:
//   sgd_update_f32   momentum SGD with L2 weight decay, parameter and velocity in place
//   bernoulli_f32    S[i] = philox_uniform(i) < P[i] (sampling outside a gemm epilogue)
//   philox_fill_f32  the raw stream: uniforms and/or 32-bit words (tests, dropout, init)
//   gather_rows_f32  dst row r = src row idx[r] (a mini-batch from device-resident data)
//
// All use grid-stride loops, so any grid is correct; the launch table
// (kernels/launch.go) uses block (256, 1, 1), grid (min(ceil(n/256), 4096), 1, 1).
//
// Floating point: each operation is rounded separately (PTX built with
// -fmad=false, emulator with -ffp-contract=off), in the order written, so
// the Go reference (kernels.SGDUpdate) reproduces the result bit for bit.
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/elementwise.ptx
#include "philox.cuh"

#define GRID_STRIDE_LOOP(i, n)                                                   \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

// sgd_update_f32: for each i, with every operation rounded to float32:
//   g      = grad[i] - weightDecay * param[i]
//   vel[i] = momentum * vel[i] + lr * g
//   param[i] = param[i] + vel[i]
// grad is the ascent direction (positive minus negative phase statistics),
// so lr > 0 increases the log-likelihood.
extern "C" __global__ void sgd_update_f32(int n, float* __restrict__ param, float* __restrict__ vel,
                                          const float* __restrict__ grad, float lr, float momentum,
                                          float weightDecay) {
    GRID_STRIDE_LOOP(i, n) {
        float p = param[i];
        float g = grad[i] - weightDecay * p;
        float v = momentum * vel[i] + lr * g;
        vel[i] = v;
        param[i] = p + v;
    }
}

// bernoulli_f32: S[i] = 1 if philox_uniform(seed, op, step, i) < P[i] else 0.
extern "C" __global__ void bernoulli_f32(int n, const float* __restrict__ P, float* __restrict__ S,
                                         unsigned long long seed, unsigned int op,
                                         unsigned long long step) {
    GRID_STRIDE_LOOP(i, n) {
        S[i] = philox_uniform(seed, op, step, (unsigned long long)i) < P[i] ? 1.0f : 0.0f;
    }
}

// philox_fill_f32: U[i] = uniform i and W[i] = word i of stream (seed, op,
// step); either output may be NULL.
extern "C" __global__ void philox_fill_f32(int n, float* __restrict__ U, unsigned int* __restrict__ W,
                                           unsigned long long seed, unsigned int op,
                                           unsigned long long step) {
    GRID_STRIDE_LOOP(i, n) {
        unsigned int w = philox_word(seed, op, step, (unsigned long long)i);
        if (U) U[i] = philox_to_uniform(w);
        if (W) W[i] = w;
    }
}

// gather_rows_f32: dst[r*cols + c] = src[idx[r]*cols + c] for r < rows,
// c < cols: the rows of one mini-batch, in the epoch's order idx, copied
// from training data resident in device memory. Every idx[r] must be a row
// of src (the caller checks the order when it uploads it). A copy, so the
// result is bit for bit the host's.
extern "C" __global__ void gather_rows_f32(int rows, int cols, const float* __restrict__ src,
                                           const unsigned int* __restrict__ idx,
                                           float* __restrict__ dst) {
    const long long n = (long long)rows * cols;
    GRID_STRIDE_LOOP(i, n) {
        long long r = i / cols, c = i - r * cols;
        dst[i] = src[(long long)idx[r] * cols + c];
    }
}
