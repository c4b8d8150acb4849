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
// gemm_f32 is the portable baseline (no warp shuffles, no tensor cores).
// gemm_f32_128x128 and gemm_f32_64x64 below are register-blocked variants
// with the same parameters and the same contract to the bit (same fmaf
// order, the same epilogue function); the emulator runs them too, and its
// tests check them against gemm_f32 bit for bit.
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

// gemm_epilogue finishes output element idx = i*N + j (column j) from its
// accumulated sum acc: the contract above, shared by every GEMM kernel of
// this file so that they cannot differ in anything but how acc is summed.
static __device__ __forceinline__ void gemm_epilogue(long long idx, int col, float acc, float alpha,
                                                     float beta, float* C, int flags,
                                                     const float* __restrict__ bias,
                                                     float* __restrict__ P, float* __restrict__ S,
                                                     unsigned long long seed, unsigned int op,
                                                     unsigned long long step) {
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
    gemm_epilogue((long long)row * N + col, col, acc, alpha, beta, C, flags, bias, P, S, seed, op, step);
}

// ---------------------------------------------------------------------------
// Register-blocked kernels: the same contract (parameters, accumulation
// order, epilogue) as gemm_f32, faster on large products.
//
// A block of 16 x 16 threads computes a BM x BN tile of C (BM = 16*TM,
// BN = 16*TN); thread (ty, tx) owns TM x TN outputs held in registers:
// rows  row0 + 64*g + 4*ty + r  (g < TM/4, r < 4) and
// cols  col0 + 64*h + 4*tx + c  (h < TN/4, c < 4),
// so that the float4 fragments it reads from shared memory lie side by side
// with its neighbours' (a quarter-warp reads 128 contiguous bytes: no bank
// conflicts). The K dimension is walked in tiles of BK: As[k][i] and
// Bs[k][j] hold one tile of op(A) and op(B), k-major, in two buffers, so
// there is one barrier per tile: while the block multiplies one buffer,
// each thread loads its share of the next tile (one float4 of A, one of B:
// BM*BK = BN*BK = 4*256) into the other. With STAGED the loads are issued
// before the multiply and stored after it (in flight meanwhile); without,
// they are stored before it (8 live registers fewer; another resident
// block hides the latency). Rows are padded by GEMM_PAD floats (keeps
// float4 alignment; with BM = 128 the transposing stores of a
// non-transposed A are conflict-free too). The transposes are template
// parameters: four specialisations per kernel.
//
// Global loads are float4 when the operand is 16-byte aligned and its
// stored row length (K, M or N, per transpose) is a multiple of 4; else
// the same four elements are loaded one by one. Elements outside op(A) or
// op(B) are zero in shared memory.
//
// Bits: every output is acc = fmaf(a_k, b_k, acc) for k = 0, 1, ..., K-1 from
// acc = 0.0f, as in gemm_f32; the zero padding past K adds fmaf(0, 0, acc)
// == acc (acc is never -0: it starts at +0 and an exact zero sum rounds to
// +0). Then gemm_epilogue. So C, P and S equal gemm_f32's bit for bit.
//
// Launch (kernels/launch.go): block (16, 16, 1), grid (ceil(N/BN),
// ceil(M/BM), 1).
#define GEMM_BLK 16  // threads along each side of a blocked kernel's block
#define GEMM_PAD 4   // floats of padding per shared-memory row

// gemm_loader is one thread's share of the loads of an operand: four
// consecutive floats of memory per tile, which are four consecutive k
// (ALONG_K: A untransposed, B transposed) or four consecutive i or j at one
// k. Element e of the tile at k0 is p[e] (p already advanced to that tile)
// when k0 + e < klim (ALONG_K) or k0 < klim and e < nfix (else), and 0
// otherwise.
template <bool ALONG_K>
struct gemm_loader {
    const float* p;  // first element, at the current tile
    int klim;        // K minus the first element's k in a tile; 0 when it lies outside across k
    int nfix;        // elements inside the array across k (not ALONG_K): 0..4
    int s;           // shared-memory index (within one buffer) of the first element
    bool vec;        // one float4 load will do: p is 16-byte aligned in every tile
};

// gemm_make_loader sets up the loads of a rows x ld row-major array X whose
// element (r, c) this thread reads first, for tiles of k-major shared rows
// of length lds: along k, c is k and a tile advances c; else r is k and a
// tile advances r. k is the element's k and ij its i or j within the tile.
template <bool ALONG_K>
static __device__ __forceinline__ gemm_loader<ALONG_K> gemm_make_loader(const float* X, int rows, int ld,
                                                                        int r, int c, int K, int lds, int k,
                                                                        int ij) {
    gemm_loader<ALONG_K> L;
    L.p = X + (long long)r * ld + c;
    L.nfix = ALONG_K ? (r < rows ? 4 : 0) : (ld - c < 0 ? 0 : (ld - c > 4 ? 4 : ld - c));
    L.klim = L.nfix == 0 ? 0 : K - k;
    L.vec = ((unsigned long long)X & 15) == 0 && ld % 4 == 0;
    L.s = k * lds + ij;
    return L;
}

// gemm_fetch loads L's four elements of the tile at k0 into v and moves L
// on by step floats, to the next tile. With L.vec the four are inside or
// outside together (ld is a multiple of 4, and so are c and, along k, k),
// so one float4 load does.
template <bool ALONG_K>
static __device__ __forceinline__ void gemm_fetch(gemm_loader<ALONG_K>& L, int k0, long long step,
                                                  float v[4]) {
    if (L.vec) {
        if (k0 < L.klim) {
            const float4 q = *reinterpret_cast<const float4*>(L.p);
            v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
        } else {
            v[0] = v[1] = v[2] = v[3] = 0.0f;
        }
    } else {
#pragma unroll
        for (int e = 0; e < 4; e++)
            v[e] = (ALONG_K ? k0 + e < L.klim : k0 < L.klim && e < L.nfix) ? L.p[e] : 0.0f;
    }
    L.p += step;
}

// gemm_store writes v where L's elements go in the shared buffer buf, whose
// k-rows are lds floats long.
template <bool ALONG_K>
static __device__ __forceinline__ void gemm_store(const gemm_loader<ALONG_K>& L, float* buf, int lds,
                                                  const float v[4]) {
    if (ALONG_K) {
#pragma unroll
        for (int e = 0; e < 4; e++) buf[L.s + e * lds] = v[e];
    } else {
        *reinterpret_cast<float4*>(buf + L.s) = make_float4(v[0], v[1], v[2], v[3]);
    }
}

// gemm_blocked computes the BM x BN tile (blockIdx.y, blockIdx.x) of the
// product with op(A) = A^T when TA and op(B) = B^T when TB, as described
// above, in the shared array smem.
template <int BM, int BN, int BK, int TM, int TN, bool STAGED, bool TA, bool TB>
static __device__ __forceinline__ void gemm_blocked(float* smem, int M, int N, int K, float alpha,
                                                    const float* __restrict__ A,
                                                    const float* __restrict__ B, float beta, float* C,
                                                    int flags, const float* __restrict__ bias,
                                                    float* __restrict__ P, float* __restrict__ S,
                                                    unsigned long long seed, unsigned int op,
                                                    unsigned long long step) {
    static_assert(BM == GEMM_BLK * TM && BN == GEMM_BLK * TN, "one TM x TN sub-tile per thread");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "float4 fragments");
    static_assert(BM * BK == 4 * GEMM_BLK * GEMM_BLK && BN * BK == 4 * GEMM_BLK * GEMM_BLK,
                  "one float4 of A and one of B per thread per tile");
    // smem (GEMM_SMEM floats, 16-byte aligned) holds As[2][BK][BM +
    // GEMM_PAD], then Bs[2][BK][BN + GEMM_PAD]; the epilogue reuses all of it.
    constexpr int LDA = BM + GEMM_PAD, LDB = BN + GEMM_PAD, SMEM = 2 * BK * (LDA + LDB);
    float* const As = smem;                 // buffer b at As + b*BK*LDA
    float* const Bs = smem + 2 * BK * LDA;  // buffer b at Bs + b*BK*LDB

    const int tx = threadIdx.x, ty = threadIdx.y, t = ty * GEMM_BLK + tx;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;

    // This thread's float4 of each tile: (i, k) of op(A), (k, j) of op(B).
    // Untransposed A (M x K): i = t / (BK/4), k = t % (BK/4) * 4, along k;
    // transposed (K x M): k = t / (BM/4), i = t % (BM/4) * 4, along i. B
    // likewise.
    gemm_loader<!TA> la;
    gemm_loader<TB> lb;
    if (!TA) {
        const int i = t / (BK / 4), k = t % (BK / 4) * 4;
        la = gemm_make_loader<!TA>(A, M, K, row0 + i, k, K, LDA, k, i);
    } else {
        const int k = t / (BM / 4), i = t % (BM / 4) * 4;
        la = gemm_make_loader<!TA>(A, K, M, k, row0 + i, K, LDA, k, i);
    }
    if (!TB) {
        const int k = t / (BN / 4), j = t % (BN / 4) * 4;
        lb = gemm_make_loader<TB>(B, K, N, k, col0 + j, K, LDB, k, j);
    } else {
        const int j = t / (BK / 4), k = t % (BK / 4) * 4;
        lb = gemm_make_loader<TB>(B, N, K, col0 + j, k, K, LDB, k, j);
    }
    // Pointer advance per tile: BK along k, else BK rows (of M or N floats).
    const long long stepA = TA ? (long long)BK * M : BK, stepB = TB ? BK : (long long)BK * N;
    float va[4], vb[4];  // the next tile's elements, in flight

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    if (K > 0) {
        gemm_fetch(la, 0, stepA, va);
        gemm_fetch(lb, 0, stepB, vb);
        gemm_store(la, As, LDA, va);
        gemm_store(lb, Bs, LDB, vb);
    }
    __syncthreads();
    int cur = 0;  // the buffer holding the tile at k0
    for (int k0 = 0; k0 < K; k0 += BK, cur ^= 1) {
        const bool more = k0 + BK < K;
        // Buffer cur^1 was last read in the previous tile, which every
        // thread finished before the barrier that ended it. STAGED: the
        // next tile's loads are in flight while this one is multiplied and
        // are stored afterwards; else they are stored first (8 registers
        // fewer; the latency is hidden by the other resident block).
        if (more) {
            gemm_fetch(la, k0 + BK, stepA, va);
            gemm_fetch(lb, k0 + BK, stepB, vb);
            if (!STAGED) {
                gemm_store(la, As + (cur ^ 1) * BK * LDA, LDA, va);
                gemm_store(lb, Bs + (cur ^ 1) * BK * LDB, LDB, vb);
            }
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int g = 0; g < TM / 4; g++) {
                const float4 q = reinterpret_cast<const float4*>(As)[((cur * BK + kk) * LDA + 64 * g + 4 * ty) / 4];
                a[4 * g] = q.x, a[4 * g + 1] = q.y, a[4 * g + 2] = q.z, a[4 * g + 3] = q.w;
            }
#pragma unroll
            for (int h = 0; h < TN / 4; h++) {
                const float4 q = reinterpret_cast<const float4*>(Bs)[((cur * BK + kk) * LDB + 64 * h + 4 * tx) / 4];
                b[4 * h] = q.x, b[4 * h + 1] = q.y, b[4 * h + 2] = q.z, b[4 * h + 3] = q.w;
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more && STAGED) {
            gemm_store(la, As + (cur ^ 1) * BK * LDA, LDA, va);
            gemm_store(lb, Bs + (cur ^ 1) * BK * LDB, LDB, vb);
        }
        __syncthreads();
    }

    // Epilogue, through shared memory (free now): a pass moves RP rows of
    // every thread's sub-tile — row i of it is tile row 64*(i/4) + 4*ty +
    // i%4 — into Cs, RP*16 rows of the tile, and the block then finishes
    // those outputs with consecutive threads on consecutive columns:
    // coalesced stores, and TM/RP copies of the epilogue code instead of
    // TM*TN. The accumulators of a pass are dead once in Cs, which keeps
    // the epilogue within the main loop's registers.
    constexpr int LD = LDB;  // Cs row length
    constexpr int RP = TM < SMEM / (GEMM_BLK * LD) ? TM : SMEM / (GEMM_BLK * LD);
    static_assert(RP >= 1 && TM % RP == 0, "whole passes");
    float* Cs = smem;  // [RP][GEMM_BLK][LD]
#pragma unroll
    for (int i0 = 0; i0 < TM; i0 += RP) {
        if (i0 > 0) __syncthreads();  // every thread has read the previous pass
#pragma unroll
        for (int q = 0; q < RP; q++)
#pragma unroll
            for (int h = 0; h < TN / 4; h++)
                *reinterpret_cast<float4*>(&Cs[(q * GEMM_BLK + ty) * LD + 64 * h + 4 * tx]) =
                    make_float4(acc[i0 + q][4 * h], acc[i0 + q][4 * h + 1], acc[i0 + q][4 * h + 2],
                                acc[i0 + q][4 * h + 3]);
        __syncthreads();
#pragma unroll 1
        for (int e = t; e < RP * GEMM_BLK * BN; e += GEMM_BLK * GEMM_BLK) {
            const int r = e / BN, c = e % BN;              // Cs[r][c]
            const int i = i0 + r / GEMM_BLK, ty2 = r % GEMM_BLK;  // sub-tile row i of thread row ty2
            const int row = row0 + 64 * (i / 4) + 4 * ty2 + i % 4, col = col0 + c;
            if (row < M && col < N)
                gemm_epilogue((long long)row * N + col, col, Cs[r * LD + c], alpha, beta, C, flags, bias, P,
                              S, seed, op, step);
        }
    }
}

// gemm_smem is the size in floats of the shared array of gemm_blocked.
#define GEMM_SMEM(BM, BN, BK) (2 * (BK) * ((BM) + (BN) + 2 * GEMM_PAD))

// gemm_blocked_any runs gemm_blocked specialised for the transposes, on
// the kernel's shared array smem (GEMM_SMEM floats, 16-byte aligned). The
// array is declared in the extern "C" kernel so that its PTX name does not
// depend on the path of this file (names inside static functions do).
template <int BM, int BN, int BK, int TM, int TN, bool STAGED>
static __device__ __forceinline__ void gemm_blocked_any(float* smem, int M, int N, int K, float alpha,
                                                        const float* __restrict__ A,
                                                        const float* __restrict__ B, float beta, float* C,
                                                        int transA, int transB, int flags,
                                                        const float* __restrict__ bias,
                                                        float* __restrict__ P, float* __restrict__ S,
                                                        unsigned long long seed, unsigned int op,
                                                        unsigned long long step) {
    static_assert(GEMM_SMEM(BM, BN, BK) == 2 * BK * (BM + GEMM_PAD + BN + GEMM_PAD), "layout");
    if (!transA && !transB)
        gemm_blocked<BM, BN, BK, TM, TN, STAGED, false, false>(smem, M, N, K, alpha, A, B, beta, C, flags, bias, P, S, seed,
                                                       op, step);
    else if (!transA)
        gemm_blocked<BM, BN, BK, TM, TN, STAGED, false, true>(smem, M, N, K, alpha, A, B, beta, C, flags, bias, P, S, seed,
                                                      op, step);
    else if (!transB)
        gemm_blocked<BM, BN, BK, TM, TN, STAGED, true, false>(smem, M, N, K, alpha, A, B, beta, C, flags, bias, P, S, seed,
                                                      op, step);
    else
        gemm_blocked<BM, BN, BK, TM, TN, STAGED, true, true>(smem, M, N, K, alpha, A, B, beta, C, flags, bias, P, S, seed, op,
                                                     step);
}

// gemm_f32_128x128: 128 x 128 tiles, 8 x 8 outputs per thread, K in tiles
// of 8 — for products with enough 128 x 128 tiles to fill the GPU.
extern "C" __global__ void __launch_bounds__(256, 2)
    gemm_f32_128x128(int M, int N, int K, float alpha, const float* __restrict__ A,
                     const float* __restrict__ B, float beta, float* C, int transA, int transB,
                     int flags, const float* __restrict__ bias, float* __restrict__ P,
                     float* __restrict__ S, unsigned long long seed, unsigned int op,
                     unsigned long long step) {
    __shared__ __align__(16) float smem[GEMM_SMEM(128, 128, 8)];
    gemm_blocked_any<128, 128, 8, 8, 8, false>(smem, M, N, K, alpha, A, B, beta, C, transA, transB, flags, bias, P, S, seed,
                                    op, step);
}

// gemm_f32_64x64: 64 x 64 tiles, 4 x 4 outputs per thread, K in tiles of
// 16 — four times as many blocks as gemm_f32_128x128 on the same product.
extern "C" __global__ void __launch_bounds__(256)
    gemm_f32_64x64(int M, int N, int K, float alpha, const float* __restrict__ A,
                   const float* __restrict__ B, float beta, float* C, int transA, int transB, int flags,
                   const float* __restrict__ bias, float* __restrict__ P, float* __restrict__ S,
                   unsigned long long seed, unsigned int op, unsigned long long step) {
    __shared__ __align__(16) float smem[GEMM_SMEM(64, 64, 16)];
    gemm_blocked_any<64, 64, 16, 4, 4, true>(smem, M, N, K, alpha, A, B, beta, C, transA, transB, flags, bias, P, S, seed, op,
                                   step);
}
