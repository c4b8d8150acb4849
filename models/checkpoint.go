package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// FormatVersion is the checkpoint layout this build writes and the newest
// it reads. Bump it when the meaning of a tensor or metadata field changes.
const FormatVersion = 1

// KindRBM is Meta.Kind of a Bernoulli–Bernoulli RBM checkpoint.
const KindRBM = "rbm"

// MetaKey is the "__metadata__" key of a checkpoint holding Meta as JSON.
// The keys "kind" and "format_version" repeat two of its fields as plain
// strings so that tools that only list metadata see them.
const MetaKey = "rbmgpu"

// Meta describes a checkpoint: what model it holds, how far training got
// and how to continue it reproducibly.
type Meta struct {
	FormatVersion   int             `json:"format_version"`             // layout version, FormatVersion when written
	Kind            string          `json:"kind"`                       // model kind, KindRBM
	Visible         int             `json:"visible"`                    // V
	Hidden          int             `json:"hidden"`                     // H
	Epoch           int             `json:"epoch"`                      // completed epochs
	Seed            uint64          `json:"seed"`                       // run seed of every Philox stream
	RNGStep         uint64          `json:"rng_step"`                   // Philox step counter reached
	Hyper           json.RawMessage `json:"hyper,omitempty"`            // trainer hyperparameters, opaque here
	DataFingerprint string          `json:"data_fingerprint,omitempty"` // identifies the training data
	// DataRange is [min, max] of the training data in data units, for
	// models of real-valued data (a Gaussian RBM): pictures map grey
	// levels from it. Absent in other checkpoints and older ones.
	DataRange []float64 `json:"data_range,omitempty"`
}

// Names of the parameter tensors of an RBM checkpoint.
const (
	TensorW     = "W"     // [V H] float32, row-major
	TensorVBias = "vbias" // [V]
	TensorHBias = "hbias" // [H]
)

// SaveRBM writes m to path as a safetensors file: tensors "W" [V H],
// "vbias" [V] and "hbias" [H] plus extra (for example "velocity.W" or
// "chains"), all F32, and metadata {"rbmgpu": Meta as JSON, "kind",
// "format_version"}. Zero FormatVersion, empty Kind and zero Visible/Hidden
// in meta are filled in; values that contradict m are an error. The write
// is atomic (see safetensors.Write) and deterministic: the same arguments
// always give the same bytes.
func SaveRBM(path string, m *RBM, meta Meta, extra []safetensors.Tensor) error {
	return writeCheckpoint(path, "RBM checkpoint", KindRBM, "×", m, meta, extra, func() (int, int, []safetensors.Tensor) {
		return m.V, m.H, []safetensors.Tensor{
			{Name: TensorW, Shape: []int{m.V, m.H}, Data: m.W},
			{Name: TensorVBias, Shape: []int{m.V}, Data: m.VBias},
			{Name: TensorHBias, Shape: []int{m.H}, Data: m.HBias},
		}
	})
}

// LoadRBM reads an RBM checkpoint written by SaveRBM. It checks the format
// version (a newer one is refused with a message saying so), the kind, that
// "W", "vbias" and "hbias" exist with shapes [V H], [V], [H] matching the
// metadata, that every tensor is F32 and that every value is finite (the
// error names the tensor and index). It returns the model, its metadata and
// the other tensors by name (empty, not nil, when there are none).
func LoadRBM(path string) (*RBM, Meta, map[string]safetensors.Tensor, error) {
	fail := func(format string, args ...any) (*RBM, Meta, map[string]safetensors.Tensor, error) {
		return nil, Meta{}, nil, fmt.Errorf("load RBM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, meta, err := readCheckpoint(path, "RBM checkpoint", KindRBM)
	if err != nil {
		return nil, Meta{}, nil, err
	}
	V, H := meta.Visible, meta.Hidden
	if V < 1 || H < 1 || V > MaxParams/H {
		return fail("metadata sizes visible=%d hidden=%d are invalid", V, H)
	}
	extras, err := splitParams(tensors, []tensorShape{{TensorW, []int{V, H}}, {TensorVBias, []int{V}}, {TensorHBias, []int{H}}})
	if err != nil {
		return fail("%v", err)
	}
	m := &RBM{V: V, H: H, W: tensors[TensorW].Data, VBias: tensors[TensorVBias].Data, HBias: tensors[TensorHBias].Data}
	return m, meta, extras, nil
}

// readCheckpoint reads a checkpoint's tensors and metadata with the checks
// every loader shares: rbmgpu metadata present, format version readable (a
// newer one is refused with "upgrade"), model kind as wanted, epoch ≥ 0,
// every tensor F32 and finite. Errors start with "load <what>: <path>".
func readCheckpoint(path, what, kind string) (map[string]safetensors.Tensor, Meta, error) {
	var meta Meta
	fail := func(format string, args ...any) (map[string]safetensors.Tensor, Meta, error) {
		return nil, Meta{}, fmt.Errorf("load %s: %s: %s", what, path, fmt.Sprintf(format, args...))
	}
	tensors, md, err := safetensors.Read(path)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("load %s: %w", what, err)
	}
	js, ok := md[MetaKey]
	if !ok {
		return fail("metadata has no %q entry: not an rbmgpu checkpoint", MetaKey)
	}
	// Read the version first, alone: a newer layout may not even parse as
	// today's Meta, and "upgrade" is the useful message then.
	var version struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal([]byte(js), &version); err != nil {
		return fail("metadata %q: %v", MetaKey, err)
	}
	if err := checkFormatVersion(version.FormatVersion); err != nil {
		return fail("%v", err)
	}
	if err := json.Unmarshal([]byte(js), &meta); err != nil {
		return fail("metadata %q: %v", MetaKey, err)
	}
	if meta.Kind != kind {
		return fail("kind %q: want %q", meta.Kind, kind)
	}
	if meta.Epoch < 0 {
		return fail("metadata epoch %d is negative", meta.Epoch)
	}
	for name, t := range tensors {
		if t.DType != "F32" {
			return fail("tensor %q: dtype %s, want F32", name, t.DType)
		}
		if i := firstNonFinite(t.Data); i >= 0 {
			return fail("tensor %q: element %d is %v", name, i, t.Data[i])
		}
	}
	return tensors, meta, nil
}

// writeCheckpoint is the save side every model shares: it validates m,
// then, with V, H and the parameter tensors from layout (called only for a
// valid m), fills and checks meta (format version, kind, sizes — shown as
// V<sep>H — and epoch), compacts the hyperparameters so that equal ones give
// equal bytes, refuses extra tensors named like a parameter and writes the
// parameters, extra and the metadata atomically. Errors start with
// "save <what>: <path>".
func writeCheckpoint(path, what, kind, sep string, m interface{ Validate() error }, meta Meta, extra []safetensors.Tensor,
	layout func() (V, H int, params []safetensors.Tensor)) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("save %s: %s: %s", what, path, fmt.Sprintf(format, args...))
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	V, H, tensors := layout()
	if meta.FormatVersion == 0 {
		meta.FormatVersion = FormatVersion
	}
	if meta.Kind == "" {
		meta.Kind = kind
	}
	if meta.Visible == 0 && meta.Hidden == 0 {
		meta.Visible, meta.Hidden = V, H
	}
	switch {
	case meta.FormatVersion != FormatVersion:
		return fail("meta format_version %d: this build writes %d", meta.FormatVersion, FormatVersion)
	case meta.Kind != kind:
		return fail("meta kind %q: want %q", meta.Kind, kind)
	case meta.Visible != V || meta.Hidden != H:
		return fail("meta sizes %d%s%d differ from the model's %d%s%d", meta.Visible, sep, meta.Hidden, V, sep, H)
	case meta.Epoch < 0:
		return fail("meta epoch %d is negative", meta.Epoch)
	}
	if len(meta.Hyper) > 0 {
		// Compact it so that equal hyperparameters give equal bytes.
		var buf bytes.Buffer
		if err := json.Compact(&buf, meta.Hyper); err != nil {
			return fail("meta hyper is not valid JSON: %v", err)
		}
		meta.Hyper = buf.Bytes()
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return fail("meta: %v", err)
	}
	reserved := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		reserved[t.Name] = true
	}
	for _, t := range extra {
		if reserved[t.Name] {
			return fail("extra tensor %q: name is reserved for the parameters", t.Name)
		}
		tensors = append(tensors, t)
	}
	md := map[string]string{
		MetaKey:          string(js),
		"kind":           meta.Kind,
		"format_version": strconv.Itoa(meta.FormatVersion),
	}
	if err := safetensors.Write(path, tensors, md); err != nil {
		return fmt.Errorf("save %s: %w", what, err)
	}
	return nil
}

// tensorShape is a parameter tensor a loader requires, with its shape.
type tensorShape struct {
	name  string
	shape []int
}

// splitParams checks that every tensor of want is present with its shape
// and returns the others (empty, not nil, when there are none); the error
// text follows the loader's "load <what>: <path>: " prefix.
func splitParams(tensors map[string]safetensors.Tensor, want []tensorShape) (map[string]safetensors.Tensor, error) {
	params := make(map[string]bool, len(want))
	for _, w := range want {
		t, ok := tensors[w.name]
		if !ok {
			return nil, fmt.Errorf("tensor %q missing", w.name)
		}
		if !slices.Equal(t.Shape, w.shape) {
			return nil, fmt.Errorf("tensor %q: shape %v, metadata says %v", w.name, t.Shape, w.shape)
		}
		params[w.name] = true
	}
	extras := make(map[string]safetensors.Tensor, max(0, len(tensors)-len(want)))
	for name, t := range tensors {
		if !params[name] {
			extras[name] = t
		}
	}
	return extras, nil
}

// checkFormatVersion reports a checkpoint's format_version that this build
// cannot read: missing, invalid, or newer (then "upgrade" is the useful
// message). Every loader checks it before parsing the rest of the metadata.
func checkFormatVersion(v *int) error {
	switch {
	case v == nil:
		return fmt.Errorf("metadata %q: format_version missing", MetaKey)
	case *v > FormatVersion:
		return fmt.Errorf("format_version %d is newer than this build reads (%d); upgrade rbmgpu", *v, FormatVersion)
	case *v < 1:
		return fmt.Errorf("format_version %d is invalid", *v)
	}
	return nil
}
