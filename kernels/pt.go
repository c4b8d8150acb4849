package kernels

import "math"

// Kernels of parallel tempering (pt.cu): tempered Bernoulli sampling, the
// joint energy of stacked replicas, neighbour swaps and their counts. M = R·C
// rows hold R replicas of C chains, replica r in rows r·C … r·C+C−1 at
// inverse temperature beta[r]. The Go twins below are the contracts, bit for
// bit up to expf: the graph ops (tape) and the host driver run them, the
// emulator tests compare the .cu code against them.

// Names of the parallel-tempering kernels.
const (
	PTSampleF32 = "pt_sample_f32"
	PTEnergyF32 = "pt_energy_f32"
	PTSwapF32   = "pt_swap_f32"
	PTAcceptF32 = "pt_accept_f32"
	PTRowsF32   = "pt_rows_f32"
)

func init() {
	Kernels = append(Kernels,
		Kernel{PTSampleF32, "pt", []Arg{
			a("M", Int32), a("N", Int32), a("C", Int32), a("A", PtrFloat32), a("beta", PtrFloat32),
			a("S", PtrFloat32), a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{ElementwiseBlock, 1, 1}},
		Kernel{PTEnergyF32, "pt", []Arg{
			a("M", Int32), a("V", Int32), a("H", Int32), a("X", PtrFloat32), a("A", PtrFloat32),
			a("Hs", PtrFloat32), a("b", PtrFloat32), a("E", PtrFloat32),
		}, Dim3{ElementwiseBlock, 1, 1}},
		Kernel{PTSwapF32, "pt", []Arg{
			a("R", Int32), a("C", Int32), a("V", Int32), a("X", PtrFloat32), a("E", PtrFloat32),
			a("beta", PtrFloat32), a("Y", PtrFloat32), a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{ElementwiseBlock, 1, 1}},
		Kernel{PTAcceptF32, "pt", []Arg{
			a("R", Int32), a("C", Int32), a("E", PtrFloat32), a("beta", PtrFloat32), a("In", PtrFloat32),
			a("Out", PtrFloat32), a("seed", Uint64), a("op", Uint32), a("step", Uint64),
		}, Dim3{ElementwiseBlock, 1, 1}},
		Kernel{PTRowsF32, "pt", []Arg{
			a("n", Int32), a("X", PtrFloat32), a("Out", PtrFloat32),
		}, Dim3{ElementwiseBlock, 1, 1}},
	)
}

// expF32 is the kernels' expf with a correctly rounded result.
func expF32(x float32) float32 { return float32(math.Exp(float64(x))) }

// PTSample is the contract of pt_sample_f32: for the M×N pre-activations A
// of M = R·C stacked rows,
//
//	S[i,j] = 1 if u(i·N+j) < 1/(1+expf(−beta[i/C]·A[i,j])) else 0,
//
// u the uniforms of rng. With beta = 1 it is the fused gemm epilogue's
// σ-then-sample of the same pre-activations, bit for bit.
func PTSample(M, N, C int, A, beta, S []float32, rng Stream) {
	for i := 0; i < M; i++ {
		PTSampleRow(i, N, C, A, beta, S, rng)
	}
}

// PTSampleRow is PTSample for row i alone (rows are independent, so
// callers may run them in parallel).
func PTSampleRow(i, N, C int, A, beta, S []float32, rng Stream) {
	bt := beta[i/C]
	for j := 0; j < N; j++ {
		e := i*N + j
		x := bt * A[e]
		p := 1 / (1 + expF32(-x))
		S[e] = Bernoulli(rng.Uniform(uint64(e)), p)
	}
}

// PTEnergy is the contract of pt_energy_f32: the joint energy of each of M
// rows (visible X, M×V; hidden Hs, M×H; A = X·W + c, M×H),
//
//	E[i] = −(Σ_k b[k]·X[i,k] + Σ_j Hs[i,j]·A[i,j]) = −(vᵀWh + bᵀv + cᵀh),
//
// summed in float32 from 0 in that order, each product and sum rounded.
func PTEnergy(M, V, H int, X, A, Hs, b, E []float32) {
	for i := 0; i < M; i++ {
		acc := float32(0)
		x, a, h := X[i*V:(i+1)*V], A[i*H:(i+1)*H], Hs[i*H:(i+1)*H]
		for k := 0; k < V; k++ {
			acc = acc + float32(b[k]*x[k])
		}
		for j := 0; j < H; j++ {
			acc = acc + float32(h[j]*a[j])
		}
		E[i] = -acc
	}
}

// PTPartner returns the replica that replica r exchanges with at RNG step
// step (pairs (q, q+1) with q ≡ step mod 2: even pairs on even steps, odd
// pairs on odd ones), −1 when none, and q, the pair's lower replica.
func PTPartner(r, R int, step uint64) (partner, q int) {
	parity := int(step & 1)
	if (r-parity)&1 == 0 {
		if r+1 < R {
			return r + 1, r
		}
		return -1, r
	}
	if r-1 >= 0 {
		return r - 1, r - 1
	}
	return -1, r - 1
}

// PTAccepts reports whether pair (q, q+1) swaps its chains in column c:
// u(q·C+c) < expf((β_q − β_{q+1})·(E_q − E_{q+1})), the Metropolis rule for
// p_β ∝ exp(−β·E) on the joint states, E of shape R·C.
func PTAccepts(q, c, C int, E, beta []float32, rng Stream) bool {
	d := (beta[q] - beta[q+1]) * (E[q*C+c] - E[(q+1)*C+c])
	return rng.Uniform(uint64(q*C+c)) < expF32(d)
}

// PTSwap is the contract of pt_swap_f32: Y (R·C×V) is X with the rows of
// every accepted pair of this step's parity exchanged column by column:
// Y[r·C+c] = X[p·C+c] when replica r's pair with p accepts in column c,
// X[r·C+c] otherwise. X and Y must not overlap.
func PTSwap(R, C, V int, X, E, beta, Y []float32, rng Stream) {
	for r := 0; r < R; r++ {
		p, q := PTPartner(r, R, rng.Step)
		for c := 0; c < C; c++ {
			src := r
			if p >= 0 && PTAccepts(q, c, C, E, beta, rng) {
				src = p
			}
			copy(Y[(r*C+c)*V:(r*C+c+1)*V], X[(src*C+c)*V:(src*C+c+1)*V])
		}
	}
}

// PTAccept is the contract of pt_accept_f32: for each pair q < R−1,
// Out[q] = In[q] + the number of columns whose swap PTSwap accepts at this
// step and Out[R−1+q] = In[R−1+q] + C when the pair is attempted (float32
// counts, adding 1 per accepted column in increasing c).
func PTAccept(R, C int, E, beta, In, Out []float32, rng Stream) {
	parity := int(rng.Step & 1)
	for q := 0; q < R-1; q++ {
		acc, tried := In[q], In[R-1+q]
		if (q-parity)&1 == 0 {
			for c := 0; c < C; c++ {
				if PTAccepts(q, c, C, E, beta, rng) {
					acc += 1
				}
			}
			tried += float32(C)
		}
		Out[q], Out[R-1+q] = acc, tried
	}
}
