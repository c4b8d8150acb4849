package host

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// pottsJob is one potts_gibbs_f32 launch. Its rows are independent
// chains; workers take blocks of pottsRowBlock rows from a counter and
// sweep a block site by site (sweep, site, then row), so that the Q
// columns of W that site i reads (Q·N floats, 176 KiB at L = 100,
// Q = 21) stay in cache across the block's chains instead of being
// fetched again for every chain. The logits read Wt, the transpose of W,
// where W[iQ+a, jQ+s_j] for a = 0..Q−1 are Q consecutive floats: W itself
// when it is symmetric bit for bit (as training keeps it), else a copy
// transposed at launch. Each row's arithmetic is kernels.PottsGibbsRow's:
// the same additions in the same order and the same Philox elements, so
// the states are the contract's bit for bit.
type pottsJob struct {
	R, L, Q, sweeps int
	X, W, b, S      []float32
	Wt              []float32 // W transposed (W itself when symmetric)
	scratch         []float32 // the transposed copy of an asymmetric W
	rng             kernels.Stream
	mask            [32]int32   // −1 for the lanes a < Q of pottsAccum32
	code            [][]int32   // per worker, pottsRowBlock·L codes
	u               [][]float32 // per worker, Q logits
	ctr             counter
}

// pottsRowBlock is the number of chains a worker sweeps together.
const pottsRowBlock = 32

func (j *pottsJob) run(w int) {
	blocks := (j.R + pottsRowBlock - 1) / pottsRowBlock
	for k := j.ctr.take(blocks); k >= 0; k = j.ctr.take(blocks) {
		r0 := k * pottsRowBlock
		j.block(r0, min(r0+pottsRowBlock, j.R), j.code[w], j.u[w])
	}
}

// block sweeps rows r0..r1−1 (code holds (r1−r0)·L codes, u Q logits).
func (j *pottsJob) block(r0, r1 int, code []int32, u []float32) {
	L, Q, R := j.L, j.Q, j.R
	N := L * Q
	for r := r0; r < r1; r++ {
		x, c := j.X[r*N:(r+1)*N], code[(r-r0)*L:(r-r0+1)*L]
		for i := 0; i < L; i++ {
			v := int32(0)
			for a := Q - 1; a >= 0; a-- {
				if x[i*Q+a] >= 0.5 {
					v = int32(a)
				}
			}
			c[i] = v
		}
	}
	for sw := 0; sw < j.sweeps; sw++ {
		for i := 0; i < L; i++ {
			bi := j.b[i*Q : (i+1)*Q]
			for r := r0; r < r1; r++ {
				c := code[(r-r0)*L : (r-r0+1)*L]
				copy(u, bi)
				pottsAccum(u, j.Wt, c, i, Q, N, &j.mask)
				c[i] = int32(kernels.CategoricalF32(u, j.rng.Uniform(uint64((sw*R+r)*L+i))))
			}
		}
	}
	for r := r0; r < r1; r++ {
		out, c := j.S[r*N:(r+1)*N], code[(r-r0)*L:(r-r0+1)*L]
		for k := range out {
			if int(c[k/Q]) == k%Q {
				out[k] = 1
			} else {
				out[k] = 0
			}
		}
	}
}

func (d *Driver) launchPottsGibbs(grid kernels.Dim3, a *kernels.PottsGibbsF32Args) error {
	const name = kernels.PottsGibbsF32
	if err := dims(name, a.R, a.L, a.Q, a.Sweeps); err != nil {
		return err
	}
	j := &d.pj
	j.R, j.L, j.Q, j.sweeps = int(a.R), int(a.L), int(a.Q), int(a.Sweeps)
	if err := kernels.CheckPottsShape(j.L, j.Q); err != nil {
		return fmt.Errorf("host: %s: %w", name, err)
	}
	if grid.X*grid.Y*grid.Z < j.R {
		return fmt.Errorf("host: %s: grid %v does not cover %d chains", name, grid, j.R)
	}
	N := j.L * j.Q
	var err error
	if j.X, err = d.floats(name, "X", a.X, j.R*N); err != nil {
		return err
	}
	if j.W, err = d.floats(name, "W", a.W, N*N); err != nil {
		return err
	}
	if j.b, err = d.floats(name, "b", a.B, N); err != nil {
		return err
	}
	if j.S, err = d.floats(name, "S", a.S, j.R*N); err != nil {
		return err
	}
	j.rng = kernels.Stream{Seed: a.Seed, Op: a.Op, Step: a.Step}
	for k := range j.mask {
		j.mask[k] = 0
		if k < j.Q {
			j.mask[k] = -1
		}
	}
	j.Wt = j.W
	if !symmetricF32(j.W, N) {
		if len(j.scratch) < N*N {
			j.scratch = make([]float32, N*N)
		}
		j.Wt = j.scratch[:N*N]
		for r := 0; r < N; r++ {
			for c := 0; c < N; c++ {
				j.Wt[c*N+r] = j.W[r*N+c]
			}
		}
	}
	for len(j.code) < d.pool.n {
		j.code, j.u = append(j.code, nil), append(j.u, nil)
	}
	for w := range j.code {
		if len(j.code[w]) < pottsRowBlock*j.L {
			j.code[w] = make([]int32, pottsRowBlock*j.L)
		}
		if cap(j.u[w]) < max(j.Q, 32) {
			j.u[w] = make([]float32, max(j.Q, 32)) // pottsAccum32 addresses 32 lanes
		}
		j.code[w], j.u[w] = j.code[w][:pottsRowBlock*j.L], j.u[w][:j.Q:cap(j.u[w])]
	}
	j.ctr.reset()
	if j.R <= pottsRowBlock {
		j.run(0)
	} else {
		d.pool.do(j)
	}
	return nil
}

func (d *Driver) launchPottsGrad(a *kernels.PottsGradF32Args) error {
	const name = kernels.PottsGradF32
	if err := dims(name, a.N, a.Cols, a.Q); err != nil {
		return err
	}
	n, cols := int(a.N), int(a.Cols)
	if cols < 1 || n%cols != 0 {
		return fmt.Errorf("host: %s: %d elements are not rows of %d", name, n, cols)
	}
	F, err := d.floats(name, "F", a.F, n)
	if err != nil {
		return err
	}
	X, err := d.floats(name, "X", a.X, n)
	if err != nil {
		return err
	}
	out, err := d.floats(name, "out", a.Out, n)
	if err != nil {
		return err
	}
	kernels.PottsGrad(cols, int(a.Q), a.Alpha, F, X, out)
	return nil
}

// symmetricF32 reports whether the n×n matrix w equals its transpose bit
// for bit (bits compared: −0 and +0 differ).
func symmetricF32(w []float32, n int) bool {
	for r := 0; r < n; r++ {
		for c := r + 1; c < n; c++ {
			if math.Float32bits(w[r*n+c]) != math.Float32bits(w[c*n+r]) {
				return false
			}
		}
	}
	return true
}

// pottsAccumGo is the portable inner sum of the logits of site i:
// u[a] += W[iQ+a, jQ+s_j] = Wt[jQ+s_j, iQ+a] for increasing j ≠ i, the Q
// sums advancing together (independent additions over consecutive
// floats), each in the contract's order.
func pottsAccumGo(u, Wt []float32, code []int32, i, Q, N int) {
	acc := u[:Q]
	for jj, s := range code {
		if jj == i {
			continue
		}
		off := (jj*Q+int(s))*N + i*Q
		row := Wt[off : off+Q : off+Q]
		for a, w := range row {
			acc[a] += w
		}
	}
}
