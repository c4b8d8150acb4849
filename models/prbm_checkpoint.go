package models

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// KindPottsRBM is Meta.Kind of a Potts–Bernoulli RBM checkpoint.
const KindPottsRBM = "prbm"

// SavePottsRBM writes m to path as a safetensors file: "W" [L Q H],
// "vbias" [L Q] and "hbias" [H] (the RBM's names, the one-hot units
// reshaped by site), plus extra, all F32, with the metadata of SaveRBM:
// kind "prbm", Visible = L·Q one-hot units, Hidden = H. Atomic and
// deterministic like SaveRBM.
func SavePottsRBM(path string, m *PottsRBM, meta Meta, extra []safetensors.Tensor) error {
	return writeCheckpoint(path, "Potts RBM checkpoint", KindPottsRBM, "×", m, meta, extra, func() (int, int, []safetensors.Tensor) {
		return m.L * m.Q, m.H, []safetensors.Tensor{
			{Name: TensorW, Shape: []int{m.L, m.Q, m.H}, Data: m.W},
			{Name: TensorVBias, Shape: []int{m.L, m.Q}, Data: m.VBias},
			{Name: TensorHBias, Shape: []int{m.H}, Data: m.HBias},
		}
	})
}

// LoadPottsRBM reads a checkpoint written by SavePottsRBM with the checks
// of LoadRBM (format version, kind, F32, finite values, shapes against the
// metadata: L·Q = Visible, H = Hidden). It returns the model, the metadata
// and the other tensors by name.
func LoadPottsRBM(path string) (*PottsRBM, Meta, map[string]safetensors.Tensor, error) {
	fail := func(format string, args ...any) (*PottsRBM, Meta, map[string]safetensors.Tensor, error) {
		return nil, Meta{}, nil, fmt.Errorf("load Potts RBM checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, meta, err := readCheckpoint(path, "Potts RBM checkpoint", KindPottsRBM)
	if err != nil {
		return nil, Meta{}, nil, err
	}
	b, ok := tensors[TensorVBias]
	if !ok || len(b.Shape) != 2 {
		return fail("tensor %q [L Q] is missing", TensorVBias)
	}
	L, q, H := b.Shape[0], b.Shape[1], meta.Hidden
	if err := checkPottsSize(L, q); err != nil {
		return fail("%v", err)
	}
	if meta.Visible != L*q || H < 1 || L*q > MaxParams/H {
		return fail("metadata sizes %d×%d, the fields hold %d sites of %d states", meta.Visible, meta.Hidden, L, q)
	}
	extras, err := splitParams(tensors, []tensorShape{{TensorW, []int{L, q, H}}, {TensorVBias, []int{L, q}}, {TensorHBias, []int{H}}})
	if err != nil {
		return fail("%v", err)
	}
	m := &PottsRBM{L: L, Q: q, H: H, W: tensors[TensorW].Data, VBias: b.Data, HBias: tensors[TensorHBias].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	return m, meta, extras, nil
}
