// AVX2/FMA micro-kernel of the host GEMM and CPU feature probes (amd64).

#include "textflag.h"

// ROW applies the epilogue to accumulator row (lo, hi) held in Y registers:
// x = alpha*acc, then + beta*cin[row] when cin != nil, then + bias when
// bias != nil, and stores 16 floats at out[row]. Y0 = alpha, Y1 = beta,
// Y2/Y3 = bias (or zero when absent, adding +0 would turn -0 into +0, so
// the bias add is skipped instead). R8 = cin row, R9 = out row.
#define SCALE(lo, hi) \
	VMULPS Y0, lo, lo; \
	VMULPS Y0, hi, hi

#define BETA(lo, hi) \
	VMULPS (R8), Y1, Y2; \
	VMULPS 32(R8), Y1, Y3; \
	VADDPS Y2, lo, lo; \
	VADDPS Y3, hi, hi; \
	ADDQ R10, R8

#define BIAS(lo, hi) \
	VADDPS Y2, lo, lo; \
	VADDPS Y3, hi, hi

#define STORE(lo, hi) \
	VMOVUPS lo, (R9); \
	VMOVUPS hi, 32(R9); \
	ADDQ R11, R9

// func kern6x16(k int, a, b, out *float32, ldo int, alpha, beta float32, cin *float32, ldcin int, bias *float32)
//
// acc[r][c] = sum_{kk<k} a[kk*6+r] * b[kk*16+c], one fused multiply-add per
// kk in increasing kk order (as gemm.cu's fmaf loop, so acc has the GPU's
// bits), then out[r*ldo+c] = alpha*acc (+ beta*cin[r*ldcin+c]) (+ bias[c]),
// each operation rounded separately in the .cu order.
TEXT ·kern6x16(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
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
	TESTQ CX, CX
	JLE   epilogue

loop:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (SI), Y2
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS 16(SI), Y2
	VBROADCASTSS 20(SI), Y3
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

epilogue:
	VBROADCASTSS alpha+40(FP), Y0
	SCALE(Y4, Y5)
	SCALE(Y6, Y7)
	SCALE(Y8, Y9)
	SCALE(Y10, Y11)
	SCALE(Y12, Y13)
	SCALE(Y14, Y15)

	MOVQ cin+48(FP), R8
	TESTQ R8, R8
	JZ   nobeta
	VBROADCASTSS beta+44(FP), Y1
	MOVQ ldcin+56(FP), R10
	SHLQ $2, R10
	BETA(Y4, Y5)
	BETA(Y6, Y7)
	BETA(Y8, Y9)
	BETA(Y10, Y11)
	BETA(Y12, Y13)
	BETA(Y14, Y15)

nobeta:
	MOVQ bias+64(FP), AX
	TESTQ AX, AX
	JZ   nobias
	VMOVUPS (AX), Y2
	VMOVUPS 32(AX), Y3
	BIAS(Y4, Y5)
	BIAS(Y6, Y7)
	BIAS(Y8, Y9)
	BIAS(Y10, Y11)
	BIAS(Y12, Y13)
	BIAS(Y14, Y15)

nobias:
	MOVQ out+24(FP), R9
	MOVQ ldo+32(FP), R11
	SHLQ $2, R11
	STORE(Y4, Y5)
	STORE(Y6, Y7)
	STORE(Y8, Y9)
	STORE(Y10, Y11)
	STORE(Y12, Y13)
	STORE(Y14, Y15)
	VZEROUPPER
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() (eax, edx uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
