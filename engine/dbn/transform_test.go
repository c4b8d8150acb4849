package dbn_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// randomDBN is a DBN of the given sizes with random parameters, labelUnits
// label units in the top RBM and, with gaussian, a Gaussian bottom.
func randomDBN(t *testing.T, sizes []int, labelUnits int, gaussian bool) *models.DBN {
	t.Helper()
	s := kernels.Stream{Seed: 21, Op: 0x7E57}
	k := uint64(0)
	u := func(scale float32) float32 { k++; return scale * (2*s.Uniform(k) - 1) }
	net := &models.DBN{LabelUnits: labelUnits}
	L := len(sizes) - 1
	for l := 0; l < L; l++ {
		v := sizes[l]
		if l == L-1 {
			v += labelUnits
		}
		m, err := models.NewRBM(v, sizes[l+1], uint64(l+1))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range [][]float32{m.W, m.VBias, m.HBias} {
			for i := range x {
				x[i] = u(1)
			}
		}
		net.Layers = append(net.Layers, m)
	}
	if gaussian {
		V := sizes[0]
		g := &models.GaussianBottom{LogVar: make([]float32, V), DataMean: make([]float32, V), DataStd: make([]float32, V)}
		for i := 0; i < V; i++ {
			g.LogVar[i], g.DataMean[i], g.DataStd[i] = u(0.5), 50+u(50), 20+u(10)
		}
		net.Gaussian = g
	}
	if err := net.Validate(); err != nil {
		t.Fatal(err)
	}
	return net
}

// refTop is the top-layer recognition pass by direct float64 loops:
// h⁰ = σ(x̃W⁰ + c⁰), hˡ = σ(hˡ⁻¹Wˡ + cˡ) over the first inputs of each W
// (label rows skipped), x̃ standardised and scaled by exp(−z) when Gaussian.
func refTop(net *models.DBN, x []float32, n int) []float64 {
	V := net.Layers[0].V
	in := make([]float64, n*V)
	for e := range in {
		in[e] = float64(x[e])
		if g := net.Gaussian; g != nil {
			i := e % V
			in[e] = (in[e] - float64(g.DataMean[i])) / float64(g.DataStd[i]) * math.Exp(-float64(g.LogVar[i]))
		}
	}
	width := V
	for _, m := range net.Layers {
		out := make([]float64, n*m.H)
		for r := 0; r < n; r++ {
			for j := 0; j < m.H; j++ {
				a := float64(m.HBias[j])
				for i := 0; i < width; i++ {
					a += in[r*width+i] * float64(m.W[i*m.H+j])
				}
				out[r*m.H+j] = 1 / (1 + math.Exp(-a))
			}
		}
		in, width = out, m.H
	}
	return in
}

func TestTransform(t *testing.T) {
	cases := []struct {
		name       string
		sizes      []int
		labelUnits int
		gaussian   bool
	}{
		{"one layer", []int{6, 4}, 0, false},
		{"three layers", []int{7, 5, 6, 3}, 0, false},
		{"label units", []int{7, 5, 4}, 3, false},
		{"Gaussian bottom", []int{6, 5, 4}, 0, true},
	}
	for _, tc := range cases {
		net := randomDBN(t, tc.sizes, tc.labelUnits, tc.gaussian)
		n := 9
		x := make([]float32, n*tc.sizes[0])
		s := kernels.Stream{Seed: 3, Op: 0x7E58}
		for i := range x {
			x[i] = s.Uniform(uint64(i))
			if tc.gaussian {
				x[i] *= 255
			}
		}
		want := refTop(net, x, n)
		up := net.Up(x, n)
		for _, b := range []engine.Backend{engine.Host(), engine.CPU{}} {
			got, err := dbn.Transform(context.Background(), b, net, nil, x, n)
			if err != nil {
				t.Fatalf("%s on %s: %v", tc.name, b.Name(), err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s on %s: %d features, want %d", tc.name, b.Name(), len(got), len(want))
			}
			for k := range want {
				if math.Abs(float64(got[k])-want[k]) > 3e-6 || math.Abs(float64(up[len(up)-1][k])-want[k]) > 3e-6 {
					t.Fatalf("%s on %s: feature %d = %v (Up: %v), want %v", tc.name, b.Name(), k, got[k], up[len(up)-1][k], want[k])
				}
			}
		}
	}
}

// Top-layer features of a small DBN, as the input of a classifier.
func ExampleTransform() {
	train, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	cfg := engine.Config{Epochs: 20, Batch: 10, LR: 0.1, Momentum: 0.5, Seed: 1}
	net, err := dbn.Pretrain(context.Background(), []int{16, 12, 6}, []engine.Config{cfg}, train, nil)
	if err != nil {
		log.Fatal(err)
	}
	h, err := dbn.Transform(context.Background(), nil, net, nil, train.X, train.N)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d rows × %d top-layer features\n", train.N, len(h)/train.N)
	// Output: 30 rows × 6 top-layer features
}
