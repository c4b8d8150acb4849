package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// KindBM is Meta.Kind of a general Boltzmann machine checkpoint.
const KindBM = "bm"

// Names of the parameter tensors of a BM checkpoint (N = V+H).
const (
	TensorBMW    = "W"    // [N N] float32, symmetric, zero diagonal
	TensorBMBias = "bias" // [N]
	TensorBMMask = "mask" // [N N] 0/1 connectivity
)

// SaveBM writes m to path as a safetensors file: "W" [N N], "bias" [N],
// "mask" [N N] plus extra (momentum, chains, …), all F32, and the metadata
// of SaveRBM with kind "bm", Visible = V and Hidden = H. Zero or empty
// meta fields are filled in; contradicting ones are an error. Atomic and
// deterministic like SaveRBM.
func SaveBM(path string, m *BM, meta Meta, extra []safetensors.Tensor) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("save BM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	if meta.FormatVersion == 0 {
		meta.FormatVersion = FormatVersion
	}
	if meta.Kind == "" {
		meta.Kind = KindBM
	}
	if meta.Visible == 0 && meta.Hidden == 0 {
		meta.Visible, meta.Hidden = m.V, m.H
	}
	switch {
	case meta.FormatVersion != FormatVersion:
		return fail("meta format_version %d: this build writes %d", meta.FormatVersion, FormatVersion)
	case meta.Kind != KindBM:
		return fail("meta kind %q: want %q", meta.Kind, KindBM)
	case meta.Visible != m.V || meta.Hidden != m.H:
		return fail("meta sizes %d+%d differ from the model's %d+%d", meta.Visible, meta.Hidden, m.V, m.H)
	case meta.Epoch < 0:
		return fail("meta epoch %d is negative", meta.Epoch)
	}
	if len(meta.Hyper) > 0 {
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
	n := m.N()
	tensors := []safetensors.Tensor{
		{Name: TensorBMW, Shape: []int{n, n}, Data: m.W},
		{Name: TensorBMBias, Shape: []int{n}, Data: m.Bias},
		{Name: TensorBMMask, Shape: []int{n, n}, Data: m.Mask},
	}
	for _, t := range extra {
		if t.Name == TensorBMW || t.Name == TensorBMBias || t.Name == TensorBMMask {
			return fail("extra tensor %q: name is reserved for the parameters", t.Name)
		}
		tensors = append(tensors, t)
	}
	md := map[string]string{MetaKey: string(js), "kind": meta.Kind, "format_version": strconv.Itoa(meta.FormatVersion)}
	if err := safetensors.Write(path, tensors, md); err != nil {
		return fmt.Errorf("save BM checkpoint: %w", err)
	}
	return nil
}

// LoadBM reads a BM checkpoint written by SaveBM. Beside the checks of
// LoadRBM (format version, kind, F32, finite) it requires "W" [N N],
// "bias" [N] and "mask" [N N] with N = V+H from the metadata, and the model
// to pass Validate: mask 0/1, symmetric, zero diagonal; W symmetric and zero
// where the mask is. It returns the model, the metadata and the other
// tensors by name.
func LoadBM(path string) (*BM, Meta, map[string]safetensors.Tensor, error) {
	fail := func(format string, args ...any) (*BM, Meta, map[string]safetensors.Tensor, error) {
		return nil, Meta{}, nil, fmt.Errorf("load BM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, meta, err := readCheckpoint(path, "BM checkpoint", KindBM)
	if err != nil {
		return nil, Meta{}, nil, err
	}
	V, H := meta.Visible, meta.Hidden
	if V < 1 || H < 0 || V+H > 46340 {
		return fail("metadata sizes visible=%d hidden=%d are invalid", V, H)
	}
	n := V + H
	for _, w := range []struct {
		name  string
		shape []int
	}{{TensorBMW, []int{n, n}}, {TensorBMBias, []int{n}}, {TensorBMMask, []int{n, n}}} {
		t, ok := tensors[w.name]
		if !ok {
			return fail("tensor %q missing", w.name)
		}
		if !equalInts(t.Shape, w.shape) {
			return fail("tensor %q: shape %v, metadata says %v", w.name, t.Shape, w.shape)
		}
	}
	m := &BM{V: V, H: H, W: tensors[TensorBMW].Data, Bias: tensors[TensorBMBias].Data, Mask: tensors[TensorBMMask].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	extras := make(map[string]safetensors.Tensor, len(tensors))
	for name, t := range tensors {
		if name != TensorBMW && name != TensorBMBias && name != TensorBMMask {
			extras[name] = t
		}
	}
	return m, meta, extras, nil
}
