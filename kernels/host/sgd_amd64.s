// AVX2 sgd_update_f32 (amd64); the definition is kernels.SGDUpdate.

#include "textflag.h"

// func sgd8(param, vel, grad *float32, n int, lr, momentum, decay float32)
//
// For i < n (a multiple of 8), with every product and sum rounded on its
// own (no fused multiply-add, as the PTX built with -fmad=false):
//   g = grad[i] - decay*param[i]; v = momentum*vel[i] + lr*g
//   vel[i] = v; param[i] = param[i] + v
TEXT ·sgd8(SB), NOSPLIT, $0-44
	MOVQ param+0(FP), SI
	MOVQ vel+8(FP), DI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   sdone
	VBROADCASTSS lr+32(FP), Y13
	VBROADCASTSS momentum+36(FP), Y14
	VBROADCASTSS decay+40(FP), Y15

sloop:
	VMOVUPS (SI), Y0        // p
	VMOVUPS (DX), Y1        // grad
	VMULPS  Y15, Y0, Y2     // decay*p
	VSUBPS  Y2, Y1, Y1      // g = grad - decay*p
	VMULPS  (DI), Y14, Y3   // momentum*vel
	VMULPS  Y13, Y1, Y1     // lr*g
	VADDPS  Y1, Y3, Y3      // v
	VMOVUPS Y3, (DI)
	VADDPS  Y3, Y0, Y0      // p + v
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     sloop

sdone:
	VZEROUPPER
	RET

// func addTo8(acc, x *float32, n int)
//
// acc[c] = acc[c] + x[c] for c < n (a multiple of 8): colSum's row step.
TEXT ·addTo8(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   adone

aloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     aloop

adone:
	VZEROUPPER
	RET
