package models

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

func testMeta() Meta {
	return Meta{Epoch: 3, Seed: 1<<63 + 5, RNGStep: 1234, Hyper: json.RawMessage(`{ "lr": 0.1, "k": 1 }`), DataFingerprint: "sha256:abc"}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	m := randomRBM(7, 5, 1, 2)
	extra := []safetensors.Tensor{
		{Name: "velocity.W", Shape: []int{7, 5}, Data: make([]float32, 35)},
		{Name: "chains", Shape: []int{2, 7}, Data: []float32{1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1}},
	}
	if err := SaveRBM(path, m, testMeta(), extra); err != nil {
		t.Fatal(err)
	}
	got, meta, ex, err := LoadRBM(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Error("loaded parameters differ")
	}
	want := testMeta()
	want.FormatVersion, want.Kind, want.Visible, want.Hidden = FormatVersion, KindRBM, 7, 5
	want.Hyper = json.RawMessage(`{"lr":0.1,"k":1}`)
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("meta %+v, want %+v", meta, want)
	}
	if len(ex) != 2 || !reflect.DeepEqual(ex["chains"].Data, extra[1].Data) || !reflect.DeepEqual(ex["velocity.W"].Shape, []int{7, 5}) {
		t.Errorf("extras %v", ex)
	}

	// Same arguments (extras in another order) → identical bytes.
	first, _ := os.ReadFile(path)
	if err := SaveRBM(path, m, testMeta(), []safetensors.Tensor{extra[1], extra[0]}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("saving twice gave different bytes")
	}
	// Readable as a plain safetensors file with the documented metadata.
	_, md, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if md["kind"] != "rbm" || md["format_version"] != "1" || !strings.Contains(md[MetaKey], `"seed":9223372036854775813`) {
		t.Errorf("metadata %v", md)
	}

	// No extras: empty map.
	if err := SaveRBM(path, m, Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, ex, err := LoadRBM(path); err != nil || ex == nil || len(ex) != 0 {
		t.Errorf("extras %v, err %v", ex, err)
	}
}

func TestSaveRBMRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	m := randomRBM(3, 2, 1, 1)
	nan := m.Clone()
	nan.VBias[1] = float32(math.NaN())
	tests := []struct {
		name  string
		m     *RBM
		meta  Meta
		extra []safetensors.Tensor
		want  string
	}{
		{"nan", nan, Meta{}, nil, "vbias[1] = NaN"},
		{"kind", m, Meta{Kind: "dbn"}, nil, `kind "dbn"`},
		{"version", m, Meta{FormatVersion: 2}, nil, "format_version 2"},
		{"sizes", m, Meta{Visible: 4, Hidden: 2}, nil, "sizes 4×2"},
		{"epoch", m, Meta{Epoch: -1}, nil, "epoch -1"},
		{"hyper", m, Meta{Hyper: json.RawMessage(`{"lr":`)}, nil, "hyper is not valid JSON"},
		{"reserved", m, Meta{}, []safetensors.Tensor{{Name: "W", Shape: []int{1}, Data: []float32{0}}}, "reserved"},
		{"bad extra", m, Meta{}, []safetensors.Tensor{{Name: "x", Shape: []int{2}, Data: []float32{0}}}, "holds 2 elements"},
	}
	for _, tc := range tests {
		err := SaveRBM(path, tc.m, tc.meta, tc.extra)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want it to name %s and contain %q", tc.name, err, path, tc.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("failed saves created a file")
	}
}

// writeRaw writes a checkpoint-like file directly, bypassing SaveRBM's
// checks, to build corrupt checkpoints.
func writeRaw(t *testing.T, path string, ts []safetensors.Tensor, meta map[string]string) {
	t.Helper()
	if err := safetensors.Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRBMRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	goodMeta := `{"format_version":1,"kind":"rbm","visible":2,"hidden":3,"epoch":0,"seed":1,"rng_step":0}`
	params := func() []safetensors.Tensor {
		return []safetensors.Tensor{
			{Name: "W", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			{Name: "vbias", Shape: []int{2}, Data: []float32{0, 0}},
			{Name: "hbias", Shape: []int{3}, Data: []float32{0, 0, 0}},
		}
	}
	md := func(js string) map[string]string { return map[string]string{MetaKey: js} }
	tests := []struct {
		name  string
		write func()
		want  string
	}{
		{"ok", func() { writeRaw(t, path, params(), md(goodMeta)) }, ""},
		{"missing file", func() { os.Remove(path) }, "no such file"},
		{"not safetensors", func() { os.WriteFile(path, []byte("hello world, not a checkpoint"), 0o644) }, "header length"},
		{"truncated", func() {
			writeRaw(t, path, params(), md(goodMeta))
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-3], 0o644)
		}, "run past"},
		{"no metadata", func() { writeRaw(t, path, params(), nil) }, "not an rbmgpu checkpoint"},
		{"bad json", func() { writeRaw(t, path, params(), md(`{"format_version":1,`)) }, "unexpected end"},
		{"no version", func() { writeRaw(t, path, params(), md(`{"kind":"rbm"}`)) }, "format_version missing"},
		{"newer version", func() {
			writeRaw(t, path, params(), md(strings.Replace(goodMeta, `"format_version":1`, `"format_version":7`, 1)))
		}, "format_version 7 is newer than this build reads (1); upgrade"},
		{"zero version", func() {
			writeRaw(t, path, params(), md(strings.Replace(goodMeta, `"format_version":1`, `"format_version":0`, 1)))
		}, "format_version 0 is invalid"},
		{"kind", func() { writeRaw(t, path, params(), md(strings.Replace(goodMeta, `"rbm"`, `"gbrbm"`, 1))) }, `kind "gbrbm"`},
		{"sizes", func() { writeRaw(t, path, params(), md(strings.Replace(goodMeta, `"hidden":3`, `"hidden":0`, 1))) }, "hidden=0"},
		{"shape vs meta", func() { writeRaw(t, path, params(), md(strings.Replace(goodMeta, `"hidden":3`, `"hidden":2`, 1))) }, `tensor "W": shape [2 3], metadata says [2 2]`},
		{"transposed W", func() {
			p := params()
			p[0].Shape = []int{3, 2}
			writeRaw(t, path, p, md(goodMeta))
		}, `tensor "W": shape [3 2]`},
		{"missing hbias", func() { writeRaw(t, path, params()[:2], md(goodMeta)) }, `tensor "hbias" missing`},
		{"NaN weight", func() {
			p := params()
			p[0].Data[4] = float32(math.NaN())
			writeRaw(t, path, p, md(goodMeta))
		}, `tensor "W": element 4 is NaN`},
		{"Inf extra", func() {
			p := append(params(), safetensors.Tensor{Name: "velocity.W", Shape: []int{1}, Data: []float32{float32(math.Inf(-1))}})
			writeRaw(t, path, p, md(goodMeta))
		}, `tensor "velocity.W": element 0 is -Inf`},
		{"F64 W", func() {
			// Hand-built file: W stored as F64.
			var buf bytes.Buffer
			h := `{"__metadata__":{"rbmgpu":` + strconvQuote(goodMeta) + `},"W":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]},` +
				`"hbias":{"dtype":"F32","shape":[3],"data_offsets":[48,60]},"vbias":{"dtype":"F32","shape":[2],"data_offsets":[60,68]}}`
			var n [8]byte
			n[0], n[1] = byte(len(h)), byte(len(h)>>8)
			buf.Write(n[:])
			buf.WriteString(h)
			buf.Write(make([]byte, 68))
			os.WriteFile(path, buf.Bytes(), 0o644)
		}, `tensor "W": dtype F64, want F32`},
	}
	for _, tc := range tests {
		tc.write()
		_, _, _, err := LoadRBM(path)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "load RBM checkpoint: ") || !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line naming %s and containing %q", tc.name, msg, path, tc.want)
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSaveRBMAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	m := randomRBM(4, 3, 1, 8)
	if err := SaveRBM(path, m, Meta{Epoch: 1}, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// Diverged model: refused before the file is touched.
	bad := m.Clone()
	bad.W[0] = float32(math.Inf(1))
	if err := SaveRBM(path, bad, Meta{Epoch: 2}, nil); err == nil {
		t.Fatal("saved a non-finite model")
	}
	// Target is a non-empty directory: the temporary file is written, the
	// rename fails, and the temporary file must be removed.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "x"), 0o755)
	if err := SaveRBM(sub, m, Meta{}, nil); err == nil {
		t.Fatal("saved over a directory")
	}
	// Missing parent directory.
	if err := SaveRBM(filepath.Join(dir, "nope", "ck.safetensors"), m, Meta{}, nil); err == nil {
		t.Fatal("saved into a missing directory")
	}
	// Read-only directory (root may write anyway, so only checked as others).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	roPath := filepath.Join(ro, "ck.safetensors")
	if err := SaveRBM(roPath, m, Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	roBefore, _ := os.ReadFile(roPath)
	os.Chmod(ro, 0o555)
	defer os.Chmod(ro, 0o755)
	if os.Geteuid() != 0 {
		if err := SaveRBM(roPath, m, Meta{Epoch: 9}, nil); err == nil {
			t.Error("saved into a read-only directory")
		}
	}
	if after, _ := os.ReadFile(roPath); !bytes.Equal(roBefore, after) {
		t.Error("file in read-only directory changed")
	}

	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("previous checkpoint changed by failed saves")
	}
	if _, meta, _, err := LoadRBM(path); err != nil || meta.Epoch != 1 {
		t.Errorf("previous checkpoint: epoch %d, err %v", meta.Epoch, err)
	}
	for _, d := range []string{dir, sub, ro} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file %s left in %s", e.Name(), d)
			}
		}
	}
}
