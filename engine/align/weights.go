package align

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// DefaultTheta is the identity threshold of sequence reweighting used by
// DCA tools (adabmDCA, bmDCA, plmc): 80%.
const DefaultTheta = 0.8

// Weights returns the reweighting of the N sequences of m at identity
// threshold theta ∈ [0, 1]:
//
//	w_s = 1 / |{t : identity(s, t) ≥ θ}|,   identity(s, t) = (1/L) Σ_i [s_i = t_i]
//
// where t runs over all sequences, s itself included (so w_s ≤ 1), and
// gap–gap columns count as identical (as in adabmDCA). θ = 0 turns the
// reweighting off: every weight is 1. M_eff = Σ_s w_s (MEff).
//
// The identities are computed bit-parallel: each sequence is stored as
// ⌈log₂ q⌉ bit planes of its codes in 64-site words, so one word of
// XOR-ed planes, OR-ed together and counted with one popcount, compares 64
// sites; a pair stops as soon as it has more mismatches than θ allows. The
// N(N−1)/2 pairs are shared among GOMAXPROCS goroutines. The cost is
// O(N²·⌈L/64⌉·⌈log₂ q⌉) word operations at most.
func Weights(m *MSA, theta float64) ([]float64, error) {
	if !(theta >= 0 && theta <= 1) {
		return nil, fmt.Errorf("reweight %s: identity threshold %v: want a value in [0, 1] (0 turns reweighting off)", m.Name, theta)
	}
	n, L := m.N(), m.L
	w := make([]float64, n)
	if theta == 0 || n == 0 {
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	counts := neighbours(m.Seqs, n, L, m.Alphabet.Q(), maxMismatches(L, theta))
	for i, c := range counts {
		w[i] = 1 / float64(c)
	}
	return w, nil
}

// MEff returns the effective number of sequences M_eff = Σ_s w_s.
func MEff(w []float64) float64 {
	s := 0.0
	for _, x := range w {
		s += x
	}
	return s
}

// maxMismatches returns the most mismatching sites a pair of length-L
// sequences may have and still have identity m/L ≥ theta, m the matches,
// with the comparison made in float64 exactly as written.
func maxMismatches(L int, theta float64) int {
	m := int(math.Ceil(theta * float64(L)))
	for m > 0 && float64(m-1)/float64(L) >= theta {
		m--
	}
	for m <= L && float64(m)/float64(L) < theta {
		m++
	}
	return L - m
}

// neighbours returns, for each of the n sequences (n×L codes < q), the
// number of sequences (itself included) with at most maxMis mismatches.
func neighbours(seqs []uint8, n, L, q, maxMis int) []int32 {
	planes := bits.Len(uint(q - 1))
	if planes == 0 {
		planes = 1
	}
	words := (L + 63) / 64
	stride := words * planes
	enc := make([]uint64, n*stride)
	for s := 0; s < n; s++ {
		row := seqs[s*L : (s+1)*L]
		e := enc[s*stride : (s+1)*stride]
		for i, c := range row {
			wd, bit := i/64, uint(i%64)
			for p := 0; p < planes; p++ {
				e[wd*planes+p] |= uint64(c>>p&1) << bit
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	counts := make([][]int32, workers)
	var next atomic.Int64
	const chunk = 16
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		cnt := make([]int32, n)
		counts[k] = cnt
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s0 := int(next.Add(chunk)) - chunk
				if s0 >= n {
					return
				}
				for s := s0; s < s0+chunk && s < n; s++ {
					a := enc[s*stride : (s+1)*stride]
					for t := s + 1; t < n; t++ {
						if within(a, enc[t*stride:(t+1)*stride], planes, maxMis) {
							cnt[s]++
							cnt[t]++
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	out := make([]int32, n)
	for s := range out {
		out[s] = 1
		for _, cnt := range counts {
			out[s] += cnt[s]
		}
	}
	return out
}

// within reports whether the bit-plane encodings a and b differ at no
// more than maxMis sites.
func within(a, b []uint64, planes, maxMis int) bool {
	mis := 0
	if planes == 5 { // q in 17..32: the protein alphabet, unrolled
		for k := 0; k+5 <= len(a); k += 5 {
			x := (a[k] ^ b[k]) | (a[k+1] ^ b[k+1]) | (a[k+2] ^ b[k+2]) | (a[k+3] ^ b[k+3]) | (a[k+4] ^ b[k+4])
			if mis += bits.OnesCount64(x); mis > maxMis {
				return false
			}
		}
		return true
	}
	for k := 0; k < len(a); k += planes {
		var x uint64
		for p := 0; p < planes; p++ {
			x |= a[k+p] ^ b[k+p]
		}
		if mis += bits.OnesCount64(x); mis > maxMis {
			return false
		}
	}
	return true
}
