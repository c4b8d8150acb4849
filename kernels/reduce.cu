// reduce.cu — deterministic reductions for an RBM training step:
//   col_sum_f32          bias gradients: out[j] = alpha * sum_i X[i,j] + beta * out[j]
//   sq_diff_partial_f32  reconstruction error, pass 1: per-block sums of (a-b)^2
//   sum_f32              pass 2 (one block): out[0] = alpha * sum_i X[i]
//   free_energy_f32      per-row RBM free energy from the hidden pre-activations
//
// Determinism: no atomics. Every thread sums a fixed, strided subset in order,
// then the block combines the partial sums with a fixed shared-memory tree
// (no warp shuffles, so the emulator runs it as is). For a given launch
// geometry the result is the same bits on every run and every GPU, and equal
// to the emulator's. Different geometries sum in a different order and can
// differ by rounding; the geometries are fixed in kernels/launch.go.
//
// Block shape rules: blockDim.x (times blockDim.y for col_sum_f32) <= 256 =
// RED_MAX_THREADS, and the dimension reduced by the tree is a power of two.
//
// Floating point: as gemm.cu — explicit fmaf where we want fused, otherwise
// unfused IEEE ops (PTX built with -fmad=false, emulator with
// -ffp-contract=off). expf/log1pf may differ by an ulp or two from glibc's.
//
// Build: bash kernels/tools/gen-ptx.sh (go generate ./kernels) -> ptx/reduce.ptx

#define RED_MAX_THREADS 256

// block_tree_sum halves the active range each step: red[t] += red[t + h].
// All threads of the block must call it (it contains barriers); n is the
// number of entries, a power of two; stride spaces the entries (used by
// col_sum_f32 to reduce along y while x stays independent).
static __device__ __forceinline__ void block_tree_sum(float* red, int t, int n, int stride) {
    for (int h = n / 2; h > 0; h /= 2) {
        if (t < h) red[t * stride] = red[t * stride] + red[(t + h) * stride];
        __syncthreads();
    }
}

// col_sum_f32: column sums of the row-major M x N matrix X, for bias
// gradients (alpha = 1/M gives the mean; beta = 1 accumulates, so
// mean(v0) - mean(vk) is two launches with alpha = 1/M then -1/M). out is not
// read when beta == 0.
// Launch: block (32, 8, 1), grid (ceil(N/32), 1, 1); threadIdx.x picks the
// column (coalesced reads across a row), threadIdx.y a stride-8 set of rows.
extern "C" __global__ void col_sum_f32(int M, int N, float alpha, const float* __restrict__ X,
                                       float beta, float* out) {
    __shared__ float red[RED_MAX_THREADS];
    const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x, by = blockDim.y;
    const int j = blockIdx.x * bx + tx;
    float s = 0.0f;
    if (j < N)
        for (int i = ty; i < M; i += by) s = s + X[(long long)i * N + j];
    red[ty * bx + tx] = s;
    __syncthreads();
    block_tree_sum(red + tx, ty, by, bx);
    if (ty == 0 && j < N) {
        float r = alpha * red[tx];
        if (beta != 0.0f) r = r + beta * out[j];
        out[j] = r;
    }
}

// sq_diff_partial_f32: partial[b] = sum over this block's grid-stride share
// of (A[i] - B[i])^2. Pass 2 is sum_f32 over gridDim.x partials.
// Launch: block (256, 1, 1), grid (min(ceil(n/256), 256), 1, 1).
extern "C" __global__ void sq_diff_partial_f32(int n, const float* __restrict__ A,
                                               const float* __restrict__ B, float* partial) {
    __shared__ float red[RED_MAX_THREADS];
    const int t = threadIdx.x;
    float s = 0.0f;
    for (long long i = (long long)blockIdx.x * blockDim.x + t; i < n;
         i += (long long)blockDim.x * gridDim.x) {
        float d = A[i] - B[i];
        s = fmaf(d, d, s);
    }
    red[t] = s;
    __syncthreads();
    block_tree_sum(red, t, blockDim.x, 1);
    if (t == 0) partial[blockIdx.x] = red[0];
}

// sum_f32: out[0] = alpha * sum of X[0..n). One block only.
// Launch: block (256, 1, 1), grid (1, 1, 1).
extern "C" __global__ void sum_f32(int n, const float* __restrict__ X, float alpha, float* out) {
    __shared__ float red[RED_MAX_THREADS];
    const int t = threadIdx.x;
    float s = 0.0f;
    for (int i = t; i < n; i += blockDim.x) s = s + X[i];
    red[t] = s;
    __syncthreads();
    block_tree_sum(red, t, blockDim.x, 1);
    if (t == 0) out[0] = alpha * red[0];
}

// softplus(x) = log(1 + e^x), written so that it neither overflows for large
// x nor loses everything for very negative x: max(x, 0) + log1p(e^-|x|).
static __device__ __forceinline__ float softplus_f32(float x) {
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

// free_energy_f32: per-row free energy of a Bernoulli-Bernoulli RBM,
//   F[i] = -sum_j V[i,j] * vbias[j] - sum_k softplus(X[i,k])
// where X = V W + hbias (M x Nh) is the hidden pre-activation, e.g. C of a
// gemm_f32 launch with GEMM_BIAS. V is M x Nv.
// Launch: block (256, 1, 1), grid (M, 1, 1); one block per row (grid-stride
// over rows if the grid is smaller).
extern "C" __global__ void free_energy_f32(int M, int Nv, int Nh, const float* __restrict__ V,
                                           const float* __restrict__ vbias,
                                           const float* __restrict__ X, float* __restrict__ F) {
    __shared__ float red_vb[RED_MAX_THREADS];
    __shared__ float red_sp[RED_MAX_THREADS];
    const int t = threadIdx.x, bd = blockDim.x;
    for (int i = blockIdx.x; i < M; i += gridDim.x) {  // uniform per block
        float vb = 0.0f, sp = 0.0f;
        for (int j = t; j < Nv; j += bd) vb = fmaf(V[(long long)i * Nv + j], vbias[j], vb);
        for (int k = t; k < Nh; k += bd) sp = sp + softplus_f32(X[(long long)i * Nh + k]);
        red_vb[t] = vb;
        red_sp[t] = sp;
        __syncthreads();
        for (int h = bd / 2; h > 0; h /= 2) {
            if (t < h) {
                red_vb[t] = red_vb[t] + red_vb[t + h];
                red_sp[t] = red_sp[t] + red_sp[t + h];
            }
            __syncthreads();
        }
        if (t == 0) F[i] = -red_vb[0] - red_sp[0];
        __syncthreads();  // red_* are reused by the next row
    }
}
