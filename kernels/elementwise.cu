// elementwise.cu — one-pass elementwise kernels of an RBM training step:
//   sgd_update_f32   momentum SGD with L2 weight decay, parameter and velocity in place
//   l1_grad_f32      G[i] -= l1 * sign(X[i]) (the L1 penalty's subgradient, before the update)
//   bernoulli_f32    S[i] = philox_uniform(i) < P[i] (sampling outside a gemm epilogue)
//   philox_fill_f32  the raw stream: uniforms and/or 32-bit words (tests, dropout, init)
//   gather_rows_f32  dst row r = src row idx[r] (a mini-batch from device-resident data)
//   gather_rows_u8   the same from uint8 codes through a 256-entry table of their values
//   gather_rows_bits the same from bit-packed binary rows (0 or 1)
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

// l1_grad_f32: for each i, G[i] = G[i] - l1 * sign(X[i]), sign(0) = 0 (and
// NaN stays NaN through G): the subgradient of the L1 penalty −l1·Σ|X| added
// to the ascent direction G before the parameter update. l1 * sign is exact,
// so each element is rounded once.
extern "C" __global__ void l1_grad_f32(int n, float* __restrict__ G, const float* __restrict__ X,
                                       float l1) {
    GRID_STRIDE_LOOP(i, n) {
        float x = X[i];
        float s = x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        G[i] = G[i] - l1 * s;
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

// gather_rows_u8: dst[r*cols + c] = lut[code(idx[r]*cols + c)] for r < rows,
// c < cols, where code(e) is byte e of the resident codes, stored four to a
// 32-bit word, least significant byte first (byte e is bits 8·(e%4) … of
// word e/4): pixels kept as one byte each on the device, converted to
// float32 by the table while the mini-batch is gathered. A table lookup,
// so the result is bit for bit the host's conversion.
extern "C" __global__ void gather_rows_u8(int rows, int cols, const unsigned int* __restrict__ src,
                                          const unsigned int* __restrict__ idx,
                                          const float* __restrict__ lut, float* __restrict__ dst) {
    const long long n = (long long)rows * cols;
    GRID_STRIDE_LOOP(i, n) {
        long long r = i / cols, c = i - r * cols;
        long long e = (long long)idx[r] * cols + c;
        unsigned int code = (src[e >> 2] >> (8 * (unsigned int)(e & 3))) & 0xffu;
        dst[i] = lut[code];
    }
}

// gather_rows_bits: dst[r*cols + c] = 1 if bit c of resident row idx[r] is
// set, else 0, for r < rows, c < cols. Row q occupies wordsPerRow 32-bit
// words from word q·wordsPerRow; bit c is bit c%32 of its word c/32 (the
// host's 64-bit words, little-endian, read as pairs of 32-bit words).
extern "C" __global__ void gather_rows_bits(int rows, int cols, int wordsPerRow,
                                            const unsigned int* __restrict__ src,
                                            const unsigned int* __restrict__ idx,
                                            float* __restrict__ dst) {
    const long long n = (long long)rows * cols;
    GRID_STRIDE_LOOP(i, n) {
        long long r = i / cols, c = i - r * cols;
        unsigned int w = src[(long long)idx[r] * wordsPerRow + (c >> 5)];
        dst[i] = (float)((w >> (unsigned int)(c & 31)) & 1u);
    }
}
