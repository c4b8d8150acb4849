package models

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// LogZ (hidden units enumerated, visibles integrated analytically) against
// a quadrature of ∫ exp(−F(v)) dv over a fine grid, for V = 1 and V = 2.
func TestGRBMLogZMatchesQuadrature(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, V := range []int{1, 2} {
		m := randomGRBM(rng, V, 3)
		logZ, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		const lo, hi, n = -25.0, 25.0, 1000
		dv := (hi - lo) / n
		var z float64
		v := make([]float32, V)
		if V == 1 {
			for a := 0; a < n; a++ {
				v[0] = float32(lo + (float64(a)+0.5)*dv)
				z += math.Exp(-m.FreeEnergy(v)) * dv
			}
		} else {
			for a := 0; a < n; a++ {
				for b := 0; b < n; b++ {
					v[0], v[1] = float32(lo+(float64(a)+0.5)*dv), float32(lo+(float64(b)+0.5)*dv)
					z += math.Exp(-m.FreeEnergy(v)) * dv * dv
				}
			}
		}
		t.Logf("V=%d: log Z %.6f, quadrature %.6f", V, logZ, math.Log(z))
		if math.Abs(logZ-math.Log(z)) > 1e-3 {
			t.Errorf("V=%d: log Z %.6f, quadrature %.6f", V, logZ, math.Log(z))
		}
	}
	if _, err := (&GRBM{V: 1, H: 30, W: make([]float32, 30), VBias: []float32{0}, HBias: make([]float32, 30), LogVar: []float32{0}}).LogZ(); err == nil {
		t.Error("H = 30: no error")
	}
}

func TestStandardisation(t *testing.T) {
	x := []float32{1, 5, 0, 3, 5, 0, 5, 5, 0, 7, 5, 1} // 4 rows × 3: varied, constant, nearly constant
	mean, std := Standardisation(x, 4, 3)
	if mean[0] != 4 || mean[1] != 5 || mean[2] != 0.25 {
		t.Fatalf("mean %v", mean)
	}
	// var = 5, 0, 0.1875; eps = 0.01·mean var.
	eps := 0.01 * (5 + 0.1875) / 3
	for i, v := range []float64{5, 0, 0.1875} {
		if math.Abs(float64(std[i])-math.Sqrt(v+eps)) > 1e-6 {
			t.Fatalf("std[%d] = %v, want %v", i, std[i], math.Sqrt(v+eps))
		}
	}
	m, _ := NewGRBM(3, 2, 1)
	m.DataMean, m.DataStd = mean, std
	y := append([]float32(nil), x...)
	m.Standardise(y)
	m.Unstandardise(y)
	for i := range x {
		if math.Abs(float64(x[i]-y[i])) > 1e-5 {
			t.Fatalf("round trip [%d]: %v → %v", i, x[i], y[i])
		}
	}
}

func TestGRBMCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	m := randomGRBM(rng, 5, 3)
	m.DataMean, m.DataStd = []float32{1, 2, 3, 4, 5}, []float32{1, 0.5, 2, 1, 3}
	path := filepath.Join(dir, "g.safetensors")
	vel := safetensors.Tensor{Name: "velocity.logvar", Shape: []int{5}, Data: make([]float32, 5)}
	if err := SaveGRBM(path, m, Meta{Epoch: 3, Seed: 7}, []safetensors.Tensor{vel}); err != nil {
		t.Fatal(err)
	}
	if k, err := CheckpointKind(path); err != nil || k != KindGRBM {
		t.Fatalf("kind %q, %v", k, err)
	}
	got, meta, extra, err := LoadGRBM(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Epoch != 3 || meta.Seed != 7 || meta.Kind != KindGRBM || len(extra) != 1 {
		t.Fatalf("meta %+v, extra %v", meta, extra)
	}
	for _, p := range [][2][]float32{{m.W, got.W}, {m.LogVar, got.LogVar}, {m.DataMean, got.DataMean}, {m.DataStd, got.DataStd}, {m.HBias, got.HBias}} {
		for i := range p[0] {
			if p[0][i] != p[1][i] {
				t.Fatalf("round trip differs at %d: %v vs %v", i, p[0][i], p[1][i])
			}
		}
	}
	// An RBM file is not a GRBM file and vice versa; damaged tensors are named.
	if _, _, _, err := LoadRBM(path); err == nil || !strings.Contains(err.Error(), `kind "grbm"`) {
		t.Errorf("LoadRBM of a grbm checkpoint: %v", err)
	}
	r, _ := NewRBM(5, 3, 1)
	rpath := filepath.Join(dir, "r.safetensors")
	if err := SaveRBM(rpath, r, Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadGRBM(rpath); err == nil || !strings.Contains(err.Error(), `kind "rbm"`) {
		t.Errorf("LoadGRBM of an rbm checkpoint: %v", err)
	}
	bad := m.Clone()
	bad.DataStd[2] = 0
	if err := SaveGRBM(filepath.Join(dir, "b.safetensors"), bad, Meta{}, nil); err == nil || !strings.Contains(err.Error(), "data std[2]") {
		t.Errorf("save with std 0: %v", err)
	}
	// Write one by hand with a zero std and without logvar.
	tensors := []safetensors.Tensor{
		{Name: TensorW, Shape: []int{5, 3}, Data: m.W}, {Name: TensorVBias, Shape: []int{5}, Data: m.VBias},
		{Name: TensorHBias, Shape: []int{3}, Data: m.HBias}, {Name: TensorDataMean, Shape: []int{5}, Data: m.DataMean},
		{Name: TensorDataStd, Shape: []int{5}, Data: bad.DataStd},
	}
	md := map[string]string{MetaKey: `{"format_version":1,"kind":"grbm","visible":5,"hidden":3}`}
	for _, c := range []struct {
		tensors []safetensors.Tensor
		want    string
	}{
		{tensors, `tensor "logvar" missing`},
		{append(tensors, safetensors.Tensor{Name: TensorLogVar, Shape: []int{5}, Data: m.LogVar}), "data std[2] = 0"},
		{append(tensors[:4:4], safetensors.Tensor{Name: TensorDataStd, Shape: []int{4}, Data: m.DataStd[:4]},
			safetensors.Tensor{Name: TensorLogVar, Shape: []int{5}, Data: m.LogVar}), `tensor "data_std": shape [4]`},
	} {
		p := filepath.Join(dir, "hand.safetensors")
		if err := safetensors.Write(p, c.tensors, md); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := LoadGRBM(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}
}

// ExactGradient against central finite differences of the exact
// log-likelihood (LogZ and FreeEnergy), every parameter.
func TestGRBMExactGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	m := randomGRBM(rng, 4, 3)
	n := 7
	x := make([]float32, n*4)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 1.5)
	}
	dW, db, dc, dz, err := m.ExactGradient(x, n)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, p []float32, g []float64) {
		for i := range p {
			old := p[i]
			const h = 1e-2
			p[i] = old + h
			lp, _ := m.LogLikelihood(x, n)
			p[i] = old - h
			lm, _ := m.LogLikelihood(x, n)
			p[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-g[i]) > 2e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: exact gradient %.6f, finite difference %.6f", name, i, g[i], fd)
			}
		}
	}
	check("W", m.W, dW)
	check("vbias", m.VBias, db)
	check("hbias", m.HBias, dc)
	check("logvar", m.LogVar, dz)
}
