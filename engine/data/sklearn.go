package data

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/models"
)

// ImportSklearnNPZ reads the weights of a scikit-learn BernoulliRBM saved
// as an NPZ archive, e.g.
//
//	numpy.savez(path, components_=numpy.ascontiguousarray(rbm.components_),
//	            intercept_hidden_=rbm.intercept_hidden_,
//	            intercept_visible_=rbm.intercept_visible_)
//
// (a fitted components_ is stored in Fortran order, which the NPY reader
// of this package rejects with an error that says so; the copy is C order)
// and returns the same model as an RBM: scikit-learn's components_ is H×V
// (one row per hidden unit), so
//
//	W_ij = components_[j, i] (W is V×H),  c = intercept_hidden_ (H),  b = intercept_visible_ (V).
//
// Both models define p(h_j=1|v) = σ(c_j + (vW)_j), p(v_i=1|h) = σ(b_i +
// (Wh)_i) and the same free energy, so scores agree up to float32 rounding
// (elements of any float or integer dtype are converted to float32). Extra
// arrays in the archive are ignored. It fails, naming the file and the
// array, when an array is missing, has the wrong number of dimensions or
// inconsistent sizes, or holds a non-finite value.
func ImportSklearnNPZ(path string) (*models.RBM, error) {
	arrays, err := ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("import scikit-learn RBM: %w", err)
	}
	get := func(name string, dims int) (Array, error) {
		a, ok := arrays[name]
		if !ok {
			return a, fmt.Errorf("import scikit-learn RBM: %s: no array %q (want components_, intercept_hidden_, intercept_visible_ of a BernoulliRBM)", path, name)
		}
		if len(a.Shape) != dims {
			return a, fmt.Errorf("import scikit-learn RBM: %s: %s has shape %v, want %d dimensions", path, name, a.Shape, dims)
		}
		for i, x := range a.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return a, fmt.Errorf("import scikit-learn RBM: %s: %s[%d] = %v is not finite", path, name, i, x)
			}
		}
		return a, nil
	}
	comp, err := get("components_", 2)
	if err != nil {
		return nil, err
	}
	hb, err := get("intercept_hidden_", 1)
	if err != nil {
		return nil, err
	}
	vb, err := get("intercept_visible_", 1)
	if err != nil {
		return nil, err
	}
	H, V := comp.Shape[0], comp.Shape[1]
	if H < 1 || V < 1 {
		return nil, fmt.Errorf("import scikit-learn RBM: %s: components_ has shape %v, want (n_components ≥ 1, n_features ≥ 1)", path, comp.Shape)
	}
	if hb.Shape[0] != H {
		return nil, fmt.Errorf("import scikit-learn RBM: %s: intercept_hidden_ has shape %v, want (%d,) to match components_ %v", path, hb.Shape, H, comp.Shape)
	}
	if vb.Shape[0] != V {
		return nil, fmt.Errorf("import scikit-learn RBM: %s: intercept_visible_ has shape %v, want (%d,) to match components_ %v", path, vb.Shape, V, comp.Shape)
	}
	if V > models.MaxParams/H || len(comp.Data) != V*H || len(hb.Data) != H || len(vb.Data) != V {
		return nil, fmt.Errorf("import scikit-learn RBM: %s: components_ %v: sizes do not match the data read", path, comp.Shape)
	}
	m := &models.RBM{V: V, H: H, W: make([]float32, V*H),
		VBias: append([]float32(nil), vb.Data...),
		HBias: append([]float32(nil), hb.Data...)}
	for j := 0; j < H; j++ {
		row := comp.Data[j*V : (j+1)*V]
		for i, w := range row {
			m.W[i*H+j] = w
		}
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("import scikit-learn RBM: %s: %w", path, err)
	}
	return m, nil
}
