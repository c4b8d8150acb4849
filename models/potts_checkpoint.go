package models

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// KindPotts is Meta.Kind of a fully connected Potts model (bmDCA)
// checkpoint.
const KindPotts = "potts"

// Names of the parameter tensors of a Potts checkpoint.
const (
	TensorPottsH = "h" // [L Q] fields h_i(a)
	TensorPottsJ = "J" // [L L Q Q] couplings J_ij(a,b), symmetric, zero diagonal blocks
)

// SavePotts writes m to path as a safetensors file: "h" [L Q] and "J"
// [L L Q Q] in the gauge they are in, plus extra (momentum, chains, …),
// all F32, with the metadata of SaveRBM: kind "potts", Visible = L·Q
// one-hot units, Hidden = 0. Atomic and deterministic like SaveRBM.
func SavePotts(path string, m *Potts, meta Meta, extra []safetensors.Tensor) error {
	return writeCheckpoint(path, "Potts checkpoint", KindPotts, "+", m, meta, extra, func() (int, int, []safetensors.Tensor) {
		return m.L * m.Q, 0, []safetensors.Tensor{
			{Name: TensorPottsH, Shape: []int{m.L, m.Q}, Data: m.H},
			{Name: TensorPottsJ, Shape: []int{m.L, m.L, m.Q, m.Q}, Data: m.J},
		}
	})
}

// LoadPotts reads a checkpoint written by SavePotts: the checks of LoadRBM
// (format version, kind, F32, finite), "h" [L Q] and "J" [L L Q Q] with
// L·Q the metadata's Visible, and the model passing Validate (symmetric,
// zero diagonal blocks). It returns the model, the metadata and the other
// tensors by name.
func LoadPotts(path string) (*Potts, Meta, map[string]safetensors.Tensor, error) {
	fail := func(format string, args ...any) (*Potts, Meta, map[string]safetensors.Tensor, error) {
		return nil, Meta{}, nil, fmt.Errorf("load Potts checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, meta, err := readCheckpoint(path, "Potts checkpoint", KindPotts)
	if err != nil {
		return nil, Meta{}, nil, err
	}
	h, ok := tensors[TensorPottsH]
	if !ok || len(h.Shape) != 2 {
		return fail("tensor %q [L Q] is missing", TensorPottsH)
	}
	L, q := h.Shape[0], h.Shape[1]
	if err := checkPottsSize(L, q); err != nil {
		return fail("%v", err)
	}
	if meta.Visible != L*q || meta.Hidden != 0 {
		return fail("metadata sizes %d+%d, the tensors hold %d sites of %d states", meta.Visible, meta.Hidden, L, q)
	}
	extras, err := splitParams(tensors, []tensorShape{{TensorPottsH, []int{L, q}}, {TensorPottsJ, []int{L, L, q, q}}})
	if err != nil {
		return fail("%v", err)
	}
	m := &Potts{L: L, Q: q, H: h.Data, J: tensors[TensorPottsJ].Data}
	if err := m.Validate(); err != nil {
		return fail("%v", err)
	}
	return m, meta, extras, nil
}

// PottsFromUnits returns the Potts model of L sites of q states whose
// couplings and fields are held as a one-hot machine: W (N×N, N = L·q,
// W[iq+a, jq+b] = J_ij(a,b)) and bias (N, bias[iq+a] = h_i(a)). The
// fields are copied; the couplings are re-laid to L×L×q×q.
func PottsFromUnits(L, q int, W, bias []float32) (*Potts, error) {
	m, err := NewPotts(L, q)
	if err != nil {
		return nil, err
	}
	N := L * q
	if len(W) != N*N || len(bias) != N {
		return nil, fmt.Errorf("Potts model of %d×%d units: %d couplings and %d fields", L, q, len(W), len(bias))
	}
	copy(m.H, bias)
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			for a := 0; a < q; a++ {
				copy(m.J[m.jAt(i, j, a, 0):m.jAt(i, j, a, 0)+q], W[(i*q+a)*N+j*q:(i*q+a)*N+j*q+q])
			}
		}
	}
	return m, nil
}

// Units returns m as a one-hot machine, the inverse of PottsFromUnits:
// W (N×N) and bias (N), N = L·Q.
func (m *Potts) Units() (W, bias []float32) {
	L, q := m.L, m.Q
	N := L * q
	W, bias = make([]float32, N*N), append([]float32(nil), m.H...)
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			for a := 0; a < q; a++ {
				copy(W[(i*q+a)*N+j*q:(i*q+a)*N+j*q+q], m.J[m.jAt(i, j, a, 0):m.jAt(i, j, a, 0)+q])
			}
		}
	}
	return W, bias
}
