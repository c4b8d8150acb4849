package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// KindGRBM is Meta.Kind of a Gaussian–Bernoulli RBM checkpoint.
const KindGRBM = "grbm"

// Names of the Gaussian RBM tensors beside W, vbias and hbias.
const (
	TensorLogVar   = "logvar"    // [V] z = log σ²
	TensorDataMean = "data_mean" // [V] standardisation: mean of the training data
	TensorDataStd  = "data_std"  // [V] standardisation: scale, > 0
)

// SaveGRBM writes m to path as a safetensors checkpoint of kind "grbm":
// tensors W [V H], vbias [V], hbias [H], logvar [V], data_mean [V] and
// data_std [V] (zeros and ones when m has no standardisation), plus extra,
// all F32, and the metadata of SaveRBM. Atomic and deterministic like SaveRBM.
func SaveGRBM(path string, m *GRBM, meta Meta, extra []safetensors.Tensor) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("save Gaussian RBM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	if meta.FormatVersion == 0 {
		meta.FormatVersion = FormatVersion
	}
	if meta.Kind == "" {
		meta.Kind = KindGRBM
	}
	if meta.Visible == 0 && meta.Hidden == 0 {
		meta.Visible, meta.Hidden = m.V, m.H
	}
	switch {
	case meta.FormatVersion != FormatVersion:
		return fail("meta format_version %d: this build writes %d", meta.FormatVersion, FormatVersion)
	case meta.Kind != KindGRBM:
		return fail("meta kind %q: want %q", meta.Kind, KindGRBM)
	case meta.Visible != m.V || meta.Hidden != m.H:
		return fail("meta sizes %d×%d differ from the model's %d×%d", meta.Visible, meta.Hidden, m.V, m.H)
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
	mean, std := m.DataMean, m.DataStd
	if mean == nil {
		mean, std = make([]float32, m.V), make([]float32, m.V)
		for i := range std {
			std[i] = 1
		}
	}
	tensors := []safetensors.Tensor{
		{Name: TensorW, Shape: []int{m.V, m.H}, Data: m.W},
		{Name: TensorVBias, Shape: []int{m.V}, Data: m.VBias},
		{Name: TensorHBias, Shape: []int{m.H}, Data: m.HBias},
		{Name: TensorLogVar, Shape: []int{m.V}, Data: m.LogVar},
		{Name: TensorDataMean, Shape: []int{m.V}, Data: mean},
		{Name: TensorDataStd, Shape: []int{m.V}, Data: std},
	}
	reserved := map[string]bool{}
	for _, t := range tensors {
		reserved[t.Name] = true
	}
	for _, t := range extra {
		if reserved[t.Name] {
			return fail("extra tensor %q: name is reserved for the parameters", t.Name)
		}
		tensors = append(tensors, t)
	}
	md := map[string]string{MetaKey: string(js), "kind": meta.Kind, "format_version": strconv.Itoa(meta.FormatVersion)}
	if err := safetensors.Write(path, tensors, md); err != nil {
		return fmt.Errorf("save Gaussian RBM checkpoint: %w", err)
	}
	return nil
}

// CheckpointKind returns the model kind recorded in a checkpoint's
// metadata (KindRBM, KindGRBM, "dbn", …) without checking its tensors: the
// loader of that kind does, and names what is wrong.
func CheckpointKind(path string) (string, error) {
	_, md, err := safetensors.Read(path)
	if err != nil {
		return "", fmt.Errorf("load checkpoint: %w", err)
	}
	var meta struct {
		Kind string `json:"kind"`
	}
	if js, ok := md[MetaKey]; ok && json.Unmarshal([]byte(js), &meta) == nil && meta.Kind != "" {
		return meta.Kind, nil
	}
	return md["kind"], nil
}

// LoadGRBM reads a checkpoint written by SaveGRBM. Besides the checks of
// LoadRBM (format version, kind, F32, finite values, shapes against the
// metadata) it requires logvar, data_mean and data_std of shape [V] and a
// positive data_std. It returns the model, its metadata and the other
// tensors by name.
func LoadGRBM(path string) (*GRBM, Meta, map[string]safetensors.Tensor, error) {
	fail := func(format string, args ...any) (*GRBM, Meta, map[string]safetensors.Tensor, error) {
		return nil, Meta{}, nil, fmt.Errorf("load Gaussian RBM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, meta, err := readCheckpoint(path, "Gaussian RBM checkpoint", KindGRBM)
	if err != nil {
		return nil, Meta{}, nil, err
	}
	V, H := meta.Visible, meta.Hidden
	if V < 1 || H < 1 || V > maxParams/H {
		return fail("metadata sizes visible=%d hidden=%d are invalid", V, H)
	}
	want := []struct {
		name  string
		shape []int
	}{{TensorW, []int{V, H}}, {TensorVBias, []int{V}}, {TensorHBias, []int{H}},
		{TensorLogVar, []int{V}}, {TensorDataMean, []int{V}}, {TensorDataStd, []int{V}}}
	params := map[string]bool{}
	for _, w := range want {
		t, ok := tensors[w.name]
		if !ok {
			return fail("tensor %q missing", w.name)
		}
		if !equalInts(t.Shape, w.shape) {
			return fail("tensor %q: shape %v, metadata says %v", w.name, t.Shape, w.shape)
		}
		params[w.name] = true
	}
	m := &GRBM{V: V, H: H, W: tensors[TensorW].Data, VBias: tensors[TensorVBias].Data, HBias: tensors[TensorHBias].Data,
		LogVar: tensors[TensorLogVar].Data, DataMean: tensors[TensorDataMean].Data, DataStd: tensors[TensorDataStd].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	extras := map[string]safetensors.Tensor{}
	for name, t := range tensors {
		if !params[name] {
			extras[name] = t
		}
	}
	return m, meta, extras, nil
}
