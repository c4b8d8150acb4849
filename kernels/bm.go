package kernels

import "math"

// Kernels of the general Boltzmann machine (bm.cu): sequential Gibbs sweeps
// over the units of a fully or partly connected machine, and the masked
// gradient. Their launch-table entries are added to Kernels by init below,
// and their Go twins (BMGibbs, BMMask) are the contracts, bit for bit: the
// host driver and the graph op run them, the emulator tests compare the
// .cu code against them.

// Names of the Boltzmann-machine kernels.
const (
	BMGibbsF32 = "bm_gibbs_f32"
	BMMaskF32  = "bm_mask_f32"
)

// BMBlock is the block size of bm_gibbs_f32 (BM_BLOCK in bm.cu): the
// threads that share one unit's dot product, and so the shape of its
// summation tree (part of the contract).
const BMBlock = 128

func init() {
	Kernels = append(Kernels,
		Kernel{BMGibbsF32, "bm", []Arg{
			a("R", Int32), a("N", Int32), a("Nin", Int32), a("first", Int32), a("sweeps", Int32),
			a("meanField", Int32), a("X", PtrFloat32), a("W", PtrFloat32), a("b", PtrFloat32),
			a("S", PtrFloat32), a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{BMBlock, 1, 1}},
		Kernel{BMMaskF32, "bm", []Arg{
			a("n", Int32), a("G", PtrFloat32), a("M", PtrFloat32), a("out", PtrFloat32),
		}, Dim3{ElementwiseBlock, 1, 1}},
	)
}

// BMGibbsGrid returns the grid of bm_gibbs_f32 over R rows: one block per row.
func BMGibbsGrid(R int) Dim3 { return Dim3{atLeast1(R), 1, 1} }

// SigmoidF32 is the kernels' p = 1.0f / (1.0f + expf(-x)) with a correctly
// rounded expf: the float32 exponential, then a float32 add and divide.
func SigmoidF32(x float32) float32 {
	e := float32(math.Exp(float64(-x)))
	return 1 / (1 + e)
}

// BMGibbs is the contract of bm_gibbs_f32: R rows of a Boltzmann machine
// with N units, symmetric weights W (N×N, zero diagonal) and biases b (N),
// each row an independent chain. Row r of S (R×N) is first set to
//
//	S[r,j] = X[r,j] for j < Nin,   0.5 (meanField) or 0 (otherwise) for j ≥ Nin,
//
// with X of shape R×Nin; units j < first stay clamped. Then `sweeps` times,
// units i = first..N-1 in order:
//
//	a = b[i] + Σ_j W[i,j] S[r,j],   p = 1/(1+expf(-a))
//	S[r,i] = p (meanField)  or  1 if u < p else 0,  u = rng.Uniform((sweep·R + r)·N + i).
//
// The dot product is summed as the kernel's block does it, so the result is
// the kernel's bit for bit (up to expf): BMBlock partial sums, partial t
// adding W[i,j]·S[r,j] for j = t, t+BMBlock, … in increasing j (products and
// sums each rounded to float32), then a tree: for stride = BMBlock/2 … 1,
// partial[t] += partial[t+stride]. X and S must not overlap.
func BMGibbs(R, N, Nin, first, sweeps int, meanField bool, X, W, b, S []float32, rng Stream) {
	var red [BMBlock]float32
	for r := 0; r < R; r++ {
		BMGibbsRow(r, R, N, Nin, first, sweeps, meanField, X[r*Nin:(r+1)*Nin], W, b, S[r*N:(r+1)*N], rng, &red)
	}
}

// BMGibbsRow is BMGibbs for row r alone: x is that row of X (Nin values), s
// that row of S (N values); red is scratch. Rows are independent, so callers
// may run them in parallel.
func BMGibbsRow(r, R, N, Nin, first, sweeps int, meanField bool, x, W, b, s []float32, rng Stream, red *[BMBlock]float32) {
	init := float32(0)
	if meanField {
		init = 0.5
	}
	for j := 0; j < N; j++ {
		if j < Nin {
			s[j] = x[j]
		} else {
			s[j] = init
		}
	}
	for sw := 0; sw < sweeps; sw++ {
		for i := first; i < N; i++ {
			row := W[i*N : (i+1)*N]
			for t := 0; t < BMBlock; t++ {
				var acc float32
				for j := t; j < N; j += BMBlock {
					acc += float32(row[j] * s[j])
				}
				red[t] = acc
			}
			for stride := BMBlock / 2; stride > 0; stride >>= 1 {
				for t := 0; t < stride; t++ {
					red[t] += red[t+stride]
				}
			}
			p := SigmoidF32(b[i] + red[0])
			if meanField {
				s[i] = p
			} else {
				s[i] = Bernoulli(rng.Uniform(uint64((sw*R+r)*N+i)), p)
			}
		}
	}
}

// BMMask is the contract of bm_mask_f32: out[i] = G[i]·M[i] (float32), the
// gradient restricted to the connections a mask allows.
func BMMask(G, M, out []float32) {
	for i := range out {
		out[i] = G[i] * M[i]
	}
}
