// grbm.cu — the kernels a Gaussian–Bernoulli RBM step needs beyond those of
// a Bernoulli RBM (Cho, Ilin & Raiko 2011 parameterisation, σ_i² = exp(z_i)):
//   scale_exp_neg_f32    Out[r,c] = X[r,c]·exp(−Z[c])       (v/σ², the hiddens' input)
//   gaussian_sample_f32  Out[r,c] = Mean[r,c] + exp(Z[c]/2)·n (n ~ N(0,1), Box–Muller on Philox)
//   logvar_grad_f32      the log-variance ascent direction, data minus model statistics
//   clamp_min_f32        X[i] = max(X[i], lo)               (the σ floor on the log variances)
//
// Elementwise kernels are grid-stride loops, so any grid is correct; the
// launch table (kernels/launch.go) uses block (256, 1, 1) and
// grid (min(ceil(n/256), 4096), 1, 1). logvar_grad_f32 has one thread per
// column and sums its rows serially in row order, so its result does not
// depend on the grid (and the Go twin, kernels.LogVarGrad, reproduces the
// order).
//
// Floating point: every operation rounded separately (-fmad=false), in the
// order written. expf/logf/cosf may differ from the Go twins by ≤ 2 ulp;
// sqrtf is correctly rounded on both.
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/grbm.ptx
#include "philox.cuh"

#define GRBM_GRID_STRIDE_LOOP(i, n)                                              \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

// scale_exp_neg_f32: Out[r*N+c] = X[r*N+c] * expf(-Z[c]) for an M×N X and
// an N-vector Z (the log variances): the data scaled by the precisions.
extern "C" __global__ void scale_exp_neg_f32(int M, int N, const float* __restrict__ X,
                                             const float* __restrict__ Z, float* __restrict__ Out) {
    long long n = (long long)M * N;
    GRBM_GRID_STRIDE_LOOP(e, n) {
        Out[e] = X[e] * expf(-Z[e % N]);
    }
}

// gaussian_normal is the standard normal draw of element e of stream (seed,
// op, step): Box–Muller on the uniforms of words 2e and 2e+1 (one Philox
// block serves two elements), keeping the cosine branch:
//   u1 = 1 − uniform(2e) ∈ (0, 1],  u2 = uniform(2e+1) ∈ [0, 1)
//   n  = sqrtf(−2·logf(u1)) · cosf(6.2831855·u2)
static __device__ __forceinline__ float gaussian_normal(unsigned long long seed, unsigned int op,
                                                       unsigned long long step,
                                                       unsigned long long e) {
    float u1 = 1.0f - philox_uniform(seed, op, step, 2 * e);
    float u2 = philox_uniform(seed, op, step, 2 * e + 1);
    float r = sqrtf(-2.0f * logf(u1));
    return r * cosf(6.2831855f * u2);
}

// gaussian_sample_f32: Out[r*N+c] = Mean[r*N+c] + expf(0.5f*Z[c]) * n(e),
// e = r*N+c, with n the normal draw above: a sample of p(v | h) whose mean
// is Mean and whose per-column variance is exp(Z).
extern "C" __global__ void gaussian_sample_f32(int M, int N, const float* __restrict__ Mean,
                                               const float* __restrict__ Z, float* __restrict__ Out,
                                               unsigned long long seed, unsigned int op,
                                               unsigned long long step) {
    long long n = (long long)M * N;
    GRBM_GRID_STRIDE_LOOP(e, n) {
        float sd = expf(0.5f * Z[e % N]);
        float x = gaussian_normal(seed, op, step, (unsigned long long)e);
        Out[e] = Mean[e] + sd * x;
    }
}

// logvar_grad_f32: the ascent direction of the average log-likelihood in
// the log variances z, data statistics minus model statistics. With
// −∂F(v)/∂z_i = (v_i − b_i)²/(2σ_i²) − (v_i/σ_i²)·Σ_j W_ij p_j and
// WP = p Wᵀ (rows × N, p = p(h | v)):
//   t(v, wp) = 0.5·(v − b)² − v·wp                      (summed in row order)
//   Out[c]   = expf(−Z[c]) · (Σ_r t(V0, WP0)/B − Σ_r t(VK, WPK)/C)
// V0, WP0 are B×N (data), VK, WPK are C×N (model samples).
extern "C" __global__ void logvar_grad_f32(int B, int C, int N, const float* __restrict__ V0,
                                           const float* __restrict__ WP0, const float* __restrict__ VK,
                                           const float* __restrict__ WPK, const float* __restrict__ b,
                                           const float* __restrict__ Z, float* __restrict__ Out) {
    GRBM_GRID_STRIDE_LOOP(c, N) {
        float bc = b[c];
        float pos = 0.0f, neg = 0.0f;
        for (int r = 0; r < B; r++) {
            float v = V0[(long long)r * N + c];
            float d = v - bc;
            pos += 0.5f * (d * d) - v * WP0[(long long)r * N + c];
        }
        for (int r = 0; r < C; r++) {
            float v = VK[(long long)r * N + c];
            float d = v - bc;
            neg += 0.5f * (d * d) - v * WPK[(long long)r * N + c];
        }
        Out[c] = expf(-Z[c]) * (pos / (float)B - neg / (float)C);
    }
}

// clamp_min_f32: X[i] = lo where X[i] < lo (NaN stays NaN, so divergence
// is still seen).
extern "C" __global__ void clamp_min_f32(int n, float* __restrict__ X, float lo) {
    GRBM_GRID_STRIDE_LOOP(i, n) {
        if (X[i] < lo) X[i] = lo;
    }
}
