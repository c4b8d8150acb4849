//go:build !amd64

package host

import "github.com/rbmgpu/rbmgpu/kernels"

// useAsm is false off amd64: the portable Go micro-kernel runs.
var useAsm = false

func microKernel(k int, a, b []float32, out []float32, ldo int, alpha, beta float32, cin []float32, ldcin int, bias []float32) {
	kernGo(k, a, b, out, ldo, alpha, beta, cin, ldcin, bias)
}

// sigmoidVec writes sigmoidf(x[i]) to p[i] (len(p) >= len(x)).
func sigmoidVec(x, p []float32) {
	for i, v := range x {
		p[i] = sigmoidf(v)
	}
}

// spRow is spRowGo off amd64.
func spRow(idx []int32, val []float32, b []float32, ldb int, acc []float32) {
	spRowGo(idx, val, b, ldb, acc)
}

// hasFusedRows is false off amd64: there is no fused kernel.
func hasFusedRows(cols int) bool { return false }

func fusedRows(a *spRowsArgs) { panic("host: fusedRows without a fused kernel") }

// compressHead leaves the whole row to csrRow's loop off amd64.
func compressHead(row []float32, idx []int32, val []float32, off []int32) (int, int32) {
	return 0, 0
}

// sampleFast leaves all sampling to the epilogue's loop off amd64.
func sampleFast(p, S []float32, rng kernels.Stream, e0 uint64) int { return 0 }

// sgdUpdate is kernels.SGDUpdate off amd64.
func sgdUpdate(param, vel, grad []float32, lr, momentum, decay float32) {
	kernels.SGDUpdate(param, vel, grad, lr, momentum, decay)
}

// transpose8 is never called off amd64 (useAsm is false).
func transpose8(src *float32, lds int, dst *float32, ldd int) {}

// addTo sets acc[c] = acc[c] + x[c] (len(x) <= len(acc)).
func addTo(acc, x []float32) {
	for c, v := range x {
		acc[c] = acc[c] + v
	}
}

// pottsAccum is pottsAccumGo off amd64.
func pottsAccum(u, Wt []float32, code []int32, i, Q, N int, mask *[32]int32) {
	pottsAccumGo(u, Wt, code, i, Q, N)
}

// sqDiffAcc is sqDiffAccGo off amd64.
func sqDiffAcc(a, b, red []float32) { sqDiffAccGo(a, b, red) }

// colSumHead leaves every column to colSum's loop off amd64.
func colSumHead(X []float32, N, M, j0, w int, out []float32, alpha, beta float32) int { return 0 }
