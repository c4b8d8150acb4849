//go:build !(openblas && cgo)

package openblas

// Available reports whether OpenBLAS is linked in (build tag openblas).
const Available = false

// Sgemm is unavailable without the openblas build tag; callers check
// Available first.
func Sgemm(transA, transB bool, M, N, K int, alpha float32, A []float32, lda int,
	B []float32, ldb int, beta float32, C []float32, ldc int) {
	panic("openblas: built without the openblas tag")
}
