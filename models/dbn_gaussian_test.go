package models

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// gaussianDBN returns testDBN(sizes) with a Gaussian bottom of varied
// log-variances and standardisation.
func gaussianDBN(t *testing.T, sizes []int, classes int) *DBN {
	t.Helper()
	d := testDBN(t, sizes, 0, classes)
	V := sizes[0]
	g := &GaussianBottom{LogVar: make([]float32, V), DataMean: make([]float32, V), DataStd: make([]float32, V)}
	for i := 0; i < V; i++ {
		g.LogVar[i] = float32(i%3) * 0.3
		g.DataMean[i] = float32(i) * 0.1
		g.DataStd[i] = 0.5 + float32(i%4)*0.25
	}
	d.Gaussian = g
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

// With a Gaussian bottom the first layer's hidden probabilities are the
// GRBM's p(h | v) on the standardised data, and generation ends in data
// units: the GRBM's mean b + W h, unstandardised.
func TestDBNGaussianBottomUpAndGenerate(t *testing.T) {
	d := gaussianDBN(t, []int{5, 4, 3}, 0)
	x := []float32{0.3, -1.2, 2.5, 0.7, 0, 1.1, 0.4, -0.3, 3, -2}
	n := 2
	g := d.GRBM()
	std := append([]float32(nil), x...)
	g.Standardise(std)
	want := g.HiddenProbs(nil, std, n)
	got := d.Up(x, n)[0]
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("layer-0 probabilities [%d]: %v, GRBM says %v", i, got[i], want[i])
		}
	}
	samples, err := d.Generate(3, 5, 7, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Bernoulli bottom would give values in [0, 1]; the Gaussian mean in
	// data units (means up to 0.4, scales up to 1.25) leaves that range.
	outside := false
	for _, v := range samples {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("generated %v", v)
		}
		outside = outside || v < 0 || v > 1
	}
	if !outside {
		t.Error("Gaussian-bottom samples all in [0, 1]: the down-pass ended in a sigmoid")
	}
}

// A Gaussian-bottom DBN round-trips through SaveDBN/LoadDBN; Clone is
// deep; bad Gaussian parts are errors naming the tensor.
func TestDBNGaussianBottomSaveLoadValidate(t *testing.T) {
	d := gaussianDBN(t, []int{6, 4, 3}, 2)
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := SaveDBN(path, d); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDBN(path)
	if err != nil {
		t.Fatal(err)
	}
	equalDBN(t, d, got)
	if got.Gaussian == nil {
		t.Fatal("loaded DBN lost its Gaussian bottom")
	}
	for i, pair := range [][2][]float32{{d.Gaussian.LogVar, got.Gaussian.LogVar}, {d.Gaussian.DataMean, got.Gaussian.DataMean}, {d.Gaussian.DataStd, got.Gaussian.DataStd}} {
		for j := range pair[0] {
			if pair[0][j] != pair[1][j] {
				t.Fatalf("%s[%d]: %v vs %v", gaussianBottomTensors[i], j, pair[0][j], pair[1][j])
			}
		}
	}
	c := d.Clone()
	c.Gaussian.LogVar[0] = 42
	if d.Gaussian.LogVar[0] == 42 {
		t.Error("Clone shares the Gaussian bottom")
	}
	if _, err := d.LowerBound(make([]float32, 6), 1, 0, 1, 1); err == nil || !strings.Contains(err.Error(), "Gaussian") {
		t.Errorf("lower bound of a Gaussian-bottom DBN: %v", err)
	}

	// A file whose metadata promises a Gaussian bottom but lacks a tensor.
	tensors, md, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for name, tt := range tensors {
		if name != DBNLayerTensor(0, TensorDataStd) {
			tt.Name = name
			ts = append(ts, tt)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := safetensors.Write(bad, ts, md); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDBN(bad); err == nil || !strings.Contains(err.Error(), "layer0.data_std") {
		t.Errorf("missing layer0.data_std: %v", err)
	}

	for name, mutate := range map[string]func(*DBN){
		"data_std":  func(d *DBN) { d.Gaussian.DataStd[1] = 0 },
		"logvar":    func(d *DBN) { d.Gaussian.LogVar[2] = float32(math.NaN()) },
		"data_mean": func(d *DBN) { d.Gaussian.DataMean = d.Gaussian.DataMean[:3] },
		"2 layers":  func(d *DBN) { d.Layers = d.Layers[:1]; d.Classes, d.OutW, d.OutB = 0, nil, nil },
	} {
		e := d.Clone()
		mutate(e)
		if err := e.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate says %v", name, err)
		}
	}
}
