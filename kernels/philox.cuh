// philox.cuh — device Philox4x32-10, the CUDA twin of kernels/philox.go.
//
// Header only; included by the .cu files that draw random numbers. Built as
// part of each of them (see kernels/tools/gen-ptx.sh) and, unchanged, by the
// CPU emulator (kernels/emu), which is how tests check it bit for bit against
// the Go implementation without a GPU.
//
// Contract (identical to kernels.Stream in philox.go):
//   element e of stream (seed, op, step) is word e%4 of
//     Philox4x32-10(ctr = {uint32(e/4), op, uint32(step), uint32(step>>32)},
//                   key = {uint32(seed), uint32(seed>>32)})
//   uniform  u = (w >> 8) * 2^-24, a float in [0, 1) (exact in float32)
//   Bernoulli(p) sample = u < p  (never 1 for p = 0, always 1 for p = 1)
// Only integer ops and one exact float multiply are involved, so every GPU,
// the emulator and Go agree on every bit.
#ifndef RBMGPU_PHILOX_CUH
#define RBMGPU_PHILOX_CUH

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// Four 32-bit words; a plain struct rather than CUDA's uint4 so the emulator
// needs no vector types.
struct philox4 {
    unsigned int w0, w1, w2, w3;
};

// philox4x32_10 runs ten Philox rounds on counter (c0..c3) under key (k0, k1).
// __umulhi gives the high half of the 32x32 product (one IMAD.HI on the GPU).
static __device__ __forceinline__ philox4 philox4x32_10(unsigned int c0, unsigned int c1,
                                                        unsigned int c2, unsigned int c3,
                                                        unsigned int k0, unsigned int k1) {
#pragma unroll
    for (int r = 0; r < 10; r++) {
        unsigned int hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        unsigned int hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0;
        unsigned int n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    philox4 out = {c0, c1, c2, c3};
    return out;
}

// philox_word returns element e of stream (seed, op, step) as a 32-bit word.
// Each call computes one whole Philox block and keeps one word of it: one
// thread per element, no state, any element in any order. Selects (not an
// indexed array) keep the four words in registers.
static __device__ __forceinline__ unsigned int philox_word(unsigned long long seed, unsigned int op,
                                                           unsigned long long step,
                                                           unsigned long long e) {
    philox4 b = philox4x32_10((unsigned int)(e >> 2), op, (unsigned int)step,
                              (unsigned int)(step >> 32), (unsigned int)seed,
                              (unsigned int)(seed >> 32));
    unsigned int j = (unsigned int)(e & 3);
    unsigned int lo = (j & 1) ? b.w1 : b.w0;
    unsigned int hi = (j & 1) ? b.w3 : b.w2;
    return (j & 2) ? hi : lo;
}

// philox_to_uniform maps a word to [0, 1): the 24 high bits times 2^-24. The
// int->float conversion is exact (< 2^24) and so is the power-of-two scale.
static __device__ __forceinline__ float philox_to_uniform(unsigned int w) {
    return (float)(w >> 8) * (1.0f / 16777216.0f);
}

// philox_uniform returns element e of stream (seed, op, step) in [0, 1).
static __device__ __forceinline__ float philox_uniform(unsigned long long seed, unsigned int op,
                                                       unsigned long long step,
                                                       unsigned long long e) {
    return philox_to_uniform(philox_word(seed, op, step, e));
}

#endif // RBMGPU_PHILOX_CUH
