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
