package kernels

// Kernel of the Potts–Bernoulli RBM (prbm.cu): the categorical visible
// layer. Its launch-table entry is added to Kernels by init below; the Go
// twin PottsVisible is the contract, bit for bit up to expf: the host
// driver and the graph op run it, the emulator tests compare the .cu code
// against it.

// PottsVisibleF32 is the name of the Potts–Bernoulli RBM's visible kernel.
const PottsVisibleF32 = "potts_visible_f32"

// Modes of potts_visible_f32.
const (
	// PottsVisibleSample draws one state per site and writes it one-hot.
	PottsVisibleSample = 0
	// PottsVisibleProbs writes the softmax probabilities of every site.
	PottsVisibleProbs = 1
)

func init() {
	Kernels = append(Kernels,
		Kernel{PottsVisibleF32, "prbm", []Arg{
			a("R", Int32), a("L", Int32), a("Q", Int32), a("mode", Int32),
			a("A", PtrFloat32), a("S", PtrFloat32),
			a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{ElementwiseBlock, 1, 1}},
	)
}

// PottsVisibleGrid returns the grid of potts_visible_f32 over R rows of L
// sites: one thread per site, grid-stride (any grid is correct).
func PottsVisibleGrid(R, L int) Dim3 { return ElementwiseGrid(R * L) }

// PottsVisible is the contract of potts_visible_f32 on R rows of L sites of
// Q states: A (R×N, N = L·Q) holds the logits u_{r,i}(a) = A[r, iQ+a] of
// every site, S (R×N) receives, per site (r, i) independently,
//
//	mode PottsVisibleSample: one-hot the state CategoricalF32(u_{r,i}, U(r·L + i))
//	mode PottsVisibleProbs:  S[r, iQ+a] = w_a / z  (the softmax, float32)
//
// with U(e) the uniform of element e of rng and w_a = ExpF32(u_a − max u),
// z = Σ_a w_a (increasing a), as CategoricalF32 computes them: one Philox
// uniform per site, the convention of the Potts BM's sweeps. A and S must
// not overlap.
func PottsVisible(R, L, Q, mode int, A, S []float32, rng Stream) {
	PottsVisibleRange(L, Q, mode, A, S, rng, 0, R*L, make([]float32, Q))
}

// PottsVisibleRange is PottsVisible on sites lo..hi−1 (site e is row e/L,
// site e%L) of the full-size A and S, with u (Q floats) as scratch: sites
// are independent, so callers may split them among workers.
func PottsVisibleRange(L, Q, mode int, A, S []float32, rng Stream, lo, hi int, u []float32) {
	u = u[:Q]
	for e := lo; e < hi; e++ {
		row := A[e*Q : (e+1)*Q]
		out := S[e*Q : (e+1)*Q]
		copy(u, row)
		if mode == PottsVisibleProbs {
			m := u[0]
			for _, x := range u[1:] {
				m = max(m, x)
			}
			var z float32
			for a, x := range u {
				u[a] = ExpF32(x - m)
				z += u[a]
			}
			for a := range out {
				out[a] = u[a] / z
			}
			continue
		}
		c := CategoricalF32(u, rng.Uniform(uint64(e)))
		for a := range out {
			out[a] = 0
		}
		out[c] = 1
	}
}
