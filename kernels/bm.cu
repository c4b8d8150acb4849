// bm.cu — kernels of the general Boltzmann machine (Hinton & Sejnowski):
//   bm_gibbs_f32  sequential Gibbs sweeps (or mean-field updates) over the
//                 units of R independent chains of an N-unit machine
//   bm_mask_f32   out = G ⊙ M, the gradient restricted to the allowed connections
//
// Contracts: kernels/bm.go (BMGibbs, BMMask), bit for bit up to expf.
//
// bm_gibbs_f32: one block of BM_BLOCK threads per chain row, grid (R, 1, 1).
// Units are visited in order, as sequential Gibbs sampling requires (a unit's
// conditional depends on the units sampled before it); the parallelism is the
// dot product of unit i's weight row with the row's state: thread t sums the
// products of columns t, t+BM_BLOCK, … into a register, the block reduces the
// partial sums with a shared-memory tree, and thread 0 draws. The state row
// stays in global memory: N is arbitrary, and after __syncthreads every thread
// of the block sees thread 0's write (the block is the only writer of its row).
// Every unit costs two barriers plus log2(BM_BLOCK) in the tree; sweeps of
// small machines are latency-bound, large ones read W once per unit per row
// (row-major, coalesced).
//
// Floating point: products and sums rounded separately (-fmad=false), in the
// order the Go twin uses; the uniform of unit i of row r in sweep k is element
// (k·R + r)·N + i of Philox stream (seed, op, step).
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/bm.ptx
#include "philox.cuh"

#define BM_BLOCK 128

extern "C" __global__ void bm_gibbs_f32(int R, int N, int Nin, int first, int sweeps, int meanField,
                                        const float* __restrict__ X, const float* __restrict__ W,
                                        const float* __restrict__ b, float* __restrict__ S,
                                        unsigned long long seed, unsigned int op,
                                        unsigned long long step) {
    __shared__ float red[BM_BLOCK];
    const int r = blockIdx.x;
    const int t = threadIdx.x;
    if (r >= R) return;  // uniform over the block: no barrier is skipped by part of it
    float* s = S + (long long)r * N;
    const float* x = X + (long long)r * Nin;
    const float init = meanField ? 0.5f : 0.0f;
    for (int j = t; j < N; j += BM_BLOCK) s[j] = j < Nin ? x[j] : init;
    __syncthreads();
    for (int sw = 0; sw < sweeps; sw++) {
        for (int i = first; i < N; i++) {
            const float* w = W + (long long)i * N;
            float acc = 0.0f;
            for (int j = t; j < N; j += BM_BLOCK) acc += w[j] * s[j];
            red[t] = acc;
            __syncthreads();
            for (int stride = BM_BLOCK / 2; stride > 0; stride >>= 1) {
                if (t < stride) red[t] += red[t + stride];
                __syncthreads();
            }
            if (t == 0) {
                float p = 1.0f / (1.0f + expf(-(b[i] + red[0])));
                if (meanField) {
                    s[i] = p;
                } else {
                    unsigned long long e = ((unsigned long long)sw * R + r) * N + i;
                    s[i] = philox_uniform(seed, op, step, e) < p ? 1.0f : 0.0f;
                }
            }
            __syncthreads();
        }
    }
}

// bm_mask_f32: out[i] = G[i] * M[i]; grid-stride, block (256, 1, 1).
extern "C" __global__ void bm_mask_f32(int n, const float* __restrict__ G, const float* __restrict__ M,
                                       float* __restrict__ out) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x)
        out[i] = G[i] * M[i];
}
