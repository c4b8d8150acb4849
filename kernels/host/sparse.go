package host

import (
	"math"
	"os"
	"sync/atomic"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The sparse-A path of gemm_f32.
//
// In a CD step every product has a sparse left operand: the data (binary
// images are mostly zeros), the sampled hidden and visible states (0/1),
// and their transposes in the two gradient products. A zero a[i,k] adds
// fma(0, b, acc) = acc to every output of row i, so skipping it leaves each
// accumulator's sequence of roundings unchanged: the sum over the nonzero
// terms in increasing k, one fused multiply-add each, has the dense
// kernel's bits (and therefore the GPU's), as long as op(B) is finite —
// 0·Inf or 0·NaN would have made the dense sum NaN — and up to the sign of
// an exactly-zero result.
//
// The path: op(A) is compressed by rows (column indices and values of the
// nonzeros), in parallel, in blocks of spRows rows. A block denser than
// sparseMaxDensity runs on the dense packed path: all blocks, when every
// one is (or, with op(B) = B^T, when any is); only those blocks, with the
// others sparse, when the density varies between blocks (images, whose
// centre pixels are on in nearly every row of v0ᵀ and border pixels in
// almost none). Otherwise op(B) is read in
// place when it is B (its rows are contiguous) or transposed once into
// scratch when it is B^T, and each task computes a block of spRows rows by
// spCols columns. K is cut into blocks of spKC rows of op(B), which stay in
// cache while every row of the task uses them: for each row, its 96-column
// partial sums are loaded into twelve registers, the row's nonzeros in the
// block stream the matching rows of op(B), and the sums go back to scratch
// (storing and reloading changes no bit); after the last block alpha,
// beta·C and bias are applied in registers as in the dense micro-kernel.
// No packing, and the work is proportional to the number of nonzeros.

const (
	spCols = 96 // columns per task: 12 AVX2 accumulators
	spRows = 60 // rows of op(A) per task, a multiple of mr: each K block of op(B) serves them all
	spKC   = 64 // rows of op(B) per K block: 64·96·4 B = 24 KiB, stays in L1 (spRows and spKC: best of 16..100 × 32..256, BenchmarkStepFashion)
)

// sparseMaxDensity is the fraction of nonzeros in op(A) above which the
// dense packed path is faster; with op(B) = B^T the sparse path also
// transposes B, so it pays off only below sparseMaxDensityTransB (measured
// with BenchmarkSparseGemm on the CD-1 shapes: bench/README.md).
const (
	sparseMaxDensity       = 0.6
	sparseMaxDensityTransB = 0.4
)

// sparseMode selects the path: 0 chooses by density, 1 always takes the
// dense path, 2 takes the sparse path whenever the shape allows. Tests set
// it; RBMGPU_HOST_SPARSE=off (or =always) sets it for a whole process, to
// time one path against the other.
var sparseMode = sparseModeFromEnv(os.Getenv("RBMGPU_HOST_SPARSE"))

func sparseModeFromEnv(v string) int {
	switch v {
	case "off", "0", "dense":
		return 1
	case "always":
		return 2
	}
	return 0
}

// gemm job phases.
const (
	phaseCSR = iota
	phasePack
	phaseDense
	phaseTransB
	phaseSparse
	phaseMixed
	phasePadB
)

// sparseState is the sparse path's per-launch state and reusable scratch.
type sparseState struct {
	idx    []int32   // row i's nonzero column indices at [i*K, i*K+count)
	val    []float32 // and their values
	off    []int32   // off[i*(nkb+1)+kb]: index in row i of its first nonzero with k >= kb*spKC; off[i*(nkb+1)+nkb] = count
	nkb    int       // K blocks
	bt     []float32 // op(B) row-major (K x N, stride ldb) when B is transposed
	bp     []float32 // B copied with rows ldb apart when its own stride aliases in L1 (padded)
	ldb    int       // the row stride of the op(B) the sparse tiles read
	padded bool      // this launch reads bp
	dense  atomic.Bool
	ran    bool // the last launch took the sparse path (all its row blocks, or some: mixed)
	// Per-block choice (op(B) = B only): blockDense[b] says row block b
	// (rows [b·spRows, (b+1)·spRows) of op(A)) is denser than
	// sparseMaxDensity; when some blocks are and some are not, the launch
	// is mixed: the dense blocks run the packed kernel, the others the
	// sparse one, each on its own rows.
	blockDense   []bool
	mixed        bool
	sparseBlocks []int // the row blocks of a mixed launch that run sparse
	denseBlocks  []int // and those that run dense
}

// trySparse builds the compressed rows of op(A) and reports whether the
// sparse path will run this launch, for all row blocks or (mixed, set in
// j.sp) for some.
func (j *gemmJob) trySparse() bool {
	j.sp.ran, j.sp.mixed = false, false
	if sparseMode == 1 || j.K < 2 {
		return false
	}
	sp := &j.sp
	sp.nkb = (j.K + spKC - 1) / spKC
	sp.idx = grow(sp.idx, j.M*j.K)
	sp.val = grow(sp.val, j.M*j.K)
	sp.off = grow(sp.off, j.M*(sp.nkb+1))
	// Scratch is grown even when this launch turns out dense, so a later
	// sparse launch of the same shape does not allocate.
	ldp := alignedStride(j.N)
	switch {
	case j.transB:
		sp.bt = grow(sp.bt, j.K*ldp)
	case ldp != j.N && j.K*j.N <= padMaxFloats:
		sp.bp = grow(sp.bp, j.K*ldp)
	}
	if j.transA {
		for w := range j.d.ws {
			j.d.ws[w].rows = grow(j.d.ws[w].rows, spRows*j.K)
		}
	}
	nb := (j.M + spRows - 1) / spRows
	sp.blockDense = grow(sp.blockDense, nb)
	sp.dense.Store(false)
	j.runPhase(phaseCSR)
	if !j.transB {
		sp.sparseBlocks, sp.denseBlocks = sp.sparseBlocks[:0], sp.denseBlocks[:0]
		for b, dense := range sp.blockDense {
			if dense {
				sp.denseBlocks = append(sp.denseBlocks, b)
			} else {
				sp.sparseBlocks = append(sp.sparseBlocks, b)
			}
		}
		switch {
		case len(sp.sparseBlocks) == 0:
			return false
		case len(sp.denseBlocks) > 0:
			sp.mixed = true
		}
	} else if sp.dense.Load() {
		return false
	}
	sp.ldb, sp.padded = j.N, false
	switch {
	case j.transB:
		sp.ldb = ldp
	case ldp != j.N && j.K*j.N <= padMaxFloats:
		sp.ldb, sp.padded = ldp, true
		j.runPhase(phasePadB)
	}
	if j.transB {
		j.runPhase(phaseTransB)
	}
	sp.ran = true
	return true
}

// mixedTasks runs a worker's share of a mixed launch: the dense row
// blocks as groups of panelsPerTask packed mr-row panels by nr columns
// (the dense path's tasks), first, since they cost more, then the sparse
// blocks by spCols columns (the sparse path's). Every output row belongs to
// one block, and each path gives the dense kernel's bits.
func (j *gemmJob) mixedTasks(ws *workerScratch) {
	sp := &j.sp
	const panelsPerBlock = spRows / mr
	const groupsPerBlock = (panelsPerBlock + panelsPerTask - 1) / panelsPerTask
	nDense := len(sp.denseBlocks) * groupsPerBlock
	colBlocks := (j.N + spCols - 1) / spCols
	nd, ns := nDense*j.nPanels, len(sp.sparseBlocks)*colBlocks
	for t := j.ctr.take(nd + ns); t >= 0; t = j.ctr.take(nd + ns) {
		if t < nd {
			jp, u := t/nDense, t%nDense
			b, g := sp.denseBlocks[u/groupsPerBlock], u%groupsPerBlock
			ip0 := b*panelsPerBlock + g*panelsPerTask
			ip1 := min(ip0+panelsPerTask, (b+1)*panelsPerBlock, j.mPanels)
			for ip := ip0; ip < ip1; ip++ {
				j.tile(ws, ip, jp)
			}
			continue
		}
		u := t - nd
		b, cb := sp.sparseBlocks[u%len(sp.sparseBlocks)], u/len(sp.sparseBlocks)
		j.sparseTile(ws, b*spRows, cb*spCols)
	}
}

// csrRows compresses rows [i0, i0+spRows) of op(A) and records whether
// they hold more than the density limit's nonzeros (blockDense). With
// op(B) = B^T the launch is all sparse or all dense, so the first dense
// block sets dense and the other tasks stop.
func (j *gemmJob) csrRows(ws *workerScratch, i0 int) {
	sp := &j.sp
	if j.transB && sp.dense.Load() {
		return
	}
	M, K, nkb := j.M, j.K, sp.nkb
	rows := min(spRows, M-i0)
	if j.transA {
		// A is K x M: transpose the task's columns into the worker's
		// scratch (rows x K) first.
		transpose(j.A[i0:], M, ws.rows, K, K, rows) // ws.rows grown by trySparse
	}
	var cnt [spRows]int32
	for r := 0; r < rows; r++ {
		i := i0 + r
		row := j.A[i*K : (i+1)*K]
		if j.transA {
			row = ws.rows[r*K : (r+1)*K]
		}
		cnt[r] = csrRow(row, sp.idx[i*K:(i+1)*K], sp.val[i*K:(i+1)*K], sp.off[i*(nkb+1):(i+1)*(nkb+1)])
	}
	total := 0
	for _, n := range cnt[:rows] {
		total += int(n)
	}
	limit := sparseMaxDensity
	if j.transB {
		limit = sparseMaxDensityTransB
	}
	dense := sparseMode != 2 && float64(total) > limit*float64(rows*K)
	sp.blockDense[i0/spRows] = dense
	if dense {
		sp.dense.Store(true)
	}
}

// csrRow writes the nonzeros of row to val and their positions to idx (in
// order; both as long as row), the count before each K block to off[0:nkb]
// and the count to off[nkb], and returns the count. Each element is written
// unconditionally and kept by advancing the count: no branch to mispredict
// on random bits.
func csrRow(row []float32, idx []int32, val []float32, off []int32) int32 {
	k0, n := compressHead(row, idx, val, off)
	for k := k0; k < len(row); k++ {
		if k%spKC == 0 {
			off[k/spKC] = n
		}
		a := row[k]
		idx[n], val[n] = int32(k), a
		n += nonzero(a)
	}
	off[len(off)-1] = n
	return n
}

// nonzero is 1 if a != 0 (a NaN counts, -0 does not), else 0, without a
// branch.
func nonzero(a float32) int32 {
	x := math.Float32bits(a) << 1
	return int32((x | -x) >> 31)
}

// transBRows writes rows [n0, n0+spRows) of B (N x K) as columns of sp.bt
// (K x N, row stride sp.ldb).
func (j *gemmJob) transBRows(n0 int) {
	rows := min(spRows, j.N-n0)
	transpose(j.B[n0*j.K:], j.K, j.sp.bt[n0:], j.sp.ldb, rows, j.K)
}

// padRows copies rows [k0, k0+spKC) of B (K x N) into sp.bp, whose rows
// are sp.ldb apart.
func (j *gemmJob) padRows(k0 int) {
	N, ld := j.N, j.sp.ldb
	for k := k0; k < min(k0+spKC, j.K); k++ {
		copy(j.sp.bp[k*ld:k*ld+N], j.B[k*N:(k+1)*N])
	}
}

// alignedStride is the row stride, in float32s, at which the sparse
// kernel reads op(B): N, plus 16 when N is a multiple of 256, whose rows
// 1 KiB apart map to the same few L1 sets. Measured on the gradient
// product of a CD-1 step (784×N×100, A transposed, density 0.4, two
// workers): N = 512 takes 0.57 ms read at stride 528 against 0.85 ms at
// 512, N = 1024 1.38 against 1.68 ms; at N = 500 or 1000 a padded copy
// gains nothing.
func alignedStride(N int) int {
	if N%256 == 0 {
		return N + 16
	}
	return N
}

// padMaxFloats is the largest B (K·N float32s) copied to alignedStride:
// copying the weights of the forward products (784×512) costs more than
// the aligned reads save (0.70 against 0.67 ms), copying the hidden
// probabilities of the gradient products (100×512) much less.
const padMaxFloats = 1 << 18

// transpose writes dst[c*ldd+r] = src[r*lds+c] for r < rows, c < cols: 8x8
// blocks in registers where the CPU has AVX2, the edges (and everything
// without AVX2) one element at a time.
func transpose(src []float32, lds int, dst []float32, ldd int, rows, cols int) {
	r8, c8 := 0, 0
	if useAsm {
		r8, c8 = rows&^7, cols&^7
		for r := 0; r < r8; r += 8 {
			for c := 0; c < c8; c += 8 {
				_, _ = src[(r+7)*lds+c+7], dst[(c+7)*ldd+r+7]
				transpose8(&src[r*lds+c], lds, &dst[c*ldd+r], ldd)
			}
		}
	}
	for r := 0; r < rows; r++ {
		c0 := c8
		if r >= r8 {
			c0 = 0
		}
		for c := c0; c < cols; c++ {
			dst[c*ldd+r] = src[r*lds+c]
		}
	}
}

// sparseTile computes the output block of rows [i0, i0+spRows) and columns
// [j0, j0+spCols) and its epilogue. K blocks are the outer loop so a block
// of op(B) serves all the task's rows from L1; each row's partial sums wait
// in the worker's scratch between blocks.
func (j *gemmJob) sparseTile(ws *workerScratch, i0, j0 int) {
	sp := &j.sp
	M, N, K, nkb := j.M, j.N, j.K, sp.nkb
	rows, cols := min(spRows, M-i0), min(spCols, N-j0)
	b, ldb := j.B, sp.ldb
	switch {
	case j.transB:
		b = sp.bt
	case sp.padded:
		b = sp.bp
	}
	b = b[j0:]
	readC := j.beta != 0
	writeC := j.flags&kernels.GemmNoC == 0
	var bias []float32
	if j.flags&kernels.GemmBias != 0 {
		bias = j.bias[j0 : j0+cols]
	}
	// x(r) is where row r's result goes: C, or the row's scratch.
	x := func(r int) []float32 {
		if writeC {
			row := (i0+r)*N + j0
			return j.C[row : row+cols]
		}
		return ws.spAcc[r*spCols : r*spCols+cols]
	}
	fused := hasFusedRows(cols)
	if fused {
		// All rows of a K block in one call: spRows96.
		a := spRowsArgs{rows: rows, offStride: 4 * (nkb + 1), idx: &sp.idx[i0*K], val: &sp.val[i0*K],
			rowStride: 4 * K, b: &b[0], ldb: ldb, acc: &ws.spAcc[0], alpha: j.alpha, beta: j.beta}
		if bias != nil {
			a.bias = &bias[0]
		}
		for kb := 0; kb < nkb; kb++ {
			a.off = &sp.off[i0*(nkb+1)+kb]
			a.first = 0
			if kb == 0 {
				a.first = 1
			}
			if kb == nkb-1 {
				a.out, a.outStride = &ws.spAcc[0], 4*spCols
				if writeC {
					a.out, a.outStride = &j.C[i0*N+j0], 4*N
				}
				if readC {
					a.cin, a.cinStride = &j.C[i0*N+j0], 4*N
				}
			}
			fusedRows(&a)
		}
	} else {
		// A narrow block (the last columns) or no AVX2: each row's
		// nonzeros in one call, K blocks do not pay for so few columns.
		for r := 0; r < rows; r++ {
			i := i0 + r
			lo, hi := i*K+int(sp.off[i*(nkb+1)]), i*K+int(sp.off[i*(nkb+1)+nkb])
			acc := ws.spAcc[r*spCols : r*spCols+cols]
			clear(acc)
			if hi > lo {
				spRow(sp.idx[lo:hi], sp.val[lo:hi], b, ldb, acc)
			}
		}
	}
	for r := 0; r < rows; r++ {
		row := (i0+r)*N + j0
		xr := x(r)
		if !fused {
			var cin []float32
			if readC {
				cin = j.C[row : row+cols]
			}
			scaleAdd(xr, ws.spAcc[r*spCols:r*spCols+cols], j.alpha, j.beta, cin, bias)
		}
		if j.flags&(kernels.GemmSigmoid|kernels.GemmWriteP|kernels.GemmSample) != 0 {
			j.rowEpilogue(xr, row)
		}
	}
}

// spRowsArgs is the argument block of spRows96 (sparse_amd64.s reads its
// fields by offset): one K block of a task's rows. Strides are in bytes.
type spRowsArgs struct {
	rows        int
	off         *int32 // the block's start offset for the first row; the end is the next entry
	offStride   int
	idx         *int32 // the first row's compressed indices and values
	val         *float32
	rowStride   int
	b           *float32 // op(B) at the task's first column
	ldb         int      // in elements
	acc         *float32 // partial sums, spCols per row
	first       int      // 1: start from zero instead of acc
	out         *float32 // nil: store the partial sums; else the rows' results
	outStride   int
	alpha, beta float32
	cin         *float32 // nil: no beta term
	cinStride   int
	bias        *float32 // nil: no bias
}

// spRowGo is the portable spRow: acc[c] += val[t]*b[idx[t]*ldb+c] for each
// term t in order, the multiply-add fused as in kernGo.
func spRowGo(idx []int32, val []float32, b []float32, ldb int, acc []float32) {
	for t, k := range idx {
		a := float64(val[t])
		src := b[int(k)*ldb : int(k)*ldb+len(acc)]
		for c, v := range src {
			acc[c] = float32(float64(acc[c]) + a*float64(v))
		}
	}
}
