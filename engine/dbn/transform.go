package dbn

import (
	"context"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// Encoder returns the recognition pass of net as an engine.Encoder: the
// layers' weights and hidden biases, bottom first,
//
//	h⁰ = σ(x̃ W⁰ + c⁰),   hˡ = σ(hˡ⁻¹ Wˡ + cˡ),   l = 1 … L−1,
//
// with x̃ = x for a Bernoulli bottom and x̃ = ((x − mean)/std) ⊙ exp(−z)
// for a Gaussian one (models.DBN.BottomInput); the top layer reads only its
// first Layers[L−2].H rows of W, the label units being fed zeros, as
// models.DBN.Up does. The features are h^{L−1}, n×TopHidden(). The encoder
// shares net's slices.
func Encoder(net *models.DBN) (*engine.Encoder, error) {
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("DBN features: %w", err)
	}
	e := &engine.Encoder{What: fmt.Sprintf("DBN %v", net.Sizes())}
	L := len(net.Layers)
	for l, m := range net.Layers {
		in := m.V
		if l == L-1 {
			in -= net.LabelUnits
		}
		e.Layers = append(e.Layers, engine.EncoderLayer{In: in, Out: m.H, W: m.W, C: m.HBias})
	}
	if net.Gaussian != nil {
		e.Input = net.BottomInput
	}
	return e, nil
}

// Transform returns the top-layer features h^{L−1} of the n rows of x
// (n×V) as an n×TopHidden() matrix in dst (allocated when nil or too
// short): the recognition pass of Encoder, run on b (nil: the CPU
// kernels, engine.Host) in batches (engine.Encoder.Encode). It equals the
// last element of models.DBN.Up to float32 rounding.
func Transform(ctx context.Context, b engine.Backend, net *models.DBN, dst, x []float32, n int) ([]float32, error) {
	e, err := Encoder(net)
	if err != nil {
		return nil, err
	}
	return e.Transform(ctx, b, dst, x, n)
}
