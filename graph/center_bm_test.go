package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The centred BM step on the tape equals the float64 formulas of
// CenteredBMStep from the same Gibbs draws (kernels.BMGibbs), over two
// runs with the offsets carried.
func TestCenteredBMStepMatchesFormulas(t *testing.T) {
	for _, mf := range []bool{false, true} {
		V, H, B, C := 5, 3, 4, 6
		N := V + H
		const nu = 0.3
		cfg := BMConfig{Visible: V, Hidden: H, Batch: B, Chains: C, Sweeps: 2, ModelSweeps: 3, MeanField: mf}
		rng := &RNG{Seed: 19, Step: 5}
		s, err := BuildCenteredBMStep(cfg, nu, rng)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, 8))
		W, bias, mask := make([]float32, N*N), make([]float32, N), make([]float32, N*N)
		for i := 0; i < N; i++ {
			bias[i] = r.Float32() - 0.5
			for j := i + 1; j < N; j++ {
				if r.IntN(3) > 0 {
					w := 2*r.Float32() - 1
					W[i*N+j], W[j*N+i], mask[i*N+j], mask[j*N+i] = w, w, 1, 1
				}
			}
		}
		v0, chain, off := make([]float32, B*V), make([]float32, C*N), make([]float32, N)
		for i := range v0 {
			v0[i] = float32(r.IntN(2))
		}
		for i := range chain {
			chain[i] = float32(r.IntN(2))
		}
		for i := range off {
			off[i] = r.Float32()
		}
		offT := tensor.New(tensor.WithShape(1, N), tensor.WithBacking(append([]float32(nil), off...)))
		chainT := tensor.New(tensor.WithShape(C, N), tensor.WithBacking(append([]float32(nil), chain...)))
		bind := func(n *G.Node, x []float32, shape ...int) {
			if err := G.Let(n, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x...)))); err != nil {
				t.Fatal(err)
			}
		}
		bind(s.V0, v0, B, V)
		bind(s.W, W, N, N)
		bind(s.Bias, bias, N)
		bind(s.Mask, mask, N, N)
		if err := G.Let(s.Chain, chainT); err != nil {
			t.Fatal(err)
		}
		if err := G.Let(s.Offset, offT); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(s.Graph)
		o := f64(off)
		for run := 0; run < 2; run++ {
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			ch := chainT.Data().([]float32)
			pos, neg := make([]float32, B*N), make([]float32, C*N)
			kernels.BMGibbs(B, N, V, V, 2, mf, v0, W, bias, pos, kernels.Stream{Seed: 19, Op: IDBMData, Step: rng.Step})
			kernels.BMGibbs(C, N, N, 0, 3, false, ch, W, bias, neg, kernels.Stream{Seed: 19, Op: IDBMModel, Step: rng.Step})
			get := func(n *G.Node) []float32 {
				return append([]float32(nil), n.Value().(*tensor.Dense).Data().([]float32)...)
			}
			near := func(name string, got float32, want float64) {
				t.Helper()
				if math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("meanField=%v run %d: %s = %v, want %v", mf, run, name, got, want)
				}
			}
			gb := make([]float64, N)
			for i := 0; i < N; i++ {
				var mp, mn float64
				for b := 0; b < B; b++ {
					mp += float64(pos[b*N+i]) / float64(B)
				}
				for c := 0; c < C; c++ {
					mn += float64(neg[c*N+i]) / float64(C)
				}
				gb[i] = mp - mn
				o[i] = (1-nu)*o[i] + nu*mp
			}
			newOff := get(s.NewOffset)
			for i := range o {
				near("NewOffset", newOff[i], o[i])
			}
			gW := get(s.CGradW)
			dW := make([]float64, N*N)
			for i := 0; i < N; i++ {
				for j := 0; j < N; j++ {
					var sp, sn float64
					for b := 0; b < B; b++ {
						sp += float64(pos[b*N+i]*pos[b*N+j]) / float64(B)
					}
					for c := 0; c < C; c++ {
						sn += float64(neg[c*N+i]*neg[c*N+j]) / float64(C)
					}
					dW[i*N+j] = float64(mask[i*N+j]) * (sp - sn - o[i]*gb[j] - gb[i]*o[j])
					near("GradW", gW[i*N+j], dW[i*N+j])
				}
			}
			cb := get(s.CGradBias)
			for i := 0; i < N; i++ {
				want := gb[i]
				for j := 0; j < N; j++ {
					want -= dW[i*N+j] * o[j]
				}
				near("GradBias", cb[i], want)
			}
			// Carry the chains and the offsets, as the executors do.
			copy(ch, get(s.NewChain))
			copy(offT.Data().([]float32), newOff)
			o = f64(newOff)
			vm.Reset()
			rng.Step++
		}
	}
}
