//go:build openblas && cgo

// Package openblas binds OpenBLAS's cblas_sgemm (build tag openblas, cgo,
// Debian package libopenblas-dev) for kernels/host's benchmarks: the
// measured GEMM ceiling. It is a separate package because a cgo package
// cannot hold Go assembly, and kernels/host has some.
package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import "unsafe"

// Available reports whether OpenBLAS is linked in.
const Available = true

// Sgemm is row-major C = alpha op(A) op(B) + beta C via cblas_sgemm.
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int,
	B []float32, ldb int, beta float32, Cm []float32, ldc int) {
	ta, tb := C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans), C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(M), C.blasint(N), C.blasint(K), C.float(alpha),
		(*C.float)(unsafe.Pointer(&A[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&B[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&Cm[0])), C.blasint(ldc))
}
