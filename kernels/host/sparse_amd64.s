// AVX2/FMA kernels of the sparse-A GEMM path (sparse.go).

#include "textflag.h"
#include "go_asm.h"

#define FMA12(off) \
	VFMADD231PS off+0(AX), Y0, Y4; \
	VFMADD231PS off+32(AX), Y0, Y5; \
	VFMADD231PS off+64(AX), Y0, Y6; \
	VFMADD231PS off+96(AX), Y0, Y7; \
	VFMADD231PS off+128(AX), Y0, Y8; \
	VFMADD231PS off+160(AX), Y0, Y9; \
	VFMADD231PS off+192(AX), Y0, Y10; \
	VFMADD231PS off+224(AX), Y0, Y11; \
	VFMADD231PS off+256(AX), Y0, Y12; \
	VFMADD231PS off+288(AX), Y0, Y13; \
	VFMADD231PS off+320(AX), Y0, Y14; \
	VFMADD231PS off+352(AX), Y0, Y15

#define SCALE2(lo, hi) \
	VMULPS Y0, lo, lo; \
	VMULPS Y0, hi, hi

#define BETA2(off, lo, hi) \
	VMULPS off(R8), Y1, Y2; \
	VMULPS off+32(R8), Y1, Y3; \
	VADDPS Y2, lo, lo; \
	VADDPS Y3, hi, hi

#define BIAS2(off, lo, hi) \
	VADDPS off(AX), lo, lo; \
	VADDPS off+32(AX), hi, hi

#define STORE2(off, lo, hi) \
	VMOVUPS lo, off(R9); \
	VMOVUPS hi, off+32(R9)

// func spRowTail(n int, idx *int32, val *float32, b *float32, ldb int, acc *float32, nv int, mask *int32)
//
// spRows96's accumulation for one row and nv in 1..4 groups of 8 columns, the last group read with a
// masked load (mask[c] = -1 for the lanes to read, 0 for the rest: lanes
// past the end of B's row are neither read nor faulted). acc is read and
// written as nv whole groups of 8 floats.
TEXT ·spRowTail(SB), NOSPLIT, $0-64
	MOVQ n+0(FP), CX
	MOVQ idx+8(FP), SI
	MOVQ val+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R8
	SHLQ $2, R8
	MOVQ acc+40(FP), R9
	MOVQ nv+48(FP), BX
	MOVQ mask+56(FP), R10
	VMOVUPS (R10), Y3
	VMOVUPS 0(R9), Y4
	VMOVUPS 32(R9), Y5
	VMOVUPS 64(R9), Y6
	VMOVUPS 96(R9), Y7
	TESTQ CX, CX
	JLE   tdone
	CMPQ  BX, $2
	JLT   tloop1
	JEQ   tloop2
	CMPQ  BX, $3
	JEQ   tloop3

#define TADDR \
	MOVLQSX      (SI), AX; \
	IMULQ        R8, AX; \
	ADDQ         DI, AX; \
	VBROADCASTSS (DX), Y0

#define TNEXT(label) \
	ADDQ $4, SI; \
	ADDQ $4, DX; \
	DECQ CX; \
	JNZ  label; \
	JMP  tdone

tloop4:
	TADDR
	VFMADD231PS 0(AX), Y0, Y4
	VFMADD231PS 32(AX), Y0, Y5
	VFMADD231PS 64(AX), Y0, Y6
	VMASKMOVPS  96(AX), Y3, Y1
	VFMADD231PS Y1, Y0, Y7
	TNEXT(tloop4)

tloop3:
	TADDR
	VFMADD231PS 0(AX), Y0, Y4
	VFMADD231PS 32(AX), Y0, Y5
	VMASKMOVPS  64(AX), Y3, Y1
	VFMADD231PS Y1, Y0, Y6
	TNEXT(tloop3)

tloop2:
	TADDR
	VFMADD231PS 0(AX), Y0, Y4
	VMASKMOVPS  32(AX), Y3, Y1
	VFMADD231PS Y1, Y0, Y5
	TNEXT(tloop2)

tloop1:
	TADDR
	VMASKMOVPS  0(AX), Y3, Y1
	VFMADD231PS Y1, Y0, Y4
	TNEXT(tloop1)

tdone:
	VMOVUPS Y4, 0(R9)
	VMOVUPS Y5, 32(R9)
	VMOVUPS Y6, 64(R9)
	VMOVUPS Y7, 96(R9)
	VZEROUPPER
	RET

// func compressRow(src *float32, n int, idx *int32, val *float32, off *int32, kc int, perm *[256][8]int32) int
//
// Writes the nonzeros of src[0:n] (n a multiple of 8, kc a multiple of 8)
// to val and their positions to idx, in order, and returns how many there
// are; off[kb] is set to the count before position kb*kc for each block
// that starts below n. A lane is nonzero when it compares not-equal to 0
// (NaN is kept, -0 is not). Eight lanes at a time: their nonzero mask picks
// a permutation that packs them to the front, all eight are stored and the
// pointers advance by the mask's population, so idx and val need 8 slots
// past the last nonzero (they get them: a row's count never passes its
// position).
TEXT ·compressRow(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ idx+16(FP), DI
	MOVQ val+24(FP), DX
	MOVQ off+32(FP), R8
	MOVQ kc+40(FP), R9
	MOVQ perm+48(FP), R10
	XORQ R11, R11            // count
	XORQ R12, R12            // position
	MOVQ R9, R13             // next block boundary
	VXORPS Y5, Y5, Y5        // zero
	MOVL  $8, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6      // 8 in every lane
	VMOVDQU lane0to7<>(SB), Y7 // positions of the current 8 lanes
	TESTQ CX, CX
	JLE   cdone
	MOVL  $0, (R8)
	ADDQ  $4, R8

cloop:
	CMPQ R12, R13
	JNE  cnoblock
	MOVL R11, (R8)
	ADDQ $4, R8
	ADDQ R9, R13

cnoblock:
	VMOVUPS   (SI), Y0
	VCMPPS    $4, Y5, Y0, Y1 // NEQ_UQ: a != 0, true for NaN
	VMOVMSKPS Y1, AX
	MOVQ      AX, BX
	SHLQ      $5, BX
	VMOVDQU   (R10)(BX*1), Y2
	VPERMPS   Y0, Y2, Y3
	VPERMD    Y7, Y2, Y4
	VMOVUPS   Y3, (DX)(R11*4)
	VMOVDQU   Y4, (DI)(R11*4)
	POPCNTL   AX, AX
	ADDQ      AX, R11
	VPADDD    Y6, Y7, Y7
	ADDQ      $32, SI
	ADDQ      $8, R12
	CMPQ      R12, CX
	JLT       cloop

cdone:
	MOVQ R11, ret+56(FP)
	VZEROUPPER
	RET

DATA lane0to7<>+0(SB)/4, $0
DATA lane0to7<>+4(SB)/4, $1
DATA lane0to7<>+8(SB)/4, $2
DATA lane0to7<>+12(SB)/4, $3
DATA lane0to7<>+16(SB)/4, $4
DATA lane0to7<>+20(SB)/4, $5
DATA lane0to7<>+24(SB)/4, $6
DATA lane0to7<>+28(SB)/4, $7
GLOBL lane0to7<>(SB), RODATA, $32

// func transpose8(src *float32, lds int, dst *float32, ldd int)
//
// dst[c*ldd+r] = src[r*lds+c] for r, c < 8 (strides in elements): an 8x8
// block transpose in registers (unpack pairs, then quads, then halves).
TEXT ·transpose8(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ lds+8(FP), AX
	SHLQ $2, AX
	MOVQ dst+16(FP), DI
	MOVQ ldd+24(FP), BX
	SHLQ $2, BX
	VMOVUPS (SI), Y0
	ADDQ    AX, SI
	VMOVUPS (SI), Y1
	ADDQ    AX, SI
	VMOVUPS (SI), Y2
	ADDQ    AX, SI
	VMOVUPS (SI), Y3
	ADDQ    AX, SI
	VMOVUPS (SI), Y4
	ADDQ    AX, SI
	VMOVUPS (SI), Y5
	ADDQ    AX, SI
	VMOVUPS (SI), Y6
	ADDQ    AX, SI
	VMOVUPS (SI), Y7
	// Rows r0..r7 = Y0..Y7. Interleave pairs of rows.
	VUNPCKLPS Y1, Y0, Y8   // r0c0 r1c0 r0c1 r1c1 | r0c4 r1c4 r0c5 r1c5
	VUNPCKHPS Y1, Y0, Y9   // r0c2 r1c2 r0c3 r1c3 | c6, c7
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// Combine row pairs into quads: column c of rows 0..3 (4..7).
	VSHUFPS $0x44, Y10, Y8, Y0  // r0..r3 c0 | c4
	VSHUFPS $0xEE, Y10, Y8, Y1  // c1 | c5
	VSHUFPS $0x44, Y11, Y9, Y2  // c2 | c6
	VSHUFPS $0xEE, Y11, Y9, Y3  // c3 | c7
	VSHUFPS $0x44, Y14, Y12, Y4 // r4..r7 c0 | c4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// Halves: column c = rows 0..3 then rows 4..7.
	VPERM2F128 $0x20, Y4, Y0, Y8  // c0
	VPERM2F128 $0x20, Y5, Y1, Y9  // c1
	VPERM2F128 $0x20, Y6, Y2, Y10 // c2
	VPERM2F128 $0x20, Y7, Y3, Y11 // c3
	VPERM2F128 $0x31, Y4, Y0, Y12 // c4
	VPERM2F128 $0x31, Y5, Y1, Y13 // c5
	VPERM2F128 $0x31, Y6, Y2, Y14 // c6
	VPERM2F128 $0x31, Y7, Y3, Y15 // c7
	VMOVUPS Y8, (DI)
	ADDQ    BX, DI
	VMOVUPS Y9, (DI)
	ADDQ    BX, DI
	VMOVUPS Y10, (DI)
	ADDQ    BX, DI
	VMOVUPS Y11, (DI)
	ADDQ    BX, DI
	VMOVUPS Y12, (DI)
	ADDQ    BX, DI
	VMOVUPS Y13, (DI)
	ADDQ    BX, DI
	VMOVUPS Y14, (DI)
	ADDQ    BX, DI
	VMOVUPS Y15, (DI)
	VZEROUPPER
	RET

// func spRows96(a *spRowsArgs)
//
// One K block of a.rows consecutive rows of the sparse-A product over 96
// columns (spRowsArgs in sparse.go has the layout). For row r, with its
// nonzeros in the block at idx/val + r*rowStride, entries off[r][0] to
// off[r][1]: the accumulators start from 0 when first != 0, else from
// acc[r*96 : r*96+96]; for each nonzero t in order, acc[c] =
// fma(val[t], b[idx[t]*ldb+c], acc[c]) — one fused multiply-add per term,
// the dense kernel's order restricted to the nonzero terms. Without out the
// sums are stored back to acc (storing and reloading changes no bit); with
// out, out[r][c] = alpha*acc[c] (+ beta*cin[r][c] when cin != nil)
// (+ bias[c] when bias != nil), each operation rounded separately as in
// kern6x16.
TEXT ·spRows96(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), R10
	XORQ R11, R11

rrow:
	CMPQ R11, spRowsArgs_rows(R10)
	JGE  rdone
	MOVQ R11, BX
	IMULQ spRowsArgs_offStride(R10), BX
	ADDQ spRowsArgs_off(R10), BX
	MOVLQSX (BX), R13             // lo
	MOVLQSX 4(BX), CX             // hi
	SUBQ R13, CX                  // n
	MOVQ R11, BX
	IMULQ spRowsArgs_rowStride(R10), BX
	MOVQ spRowsArgs_idx(R10), SI
	ADDQ BX, SI
	LEAQ (SI)(R13*4), SI
	MOVQ spRowsArgs_val(R10), DX
	ADDQ BX, DX
	LEAQ (DX)(R13*4), DX
	MOVQ spRowsArgs_b(R10), DI
	MOVQ spRowsArgs_ldb(R10), R8
	SHLQ $2, R8
	MOVQ R11, R9
	IMULQ $384, R9
	ADDQ spRowsArgs_acc(R10), R9
	CMPQ spRowsArgs_first(R10), $0
	JNE  rzero
	VMOVUPS 0(R9), Y4
	VMOVUPS 32(R9), Y5
	VMOVUPS 64(R9), Y6
	VMOVUPS 96(R9), Y7
	VMOVUPS 128(R9), Y8
	VMOVUPS 160(R9), Y9
	VMOVUPS 192(R9), Y10
	VMOVUPS 224(R9), Y11
	VMOVUPS 256(R9), Y12
	VMOVUPS 288(R9), Y13
	VMOVUPS 320(R9), Y14
	VMOVUPS 352(R9), Y15
	JMP  rstart

rzero:
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

rstart:
	TESTQ CX, CX
	JLE   repi

rloop:
	MOVLQSX      (SI), AX
	IMULQ        R8, AX
	ADDQ         DI, AX
	VBROADCASTSS (DX), Y0
	FMA12(0)
	ADDQ         $4, SI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          rloop

repi:
	MOVQ  spRowsArgs_out(R10), AX
	TESTQ AX, AX
	JNZ   rfinal
	STORE2(0, Y4, Y5)
	STORE2(64, Y6, Y7)
	STORE2(128, Y8, Y9)
	STORE2(192, Y10, Y11)
	STORE2(256, Y12, Y13)
	STORE2(320, Y14, Y15)
	INCQ R11
	JMP  rrow

rfinal:
	MOVQ R11, BX
	IMULQ spRowsArgs_outStride(R10), BX
	ADDQ BX, AX
	MOVQ AX, R9
	VBROADCASTSS spRowsArgs_alpha(R10), Y0
	SCALE2(Y4, Y5)
	SCALE2(Y6, Y7)
	SCALE2(Y8, Y9)
	SCALE2(Y10, Y11)
	SCALE2(Y12, Y13)
	SCALE2(Y14, Y15)
	MOVQ  spRowsArgs_cin(R10), R8
	TESTQ R8, R8
	JZ    rnobeta
	MOVQ R11, BX
	IMULQ spRowsArgs_cinStride(R10), BX
	ADDQ BX, R8
	VBROADCASTSS spRowsArgs_beta(R10), Y1
	BETA2(0, Y4, Y5)
	BETA2(64, Y6, Y7)
	BETA2(128, Y8, Y9)
	BETA2(192, Y10, Y11)
	BETA2(256, Y12, Y13)
	BETA2(320, Y14, Y15)

rnobeta:
	MOVQ  spRowsArgs_bias(R10), AX
	TESTQ AX, AX
	JZ    rnobias
	BIAS2(0, Y4, Y5)
	BIAS2(64, Y6, Y7)
	BIAS2(128, Y8, Y9)
	BIAS2(192, Y10, Y11)
	BIAS2(256, Y12, Y13)
	BIAS2(320, Y14, Y15)

rnobias:
	STORE2(0, Y4, Y5)
	STORE2(64, Y6, Y7)
	STORE2(128, Y8, Y9)
	STORE2(192, Y10, Y11)
	STORE2(256, Y12, Y13)
	STORE2(320, Y14, Y15)
	INCQ R11
	JMP  rrow

rdone:
	VZEROUPPER
	RET
