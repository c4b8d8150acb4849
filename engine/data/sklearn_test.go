package data_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
)

// npyF8 encodes a little-endian float64 NPY v1.0 file of the given shape.
func npyF8(shape []int, vals []float64) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Magic (6) + version (2) + length (2) + header + '\n', padded to 64.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	binary.Write(&b, binary.LittleEndian, vals)
	return b.Bytes()
}

type npyArray struct {
	shape []int
	vals  []float64
}

// writeNPZ writes arrays as members "<name>.npy" of a zip archive, as
// numpy.savez does.
func writeNPZ(t *testing.T, path string, arrays map[string]npyArray) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, a := range arrays {
		w, err := zw.Create(name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(npyF8(a.shape, a.vals)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sklearnArrays returns a BernoulliRBM's attributes for H=2 hidden units
// and V=3 visible units with distinct, exactly representable values.
func sklearnArrays() map[string]npyArray {
	return map[string]npyArray{
		"components_":        {[]int{2, 3}, []float64{0.5, -1, 1.5, 2, -2.5, 3}}, // H×V
		"intercept_hidden_":  {[]int{2}, []float64{0.25, -0.75}},
		"intercept_visible_": {[]int{3}, []float64{-0.5, 0.125, 1}},
	}
}

func TestImportSklearnNPZ(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rbm.npz")
	writeNPZ(t, path, sklearnArrays())
	m, err := data.ImportSklearnNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.V != 3 || m.H != 2 {
		t.Fatalf("sizes %d×%d, want V=3, H=2", m.V, m.H)
	}
	// W[i*H+j] = components_[j, i].
	wantW := []float32{0.5, 2, -1, -2.5, 1.5, 3}
	for k, w := range wantW {
		if m.W[k] != w {
			t.Fatalf("W = %v, want the transpose %v", m.W, wantW)
		}
	}
	if fmt.Sprint(m.HBias) != "[0.25 -0.75]" || fmt.Sprint(m.VBias) != "[-0.5 0.125 1]" {
		t.Errorf("hbias %v, vbias %v", m.HBias, m.VBias)
	}
	// The free energy scikit-learn computes: -vᵀb - Σ_j softplus(c_j + (components_ v)_j).
	v := []float32{1, 0, 1}
	want := -(-0.5 + 1) - softplus(0.25+0.5+1.5) - softplus(-0.75+2+3)
	if got := m.FreeEnergy(v); math.Abs(got-want) > 1e-6 {
		t.Errorf("F(%v) = %v, want %v", v, got, want)
	}
}

func softplus(x float64) float64 { return math.Log1p(math.Exp(x)) }

func TestImportSklearnNPZErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		change func(map[string]npyArray)
		want   string
	}{
		{"missing components", func(a map[string]npyArray) { delete(a, "components_") }, `no array "components_"`},
		{"missing hidden", func(a map[string]npyArray) { delete(a, "intercept_hidden_") }, `no array "intercept_hidden_"`},
		{"missing visible", func(a map[string]npyArray) { delete(a, "intercept_visible_") }, `no array "intercept_visible_"`},
		{"components 1-D", func(a map[string]npyArray) {
			a["components_"] = npyArray{[]int{6}, a["components_"].vals}
		}, "components_ has shape [6], want 2 dimensions"},
		{"hidden mismatch", func(a map[string]npyArray) {
			a["intercept_hidden_"] = npyArray{[]int{3}, []float64{1, 2, 3}}
		}, "intercept_hidden_ has shape [3], want (2,)"},
		{"visible mismatch", func(a map[string]npyArray) {
			a["intercept_visible_"] = npyArray{[]int{2}, []float64{1, 2}}
		}, "intercept_visible_ has shape [2], want (3,)"},
		{"transposed components", func(a map[string]npyArray) {
			a["components_"] = npyArray{[]int{3, 2}, a["components_"].vals}
		}, "intercept_hidden_ has shape [2], want (3,)"},
		{"NaN weight", func(a map[string]npyArray) {
			a["components_"].vals[4] = math.NaN()
		}, "components_"},
		{"empty components", func(a map[string]npyArray) {
			a["components_"] = npyArray{[]int{0, 3}, nil}
		}, "components_ has shape [0 3]"},
	}
	for i, tc := range tests {
		arrays := sklearnArrays()
		tc.change(arrays)
		path := filepath.Join(dir, fmt.Sprintf("bad%d.npz", i))
		writeNPZ(t, path, arrays)
		_, err := data.ImportSklearnNPZ(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming %s and containing %q", tc.name, err, path, tc.want)
		} else if testing.Verbose() {
			t.Log(err)
		}
	}
	missing := filepath.Join(dir, "nope.npz")
	if _, err := data.ImportSklearnNPZ(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v, want one naming %s", err, missing)
	}
	notZip := filepath.Join(dir, "text.npz")
	if err := os.WriteFile(notZip, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := data.ImportSklearnNPZ(notZip); err == nil || !strings.Contains(err.Error(), notZip) {
		t.Errorf("not a zip: error %v, want one naming %s", err, notZip)
	}
}

// TestImportSklearnNPZFromSklearn fits a BernoulliRBM with the system's
// scikit-learn (skipped when absent), saves it with numpy.savez and checks
// our free energy against scikit-learn's _free_energy on the same rows.
// A fitted components_ is Fortran-ordered, which engine/data's NPY reader
// refuses, so the script saves a C-ordered copy (as the import's doc says).
func TestImportSklearnNPZFromSklearn(t *testing.T) {
	const py = "/usr/bin/python3"
	if exec.Command(py, "-c", "import sklearn, numpy").Run() != nil {
		t.Skip("no scikit-learn and numpy under " + py)
	}
	dir := t.TempDir()
	script := `
import sys, numpy as np
from sklearn.neural_network import BernoulliRBM
rng = np.random.RandomState(0)
X = (rng.rand(40, 7) < 0.3).astype(np.float64)
rbm = BernoulliRBM(n_components=5, n_iter=5, random_state=0).fit(X)
np.savez(sys.argv[1], components_=np.ascontiguousarray(rbm.components_),
         intercept_hidden_=rbm.intercept_hidden_, intercept_visible_=rbm.intercept_visible_,
         X=X, F=rbm._free_energy(X))
`
	path := filepath.Join(dir, "sk.npz")
	if out, err := exec.Command(py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("python: %v: %s", err, out)
	}
	m, err := data.ImportSklearnNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	arrays, err := data.ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	x, f := arrays["X"].Data, arrays["F"].Data
	got := m.FreeEnergies(nil, x, 40)
	for r := range got {
		if math.Abs(got[r]-float64(f[r])) > 1e-4*(1+math.Abs(float64(f[r]))) {
			t.Errorf("row %d: F = %v, scikit-learn %v", r, got[r], f[r])
		}
	}
}
