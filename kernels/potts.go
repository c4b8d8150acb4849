package kernels

import (
	"fmt"
	"math"
)

// Kernels of the fully connected Potts model (potts.cu): sequential
// site-by-site Gibbs sweeps of one-hot chains and the block-masked
// gradient. Their launch-table entries are added to Kernels by init below;
// the Go twins (PottsGibbs, PottsGrad) are the contracts, bit for bit up to
// expf: the host driver and the graph ops run them, the emulator tests
// compare the .cu code against them.

// Names of the Potts kernels.
const (
	PottsGibbsF32 = "potts_gibbs_f32"
	PottsGradF32  = "potts_grad_f32"
)

// Limits and block shape of potts_gibbs_f32 (POTTS_* in potts.cu): the
// chain's codes and one site's logits live in shared memory.
const (
	PottsBlock     = 32
	PottsMaxSites  = 4096
	PottsMaxStates = 256
)

func init() {
	Kernels = append(Kernels,
		Kernel{PottsGibbsF32, "potts", []Arg{
			a("R", Int32), a("L", Int32), a("Q", Int32), a("sweeps", Int32),
			a("X", PtrFloat32), a("W", PtrFloat32), a("b", PtrFloat32), a("S", PtrFloat32),
			a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{PottsBlock, 1, 1}},
		Kernel{PottsGradF32, "potts", []Arg{
			a("n", Int32), a("cols", Int32), a("Q", Int32), a("alpha", Float32),
			a("F", PtrFloat32), a("X", PtrFloat32), a("out", PtrFloat32),
		}, Dim3{ElementwiseBlock, 1, 1}},
	)
}

// PottsGibbsGrid returns the grid of potts_gibbs_f32 over R chains: one
// block per chain.
func PottsGibbsGrid(R int) Dim3 { return Dim3{atLeast1(R), 1, 1} }

// CheckPottsShape reports why L sites of Q states cannot run through
// potts_gibbs_f32 (shared-memory limits), nil when they can.
func CheckPottsShape(L, Q int) error {
	if L < 1 || L > PottsMaxSites || Q < 2 || Q > PottsMaxStates {
		return fmt.Errorf("Potts sweep: %d sites of %d states: want 1 to %d sites and 2 to %d states", L, Q, PottsMaxSites, PottsMaxStates)
	}
	return nil
}

// ExpF32 is the kernels' expf, correctly rounded: the float64 exponential
// rounded to float32.
func ExpF32(x float32) float32 { return float32(math.Exp(float64(x))) }

// PottsGibbs is the contract of potts_gibbs_f32: R independent chains of a
// Potts model on L sites of Q states, stored one-hot (N = L·Q units per
// row), with couplings W (N×N, W[iQ+a, jQ+b] = J_ij(a,b), symmetric, zero
// diagonal blocks) and fields b (N). The state of site i in row r of X
// (R×N) is the first a with X[r, iQ+a] ≥ ½ (0 if none). Then `sweeps`
// times, sites i = 0..L−1 in order:
//
//	u_a = b[iQ+a] + Σ_{j≠i} W[iQ+a, jQ+s_j]   (float32, increasing j)
//	s_i = CategoricalF32(u, rng.Uniform((sweep·R + r)·L + i))
//
// and S (R×N) receives the final states one-hot. X and S may be the same
// slice (each row is read before it is written).
func PottsGibbs(R, L, Q, sweeps int, X, W, b, S []float32, rng Stream) {
	code := make([]int32, L)
	u := make([]float32, Q)
	N := L * Q
	for r := 0; r < R; r++ {
		PottsGibbsRow(r, R, L, Q, sweeps, X[r*N:(r+1)*N], W, b, S[r*N:(r+1)*N], rng, code, u)
	}
}

// PottsGibbsRow is PottsGibbs for row r alone: x and s are that row of X
// and S (N values each), code (L) and u (Q) scratch. Rows are independent,
// so callers may run them in parallel.
func PottsGibbsRow(r, R, L, Q, sweeps int, x, W, b, s []float32, rng Stream, code []int32, u []float32) {
	N := L * Q
	for i := 0; i < L; i++ {
		c := int32(0)
		for a := Q - 1; a >= 0; a-- {
			if x[i*Q+a] >= 0.5 {
				c = int32(a)
			}
		}
		code[i] = c
	}
	for sw := 0; sw < sweeps; sw++ {
		for i := 0; i < L; i++ {
			for a := 0; a < Q; a++ {
				w := W[(i*Q+a)*N : (i*Q+a+1)*N]
				acc := b[i*Q+a]
				for j := 0; j < L; j++ {
					if j != i {
						acc += w[j*Q+int(code[j])]
					}
				}
				u[a] = acc
			}
			code[i] = int32(CategoricalF32(u, rng.Uniform(uint64((sw*R+r)*L+i))))
		}
	}
	for k := 0; k < N; k++ {
		if int(code[k/Q]) == k%Q {
			s[k] = 1
		} else {
			s[k] = 0
		}
	}
}

// CategoricalF32 is the kernels' categorical draw from the softmax of the
// logits u (overwritten with the weights) with the uniform r ∈ [0, 1), in
// float32: m = max u, w_a = expf(u_a − m), z = Σ_a w_a (increasing a),
// t = r·z; the smallest a with t < Σ_{c≤a} w_c, or the largest a with
// w_a > 0 when rounding leaves t at or above the last partial sum.
func CategoricalF32(u []float32, r float32) int {
	m := u[0]
	for _, x := range u[1:] {
		m = max(m, x)
	}
	var z float32
	for a, x := range u {
		u[a] = ExpF32(x - m)
		z += u[a]
	}
	t := r * z
	var c float32
	last := 0
	for a, w := range u {
		c += w
		if t < c {
			return a
		}
		if w > 0 {
			last = a
		}
	}
	return last
}

// PottsGrad is the contract of potts_grad_f32 over rows×N elements (len
// out): out[k] = F[k] − alpha·X[k] (float32, the product rounded first),
// or 0 where Q > 0 and row k/N and column k%N lie in one site's Q×Q
// diagonal block (the couplings J_ii that do not exist).
func PottsGrad(N, Q int, alpha float32, F, X, out []float32) {
	for k := range out {
		row, col := k/N, k%N
		if Q > 0 && row/Q == col/Q {
			out[k] = 0
			continue
		}
		out[k] = F[k] - float32(alpha*X[k])
	}
}
