package host

import (
	"os"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

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

// useAsm says whether the AVX2/FMA kernels run. RBMGPU_HOST_ASM=off turns
// them off for a whole process, to time the portable Go kernels (the path
// of CPUs without AVX2 and of other architectures) on the same machine.
var useAsm = hasAVX2FMA() && os.Getenv("RBMGPU_HOST_ASM") != "off"

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

// spRowTail is the AVX2/FMA kernel of spRow (sparse_amd64.s).
//
//go:noescape
func spRowTail(n int, idx *int32, val *float32, b *float32, ldb int, acc *float32, nv int, mask *int32)

// hasFusedRows reports whether fusedRows can compute a block of cols
// columns: only with AVX2/FMA and a full block.
func hasFusedRows(cols int) bool { return useAsm && cols == spCols }

//go:noescape
func spRows96(a *spRowsArgs)

// fusedRows runs one K block of a task's rows (spRows96).
func fusedRows(a *spRowsArgs) { spRows96(a) }

// laneMask[8-m:16-m] is the spRowTail mask for m lanes (1 <= m <= 8).
var laneMask = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// spRow accumulates acc[c] = fma(val[t], b[idx[t]*ldb+c], acc[c]) for each
// term t in order and c < len(acc) <= spCols, for the blocks spRows96 does
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

//go:noescape
func compressRow(src *float32, n int, idx *int32, val *float32, off *int32, kc int, perm *[256][8]int32) int

// compressPerm[m] lists the set bits of m in increasing order (then zeros):
// the permutation that packs the lanes of mask m to the front.
var compressPerm = func() (p [256][8]int32) {
	for m := range p {
		j := 0
		for b := 0; b < 8; b++ {
			if m&(1<<b) != 0 {
				p[m][j] = int32(b)
				j++
			}
		}
	}
	return p
}()

// compressHead compresses the first len(row)&^7 elements of row with
// compressRow (csrRow's contract) and returns how far it got and the count.
func compressHead(row []float32, idx []int32, val []float32, off []int32) (int, int32) {
	n := len(row) &^ 7
	if !useAsm || n == 0 {
		return 0, 0 // csrRow's loop does the whole row
	}
	return n, int32(compressRow(&row[0], n, &idx[0], &val[0], &off[0], spKC, &compressPerm))
}

// bernoulli16 is the AVX2 Philox and Bernoulli draw of the epilogue
// (philox_amd64.s).
//
//go:noescape
func bernoulli16(p, s *float32, n int, blk uint64, op uint32, step, seed uint64)

// sampleFast writes S[c] = [u(e0+c) < p[c]] for the leading multiple of 16
// elements when e0 starts a Philox block and the CPU has AVX2, and returns
// how many it wrote (the epilogue's loop does the rest).
func sampleFast(p, S []float32, rng kernels.Stream, e0 uint64) int {
	n := len(p) &^ 15
	if !useAsm || n == 0 || e0%4 != 0 {
		return 0
	}
	bernoulli16(&p[0], &S[0], n, e0/4, rng.Op, rng.Step, rng.Seed)
	return n
}

//go:noescape
func sgd8(param, vel, grad *float32, n int, lr, momentum, decay float32)

// sgdUpdate is kernels.SGDUpdate (the bit-exact definition), eight
// elements at a time with AVX2 where the CPU has it.
func sgdUpdate(param, vel, grad []float32, lr, momentum, decay float32) {
	n := 0
	if useAsm {
		n = len(param) &^ 7
		if n > 0 {
			_, _ = vel[n-1], grad[n-1]
			sgd8(&param[0], &vel[0], &grad[0], n, lr, momentum, decay)
		}
	}
	kernels.SGDUpdate(param[n:], vel[n:], grad[n:], lr, momentum, decay)
}

// transpose8 transposes an 8x8 block (sparse_amd64.s).
//
//go:noescape
func transpose8(src *float32, lds int, dst *float32, ldd int)

//go:noescape
func addTo8(acc, x *float32, n int)

// addTo sets acc[c] = acc[c] + x[c] (len(x) <= len(acc)), eight at a time
// with AVX2 where the CPU has it (same roundings: one add per element).
func addTo(acc, x []float32) {
	n := 0
	if useAsm {
		n = len(x) &^ 7
		if n > 0 {
			_ = acc[n-1]
			addTo8(&acc[0], &x[0], n)
		}
	}
	for c := n; c < len(x); c++ {
		acc[c] = acc[c] + x[c]
	}
}

//go:noescape
func colSum8(x *float32, ldx, m int, out *float32, alpha, beta float32)

// colSumHead computes out[c] for the leading multiple of 8 of the w
// columns at X[j0:] (colSum's order, by colSum8) and returns how many it
// did; colSum's loop does the rest.
func colSumHead(X []float32, N, M, j0, w int, out []float32, alpha, beta float32) int {
	if !useAsm || M == 0 {
		return 0
	}
	n := w &^ 7
	for c := 0; c < n; c += 8 {
		_ = X[(M-1)*N+j0+c+7]
		colSum8(&X[j0+c], N, M, &out[c], alpha, beta)
	}
	return n
}

//go:noescape
func sqDiffAcc4(a, b, red *float32, n int)

// sqDiffAcc sets red[t] = fmaf(d, d, red[t]) with d = a[t] - b[t] for
// t < len(a) (len(b), len(red) >= len(a)), four at a time with AVX where
// the CPU has it: the same float64 form as fmaf, so the same bits.
func sqDiffAcc(a, b, red []float32) {
	n := 0
	if useAsm {
		n = len(a) &^ 3
		if n > 0 {
			_, _ = b[n-1], red[n-1]
			sqDiffAcc4(&a[0], &b[0], &red[0], n)
		}
	}
	sqDiffAccGo(a[n:], b[n:], red[n:])
}

// pottsAccum32 is the AVX2 inner sum of potts_gibbs_f32 for Q ≤ 32
// (potts_amd64.s): u[a] += base[(j·Q + code[j])·N + a] for a < Q and
// j = 0..L−1 except skip, in increasing j. mask holds 32 int32, −1 for
// a < Q and 0 beyond.
//
//go:noescape
func pottsAccum32(u, base *float32, code *int32, L, Q, N, skip int, mask *int32)

// pottsAccum adds the couplings of site i's logits (see pottsJob.block):
// u[a] += Wt[(j·Q + code[j])·N + i·Q + a] for j ≠ i in increasing j, by
// the assembly loop when Q ≤ 32, else by pottsAccumGo. Same bits either
// way.
func pottsAccum(u, Wt []float32, code []int32, i, Q, N int, mask *[32]int32) {
	if !useAsm || Q > 32 {
		pottsAccumGo(u, Wt, code, i, Q, N)
		return
	}
	_ = Wt[(len(code)*Q-1)*N+i*Q+Q-1] // the largest offset the loop may read
	pottsAccum32(&u[0], &Wt[i*Q], &code[0], len(code), Q, N, i, &mask[0])
}
