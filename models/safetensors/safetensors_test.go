package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// exampleTensors is the small example whose encoding is spelled out byte by
// byte in TestEncodeExactBytes.
func exampleTensors() ([]Tensor, map[string]string) {
	return []Tensor{
		{Name: "x", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "a", DType: "F32", Shape: []int{1, 1}, Data: []float32{0.5}},
	}, map[string]string{"format": "pt"}
}

func TestEncodeExactBytes(t *testing.T) {
	// Header: __metadata__ first, tensors in sorted name order laid out
	// contiguously from offset 0, fields dtype/shape/data_offsets, compact
	// JSON; 141 bytes padded with 3 spaces to 144 = 0x90 (8-byte aligned).
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},` +
		`"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}   `
	var want []byte
	want = append(want, 0x90, 0, 0, 0, 0, 0, 0, 0) // u64 LE header length 144
	want = append(want, header...)
	want = append(want, 0x00, 0x00, 0x00, 0x3f) // a: 0.5
	want = append(want, 0x00, 0x00, 0x80, 0x3f) // x[0]: 1
	want = append(want, 0x00, 0x00, 0x00, 0xc0) // x[1]: -2
	if len(header) != 144 {
		t.Fatalf("test bug: header literal is %d bytes", len(header))
	}

	ts, meta := exampleTensors()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %q\nwant %q", got, want)
	}

	// No metadata: no __metadata__ key at all.
	buf.Reset()
	if err := Encode(&buf, []Tensor{{Name: "s", Shape: []int{}, Data: []float32{3}}}, nil); err != nil {
		t.Fatal(err)
	}
	h := `{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}` // 53 bytes
	h += strings.Repeat(" ", 56-len(h))
	want = append([]byte{56, 0, 0, 0, 0, 0, 0, 0}, h...)
	want = append(want, 0, 0, 0x40, 0x40) // 3
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("encoding differs\n got %q\nwant %q", buf.Bytes(), want)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	ts := []Tensor{
		{Name: "W", Shape: []int{3, 4}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, float32(math.Inf(-1))}},
		{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
		{Name: "scalar", Shape: []int{}, Data: []float32{-0.25}},
		{Name: "name with \"quotes\" <&> é", Shape: []int{1}, Data: []float32{math.SmallestNonzeroFloat32}},
	}
	meta := map[string]string{"b": "2", "a": "{\"json\": [1]}", "é": "\n"}
	if err := Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata %v, want %v", gotMeta, meta)
	}
	if len(got) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(got), len(ts))
	}
	for _, w := range ts {
		g, ok := got[w.Name]
		if !ok {
			t.Fatalf("tensor %q missing", w.Name)
		}
		if g.DType != "F32" || !reflect.DeepEqual(g.Shape, w.Shape) || !reflect.DeepEqual(g.Data, w.Data) {
			t.Errorf("tensor %q: got %+v, want %+v", w.Name, g, w)
		}
	}

	// Deterministic: the same input in another order gives identical bytes.
	first, _ := os.ReadFile(path)
	rev := []Tensor{ts[3], ts[2], ts[1], ts[0]}
	if err := Write(path, rev, meta); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("two writes of the same tensors differ")
	}
	if binary.LittleEndian.Uint64(first)%8 != 0 {
		t.Error("header not padded to 8 bytes")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file", len(entries))
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"empty name", []Tensor{{Shape: []int{1}, Data: []float32{1}}}, "empty name"},
		{"reserved", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "reserved"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "duplicate"},
		{"dtype", []Tensor{{Name: "a", DType: "F64", Shape: []int{1}, Data: []float32{1}}}, "only F32"},
		{"size", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1}}}, "holds 4 elements, data has 1"},
		{"negative", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, "non-negative"},
	}
	for _, tc := range tests {
		err := Encode(&bytes.Buffer{}, tc.ts, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// rawFile builds a file from a header string and a data section.
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadRejectsCorruptFiles(t *testing.T) {
	ts, meta := exampleTensors()
	var good bytes.Buffer
	if err := Encode(&good, ts, meta); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), g...))
	}
	d8 := make([]byte, 8)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte"},
		{"truncated length", g[:5], "shorter than the 8-byte"},
		{"truncated header", g[:100], "exceeds the 92 bytes"},
		{"truncated data", g[:len(g)-1], "run past"},
		{"extra data", append(append([]byte(nil), g...), 0), "tensors cover"},
		{"length beyond file", mutate(func(b []byte) []byte { b[0] = 0xff; return b }), "header length"},
		{"huge length", mutate(func(b []byte) []byte { b[7] = 0x80; return b }), "limit"},
		{"flipped brace", mutate(func(b []byte) []byte { b[8] ^= 0xff; return b }), "start with '{'"},
		{"flipped quote", mutate(func(b []byte) []byte { b[9] ^= 0x01; return b }), "header"},
		{"flipped dtype", mutate(func(b []byte) []byte { i := bytes.Index(b, []byte("F32")); b[i] = 'G'; return b }), `dtype "G32"`},
		{"flipped offset", mutate(func(b []byte) []byte { i := bytes.Index(b, []byte("[4,12]")); b[i+1] = '3'; return b }), "hold 9 bytes"},
		{"bad dtype", rawFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, d8), `dtype "F33"`},
		{"f8 dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}`, d8), `dtype "F8_E4M3"`},
		{"size mismatch", rawFile(`{"W":{"dtype":"F32","shape":[4,5],"data_offsets":[0,8]}}`, d8), `tensor "W": data_offsets [0 8] hold 8 bytes, shape [4 5] F32 needs 80`},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "overlap"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, d8), "gap"},
		{"not from zero", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "gap"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, d8), "end before"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), "dimension 0"},
		{"string dim", rawFile(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, d8), "dimension 0"},
		{"float offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}`, d8), "data_offsets"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, d8), "data_offsets must be"},
		{"missing dtype", rawFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, d8), "dtype missing"},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, d8), "shape missing"},
		{"entry not object", rawFile(`{"a":[1]}`, d8), "not a JSON object"},
		{"duplicate tensor", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "twice"},
		{"metadata not string", rawFile(`{"__metadata__":{"k":1}}`, nil), "not a string"},
		{"metadata not object", rawFile(`{"__metadata__":"x"}`, nil), "not a JSON object"},
		{"trailing garbage", rawFile(`{}  x`, nil), "after the JSON object"},
		{"not json", rawFile(`{"a"`, nil), "header"},
		{"huge shape", rawFile(`{"a":{"dtype":"F64","shape":[1099511627775,1099511627775],"data_offsets":[0,8]}}`, d8), "too large"},
		{"overflowing offsets", rawFile(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[18446744073709551615,7]}}`, d8), "end before"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		path := filepath.Join(dir, "bad.safetensors")
		if err := os.WriteFile(path, tc.file, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Read(path)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line starting with the path and containing %q", tc.name, msg, tc.want)
		}
	}
}

func TestReadErrorExactText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(path, rawFile(`{"W":{"dtype":"F32","shape":[4,5],"data_offsets":[0,8]}}`, make([]byte, 8)), 0o644)
	_, _, err := Read(path)
	want := path + `: tensor "W": data_offsets [0 8] hold 8 bytes, shape [4 5] F32 needs 80`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

func TestReadConvertsDTypes(t *testing.T) {
	le := binary.LittleEndian
	var data []byte
	data = le.AppendUint64(data, math.Float64bits(-1.5))     // F64 [0,8)
	data = le.AppendUint16(data, 0x3c00)                     // F16 1.0 [8,10)
	data = le.AppendUint16(data, 0xc000)                     // F16 -2.0 [10,12)
	data = le.AppendUint16(data, 0x0001)                     // F16 smallest subnormal 2^-24 [12,14)
	data = le.AppendUint16(data, 0x3fc0)                     // BF16 1.5 [14,16)
	data = le.AppendUint64(data, uint64(0xffffffffffffff85)) // I64 -123 [16,24)
	data = append(data, 200, 0xff, 1, 0)                     // U8 200 [24,25), I8 -1 [25,26), BOOL 1, 0 [26,28)
	data = le.AppendUint32(data, uint32(0xfffffffe))         // I32 -2 [28,32)
	header := `{"f64":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},` +
		`"f16":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},` +
		`"bf16":{"dtype":"BF16","shape":[],"data_offsets":[14,16]},` +
		`"i64":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},` +
		`"u8":{"dtype":"U8","shape":[1],"data_offsets":[24,25]},` +
		`"i8":{"dtype":"I8","shape":[1],"data_offsets":[25,26]},` +
		`"bool":{"dtype":"BOOL","shape":[2],"data_offsets":[26,28]},` +
		`"i32":{"dtype":"I32","shape":[1],"data_offsets":[28,32]}}`
	ts, meta, err := Decode(rawFile(header, data))
	if err != nil {
		t.Fatal(err)
	}
	if meta != nil {
		t.Errorf("metadata %v, want nil", meta)
	}
	want := map[string][]float32{
		"f64": {-1.5}, "f16": {1, -2, 1.0 / (1 << 24)}, "bf16": {1.5}, "i64": {-123},
		"u8": {200}, "i8": {-1}, "bool": {1, 0}, "i32": {-2},
	}
	for name, w := range want {
		if got := ts[name].Data; !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %v, want %v", name, got, w)
		}
	}
	if ts["f16"].DType != "F16" {
		t.Errorf("dtype %q, want F16", ts["f16"].DType)
	}
}

func TestHalfToFloat(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0x7bff, 65504}, {0x0400, 1.0 / (1 << 14)},
		{0x03ff, 1023.0 / (1 << 24)}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
		{0x3555, 0.333251953125},
	}
	for _, tc := range tests {
		if got := halfToFloat(tc.h); got != tc.want {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if x := halfToFloat(0x7e00); x == x {
		t.Error("0x7e00 should be NaN")
	}
}

func TestWriteAtomicOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	ts, meta := exampleTensors()
	if err := Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// An invalid tensor fails before anything touches the directory.
	bad := []Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}
	if err := Write(path, bad, nil); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	// A target that is a directory: the rename fails after the temp file
	// was fully written; the temp file must be gone.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "keep"), []byte("x"), 0o644)
	if err := Write(sub, ts, meta); err == nil {
		t.Fatal("writing over a non-empty directory succeeded")
	}
	// A read-only directory (skipped as root, who may write anyway).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	roPath := filepath.Join(ro, "m.safetensors")
	if err := Write(roPath, ts, meta); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ro, 0o555)
	defer os.Chmod(ro, 0o755)
	if os.Geteuid() != 0 {
		if err := Write(roPath, ts[:1], nil); err == nil {
			t.Error("write into a read-only directory succeeded")
		}
		if got, _ := os.ReadFile(roPath); len(got) == 0 {
			t.Error("previous file in read-only directory lost")
		}
	}

	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("previous file changed by failed writes")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"m.safetensors", "ro", "sub"}) {
		t.Errorf("directory holds %v, want no temporary files", names)
	}
}
