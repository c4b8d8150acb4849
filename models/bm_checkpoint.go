package models

import (
	"fmt"

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
	return writeCheckpoint(path, "BM checkpoint", KindBM, "+", m, meta, extra, func() (int, int, []safetensors.Tensor) {
		n := m.N()
		return m.V, m.H, []safetensors.Tensor{
			{Name: TensorBMW, Shape: []int{n, n}, Data: m.W},
			{Name: TensorBMBias, Shape: []int{n}, Data: m.Bias},
			{Name: TensorBMMask, Shape: []int{n, n}, Data: m.Mask},
		}
	})
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
	extras, err := splitParams(tensors, []tensorShape{{TensorBMW, []int{n, n}}, {TensorBMBias, []int{n}}, {TensorBMMask, []int{n, n}}})
	if err != nil {
		return fail("%v", err)
	}
	m := &BM{V: V, H: H, W: tensors[TensorBMW].Data, Bias: tensors[TensorBMBias].Data, Mask: tensors[TensorBMMask].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	return m, meta, extras, nil
}
