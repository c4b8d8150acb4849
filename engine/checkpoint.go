package engine

import (
	"encoding/json"
	"fmt"

	"github.com/rbmgpu/rbmgpu/models"
)

// SaveSnapshot writes s to path as a safetensors checkpoint of its kind
// (atomically: see safetensors.Write): the model and the training state
// under their tensor names, and in the metadata the settings and the
// kind's options ("hyper", with the position within the epoch), the
// epoch, the RNG counter and the training data's fingerprint.
func SaveSnapshot(path string, s *Snapshot, dataFingerprint string) error {
	c := s.Config.Defaults()
	k, err := c.Kind()
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	obj := map[string]json.RawMessage{}
	if err := mergeJSON(obj, c); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := mergeJSON(obj, map[string]int{"batch_position": s.Batch}); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta := models.Meta{Epoch: s.Epoch, Seed: c.Seed, RNGStep: s.RNGStep, Hyper: js, DataFingerprint: dataFingerprint}
	return k.Save(path, s, meta)
}

// LoadSnapshot reads a checkpoint written by SaveSnapshot (or by an
// earlier version: the metadata names are the same) and returns the
// snapshot to resume from and the metadata (for the data fingerprint). A
// plain model file without training state resumes with zero momentum.
func LoadSnapshot(path string) (*Snapshot, models.Meta, error) {
	name, err := models.CheckpointKind(path)
	if err != nil || name == "" {
		name = DefaultKind // the RBM loader reports what is wrong with the file
	}
	k, err := LookupKind(name)
	if err != nil {
		return nil, models.Meta{}, fmt.Errorf("load %s: %w", path, err)
	}
	tensors, meta, err := k.Load(path)
	if err != nil {
		return nil, meta, err
	}
	// A plain model file has no "hyper": its settings are the zero
	// (default) ones, decoded like any other so that the schedule and the
	// kind's options are set.
	hyper := meta.Hyper
	if len(hyper) == 0 {
		hyper = []byte("{}")
	}
	cfg := Config{Model: k.Name()}
	var pos struct {
		Batch int `json:"batch_position"`
	}
	if err := json.Unmarshal(hyper, &cfg); err != nil {
		return nil, meta, fmt.Errorf("load %s: metadata hyper: %w", path, err)
	}
	if err := json.Unmarshal(hyper, &pos); err != nil {
		return nil, meta, fmt.Errorf("load %s: metadata hyper: %w", path, err)
	}
	cfg.Model, cfg.Hidden, cfg.Seed = k.Name(), meta.Hidden, meta.Seed
	return &Snapshot{Config: cfg, Tensors: tensors, Epoch: meta.Epoch, Batch: pos.Batch, RNGStep: meta.RNGStep}, meta, nil
}
