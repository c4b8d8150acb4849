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
// acc[c] = acc[c] + x[c] for c < n (a multiple of 8): one level of the
// reduction trees, a row of colSum's last columns, sum_f32's blocks.
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

// func sqDiffAcc4(a, b, red *float32, n int)
//
// red[t] = float32(float64(d)*float64(d) + float64(red[t])) with
// d = a[t] - b[t] rounded to float32, for t < n (a multiple of 4): fmaf's
// float64 form (math.go), four lanes at a time. The product of two float32
// is exact in float64, so the one rounding is the final conversion, as in
// the scalar loop.
TEXT ·sqDiffAcc4(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ red+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $2, CX
	JZ   qdone

qloop:
	VMOVUPS    (SI), X0
	VSUBPS     (DI), X0, X0 // d = a - b
	VCVTPS2PD  X0, Y0
	VMULPD     Y0, Y0, Y0   // d*d, exact
	VCVTPS2PD  (DX), Y1
	VADDPD     Y1, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DX)
	ADDQ       $16, SI
	ADDQ       $16, DI
	ADDQ       $16, DX
	DECQ       CX
	JNZ        qloop

qdone:
	VZEROUPPER
	RET

// ACC8(reg) adds the 8 floats at SI to reg and steps SI to the next row.
#define ACC8(reg) \
	VADDPS (SI), reg, reg; \
	ADDQ   R8, SI

// func colSum8(x *float32, ldx, m int, out *float32, alpha, beta float32)
//
// For the 8 columns at x (row stride ldx elements) and m rows: s[r] sums
// rows i ≡ r (mod 8) in increasing i, then tot = ((s0+s4)+(s2+s6)) +
// ((s1+s5)+(s3+s7)), out = alpha*tot, plus beta*out when beta != 0: colSum's
// order and roundings for one group of 8 columns.
TEXT ·colSum8(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	MOVQ m+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   ctail

c8loop:
	ACC8(Y0)
	ACC8(Y1)
	ACC8(Y2)
	ACC8(Y3)
	ACC8(Y4)
	ACC8(Y5)
	ACC8(Y6)
	ACC8(Y7)
	DECQ BX
	JNZ  c8loop

ctail:
	ANDQ $7, CX
	JZ   ctree
	ACC8(Y0)
	DECQ CX
	JZ   ctree
	ACC8(Y1)
	DECQ CX
	JZ   ctree
	ACC8(Y2)
	DECQ CX
	JZ   ctree
	ACC8(Y3)
	DECQ CX
	JZ   ctree
	ACC8(Y4)
	DECQ CX
	JZ   ctree
	ACC8(Y5)
	DECQ CX
	JZ   ctree
	ACC8(Y6)

ctree:
	VADDPS Y4, Y0, Y0 // s0+s4
	VADDPS Y6, Y2, Y2 // s2+s6
	VADDPS Y2, Y0, Y0
	VADDPS Y5, Y1, Y1 // s1+s5
	VADDPS Y7, Y3, Y3 // s3+s7
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0 // tot
	VBROADCASTSS alpha+32(FP), Y8
	VMULPS Y8, Y0, Y0
	MOVQ out+24(FP), DI
	MOVL beta+36(FP), AX
	SHLL $1, AX // drop the sign: -0 counts as zero, as beta != 0 in Go
	JZ   cstore
	VBROADCASTSS beta+36(FP), Y9
	VMULPS (DI), Y9, Y9
	VADDPS Y9, Y0, Y0

cstore:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET
