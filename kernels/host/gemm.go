package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// gemm_f32 on the host (contract: kernels.GemmRef and gemm.cu):
//
//	x = alpha * op(A) op(B) [+ beta C] [+ bias];  C = x;  p = sigmoid(x) or x;  P = p;  S = u < p
//
// Algorithm: op(A) is packed into mr-row panels and op(B) into nr-column
// panels (k-major, zero-padded; transposes are handled here, once), in
// parallel. Then each task computes a column of micro-tiles: the
// micro-kernel accumulates the whole K dimension in registers, one FMA per
// k in increasing k — gemm.cu's order, hence its bits — applies alpha,
// beta and bias, and stores the tile, and the rest of the epilogue
// (sigmoid, P, Bernoulli sample) runs on that tile while it is in L1.
//
// Without K blocking a packed B panel is K*64 bytes (50 KB at K = 784):
// it streams from L2 at a small fraction of L2 bandwidth, and keeping the
// sum in registers is what makes the result independent of any blocking.

// workerScratch is a worker's private tile memory.
type workerScratch struct {
	tile  [mr * nr]float32         // micro-tile output when it cannot go to C
	cin   [mr * nr]float32         // C of a ragged tile, zero-padded
	bias  [nr]float32              // bias of a ragged tile, zero-padded
	spAcc [spRows * spCols]float32 // sparse path accumulators
	rows  []float32                // sparse path: rows of op(A) transposed from A
	_     [64]byte                 // keep workers' scratch on separate cache lines
}

// gemmJob is one gemm_f32 launch; the Driver keeps one and reuses its
// packing buffers, so launches allocate only while the buffers grow.
type gemmJob struct {
	d                   *Driver
	M, N, K             int
	alpha, beta         float32
	A, B, C, bias, P, S []float32
	transA, transB      bool
	flags               int
	rng                 kernels.Stream
	apack, bpack        []float32
	mPanels, nPanels    int
	groups              int // tasks per column of panels
	phase               int // what run does: phaseCSR, phasePack, ...
	ctr                 counter
	sp                  sparseState
}

// panelsPerTask is how many mr-row micro-tiles one compute task covers:
// enough to amortise the task counter, few enough to balance two to a few
// dozen workers on M = 100.
const panelsPerTask = 4

func b32(v int32) bool { return v != 0 }

// launchGemm runs GEMM kernel name (gemm_f32 or a blocked variant: the
// same function) with arguments a over grid.
func (d *Driver) launchGemm(grid kernels.Dim3, name string, a *kernels.GemmF32Args) error {
	M32, N32, K32 := a.M, a.N, a.K
	if err := dims(name, M32, N32, K32); err != nil {
		return err
	}
	M, N, K := int(M32), int(N32), int(K32)
	tile, _ := kernels.GemmTileOf(name)
	if grid.X*tile < N || grid.Y*tile < M {
		want, _ := kernels.GemmGridOf(name, M, N)
		return fmt.Errorf("host: %s: grid %v does not cover the %dx%d output (want %v)",
			name, grid, M, N, want)
	}
	j := &d.gemm
	j.M, j.N, j.K = M, N, K
	j.alpha, j.beta = a.Alpha, a.Beta
	j.transA, j.transB = b32(a.TransA), b32(a.TransB)
	j.flags = int(a.Flags)
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	var err error
	if j.A, err = d.floats(name, "A", a.A, M*K); err != nil {
		return err
	}
	if j.B, err = d.floats(name, "B", a.B, K*N); err != nil {
		return err
	}
	nC := 0
	if j.beta != 0 || j.flags&kernels.GemmNoC == 0 {
		nC = M * N
	}
	if j.C, err = d.floats(name, "C", a.C, nC); err != nil {
		return err
	}
	if j.bias, err = d.floats(name, "bias", a.Bias, flagLen(j.flags, kernels.GemmBias, N)); err != nil {
		return err
	}
	if j.P, err = d.floats(name, "P", a.P, flagLen(j.flags, kernels.GemmWriteP, M*N)); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, flagLen(j.flags, kernels.GemmSample, M*N)); err != nil {
		return err
	}
	if M == 0 || N == 0 {
		return nil
	}
	// Both paths' buffers are grown whichever runs: the choice depends on
	// the data, and a launch that switches path later in training must
	// not allocate.
	j.apack = grow(j.apack, (M+mr-1)/mr*mr*K)
	j.bpack = grow(j.bpack, (N+nr-1)/nr*nr*K)
	switch sparse := j.trySparse(); {
	case sparse && j.sp.mixed:
		// Pack op(B) and the dense blocks' panels of op(A), then run
		// every block on its path.
		j.mPanels, j.nPanels = (M+mr-1)/mr, (N+nr-1)/nr
		j.runPhase(phasePack)
		j.runPhase(phaseMixed)
	case sparse:
		j.mPanels, j.nPanels = (M+spRows-1)/spRows, (N+spCols-1)/spCols
		j.runPhase(phaseSparse)
	default:
		j.mPanels, j.nPanels = (M+mr-1)/mr, (N+nr-1)/nr
		j.groups = (j.mPanels + panelsPerTask - 1) / panelsPerTask
		j.runPhase(phasePack)
		j.runPhase(phaseDense)
	}
	// Drop references to device memory so a freed allocation can be
	// collected.
	j.A, j.B, j.C, j.bias, j.P, j.S = nil, nil, nil, nil, nil, nil
	return nil
}

// runPhase runs phase p of the job on every worker of the pool.
func (j *gemmJob) runPhase(p int) {
	j.phase = p
	j.ctr.reset()
	j.d.pool.do(j)
}

// flagLen is n if flags has bit, else 0: the length an optional output is
// accessed with.
func flagLen(flags, bit, n int) int {
	if flags&bit != 0 {
		return n
	}
	return 0
}

// grow returns s resized to n, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (j *gemmJob) run(w int) {
	switch j.phase {
	case phaseCSR:
		n := (j.M + spRows - 1) / spRows
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			j.csrRows(&j.d.ws[w], t*spRows)
		}
	case phaseTransB:
		n := (j.N + spRows - 1) / spRows
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			j.transBRows(t * spRows)
		}
	case phaseSparse:
		ws := &j.d.ws[w]
		n := j.mPanels * j.nPanels
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			j.sparseTile(ws, (t%j.mPanels)*spRows, (t/j.mPanels)*spCols)
		}
	case phasePack:
		n := j.mPanels + j.nPanels
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			if t < j.mPanels {
				if !j.sp.mixed || j.sp.blockDense[t*mr/spRows] {
					j.packA(t)
				}
			} else {
				j.packB(t - j.mPanels)
			}
		}
	case phasePadB:
		n := (j.K + spKC - 1) / spKC
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			j.padRows(t * spKC)
		}
	case phaseMixed:
		j.mixedTasks(&j.d.ws[w])
	case phaseDense:
		ws := &j.d.ws[w]
		n := j.nPanels * j.groups
		for t := j.ctr.take(n); t >= 0; t = j.ctr.take(n) {
			jp, g := t/j.groups, t%j.groups
			for ip := g * panelsPerTask; ip < min((g+1)*panelsPerTask, j.mPanels); ip++ {
				j.tile(ws, ip, jp)
			}
		}
	}
}

// packA writes rows [ip*mr, ip*mr+mr) of op(A) k-major into its panel:
// panel[k*mr + r] = op(A)[ip*mr+r, k], zero past row M.
func (j *gemmJob) packA(ip int) {
	M, K := j.M, j.K
	dst := j.apack[ip*mr*K : (ip+1)*mr*K]
	i0 := ip * mr
	rows := min(mr, M-i0)
	if j.transA { // A is K x M: the panel's rows are contiguous in each row of A
		if rows == mr { // a fixed-size move per k, not a memmove call
			for k := 0; k < K; k++ {
				*(*[mr]float32)(dst[k*mr:]) = *(*[mr]float32)(j.A[k*M+i0:])
			}
			return
		}
		for k := 0; k < K; k++ {
			src := j.A[k*M+i0 : k*M+i0+rows]
			d := dst[k*mr : k*mr+mr]
			copy(d, src)
			clear(d[rows:])
		}
		return
	}
	for r := 0; r < mr; r++ {
		if r >= rows {
			for k := 0; k < K; k++ {
				dst[k*mr+r] = 0
			}
			continue
		}
		src := j.A[(i0+r)*K : (i0+r+1)*K]
		for k, v := range src {
			dst[k*mr+r] = v
		}
	}
}

// packB writes columns [jp*nr, jp*nr+nr) of op(B) k-major into its panel:
// panel[k*nr + c] = op(B)[k, jp*nr+c], zero past column N.
func (j *gemmJob) packB(jp int) {
	N, K := j.N, j.K
	dst := j.bpack[jp*nr*K : (jp+1)*nr*K]
	j0 := jp * nr
	cols := min(nr, N-j0)
	if !j.transB { // B is K x N: each panel row is a contiguous run
		if cols == nr { // a 64-byte move per k, not a memmove call
			for k := 0; k < K; k++ {
				*(*[nr]float32)(dst[k*nr:]) = *(*[nr]float32)(j.B[k*N+j0:])
			}
			return
		}
		for k := 0; k < K; k++ {
			d := dst[k*nr : k*nr+nr]
			copy(d, j.B[k*N+j0:k*N+j0+cols])
			clear(d[cols:])
		}
		return
	}
	// B is N x K: column c of the panel is row j0+c of B.
	transpose(j.B[j0*K:], K, dst, nr, cols, K)
	for c := cols; c < nr; c++ {
		for k := 0; k < K; k++ {
			dst[k*nr+c] = 0
		}
	}
}

// tile computes micro-tile (ip, jp) and its epilogue.
func (j *gemmJob) tile(ws *workerScratch, ip, jp int) {
	M, N, K := j.M, j.N, j.K
	i0, j0 := ip*mr, jp*nr
	rows, cols := min(mr, M-i0), min(nr, N-j0)
	a := j.apack[ip*mr*K : (ip+1)*mr*K]
	b := j.bpack[jp*nr*K : (jp+1)*nr*K]
	readC := j.beta != 0
	writeC := j.flags&kernels.GemmNoC == 0
	var bias []float32
	var out []float32
	ldo := nr
	if rows == mr && cols == nr {
		// Full tile: read C, bias and write x in place.
		var cin []float32
		if readC {
			cin = j.C[i0*N+j0:]
		}
		if j.flags&kernels.GemmBias != 0 {
			bias = j.bias[j0 : j0+nr]
		}
		if writeC {
			out, ldo = j.C[i0*N+j0:], N
		} else {
			out = ws.tile[:]
		}
		microKernel(K, a, b, out, ldo, j.alpha, j.beta, cin, N, bias)
	} else {
		// Ragged tile: stage C and bias in zero-padded scratch, compute
		// into scratch, copy the valid part out.
		var cin []float32
		if readC {
			cin = ws.cin[:]
			clear(cin)
			for r := 0; r < rows; r++ {
				copy(cin[r*nr:r*nr+cols], j.C[(i0+r)*N+j0:(i0+r)*N+j0+cols])
			}
		}
		if j.flags&kernels.GemmBias != 0 {
			bias = ws.bias[:]
			clear(bias)
			copy(bias, j.bias[j0:j0+cols])
		}
		out = ws.tile[:]
		microKernel(K, a, b, out, nr, j.alpha, j.beta, cin, nr, bias)
		if writeC {
			for r := 0; r < rows; r++ {
				copy(j.C[(i0+r)*N+j0:(i0+r)*N+j0+cols], out[r*nr:r*nr+cols])
			}
		}
	}
	if j.flags&(kernels.GemmSigmoid|kernels.GemmWriteP|kernels.GemmSample) == 0 {
		return
	}
	for r := 0; r < rows; r++ {
		j.rowEpilogue(out[r*ldo:r*ldo+cols], (i0+r)*N+j0)
	}
}

// rowEpilogue runs the epilogue the flags ask for on the outputs x of one
// row starting at element index e0 (sigmoid, P, S; at most spCols of them).
func (j *gemmJob) rowEpilogue(x []float32, e0 int) {
	var P, S []float32
	if j.flags&kernels.GemmWriteP != 0 {
		P = j.P[e0 : e0+len(x)]
	}
	if j.flags&kernels.GemmSample != 0 {
		S = j.S[e0 : e0+len(x)]
	}
	epilogue(x, j.flags&kernels.GemmSigmoid != 0, P, S, j.rng, uint64(e0))
}

// epilogue computes p = sigmoid(x) (or x) for a run of at most spCols
// outputs starting at element index e0 and writes P = p and S = [u(e0+c) < p]
// where asked (P, S nil otherwise).
func epilogue(x []float32, sigmoid bool, P, S []float32, rng kernels.Stream, e0 uint64) {
	var buf [spCols]float32
	p := x
	if sigmoid {
		p = buf[:len(x)]
		if P != nil {
			p = P
		}
		sigmoidVec(x, p)
	} else if P != nil {
		copy(P, x)
	}
	if S != nil {
		bernoulliRun(p, S, rng, e0)
	}
}

// bernoulliRun writes S[c] = Bernoulli(u(e0+c), p[c]) for the elements
// e0, e0+1, ... of the stream (kernels.Stream's draw): AVX2 for the
// leading multiple of 16 where sampleFast can, Go for the rest.
func bernoulliRun(p, S []float32, rng kernels.Stream, e0 uint64) {
	done := sampleFast(p, S, rng, e0)
	p, S, e0 = p[done:], S[done:], e0+uint64(done)
	var w [64]uint32
	for len(p) > 0 {
		n := min(len(p), len(w))
		words(rng, e0, w[:n])
		for c := range n {
			S[c] = kernels.Bernoulli(kernels.ToUniform(w[c]), p[c])
		}
		p, S, e0 = p[n:], S[n:], e0+uint64(n)
	}
}
