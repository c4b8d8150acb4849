package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The tape machine runs the BM step graph to the formulas of BMStep's doc
// comment, computed here in plain Go from the same Gibbs draws; run twice,
// the RNG step moves the draws on.
func TestBMStepMatchesFormulas(t *testing.T) {
	for _, mf := range []bool{false, true} {
		V, H, B, C := 5, 3, 4, 6
		N := V + H
		cfg := BMConfig{Visible: V, Hidden: H, Batch: B, Chains: C, Sweeps: 2, ModelSweeps: 3, MeanField: mf}
		rng := &RNG{Seed: 17, Step: 3}
		s, err := BuildBMStep(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
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
		v0, chain := make([]float32, B*V), make([]float32, C*N)
		for i := range v0 {
			v0[i] = float32(r.IntN(2))
		}
		for i := range chain {
			chain[i] = float32(r.IntN(2))
		}
		bind := func(n *G.Node, x []float32, shape ...int) {
			if err := G.Let(n, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x...)))); err != nil {
				t.Fatal(err)
			}
		}
		bind(s.V0, v0, B, V)
		bind(s.W, W, N, N)
		bind(s.Bias, bias, N)
		bind(s.Mask, mask, N, N)
		bind(s.Chain, chain, C, N)
		vm := G.NewTapeMachine(s.Graph)
		for run := 0; run < 2; run++ {
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			pos, neg := make([]float32, B*N), make([]float32, C*N)
			kernels.BMGibbs(B, N, V, V, 2, mf, v0, W, bias, pos, kernels.Stream{Seed: 17, Op: IDBMData, Step: rng.Step})
			kernels.BMGibbs(C, N, N, 0, 3, false, chain, W, bias, neg, kernels.Stream{Seed: 17, Op: IDBMModel, Step: rng.Step})
			get := func(n *G.Node) []float32 {
				switch v := n.Value().(type) {
				case *tensor.Dense:
					return v.Data().([]float32)
				case *G.F32:
					return []float32{float32(*v)}
				}
				t.Fatalf("%s holds %T", n.Name(), n.Value())
				return nil
			}
			near := func(name string, got float32, want float64) {
				t.Helper()
				if math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("meanField=%v run %d: %s = %v, want %v", mf, run, name, got, want)
				}
			}
			gW, gb, nc, rec := get(s.GradW), get(s.GradBias), get(s.NewChain), get(s.ReconErr)
			for i := 0; i < N; i++ {
				var mp, mn float64
				for b := 0; b < B; b++ {
					mp += float64(pos[b*N+i]) / float64(B)
				}
				for c := 0; c < C; c++ {
					mn += float64(neg[c*N+i]) / float64(C)
				}
				near("GradBias", gb[i], mp-mn)
				for j := 0; j < N; j++ {
					var sp, sn float64
					for b := 0; b < B; b++ {
						sp += float64(pos[b*N+i]*pos[b*N+j]) / float64(B)
					}
					for c := 0; c < C; c++ {
						sn += float64(neg[c*N+i]*neg[c*N+j]) / float64(C)
					}
					near("GradW", gW[i*N+j], float64(mask[i*N+j])*(sp-sn))
				}
			}
			for k := range neg {
				if nc[k] != neg[k] {
					t.Fatalf("NewChain[%d] = %v, want %v", k, nc[k], neg[k])
				}
			}
			var re float64
			for b := 0; b < B; b++ {
				for i := 0; i < N; i++ {
					a := float64(bias[i])
					for j := 0; j < N; j++ {
						a += float64(W[i*N+j]) * float64(pos[b*N+j])
					}
					d := float64(pos[b*N+i]) - 1/(1+math.Exp(-a))
					re += d * d / float64(B)
				}
			}
			near("ReconErr", rec[0], re)
			vm.Reset()
			rng.Step++
		}
	}
}

func TestBMConfigValidate(t *testing.T) {
	for _, c := range []BMConfig{{Visible: 0, Batch: 1, Sweeps: 1}, {Visible: 1, Hidden: -1, Batch: 1, Sweeps: 1},
		{Visible: 1, Batch: 0, Sweeps: 1}, {Visible: 1, Batch: 1, Sweeps: 0}, {Visible: 1, Batch: 1, Sweeps: 1, Chains: -1}} {
		if _, err := BuildBMStep(c, &RNG{}); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := BuildBMStep(BMConfig{Visible: 1, Batch: 1, Sweeps: 1}, nil); err == nil {
		t.Error("nil RNG accepted")
	}
}
