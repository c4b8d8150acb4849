// pt.cu — parallel tempering (replica exchange) for the negative phase of a
// Bernoulli RBM (Desjardins et al. 2010; Cho et al. 2010). R replicas of C
// chains each are stacked as M = R·C rows, replica r in rows r·C … r·C+C−1,
// at inverse temperature beta[r] (beta scales the whole energy: W, b, c).
//
//   pt_sample_f32  S[i,j] = u < σ(beta[i/C]·A[i,j]): tempered Bernoulli draw
//                  from pre-activations A (= X·W + bias, one gemm)
//   pt_energy_f32  E[i] = −(b·X[i] + Σ_j H[i,j]·A[i,j]), the joint energy
//                  −(vᵀWh + bᵀv + cᵀh) of row i, with A = X·W + c
//   pt_swap_f32    neighbour swaps (q, q+1) for q ≡ step (mod 2): Metropolis
//                  min(1, exp((β_q − β_{q+1})(E_q − E_{q+1}))) per chain column
//   pt_accept_f32  running counts of accepted and attempted swaps per pair
//   pt_rows_f32    Out[i] = X[i], i < n: the β = 1 replica's rows (a prefix)
//
// Contracts: kernels/pt.go (PTSample, PTEnergy, PTSwap, PTAccept), bit for
// bit up to expf. The swap of pair q in column c draws element q·C + c of
// Philox stream (seed, op, step); pt_swap_f32 and pt_accept_f32 draw the same
// uniform, so the counts are those of the swaps made.
//
// All are grid-stride loops over block (256, 1, 1): any grid is correct.
// Floating point: every product and sum rounded to float32 in the order
// written (-fmad=false; the emulator has fp-contract off).
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/pt.ptx
#include "philox.cuh"

#define PT_LOOP(i, n)                                                             \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

extern "C" __global__ void pt_sample_f32(int M, int N, int C, const float* __restrict__ A,
                                         const float* __restrict__ beta, float* __restrict__ S,
                                         unsigned long long seed, unsigned int op,
                                         unsigned long long step) {
    const long long n = (long long)M * N;
    PT_LOOP(i, n) {
        const int r = (int)((i / N) / C);
        const float x = beta[r] * A[i];
        const float p = 1.0f / (1.0f + expf(-x));
        S[i] = philox_uniform(seed, op, step, (unsigned long long)i) < p ? 1.0f : 0.0f;
    }
}

extern "C" __global__ void pt_energy_f32(int M, int V, int H, const float* __restrict__ X,
                                         const float* __restrict__ A, const float* __restrict__ Hs,
                                         const float* __restrict__ b, float* __restrict__ E) {
    PT_LOOP(i, M) {
        const float* x = X + i * V;
        const float* a = A + i * H;
        const float* h = Hs + i * H;
        float acc = 0.0f;
        for (int k = 0; k < V; k++) acc = acc + b[k] * x[k];
        for (int j = 0; j < H; j++) acc = acc + h[j] * a[j];
        E[i] = -acc;
    }
}

// pt_partner returns the replica row r swaps with at this step's parity, or
// −1 when r is not in an attempted pair; *q is the pair's lower replica.
__device__ static int pt_partner(int r, int R, unsigned long long step, int* q) {
    const int parity = (int)(step & 1ULL);
    if (((r - parity) & 1) == 0) {
        *q = r;
        return r + 1 < R ? r + 1 : -1;
    }
    *q = r - 1;
    return r - 1 >= 0 ? r - 1 : -1;
}

// pt_accepts reports whether pair (q, q+1) swaps in chain column c.
__device__ static bool pt_accepts(int q, int c, int C, const float* E, const float* beta,
                                  unsigned long long seed, unsigned int op, unsigned long long step) {
    const float d = (beta[q] - beta[q + 1]) * (E[q * C + c] - E[(q + 1) * C + c]);
    const float u = philox_uniform(seed, op, step, (unsigned long long)q * C + c);
    return u < expf(d);
}

extern "C" __global__ void pt_swap_f32(int R, int C, int V, const float* __restrict__ X,
                                       const float* __restrict__ E, const float* __restrict__ beta,
                                       float* __restrict__ Y, unsigned long long seed, unsigned int op,
                                       unsigned long long step) {
    const long long n = (long long)R * C * V;
    PT_LOOP(i, n) {
        const int row = (int)(i / V);
        const int k = (int)(i - (long long)row * V);
        const int r = row / C, c = row - r * C;
        int q;
        int src = r;
        const int p = pt_partner(r, R, step, &q);
        if (p >= 0 && pt_accepts(q, c, C, E, beta, seed, op, step)) src = p;
        Y[i] = X[((long long)src * C + c) * V + k];
    }
}

// pt_accept_f32: Out[q] = In[q] + swaps of pair q accepted at this step and
// Out[R−1+q] = In[R−1+q] + C when pair q was attempted (q < R−1).
extern "C" __global__ void pt_accept_f32(int R, int C, const float* __restrict__ E,
                                         const float* __restrict__ beta, const float* __restrict__ In,
                                         float* __restrict__ Out, unsigned long long seed,
                                         unsigned int op, unsigned long long step) {
    PT_LOOP(q, R - 1) {
        float acc = In[q], tried = In[R - 1 + q];
        if ((((int)q - (int)(step & 1ULL)) & 1) == 0) {
            for (int c = 0; c < C; c++)
                if (pt_accepts((int)q, c, C, E, beta, seed, op, step)) acc += 1.0f;
            tried += (float)C;
        }
        Out[q] = acc;
        Out[R - 1 + q] = tried;
    }
}

extern "C" __global__ void pt_rows_f32(int n, const float* __restrict__ X, float* __restrict__ Out) {
    PT_LOOP(i, n) Out[i] = X[i];
}
