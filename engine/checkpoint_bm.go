package engine

import (
	"encoding/json"
	"fmt"

	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Names of the training-state tensors of a BM checkpoint, beside the
// model's "W", "bias" and "mask" (velocity.W [N N] and chains [C N] are
// named as in an RBM checkpoint).
const TensorVelBias = "velocity.bias" // [N]

// bmHyper is hyper plus the BM options, the "hyper" metadata of a BM
// checkpoint.
type bmHyper struct {
	hyper
	Lateral   string `json:"lateral"`
	Sweeps    int    `json:"sweeps"`
	MeanField bool   `json:"mean_field"`
}

// saveBMSnapshot is SaveSnapshot for a snapshot holding a BM.
func saveBMSnapshot(path string, s *Snapshot, dataFingerprint string) error {
	c := s.Config.Defaults()
	opt := BMOptions{}
	if c.BM != nil {
		opt = *c.BM
	}
	h := bmHyper{hyper: hyperOf(bmOnly(c), s.Batch), Lateral: "custom", Sweeps: opt.Sweeps, MeanField: opt.MeanField}
	// A BM's chains always persist.
	h.Persistent = true
	if l, ok := s.BM.Lateral(); ok { // the model's own mask, whatever the config says
		h.Lateral = l.String()
	}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	m := s.BM
	n := m.N()
	if len(s.State.VelW) != n*n || len(s.State.VelVBias) != n || len(s.State.Chains)%n != 0 {
		return fmt.Errorf("save %s: training state has %d, %d, %d values for %d units", path,
			len(s.State.VelW), len(s.State.VelVBias), len(s.State.Chains), n)
	}
	extra := []safetensors.Tensor{
		{Name: TensorVelW, Shape: []int{n, n}, Data: s.State.VelW},
		{Name: TensorVelBias, Shape: []int{n}, Data: s.State.VelVBias},
		{Name: TensorChains, Shape: []int{len(s.State.Chains) / n, n}, Data: s.State.Chains},
	}
	meta := models.Meta{Epoch: s.Epoch, Seed: c.Seed, RNGStep: s.State.RNGStep, Hyper: js, DataFingerprint: dataFingerprint}
	return models.SaveBM(path, m, meta, extra)
}

// loadBMSnapshot is LoadSnapshot for a BM checkpoint: Config.BM is set from
// the metadata; a plain model file without training state resumes with
// zero momentum and all-zero chains of Config.Chains (or Batch) rows.
func loadBMSnapshot(path string) (*Snapshot, models.Meta, error) {
	m, meta, extra, err := models.LoadBM(path)
	if err != nil {
		return nil, meta, err
	}
	var h bmHyper
	sched, err := decodeHyper(path, meta, &h)
	if err != nil {
		return nil, meta, err
	}
	lateral, ok := m.Lateral()
	if !ok {
		return nil, meta, fmt.Errorf("load %s: the mask is not one of the connectivities none, visible, hidden, both", path)
	}
	if h.Lateral != "" && h.Lateral != lateral.String() {
		return nil, meta, fmt.Errorf("load %s: metadata lateral %q, the mask is %q", path, h.Lateral, lateral)
	}
	cfg := bmOnly(h.config(m.H, meta.Seed, sched))
	cfg.BM = &BMOptions{Lateral: lateral, Sweeps: h.Sweeps, MeanField: h.MeanField}
	s := &Snapshot{
		Config: cfg,
		BM:     m,
		Epoch:  meta.Epoch,
		Batch:  h.BatchPos,
		State:  TrainState{RNGStep: meta.RNGStep},
	}
	n := m.N()
	get := func(name string, want int) ([]float32, error) {
		t, ok := extra[name]
		if !ok {
			return nil, nil
		}
		if want >= 0 && len(t.Data) != want {
			return nil, fmt.Errorf("load %s: tensor %q has %d values, want %d", path, name, len(t.Data), want)
		}
		if want < 0 && (len(t.Data) == 0 || len(t.Data)%n != 0) {
			return nil, fmt.Errorf("load %s: tensor %q has %d values, not a positive multiple of N = %d", path, name, len(t.Data), n)
		}
		return t.Data, nil
	}
	if s.State.VelW, err = get(TensorVelW, n*n); err != nil {
		return nil, meta, err
	}
	if s.State.VelVBias, err = get(TensorVelBias, n); err != nil {
		return nil, meta, err
	}
	if s.State.Chains, err = get(TensorChains, -1); err != nil {
		return nil, meta, err
	}
	if s.State.VelW == nil {
		s.State.VelW = make([]float32, n*n)
	}
	if s.State.VelVBias == nil {
		s.State.VelVBias = make([]float32, n)
	}
	if s.State.Chains == nil {
		c := max(h.Chains, h.Batch, 1)
		if h.Chains == 0 && h.Batch > 0 {
			c = h.Batch
		}
		s.State.Chains = make([]float32, c*n)
	}
	return s, meta, nil
}

// bmOnly clears the fields of c that a BM neither uses nor records in its
// checkpoints: persistence (a BM's chains always persist), sparsity and
// the Gaussian RBM's visible-unit settings.
func bmOnly(c Config) Config {
	c.Persistent = false
	c.SparsityTarget, c.SparsityCost = 0, 0
	c.Visible, c.LearnVariance, c.SigmaFloor = "", false, 0
	return c
}
