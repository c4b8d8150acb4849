package models

import (
	"errors"
	"fmt"
	"math"
)

// GaussianBottom makes the bottom layer of a DBN a Gaussian–Bernoulli RBM
// (see GRBM) for real-valued data: Layers[0] holds its weights and biases,
// this its per-feature log-variances z and the standardisation of the
// training data, all of length V. The recognition input of Layers[0] is
// then
//
//	x̃ = ((x − DataMean) / DataStd) ⊙ exp(−z)
//
// (standardise, then scale by the precision 1/σ², as p(h | v) of a GRBM
// reads it), and the generative down-pass ends in the Gaussian mean
// b + W h mapped back to data units. The upper layers stay Bernoulli RBMs.
type GaussianBottom struct {
	LogVar   []float32 // z = log σ², V
	DataMean []float32 // V
	DataStd  []float32 // V, > 0
}

// Names of the Gaussian-bottom tensors of a DBN checkpoint, per layer 0:
// "layer0.logvar", "layer0.data_mean", "layer0.data_std".
var gaussianBottomTensors = []string{TensorLogVar, TensorDataMean, TensorDataStd}

// NewGaussianBottom takes the Gaussian part of a trained GRBM (its slices
// are shared, not copied): the bottom layer of a DBN is then
// RBM{g.V, g.H, g.W, g.VBias, g.HBias} with this GaussianBottom.
func NewGaussianBottom(g *GRBM) (*GaussianBottom, *RBM, error) {
	if err := g.Validate(); err != nil {
		return nil, nil, fmt.Errorf("DBN Gaussian bottom: %w", err)
	}
	if g.DataMean == nil || g.DataStd == nil {
		return nil, nil, errors.New("DBN Gaussian bottom: the Gaussian RBM has no data standardisation")
	}
	return &GaussianBottom{LogVar: g.LogVar, DataMean: g.DataMean, DataStd: g.DataStd},
		&RBM{V: g.V, H: g.H, W: g.W, VBias: g.VBias, HBias: g.HBias}, nil
}

func (b *GaussianBottom) clone() *GaussianBottom {
	if b == nil {
		return nil
	}
	return &GaussianBottom{LogVar: append([]float32(nil), b.LogVar...),
		DataMean: append([]float32(nil), b.DataMean...), DataStd: append([]float32(nil), b.DataStd...)}
}

func (b *GaussianBottom) validate(V int) error {
	for i, t := range [][]float32{b.LogVar, b.DataMean, b.DataStd} {
		name := gaussianBottomTensors[i]
		if len(t) != V {
			return fmt.Errorf("DBN Gaussian bottom: %s has %d elements, want %d", name, len(t), V)
		}
		if j := firstNonFinite(t); j >= 0 {
			return fmt.Errorf("DBN Gaussian bottom: %s[%d] = %v is not finite", name, j, t[j])
		}
	}
	for i, s := range b.DataStd {
		if !(s > 0) {
			return fmt.Errorf("DBN Gaussian bottom: %s[%d] = %v, want > 0", TensorDataStd, i, s)
		}
	}
	return nil
}

// GRBM returns the bottom layer of a DBN with a Gaussian bottom as a GRBM
// (sharing d's slices), nil for a Bernoulli bottom.
func (d *DBN) GRBM() *GRBM {
	if d.Gaussian == nil {
		return nil
	}
	m := d.Layers[0]
	return &GRBM{V: m.V, H: m.H, W: m.W, VBias: m.VBias, HBias: m.HBias,
		LogVar: d.Gaussian.LogVar, DataMean: d.Gaussian.DataMean, DataStd: d.Gaussian.DataStd}
}

// BottomInput writes the recognition input of Layers[0] for the n rows of x
// (n×V) into dst (allocated when too short; it may be x itself, for an
// in-place transform) and returns it: x itself (no copy) for a Bernoulli
// bottom, x̃ = ((x − mean)/std)·exp(−z) for a
// Gaussian one (see GaussianBottom).
func (d *DBN) BottomInput(dst, x []float32, n int) []float32 {
	if d.Gaussian == nil {
		return x[:n*d.Visible()]
	}
	V := d.Visible()
	if len(dst) < n*V {
		dst = make([]float32, n*V)
	}
	dst = dst[:n*V]
	g := d.Gaussian
	// The precisions once per call, not once per element; dst may be x.
	prec := make([]float32, V)
	for i, z := range g.LogVar {
		prec[i] = float32(math.Exp(-float64(z)))
	}
	for r := 0; r < n; r++ {
		for i := 0; i < V; i++ {
			e := r*V + i
			dst[e] = (x[e] - g.DataMean[i]) / g.DataStd[i] * prec[i]
		}
	}
	return dst
}

// gaussianDown maps hidden states h (n×H of Layers[0]) to the Gaussian
// mean b + W h of the bottom layer, in data units.
func (d *DBN) gaussianDown(h []float32, n int) []float32 {
	g := d.GRBM()
	x := g.VisibleMean(nil, h, n)
	g.Unstandardise(x)
	return x
}
