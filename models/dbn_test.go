package models

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// testDBN returns a DBN of the given sizes with random weights and biases
// (so that every tensor matters), labelUnits label units and, with
// classes > 0, a classifier head.
func testDBN(t *testing.T, sizes []int, labelUnits, classes int) *DBN {
	t.Helper()
	s := kernels.Stream{Seed: 11, Op: 0x7E57}
	k := uint64(0)
	fill := func(x []float32, scale float32) {
		for i := range x {
			x[i] = scale * (2*s.Uniform(k) - 1)
			k++
		}
	}
	d := &DBN{LabelUnits: labelUnits}
	L := len(sizes) - 1
	for l := 0; l < L; l++ {
		v := sizes[l]
		if l == L-1 {
			v += labelUnits
		}
		m, err := NewRBM(v, sizes[l+1], uint64(l+1))
		if err != nil {
			t.Fatal(err)
		}
		fill(m.W, 1)
		fill(m.VBias, 0.5)
		fill(m.HBias, 0.5)
		d.Layers = append(d.Layers, m)
	}
	if classes > 0 {
		d.Classes = classes
		d.OutW = make([]float32, sizes[L]*classes)
		d.OutB = make([]float32, classes)
		fill(d.OutW, 1)
		fill(d.OutB, 1)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

func equalDBN(t *testing.T, a, b *DBN) {
	t.Helper()
	if a.LabelUnits != b.LabelUnits || a.Classes != b.Classes || len(a.Layers) != len(b.Layers) {
		t.Fatalf("DBNs differ: label units %d/%d, classes %d/%d, layers %d/%d",
			a.LabelUnits, b.LabelUnits, a.Classes, b.Classes, len(a.Layers), len(b.Layers))
	}
	same := func(name string, x, y []float32) {
		if len(x) != len(y) {
			t.Fatalf("%s: lengths %d and %d", name, len(x), len(y))
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s[%d]: %v vs %v", name, i, x[i], y[i])
			}
		}
	}
	for l := range a.Layers {
		if a.Layers[l].V != b.Layers[l].V || a.Layers[l].H != b.Layers[l].H {
			t.Fatalf("layer %d: %d×%d vs %d×%d", l, a.Layers[l].V, a.Layers[l].H, b.Layers[l].V, b.Layers[l].H)
		}
		same(DBNLayerTensor(l, TensorW), a.Layers[l].W, b.Layers[l].W)
		same(DBNLayerTensor(l, TensorVBias), a.Layers[l].VBias, b.Layers[l].VBias)
		same(DBNLayerTensor(l, TensorHBias), a.Layers[l].HBias, b.Layers[l].HBias)
	}
	same(TensorClassifierW, a.OutW, b.OutW)
	same(TensorClassifierB, a.OutB, b.OutB)
}

// SaveDBN/LoadDBN round-trip every parameter bit for bit, with and without
// label units and classifier head; the file is deterministic, has the
// documented tensor names and metadata, and LoadDBNLayer returns one layer.
func TestDBNSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name            string
		sizes           []int
		labels, classes int
	}{
		{"plain", []int{7, 5, 4, 3}, 0, 0},
		{"classifier", []int{7, 5, 4}, 0, 3},
		{"labels", []int{7, 5, 4}, 2, 0},
		{"one layer", []int{6, 2}, 0, 4},
	} {
		d := testDBN(t, c.sizes, c.labels, c.classes)
		path := filepath.Join(dir, c.name+".safetensors")
		if err := SaveDBN(path, d); err != nil {
			t.Fatal(err)
		}
		got, err := LoadDBN(path)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		equalDBN(t, d, got)
		b1, _ := os.ReadFile(path)
		if err := SaveDBN(path, got); err != nil {
			t.Fatal(err)
		}
		if b2, _ := os.ReadFile(path); !bytes.Equal(b1, b2) {
			t.Errorf("%s: saving the loaded DBN gives different bytes", c.name)
		}
		tensors, md, err := safetensors.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		wantN := 3 * (len(c.sizes) - 1)
		if c.classes > 0 {
			wantN += 2
			if _, ok := tensors["classifier.W"]; !ok {
				t.Errorf("%s: no classifier.W tensor", c.name)
			}
		}
		if _, ok := tensors["layer0.W"]; !ok || len(tensors) != wantN {
			t.Errorf("%s: tensors %d (layer0.W present %v), want %d", c.name, len(tensors), ok, wantN)
		}
		var meta DBNMeta
		if err := json.Unmarshal([]byte(md[MetaKey]), &meta); err != nil {
			t.Fatal(err)
		}
		if md["kind"] != "dbn" || meta.Kind != "dbn" || meta.FormatVersion != FormatVersion || len(meta.Sizes) != len(c.sizes) {
			t.Errorf("%s: metadata %v / %+v", c.name, md, meta)
		}
		for l := range d.Layers {
			m, err := LoadDBNLayer(path, l)
			if err != nil {
				t.Fatal(err)
			}
			if m.V != d.Layers[l].V || m.H != d.Layers[l].H || m.W[len(m.W)-1] != d.Layers[l].W[len(m.W)-1] {
				t.Errorf("%s: LoadDBNLayer(%d) differs", c.name, l)
			}
		}
		if _, err := LoadDBNLayer(path, len(d.Layers)); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%s: LoadDBNLayer past the top: %v", c.name, err)
		}
	}
}

// Bad files fail with one line naming the file and what is wrong.
func TestLoadDBNBadFiles(t *testing.T) {
	dir := t.TempDir()
	d := testDBN(t, []int{4, 3, 2}, 0, 2)
	good := filepath.Join(dir, "good.safetensors")
	if err := SaveDBN(good, d); err != nil {
		t.Fatal(err)
	}
	tensors, md, err := safetensors.Read(good)
	if err != nil {
		t.Fatal(err)
	}
	// write stores a variant of the good file: edit changes the tensors,
	// meta the metadata JSON.
	write := func(name string, edit func(map[string]safetensors.Tensor), meta func(*DBNMeta)) string {
		ts := map[string]safetensors.Tensor{}
		for k, v := range tensors {
			v.Data = append([]float32(nil), v.Data...)
			v.DType = ""
			ts[k] = v
		}
		if edit != nil {
			edit(ts)
		}
		m := map[string]string{}
		for k, v := range md {
			m[k] = v
		}
		if meta != nil {
			var dm DBNMeta
			json.Unmarshal([]byte(md[MetaKey]), &dm)
			meta(&dm)
			js, _ := json.Marshal(dm)
			m[MetaKey] = string(js)
		}
		var list []safetensors.Tensor
		for k, v := range ts {
			v.Name = k
			list = append(list, v)
		}
		p := filepath.Join(dir, name+".safetensors")
		if err := safetensors.Write(p, list, m); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rbm := filepath.Join(dir, "rbm.safetensors")
	if err := SaveRBM(rbm, d.Layers[0], Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.safetensors")
	b, _ := os.ReadFile(good)
	os.WriteFile(truncated, b[:len(b)-5], 0o644)

	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.safetensors"), "missing.safetensors"},
		{truncated, "truncated"},
		{rbm, `kind "rbm"`},
		{write("nan", func(ts map[string]safetensors.Tensor) { ts["layer1.W"].Data[2] = float32(math.NaN()) }, nil), `"layer1.W": element 2 is NaN`},
		{write("inf", func(ts map[string]safetensors.Tensor) { ts["classifier.b"].Data[0] = float32(math.Inf(1)) }, nil), `"classifier.b": element 0`},
		{write("missing-tensor", func(ts map[string]safetensors.Tensor) { delete(ts, "layer0.hbias") }, nil), `"layer0.hbias" missing`},
		{write("no-head", func(ts map[string]safetensors.Tensor) { delete(ts, "classifier.W") }, nil), `"classifier.W" missing`},
		{write("extra", func(ts map[string]safetensors.Tensor) {
			ts["layer7.W"] = safetensors.Tensor{Shape: []int{1}, Data: []float32{1}}
		}, nil), `unexpected tensor "layer7.W"`},
		{write("shape", func(ts map[string]safetensors.Tensor) {
			w := ts["layer1.W"]
			w.Shape = []int{2, 3}
			ts["layer1.W"] = w
		}, nil), `"layer1.W": shape [2 3], metadata says [3 2]`},
		{write("chain", nil, func(m *DBNMeta) { m.Sizes = []int{4, 5, 2} }), `"layer0.W": shape [4 3], metadata says [4 5]`},
		{write("sizes", nil, func(m *DBNMeta) { m.Sizes = []int{4} }), "metadata sizes [4]"},
		{write("negative", nil, func(m *DBNMeta) { m.Sizes = []int{4, -3, 2} }), "is invalid"},
		{write("version", nil, func(m *DBNMeta) { m.FormatVersion = FormatVersion + 1 }), "newer than this build"},
		{write("kind", nil, func(m *DBNMeta) { m.Kind = "bm" }), `kind "bm"`},
		{write("labels", nil, func(m *DBNMeta) { m.LabelUnits = 1 }), `"layer1.W": shape [3 2], metadata says [4 2]`},
	} {
		_, err := LoadDBN(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(c.path)) ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming the file and containing %q", filepath.Base(c.path), err, c.want)
		}
	}
	if err := SaveDBN(filepath.Join(dir, "x.safetensors"), &DBN{}); err == nil || !strings.Contains(err.Error(), "no layers") {
		t.Errorf("SaveDBN of an empty DBN: %v", err)
	}
}

func TestDBNValidate(t *testing.T) {
	a, _ := NewRBM(4, 3, 1)
	b, _ := NewRBM(2, 2, 1)
	c, _ := NewRBM(5, 2, 1)
	for _, tc := range []struct {
		d    *DBN
		want string
	}{
		{&DBN{}, "no layers"},
		{&DBN{Layers: []*RBM{a, b}}, "layer 1 has 2 visible units, layer 0 has 3 hidden units"},
		{&DBN{Layers: []*RBM{a, c}, LabelUnits: 1}, "want 4 = layer 0's 3 hidden + 1 label units"},
		{&DBN{Layers: []*RBM{a}, LabelUnits: 1}, "at least 2 layers"},
		{&DBN{Layers: []*RBM{a}, Classes: 2, OutW: make([]float32, 5), OutB: make([]float32, 2)}, "W has 5 elements, want 3×2"},
		{&DBN{Layers: []*RBM{a}, Classes: 2, OutW: make([]float32, 6), OutB: []float32{0, float32(math.NaN())}}, "b[1] = NaN"},
	} {
		if err := tc.d.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate: %v, want %q", err, tc.want)
		}
	}
	if _, err := NewDBN([]*RBM{a, c}, 2); err != nil {
		t.Errorf("NewDBN 4-3-2 with 2 label units: %v", err)
	}
}

// Up equals the chain of RBM.HiddenProbs (a different summation, so to
// float32 rounding); with label units the top layer sees zero labels.
func TestDBNUp(t *testing.T) {
	d := testDBN(t, []int{9, 6, 5, 4}, 3, 0)
	const n = 7
	x := make([]float32, n*9)
	s := kernels.Stream{Seed: 3, Op: 1}
	s.Fill(x)
	hs := d.Up(x, n)
	in := x
	for l, m := range d.Layers {
		if l == len(d.Layers)-1 {
			// Append the zero label units.
			wide := make([]float32, n*m.V)
			for r := 0; r < n; r++ {
				copy(wide[r*m.V:], in[r*(m.V-3):(r+1)*(m.V-3)])
			}
			in = wide
		}
		want := m.HiddenProbs(nil, in, n)
		if len(hs[l]) != len(want) {
			t.Fatalf("layer %d: %d values, want %d", l, len(hs[l]), len(want))
		}
		for i := range want {
			if math.Abs(float64(hs[l][i]-want[i])) > 1e-5 {
				t.Fatalf("layer %d, element %d: Up %v, HiddenProbs %v", l, i, hs[l][i], want[i])
			}
		}
		in = want
	}
}

func TestDBNPredict(t *testing.T) {
	d := testDBN(t, []int{5, 4}, 0, 3)
	x := []float32{1, 0, 1, 0, 1, 0, 1, 0, 1, 0}
	z, err := d.Logits(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	h := d.Layers[0].HiddenProbs(nil, x, 2)
	for r := 0; r < 2; r++ {
		best := 0
		for k := 0; k < 3; k++ {
			want := float64(d.OutB[k])
			for j := 0; j < 4; j++ {
				want += float64(h[r*4+j]) * float64(d.OutW[j*3+k])
			}
			if math.Abs(want-float64(z[r*3+k])) > 1e-5 {
				t.Errorf("logit %d,%d: %v, want %v", r, k, z[r*3+k], want)
			}
			if z[r*3+k] > z[r*3+best] {
				best = k
			}
		}
		if p, _ := d.Predict(x, 2); p[r] != best {
			t.Errorf("row %d: Predict %d, argmax %d", r, p[r], best)
		}
	}
	if _, err := testDBN(t, []int{5, 4}, 0, 0).Predict(x, 2); err == nil || !strings.Contains(err.Error(), "no classifier") {
		t.Errorf("Predict without head: %v", err)
	}
	if _, err := d.Logits(x, 3); err == nil {
		t.Error("Logits with too short x: no error")
	}
}

func TestDBNGenerate(t *testing.T) {
	d := testDBN(t, []int{6, 5, 4}, 2, 0)
	x, err := d.Generate(10, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 60 {
		t.Fatalf("%d values, want 10×6", len(x))
	}
	for i, v := range x {
		if !(v > 0 && v < 1) {
			t.Fatalf("element %d = %v is not a probability", i, v)
		}
	}
	y, _ := d.Generate(10, 3, 2, 1)
	if equalSlices(x, y) {
		t.Error("different seeds give identical samples")
	}
	z, _ := d.Generate(10, 3, 1, 1)
	if !equalSlices(x, z) {
		t.Error("the same seed gives different samples")
	}
	one := testDBN(t, []int{6, 3}, 0, 0)
	if p, err := one.Generate(4, 2, 1, -1); err != nil || len(p) != 24 {
		t.Errorf("one-layer DBN: %d values, %v", len(p), err)
	}
	for _, c := range []struct {
		d               *DBN
		n, steps, label int
		want            string
	}{
		{d, 0, 1, -1, "n = 0"},
		{d, 1, 0, -1, "steps = 0"},
		{d, 1, 1, 2, "label 2 out of range"},
		{d, 1, 1, -3, "label = -3"},
		{one, 1, 1, 0, "no label units"},
	} {
		if _, err := c.d.Generate(c.n, c.steps, 1, c.label); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Generate(%d, %d, label %d): %v, want %q", c.n, c.steps, c.label, err, c.want)
		}
	}
}

func equalSlices(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDBNClone(t *testing.T) {
	d := testDBN(t, []int{4, 3}, 0, 2)
	c := d.Clone()
	c.Layers[0].W[0]++
	c.OutW[0]++
	if d.Layers[0].W[0] == c.Layers[0].W[0] || d.OutW[0] == c.OutW[0] {
		t.Error("Clone shares memory with the original")
	}
	if e := testDBN(t, []int{4, 3}, 0, 0).Clone(); e.OutW != nil || e.HasClassifier() {
		t.Error("Clone of a DBN without head has one")
	}
}
