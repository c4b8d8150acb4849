// AVX2 logits of potts_gibbs_f32 (amd64); the definition is
// kernels.PottsGibbsRow's inner sum.

#include "textflag.h"

// func pottsAccum32(u, base *float32, code *int32, L, Q, N, skip int, mask *int32)
//
// For Q ≤ 32 states, lanes a < Q (mask[a] = -1, else 0; mask has 32 int32):
//   u[a] += base[((j·Q + code[j])·N) + a] for j = 0..L-1, j ≠ skip, in that order,
// every sum rounded on its own: the Go loop's additions, eight lanes at a time,
// the 32 sums held in Y0..Y3. Masked loads and stores touch no lane a ≥ Q.
TEXT ·pottsAccum32(SB), NOSPLIT, $0-64
	MOVQ u+0(FP), DI
	MOVQ base+8(FP), SI
	MOVQ code+16(FP), DX
	MOVQ L+24(FP), CX
	MOVQ Q+32(FP), R8
	MOVQ N+40(FP), R9
	MOVQ skip+48(FP), R10
	MOVQ mask+56(FP), R11
	VMOVDQU 0(R11), Y4
	VMOVDQU 32(R11), Y5
	VMOVDQU 64(R11), Y6
	VMOVDQU 96(R11), Y7
	VMASKMOVPS 0(DI), Y4, Y0
	VMASKMOVPS 32(DI), Y5, Y1
	VMASKMOVPS 64(DI), Y6, Y2
	VMASKMOVPS 96(DI), Y7, Y3
	SHLQ $2, R9             // row stride in bytes
	XORQ BX, BX             // j
	XORQ R12, R12           // j·Q

ploop:
	CMPQ BX, CX
	JGE  pdone
	CMPQ BX, R10
	JEQ  pnext
	MOVLQSX (DX)(BX*4), AX  // code[j]
	ADDQ R12, AX            // j·Q + code[j]
	IMULQ R9, AX            // its row's byte offset
	LEAQ (SI)(AX*1), R13
	VMASKMOVPS 0(R13), Y4, Y8
	VADDPS Y8, Y0, Y0
	VMASKMOVPS 32(R13), Y5, Y9
	VADDPS Y9, Y1, Y1
	VMASKMOVPS 64(R13), Y6, Y10
	VADDPS Y10, Y2, Y2
	VMASKMOVPS 96(R13), Y7, Y11
	VADDPS Y11, Y3, Y3

pnext:
	INCQ BX
	ADDQ R8, R12
	JMP  ploop

pdone:
	VMASKMOVPS Y0, Y4, 0(DI)
	VMASKMOVPS Y1, Y5, 32(DI)
	VMASKMOVPS Y2, Y6, 64(DI)
	VMASKMOVPS Y3, Y7, 96(DI)
	VZEROUPPER
	RET
