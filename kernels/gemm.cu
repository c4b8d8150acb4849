// gemm.cu — tiled single-precision GEMM with the RBM epilogue fused in.
//
//   C = alpha * op(A) * op(B) + beta * C          (row-major, float32)
//   op(A) is M x K (A stored M x K, or K x M when transA != 0)
//   op(B) is K x N (B stored K x N, or N x K when transB != 0)
//
// followed, per output element (i, j), by the epilogue chosen with flags:
//   x = alpha*acc + beta*C[i,j]       (C is not read when beta == 0, BLAS-style,
//                                      so C may hold garbage or NaN then)
//   GEMM_BIAS     x = x + bias[j]     (row-broadcast bias, length N)
//   C[i,j] = x                        (unless GEMM_NO_C; C may be NULL then)
//   GEMM_SIGMOID  p = 1 / (1 + expf(-x)), else p = x
//   GEMM_WRITE_P  P[i,j] = p
//   GEMM_SAMPLE   S[i,j] = philox_uniform(seed, op, step, i*N + j) < p ? 1 : 0
//
// One launch therefore computes an RBM conditional in full: hidden
// pre-activations, probabilities and a Bernoulli sample, e.g.
//   h = sample(sigmoid(v W + c)):  M=batch, K=visible, N=hidden, transB=0
//   v = sample(sigmoid(h W^T + b)): M=batch, K=hidden, N=visible, transB=1
//   dW = v^T h:                     M=visible, K=batch, N=hidden, transA=1
//
// Launch (see kernels/launch.go): block (GEMM_TILE, GEMM_TILE, 1) = 256
// threads, grid (ceil(N/16), ceil(M/16), 1); thread (ty, tx) of block (by, bx)
// owns C[by*16 + ty, bx*16 + tx]. Any M, N, K >= 0 (ragged edges are padded
// with zeros in shared memory and masked on store).
//
// Floating point: the inner product uses explicit fmaf, one fused multiply-add
// per k in increasing k order within a tile, so the GPU (FFMA) and the CPU
// emulator (correctly rounded fmaf) give identical bits. Everything else is
// plain IEEE + - * / — the PTX is built with -fmad=false and the emulator with
// -ffp-contract=off, so neither side fuses behind our back. Only expf (CUDA:
// <= 2 ulp; glibc: < 1 ulp) may differ between GPU and emulator.
//
// This is the portable baseline (no warp shuffles, no tensor cores), which is
// what the emulator can run; a faster register-blocked variant must keep this
// contract and be checked against this one on a GPU.
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/gemm.ptx
#include "philox.cuh"

#define GEMM_TILE 16

// Epilogue flags (kernels.GemmBias etc. in Go must match).
#define GEMM_BIAS 1
#define GEMM_SIGMOID 2
#define GEMM_WRITE_P 4
#define GEMM_SAMPLE 8
#define GEMM_NO_C 16

extern "C" __global__ void gemm_f32(int M, int N, int K, float alpha, const float* __restrict__ A,
                                    const float* __restrict__ B, float beta, float* C, int transA,
                                    int transB, int flags, const float* __restrict__ bias,
                                    float* __restrict__ P, float* __restrict__ S,
                                    unsigned long long seed, unsigned int op,
                                    unsigned long long step) {
    // As[i][k] holds op(A) rows of this block, Bs[k][j] op(B) columns. The +1
    // padding keeps the transposed (column-wise) stores free of bank conflicts.
    __shared__ float As[GEMM_TILE][GEMM_TILE + 1];
    __shared__ float Bs[GEMM_TILE][GEMM_TILE + 1];

    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row0 = blockIdx.y * GEMM_TILE, col0 = blockIdx.x * GEMM_TILE;
    const int row = row0 + ty, col = col0 + tx;

    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_TILE) {
        // Loads are arranged so that consecutive tx read consecutive addresses
        // (coalesced) whichever way the operand is stored; transposed operands
        // are then written to shared memory transposed.
        if (!transA) {
            int i = row0 + ty, k = k0 + tx;  // A[i, k], M x K
            As[ty][tx] = (i < M && k < K) ? A[(long long)i * K + k] : 0.0f;
        } else {
            int k = k0 + ty, i = row0 + tx;  // A[k, i], K x M
            As[tx][ty] = (i < M && k < K) ? A[(long long)k * M + i] : 0.0f;
        }
        if (!transB) {
            int k = k0 + ty, j = col0 + tx;  // B[k, j], K x N
            Bs[ty][tx] = (k < K && j < N) ? B[(long long)k * N + j] : 0.0f;
        } else {
            int j = col0 + ty, k = k0 + tx;  // B[j, k], N x K
            Bs[tx][ty] = (k < K && j < N) ? B[(long long)j * K + k] : 0.0f;
        }
        __syncthreads();
        // Padding is zero, and fmaf(0, 0, acc) == acc exactly, so the ragged
        // last tile needs no special case.
#pragma unroll
        for (int kk = 0; kk < GEMM_TILE; kk++) acc = fmaf(As[ty][kk], Bs[kk][tx], acc);
        __syncthreads();  // before the next tile overwrites As/Bs
    }

    if (row >= M || col >= N) return;  // after the last barrier: safe
    const long long idx = (long long)row * N + col;
    float x = alpha * acc;
    if (beta != 0.0f) x = x + beta * C[idx];
    if (flags & GEMM_BIAS) x = x + bias[col];
    if (!(flags & GEMM_NO_C)) C[idx] = x;
    float p = x;
    if (flags & GEMM_SIGMOID) p = 1.0f / (1.0f + expf(-x));
    if (flags & GEMM_WRITE_P) P[idx] = p;
    if (flags & GEMM_SAMPLE)
        S[idx] = philox_uniform(seed, op, step, (unsigned long long)idx) < p ? 1.0f : 0.0f;
}
