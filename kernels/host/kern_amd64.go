package host

import "unsafe"

// kern6x16 is the AVX2/FMA micro-kernel (kern_amd64.s); see kernGo for the
// contract. Pointers must be valid for the accessed ranges.
//
//go:noescape
func kern6x16(k int, a, b, out *float32, ldo int, alpha, beta float32, cin *float32, ldcin int, bias *float32)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU and OS support AVX2 and FMA3: CPUID
// feature bits plus XCR0 saying the OS saves the YMM state.
func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

var useAsm = hasAVX2FMA()

// microKernel runs the 6x16 micro-kernel: the assembly one when the CPU has
// AVX2 and FMA, the portable Go one otherwise.
func microKernel(k int, a, b []float32, out []float32, ldo int, alpha, beta float32, cin []float32, ldcin int, bias []float32) {
	if !useAsm {
		kernGo(k, a, b, out, ldo, alpha, beta, cin, ldcin, bias)
		return
	}
	kern6x16(k, ptr(a), ptr(b), ptr(out), ldo, alpha, beta, ptr(cin), ldcin, ptr(bias))
}

// ptrI32 is ptr for int32.
func ptrI32(s []int32) *int32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.SliceData(s)
}

// ptr is the address of s's first element, nil for an empty slice.
func ptr(s []float32) *float32 {
	if len(s) == 0 {
		return nil
	}
	return (*float32)(unsafe.Pointer(unsafe.SliceData(s)))
}

// sigmoid8 is the AVX2 twin of sigmoidf over n elements, n a multiple of 8
// (sigmoid_amd64.s).
//
//go:noescape
func sigmoid8(x, p *float32, n int)

// sigmoidVec writes sigmoidf(x[i]) to p[i] (len(p) >= len(x)).
func sigmoidVec(x, p []float32) {
	n := 0
	if useAsm {
		n = len(x) &^ 7
		if n > 0 {
			sigmoid8(&x[0], &p[0], n)
		}
	}
	for i := n; i < len(x); i++ {
		p[i] = sigmoidf(x[i])
	}
}

// spRow96 and spRowTail are the AVX2/FMA kernels of spRow
// (sparse_amd64.s).
//
//go:noescape
func spRow96(n int, idx *int32, val *float32, b *float32, ldb int, acc *float32, first int, out *float32, alpha, beta float32, cin *float32, bias *float32)

//go:noescape
func spRowTail(n int, idx *int32, val *float32, b *float32, ldb int, acc *float32, nv int, mask *int32)

// hasFusedRow reports whether fusedRow can compute a block of cols
// columns: only with AVX2/FMA and a full block.
func hasFusedRow(cols int) bool { return useAsm && cols == spCols }

// fusedRow runs spRow96 on one K block of a row (see its contract): the
// partial sums live in acc (96 floats), zero before the first block; out is
// nil except on the last block, where the alpha/beta/bias result goes.
func fusedRow(idx []int32, val, b []float32, ldb int, acc []float32, first bool, out []float32, alpha, beta float32, cin, bias []float32) {
	f := 0
	if first {
		f = 1
	}
	spRow96(len(idx), ptrI32(idx), ptr(val), ptr(b), ldb, ptr(acc), f, ptr(out), alpha, beta, ptr(cin), ptr(bias))
}

// laneMask[8-m:16-m] is the spRowTail mask for m lanes (1 <= m <= 8).
var laneMask = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// spRow accumulates acc[c] = fma(val[t], b[idx[t]*ldb+c], acc[c]) for each
// term t in order and c < len(acc) <= spCols, for the blocks spRow96 does
// not take. acc must have room for spCols floats (the kernels read and
// write whole 8-float groups).
func spRow(idx []int32, val []float32, b []float32, ldb int, acc []float32) {
	if !useAsm {
		spRowGo(idx, val, b, ldb, acc)
		return
	}
	n := len(idx)
	for c := 0; c < len(acc); c += 32 {
		w := min(32, len(acc)-c)
		nv := (w + 7) / 8
		spRowTail(n, &idx[0], &val[0], &b[c], ldb, &acc[:c+32][c], nv, &laneMask[8-(w-8*(nv-1))])
	}
}
