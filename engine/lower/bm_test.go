package lower

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// The BM step lowers with the existing lowerer plus its two custom ops: one
// bm_gibbs_f32 launch per phase, the statistics as gemm terms into one
// buffer, the mask as one bm_mask_f32 launch, column sums for the biases
// and the fused sigmoid gemm and reduction of the monitor.
func TestLowerBMStep(t *testing.T) {
	s, err := graph.BuildBMStep(graph.BMConfig{Visible: 6, Hidden: 3, Batch: 4, Chains: 5, Sweeps: 2}, &graph.RNG{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", p)
	count := map[string]int{}
	for _, l := range p.Launches {
		count[l.Kernel]++
		// Every pointer parameter is bound (to a buffer or NULL), nothing else.
		if err := l.Validate(); err != nil {
			t.Errorf("%s: %v", l.Kernel, err)
		}
	}
	want := map[string]int{kernels.BMGibbsF32: 2, kernels.BMMaskF32: 1, kernels.GemmF32: 3, kernels.ColSumF32: 2,
		kernels.SqDiffPartialF32: 1, kernels.SumF32: 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d launches of %s, want %d", count[k], k, n)
		}
	}
	for _, name := range []string{"v0", "W", "bias", "mask", "chain"} {
		if p.Inputs[name] == nil {
			t.Errorf("no input %s", name)
		}
	}
	for _, name := range []string{"GradW", "GradBias", "ReconErr", "NewChain"} {
		if p.Outputs[name] == nil {
			t.Errorf("no output %s", name)
		}
	}
	if nc := p.Outputs["NewChain"]; nc.Rows != 5 || nc.Cols != 9 {
		t.Errorf("NewChain %d×%d", nc.Rows, nc.Cols)
	}
}

// The Gibbs sweep op's CPU implementation (Do, what the tape machine runs)
// and the one launch its KernelLaunch asks for, run by the emulator of
// bm.cu with the launch's own arguments, give the same states: samples bit
// for bit, mean-field values within 2 ulp (expf), for clamped and free
// ops and N on both sides of the block size.
func TestBMGibbsOpDoMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		R, N, Nin, first, sweeps int
		meanField                bool
	}{{4, 9, 6, 6, 3, false}, {4, 9, 6, 6, 3, true}, {3, 9, 9, 0, 2, false}, {2, 150, 150, 0, 1, false}} {
		rng := &graph.RNG{Seed: 21, Step: 8}
		op := &graph.BMGibbsOp{ID: graph.IDBMModel, RNG: rng, N: c.N, First: c.first, Sweeps: c.sweeps, MeanField: c.meanField}
		X := make([]float32, c.R*c.Nin)
		for i := range X {
			X[i] = float32(r.IntN(2))
		}
		W, b := make([]float32, c.N*c.N), make([]float32, c.N)
		for i := 0; i < c.N; i++ {
			b[i] = r.Float32() - 0.5
			for j := i + 1; j < c.N; j++ {
				w := 2*r.Float32() - 1
				W[i*c.N+j], W[j*c.N+i] = w, w
			}
		}
		dense := func(x []float32, shape ...int) *tensor.Dense {
			return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x...)))
		}
		out, err := op.Do(dense(X, c.R, c.Nin), dense(W, c.N, c.N), dense(b, c.N))
		if err != nil {
			t.Fatal(err)
		}
		cpu := out.Data().([]float32)
		kl, err := op.KernelLaunch([][2]int{{c.R, c.Nin}, {c.N, c.N}, {1, c.N}})
		if err != nil {
			t.Fatal(err)
		}
		S := make([]float32, c.R*c.N)
		var st emu.Slices
		for i, in := range [][]float32{X, W, b} {
			*kl.Inputs[i] = st.F32(in)
		}
		*kl.Output = st.F32(S)
		*kl.Seed, *kl.Step = rng.Seed, rng.Step
		if err := emu.Launch(kl.Grid, kl.Block, kl.Args, &st); err != nil {
			t.Fatal(err)
		}
		for i := range cpu {
			d := math.Abs(float64(cpu[i] - S[i]))
			if (!c.meanField && d != 0) || d > 2e-7 {
				t.Fatalf("%+v: Do S[%d] = %v, kernel %v", c, i, cpu[i], S[i])
			}
		}
	}
}
