package host

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The reductions of reduce.cu, with the same summation order as the .cu
// for the table geometry (kernels.Kernels blocks), so the host result
// equals the GPU's up to fmaf double rounding (see fmaf) and expf/log1pf:
//
//	col_sum_f32     thread row ty sums rows i = ty mod 8 in order, then the
//	                tree ((s0+s4)+(s2+s6)) + ((s1+s5)+(s3+s7))
//	sq_diff/sum     thread t of block b sums its grid-stride share, then a
//	                256-leaf tree per block
//	free_energy     per row: 256 strided partials, two 256-leaf trees

const redThreads = kernels.ReduceMaxThreads // blockDim.x of the 1-D reductions

type redKind uint8

const (
	redColSum redKind = iota
	redSqDiff
	redFreeEnergy
)

// reduceJob is one reduction launch split into independent tasks: column
// chunks (col_sum), blocks (sq_diff) or rows (free energy).
type reduceJob struct {
	d             *Driver
	kind          redKind
	tasks         int
	M, N, n, grid int
	alpha, beta   float32
	X, out        []float32
	A, B, partial []float32
	V, vbias, F   []float32
	Nv, Nh        int
	ctr           counter
}

// sqDiffBlocksPerTask is how many of sq_diff's blocks one task sums: a
// block is a few hundred elements, too little to pay for taking a task.
const sqDiffBlocksPerTask = 16

// colChunk is the columns per col_sum task; its eight partial rows live on
// the stack.
const colChunk = 64

func (j *reduceJob) run(int) {
	for t := j.ctr.take(j.tasks); t >= 0; t = j.ctr.take(j.tasks) {
		switch j.kind {
		case redColSum:
			j.colSum(t)
		case redSqDiff:
			for b := t * sqDiffBlocksPerTask; b < min((t+1)*sqDiffBlocksPerTask, j.grid); b++ {
				j.sqDiffBlock(b)
			}
		case redFreeEnergy:
			j.freeEnergyRow(t)
		}
	}
}

// runRed runs the prepared reduction; work is the element count, used to
// decide whether waking the workers pays.
func (d *Driver) runRed(work int) {
	j := &d.red
	j.ctr.reset()
	if work < 1<<15 {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	j.X, j.out, j.A, j.B, j.partial, j.V, j.vbias, j.F = nil, nil, nil, nil, nil, nil, nil, nil
}

func (d *Driver) launchColSum(grid kernels.Dim3, a *kernels.ColSumF32Args) error {
	const name = kernels.ColSumF32
	M32, N32 := a.M, a.N
	if err := dims(name, M32, N32); err != nil {
		return err
	}
	M, N := int(M32), int(N32)
	if grid.X*32 < N {
		return fmt.Errorf("host: %s: grid %v does not cover %d columns (want %v)", name, grid, N, kernels.ColSumGrid(N))
	}
	j := &d.red
	var err error
	if j.X, err = d.floats(name, "X", a.X, M*N); err != nil {
		return err
	}
	if j.out, err = d.floats(name, "out", a.Out, N); err != nil {
		return err
	}
	j.kind, j.M, j.N = redColSum, M, N
	j.alpha, j.beta = a.Alpha, a.Beta
	j.tasks = (N + colChunk - 1) / colChunk
	d.runRed(M * N)
	return nil
}

func (j *reduceJob) colSum(t int) {
	M, N := j.M, j.N
	j0 := t * colChunk
	w := min(colChunk, N-j0)
	out := j.out[j0 : j0+w]
	done := colSumHead(j.X, N, M, j0, w, out, j.alpha, j.beta)
	if done == w {
		return
	}
	var s [8][colChunk]float32
	for i := 0; i < M; i++ {
		addTo(s[i&7][done:w], j.X[i*N+j0+done:i*N+j0+w])
	}
	for c := done; c < w; c++ {
		tot := (s[0][c] + s[4][c] + (s[2][c] + s[6][c])) + (s[1][c] + s[5][c] + (s[3][c] + s[7][c]))
		r := j.alpha * tot
		if j.beta != 0 {
			r = r + j.beta*out[c]
		}
		out[c] = r
	}
}

func (d *Driver) launchSqDiff(grid kernels.Dim3, a *kernels.SqDiffPartialF32Args) error {
	const name = kernels.SqDiffPartialF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	j := &d.red
	var err error
	if j.A, err = d.floats(name, "A", a.A, n); err != nil {
		return err
	}
	if j.B, err = d.floats(name, "B", a.B, n); err != nil {
		return err
	}
	// One partial per block of the grid, as on the GPU: sum_f32 then
	// reduces exactly grid.X of them.
	if j.partial, err = d.floats(name, "partial", a.Partial, grid.X); err != nil {
		return err
	}
	j.kind, j.n, j.grid = redSqDiff, n, grid.X
	j.tasks = (grid.X + sqDiffBlocksPerTask - 1) / sqDiffBlocksPerTask
	d.runRed(n)
	return nil
}

func (j *reduceJob) sqDiffBlock(b int) {
	var red [redThreads]float32
	stride := redThreads * j.grid
	for base := b * redThreads; base < j.n; base += stride {
		m := min(redThreads, j.n-base)
		sqDiffAcc(j.A[base:base+m], j.B[base:base+m], red[:m])
	}
	j.partial[b] = treeSum(&red)
}

// sqDiffAccGo is sqDiffAcc's definition: red[t] = fmaf(d, d, red[t]) with
// d = a[t] - b[t] rounded to float32, for t < len(a).
func sqDiffAccGo(a, b, red []float32) {
	for t := range a {
		d := a[t] - b[t]
		red[t] = fmaf(d, d, red[t])
	}
}

// treeSum is block_tree_sum over 256 leaves: red[t] += red[t+h] for
// h = 128, 64, ..., 1; returns red[0]. red is overwritten.
func treeSum(red *[redThreads]float32) float32 {
	for h := redThreads / 2; h > 0; h /= 2 {
		addTo(red[:h], red[h:2*h]) // one add per element: the tree's roundings
	}
	return red[0]
}

func (d *Driver) launchSum(a *kernels.SumF32Args) error {
	const name = kernels.SumF32
	n32 := a.N
	if err := dims(name, n32); err != nil {
		return err
	}
	n := int(n32)
	X, err := d.floats(name, "X", a.X, n)
	if err != nil {
		return err
	}
	out, err := d.floats(name, "out", a.Out, 1)
	if err != nil {
		return err
	}
	// Every block of a larger grid would compute and store the same value,
	// so the grid does not matter.
	var red [redThreads]float32
	for base := 0; base < n; base += redThreads {
		x := X[base:min(base+redThreads, n)]
		addTo(red[:len(x)], x)
	}
	out[0] = a.Alpha * treeSum(&red)
	return nil
}

func (d *Driver) launchFreeEnergy(a *kernels.FreeEnergyF32Args) error {
	const name = kernels.FreeEnergyF32
	M32, Nv32, Nh32 := a.M, a.Nv, a.Nh
	if err := dims(name, M32, Nv32, Nh32); err != nil {
		return err
	}
	M, Nv, Nh := int(M32), int(Nv32), int(Nh32)
	j := &d.red
	var err error
	if j.V, err = d.floats(name, "V", a.V, M*Nv); err != nil {
		return err
	}
	if j.vbias, err = d.floats(name, "vbias", a.Vbias, Nv); err != nil {
		return err
	}
	if j.X, err = d.floats(name, "X", a.X, M*Nh); err != nil {
		return err
	}
	if j.F, err = d.floats(name, "F", a.F, M); err != nil {
		return err
	}
	j.kind, j.M, j.Nv, j.Nh, j.tasks = redFreeEnergy, M, Nv, Nh, M
	d.runRed(M * (Nv + 4*Nh))
	return nil
}

func (j *reduceJob) freeEnergyRow(i int) {
	var vb, sp [redThreads]float32
	Nv, Nh := j.Nv, j.Nh
	V, X := j.V[i*Nv:(i+1)*Nv], j.X[i*Nh:(i+1)*Nh]
	for base := 0; base < Nv; base += redThreads {
		v := V[base:min(base+redThreads, Nv)]
		bb := j.vbias[base : base+len(v)]
		for t := range v {
			vb[t] = fmaf(v[t], bb[t], vb[t])
		}
	}
	for base := 0; base < Nh; base += redThreads {
		for t, x := range X[base:min(base+redThreads, Nh)] {
			sp[t] = sp[t] + softplusf(x)
		}
	}
	j.F[i] = -treeSum(&vb) - treeSum(&sp)
}
