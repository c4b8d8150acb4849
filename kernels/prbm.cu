// prbm.cu — kernel of the Potts–Bernoulli RBM (categorical visible units,
// Bernoulli hidden units):
//   potts_visible_f32  per site of R rows of L sites with Q states: the
//                      softmax of the site's logits, drawn one-hot with one
//                      uniform (mode 0) or written as probabilities (mode 1)
//
// Contract: kernels/prbm.go (PottsVisible), bit for bit up to expf.
//
// A and S are R×N row-major, N = L·Q; the logits of site i of row r are
// u_a = A[r·N + i·Q + a] (the GEMM b + h Wᵀ of the step graph). One thread
// per site, grid-stride over e = r·L + i (site e's logits start at e·Q):
//   m = max_a u_a, w_a = expf(u_a − m), z = Σ_a w_a (increasing a);
//   mode 0: t = U(e)·z with U(e) = philox_uniform(seed, op, step, e), the
//           smallest a with t < Σ_{c≤a} w_c, or the largest a with w_a > 0
//           when rounding leaves t at or above the total (CategoricalF32);
//           S receives the state one-hot;
//   mode 1: S[e·Q + a] = w_a / z.
// The weights are recomputed (expf of the same argument) instead of stored,
// so a thread needs no per-site memory and any Q works.
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/prbm.ptx
#include "philox.cuh"

extern "C" __global__ void potts_visible_f32(int R, int L, int Q, int mode, const float* __restrict__ A,
                                             float* __restrict__ S, unsigned long long seed, unsigned int op,
                                             unsigned long long step) {
    long long n = (long long)R * L;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)blockDim.x * gridDim.x) {
        const float* u = A + e * Q;
        float* s = S + e * Q;
        float m = u[0];
        for (int a = 1; a < Q; a++) m = fmaxf(m, u[a]);
        float z = 0.0f;
        for (int a = 0; a < Q; a++) z += expf(u[a] - m);
        if (mode == 1) {
            for (int a = 0; a < Q; a++) s[a] = expf(u[a] - m) / z;
            continue;
        }
        float target = philox_uniform(seed, op, step, (unsigned long long)e) * z;
        float c = 0.0f;
        int pick = -1, last = 0;
        for (int a = 0; a < Q; a++) {
            float w = expf(u[a] - m);
            c += w;
            if (target < c) {
                pick = a;
                break;
            }
            if (w > 0.0f) last = a;
        }
        if (pick < 0) pick = last;
        for (int a = 0; a < Q; a++) s[a] = (a == pick) ? 1.0f : 0.0f;
    }
}
