// AVX2 Philox4x32-10 and Bernoulli sampling of the gemm epilogue (amd64);
// the Go twins are philox and the loop in epilogue.

#include "textflag.h"

DATA bernInc<>+0(SB)/8, $0
DATA bernInc<>+8(SB)/8, $1
DATA bernInc<>+16(SB)/8, $2
DATA bernInc<>+24(SB)/8, $3
GLOBL bernInc<>(SB), RODATA|NOPTR, $32

// One Philox round on four blocks held as 64-bit lanes (only the low 32
// bits of each lane are meaningful): Y0..Y3 = c0..c3, Y8/Y9 = multipliers,
// Y10/Y11 = the round's keys k0/k1 (advanced after the round by Y12/Y13).
//   (c0, c1, c2, c3) = (hi(M1*c2)^c1^k0, lo(M1*c2), hi(M0*c0)^c3^k1, lo(M0*c0))
#define PHROUND \
	VPMULUDQ Y8, Y0, Y4; \
	VPMULUDQ Y9, Y2, Y5; \
	VPSRLQ   $32, Y5, Y6; \
	VPXOR    Y1, Y6, Y6; \
	VPXOR    Y10, Y6, Y0; \
	VPSRLQ   $32, Y4, Y6; \
	VPXOR    Y3, Y6, Y6; \
	VPXOR    Y11, Y6, Y2; \
	VMOVDQA  Y5, Y1; \
	VMOVDQA  Y4, Y3; \
	VPADDD   Y12, Y10, Y10; \
	VPADDD   Y13, Y11, Y11

// func bernoulli16(p, s *float32, n int, blk uint64, op uint32, step, seed uint64)
//
// For e < n (n a multiple of 16): s[e] = 1 if u(4*blk+e) < p[e] else 0,
// where u(e) = (word e of the Philox stream (seed, op, step)) >> 8, times
// 2^-24 — kernels.Stream's Bernoulli draw for the elements 4*blk, ...;
// block b's counter is (uint32(b), op, uint32(step), uint32(step>>32)) and
// its key (uint32(seed), uint32(seed>>32)). Four blocks (16 elements) per
// iteration, one block per 64-bit lane.
TEXT ·bernoulli16(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), SI
	MOVQ s+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   bdone
	MOVQ blk+24(FP), AX
	VMOVQ AX, X7
	VPBROADCASTQ X7, Y7
	VPADDQ bernInc<>(SB), Y7, Y7   // block counters of this iteration
	MOVL $0xD2511F53, AX
	VMOVQ AX, X8
	VPBROADCASTQ X8, Y8
	MOVL $0xCD9E8D57, AX
	VMOVQ AX, X9
	VPBROADCASTQ X9, Y9
	MOVL $0x9E3779B9, AX
	VMOVQ AX, X12
	VPBROADCASTQ X12, Y12
	MOVL $0xBB67AE85, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13
	MOVL $4, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14          // +4 blocks per iteration
	MOVL op+32(FP), AX
	VMOVQ AX, X15
	VPBROADCASTQ X15, Y15          // c1 = op
	MOVQ step+40(FP), R8
	MOVQ seed+48(FP), R9

bloop:
	VMOVDQA Y7, Y0
	VMOVDQA Y15, Y1
	MOVL R8, AX
	VMOVQ AX, X2
	VPBROADCASTQ X2, Y2            // c2 = uint32(step)
	MOVQ R8, AX
	SHRQ $32, AX
	VMOVQ AX, X3
	VPBROADCASTQ X3, Y3            // c3 = uint32(step >> 32)
	MOVL R9, AX
	VMOVQ AX, X10
	VPBROADCASTQ X10, Y10          // k0
	MOVQ R9, AX
	SHRQ $32, AX
	VMOVQ AX, X11
	VPBROADCASTQ X11, Y11          // k1
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	PHROUND
	// Words w0..w3 of blocks 0..3 are in the low halves of Y0..Y3's lanes;
	// interleave to element order: block 0's w0..w3, block 1's, ...
	VPSLLQ     $32, Y1, Y1
	VPBLENDD   $0xAA, Y1, Y0, Y0   // lanes (w0, w1) per block
	VPSLLQ     $32, Y3, Y3
	VPBLENDD   $0xAA, Y3, Y2, Y2   // lanes (w2, w3) per block
	VPUNPCKLQDQ Y2, Y0, Y4         // blocks 0 and 2: w0 w1 w2 w3
	VPUNPCKHQDQ Y2, Y0, Y5         // blocks 1 and 3
	VPERM2I128 $0x20, Y5, Y4, Y0   // blocks 0, 1: elements 0..7
	VPERM2I128 $0x31, Y5, Y4, Y1   // blocks 2, 3: elements 8..15
	// u = float(w >> 8) * 2^-24; s = (u < p) ? 1 : 0.
	MOVL $0x33800000, AX           // 2^-24
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVL $0x3F800000, AX           // 1.0
	VMOVD AX, X5
	VPBROADCASTD X5, Y5
	VPSRLD    $8, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y6, Y0, Y0
	VMOVUPS   (SI), Y2
	VCMPPS    $1, Y2, Y0, Y0       // LT_OS: u < p (false for NaN p)
	VANDPS    Y5, Y0, Y0
	VMOVUPS   Y0, (DI)
	VPSRLD    $8, Y1, Y1
	VCVTDQ2PS Y1, Y1
	VMULPS    Y6, Y1, Y1
	VMOVUPS   32(SI), Y3
	VCMPPS    $1, Y3, Y1, Y1
	VANDPS    Y5, Y1, Y1
	VMOVUPS   Y1, 32(DI)
	VPADDQ    Y14, Y7, Y7
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       bloop

bdone:
	VZEROUPPER
	RET
