package models

import (
	"encoding/json"
	"fmt"

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
	return writeCheckpoint(path, "Gaussian RBM checkpoint", KindGRBM, "×", m, meta, extra, func() (int, int, []safetensors.Tensor) {
		mean, std := m.DataMean, m.DataStd
		if mean == nil {
			mean, std = make([]float32, m.V), make([]float32, m.V)
			for i := range std {
				std[i] = 1
			}
		}
		return m.V, m.H, []safetensors.Tensor{
			{Name: TensorW, Shape: []int{m.V, m.H}, Data: m.W},
			{Name: TensorVBias, Shape: []int{m.V}, Data: m.VBias},
			{Name: TensorHBias, Shape: []int{m.H}, Data: m.HBias},
			{Name: TensorLogVar, Shape: []int{m.V}, Data: m.LogVar},
			{Name: TensorDataMean, Shape: []int{m.V}, Data: mean},
			{Name: TensorDataStd, Shape: []int{m.V}, Data: std},
		}
	})
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
	if V < 1 || H < 1 || V > MaxParams/H {
		return fail("metadata sizes visible=%d hidden=%d are invalid", V, H)
	}
	extras, err := splitParams(tensors, []tensorShape{{TensorW, []int{V, H}}, {TensorVBias, []int{V}}, {TensorHBias, []int{H}},
		{TensorLogVar, []int{V}}, {TensorDataMean, []int{V}}, {TensorDataStd, []int{V}}})
	if err != nil {
		return fail("%v", err)
	}
	m := &GRBM{V: V, H: H, W: tensors[TensorW].Data, VBias: tensors[TensorVBias].Data, HBias: tensors[TensorHBias].Data,
		LogVar: tensors[TensorLogVar].Data, DataMean: tensors[TensorDataMean].Data, DataStd: tensors[TensorDataStd].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	return m, meta, extras, nil
}
