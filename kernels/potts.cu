// potts.cu — kernels of the fully connected Potts model (bmDCA):
//   potts_gibbs_f32  sequential site-by-site Gibbs sweeps over R independent
//                    chains of L categorical sites with Q states (one-hot rows)
//   potts_grad_f32   out = F − alpha·X, zero on the Q×Q diagonal blocks when
//                    Q > 0: the coupling (or field) gradient f_data − f_model
//
// Contracts: kernels/potts.go (PottsGibbs, PottsGrad), bit for bit up to expf.
//
// States are one-hot rows of N = L·Q floats: unit i·Q + a is 1 when site i
// is in state a. The couplings are an N×N matrix W with W[iQ+a, jQ+b] =
// J_ij(a, b) (symmetric, zero diagonal blocks) and the fields a vector b of N.
//
// potts_gibbs_f32: one block of POTTS_BLOCK threads per chain, grid (R, 1, 1).
// The chain's codes live in shared memory (L ≤ POTTS_MAX_SITES). Sites are
// visited in order 0..L−1, as sequential Gibbs sampling requires; for site i
// thread t computes the logits of states a = t, t+POTTS_BLOCK, …:
//   u_a = b[iQ+a] + Σ_{j≠i, increasing j} W[iQ+a, jQ+s_j]
// (float32 adds in that order), then thread 0 draws the new state from the
// softmax with one uniform: m = max_a u_a, w_a = expf(u_a − m), z = Σ_a w_a
// (increasing a), t = r·z, the smallest a with t < Σ_{c≤a} w_c, or the
// largest a with w_a > 0 when rounding leaves t at or above the total. The
// uniform of site i of chain r in sweep k is element (k·R + r)·L + i of the
// Philox stream (seed, op, step) — the convention of models.Potts.Gibbs.
// Reading W costs Q·L floats per site (row iQ+a, strided by Q: gathered).
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/potts.ptx
#include "philox.cuh"

#define POTTS_BLOCK 32
#define POTTS_MAX_SITES 4096
#define POTTS_MAX_STATES 256

extern "C" __global__ void potts_gibbs_f32(int R, int L, int Q, int sweeps, const float* __restrict__ X,
                                           const float* __restrict__ W, const float* __restrict__ b,
                                           float* __restrict__ S, unsigned long long seed, unsigned int op,
                                           unsigned long long step) {
    __shared__ short code[POTTS_MAX_SITES];
    __shared__ float u[POTTS_MAX_STATES];
    const int r = blockIdx.x;
    const int t = threadIdx.x;
    if (r >= R) return;  // uniform over the block: no barrier is skipped by part of it
    const int N = L * Q;
    const float* x = X + (long long)r * N;
    float* s = S + (long long)r * N;
    // The state of site i is the first unit of its block at or above ½ (0 if none).
    for (int i = t; i < L; i += POTTS_BLOCK) {
        int c = 0;
        for (int a = Q - 1; a >= 0; a--)
            if (x[i * Q + a] >= 0.5f) c = a;
        code[i] = (short)c;
    }
    __syncthreads();
    for (int sw = 0; sw < sweeps; sw++) {
        for (int i = 0; i < L; i++) {
            for (int a = t; a < Q; a += POTTS_BLOCK) {
                const float* w = W + (long long)(i * Q + a) * N;
                float acc = b[i * Q + a];
                for (int j = 0; j < L; j++)
                    if (j != i) acc += w[j * Q + code[j]];
                u[a] = acc;
            }
            __syncthreads();
            if (t == 0) {
                float m = u[0];
                for (int a = 1; a < Q; a++) m = fmaxf(m, u[a]);
                float z = 0.0f;
                for (int a = 0; a < Q; a++) {
                    u[a] = expf(u[a] - m);
                    z += u[a];
                }
                unsigned long long e = ((unsigned long long)sw * R + r) * L + i;
                float target = philox_uniform(seed, op, step, e) * z;
                float c = 0.0f;
                int pick = -1, last = 0;
                for (int a = 0; a < Q; a++) {
                    c += u[a];
                    if (target < c) {
                        pick = a;
                        break;
                    }
                    if (u[a] > 0.0f) last = a;
                }
                code[i] = (short)(pick >= 0 ? pick : last);
            }
            __syncthreads();
        }
    }
    for (int k = t; k < N; k += POTTS_BLOCK) s[k] = (code[k / Q] == k % Q) ? 1.0f : 0.0f;
}

// potts_grad_f32: over n = rows·cols elements, out[k] = F[k] − alpha·X[k]
// (product and difference rounded separately), or 0 where Q > 0 and row
// k/cols and column k%cols fall in one site's Q×Q block. Grid-stride,
// block (256, 1, 1).
extern "C" __global__ void potts_grad_f32(int n, int cols, int Q, float alpha, const float* __restrict__ F,
                                          const float* __restrict__ X, float* __restrict__ out) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < n;
         k += (long long)blockDim.x * gridDim.x) {
        int row = (int)(k / cols), col = (int)(k % cols);
        out[k] = (Q > 0 && row / Q == col / Q) ? 0.0f : F[k] - alpha * X[k];
    }
}
