package engine

import (
	"encoding/json"
	"fmt"

	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Names of the training-state tensors in a checkpoint, beside the model's
// "W", "vbias" and "hbias".
const (
	TensorVelW       = "velocity.W"
	TensorVelVBias   = "velocity.vbias"
	TensorVelHBias   = "velocity.hbias"
	TensorChains     = "chains"          // [C V] persistent chains (PCD)
	TensorHiddenMean = "hidden_mean"     // [H] sparsity running mean
	TensorVelLogVar  = "velocity.logvar" // [V] Gaussian RBM: momentum of the log variances
)

// hyper is the JSON form of Config and the position in the run, stored in
// the checkpoint's metadata ("hyper").
type hyper struct {
	Hidden          int     `json:"hidden"`
	K               int     `json:"k"`
	Persistent      bool    `json:"persistent"`
	Chains          int     `json:"chains"`
	Epochs          int     `json:"epochs"`
	Batch           int     `json:"batch"`
	LR              float64 `json:"lr"`
	Schedule        string  `json:"lr_schedule"`
	Momentum        float64 `json:"momentum"`
	InitialMomentum float64 `json:"initial_momentum"`
	MomentumWarmup  int     `json:"momentum_warmup"`
	WeightDecay     float64 `json:"weight_decay"`
	SparsityTarget  float64 `json:"sparsity_target"`
	SparsityCost    float64 `json:"sparsity_cost"`
	ExactLLMaxUnits int     `json:"exact_ll_max_units"`
	FreeEnergyRows  int     `json:"free_energy_rows"`
	EvalEvery       int     `json:"eval_every"`
	BatchPos        int     `json:"batch_position"` // mini-batches done in the current epoch
	Visible         string  `json:"visible,omitempty"`
	LearnVariance   bool    `json:"learn_variance,omitempty"`
	SigmaFloor      float64 `json:"sigma_floor,omitempty"`
}

// SaveSnapshot writes s to path as a safetensors checkpoint (atomically:
// see safetensors.Write): the model, momentum buffers, chains, the sparsity
// mean and, in the metadata, the hyperparameters, epoch, position within
// the epoch, RNG counter and the training data's fingerprint.
func SaveSnapshot(path string, s *Snapshot, dataFingerprint string) error {
	if s.BM != nil {
		return saveBMSnapshot(path, s, dataFingerprint)
	}
	c := s.Config.Defaults()
	js, err := json.Marshal(hyperOf(c, s.Batch))
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	m := s.Model
	extra := []safetensors.Tensor{
		{Name: TensorVelW, Shape: []int{m.V, m.H}, Data: s.State.VelW},
		{Name: TensorVelVBias, Shape: []int{m.V}, Data: s.State.VelVBias},
		{Name: TensorVelHBias, Shape: []int{m.H}, Data: s.State.VelHBias},
	}
	if s.State.Chains != nil {
		extra = append(extra, safetensors.Tensor{Name: TensorChains, Shape: []int{len(s.State.Chains) / m.V, m.V}, Data: s.State.Chains})
	}
	if s.State.HiddenMean != nil {
		extra = append(extra, safetensors.Tensor{Name: TensorHiddenMean, Shape: []int{m.H}, Data: s.State.HiddenMean})
	}
	meta := models.Meta{Epoch: s.Epoch, Seed: c.Seed, RNGStep: s.State.RNGStep, Hyper: js, DataFingerprint: dataFingerprint}
	if g := s.GRBM(); g != nil {
		extra = append(extra, safetensors.Tensor{Name: TensorVelLogVar, Shape: []int{m.V}, Data: s.Gaussian.VelLogVar})
		return models.SaveGRBM(path, g, meta, extra)
	}
	return models.SaveRBM(path, m, meta, extra)
}

// LoadSnapshot reads a checkpoint written by SaveSnapshot and returns the
// snapshot to resume from and the metadata (for the data fingerprint). A
// plain model file without training state resumes with zero momentum.
func LoadSnapshot(path string) (*Snapshot, models.Meta, error) {
	if kind, err := models.CheckpointKind(path); err == nil {
		switch kind {
		case models.KindBM:
			return loadBMSnapshot(path)
		case models.KindGRBM:
			return loadGaussianSnapshot(path)
		}
	}
	m, meta, extra, err := models.LoadRBM(path)
	if err != nil {
		return nil, meta, err
	}
	return snapshotFrom(path, m, meta, extra)
}

// snapshotFrom builds the snapshot of a loaded checkpoint's model, metadata
// and extra tensors.
func snapshotFrom(path string, m *models.RBM, meta models.Meta, extra map[string]safetensors.Tensor) (*Snapshot, models.Meta, error) {
	var h hyper
	sched, err := decodeHyper(path, meta, &h)
	if err != nil {
		return nil, meta, err
	}
	s := &Snapshot{
		Config: h.config(m.H, meta.Seed, sched),
		Model:  m,
		Epoch:  meta.Epoch,
		Batch:  h.BatchPos,
		State:  TrainState{RNGStep: meta.RNGStep},
	}
	get := func(name string, want int, required bool) ([]float32, error) {
		t, ok := extra[name]
		if !ok {
			if required {
				return make([]float32, want), nil
			}
			return nil, nil
		}
		if want >= 0 && len(t.Data) != want {
			return nil, fmt.Errorf("load %s: tensor %q has %d values, want %d", path, name, len(t.Data), want)
		}
		return t.Data, nil
	}
	if s.State.VelW, err = get(TensorVelW, m.V*m.H, true); err != nil {
		return nil, meta, err
	}
	if s.State.VelVBias, err = get(TensorVelVBias, m.V, true); err != nil {
		return nil, meta, err
	}
	if s.State.VelHBias, err = get(TensorVelHBias, m.H, true); err != nil {
		return nil, meta, err
	}
	if s.State.HiddenMean, err = get(TensorHiddenMean, m.H, false); err != nil {
		return nil, meta, err
	}
	if s.State.Chains, err = get(TensorChains, -1, false); err != nil {
		return nil, meta, err
	}
	if s.State.Chains != nil && len(s.State.Chains)%m.V != 0 {
		return nil, meta, fmt.Errorf("load %s: tensor %q has %d values, not a multiple of V = %d", path, TensorChains, len(s.State.Chains), m.V)
	}
	return s, meta, nil
}

// hyperOf is the "hyper" metadata of c (defaulted) at mini-batch batchPos
// of the current epoch.
func hyperOf(c Config, batchPos int) hyper {
	return hyper{
		Hidden: c.Hidden, K: c.K, Persistent: c.Persistent, Chains: c.Chains, Epochs: c.Epochs, Batch: c.Batch,
		LR: c.LR, Schedule: c.Schedule.String(), Momentum: c.Momentum, InitialMomentum: c.InitialMomentum,
		MomentumWarmup: c.MomentumWarmup, WeightDecay: c.WeightDecay, SparsityTarget: c.SparsityTarget,
		SparsityCost: c.SparsityCost, ExactLLMaxUnits: c.ExactLLMaxUnits, FreeEnergyRows: c.FreeEnergyRows,
		EvalEvery: c.EvalEvery, BatchPos: batchPos,
		Visible: c.Visible, LearnVariance: c.LearnVariance, SigmaFloor: c.SigmaFloor,
	}
}

// config is the Config that h records, for a model of hidden units with
// run seed seed and the parsed schedule.
func (h hyper) config(hidden int, seed uint64, sched Schedule) Config {
	return Config{
		Hidden: hidden, K: h.K, Persistent: h.Persistent, Chains: h.Chains, Epochs: h.Epochs, Batch: h.Batch,
		LR: h.LR, Schedule: sched, Momentum: h.Momentum, InitialMomentum: h.InitialMomentum,
		MomentumWarmup: h.MomentumWarmup, WeightDecay: h.WeightDecay, SparsityTarget: h.SparsityTarget,
		SparsityCost: h.SparsityCost, Seed: seed, ExactLLMaxUnits: h.ExactLLMaxUnits,
		FreeEnergyRows: h.FreeEnergyRows, EvalEvery: h.EvalEvery,
		Visible: h.Visible, LearnVariance: h.LearnVariance, SigmaFloor: h.SigmaFloor,
	}
}

func (h *hyper) base() *hyper { return h }

// decodeHyper reads meta's "hyper" (absent in a plain model file: zero
// values) into dst, a *hyper or a *bmHyper, and parses its schedule.
func decodeHyper(path string, meta models.Meta, dst interface{ base() *hyper }) (Schedule, error) {
	if len(meta.Hyper) > 0 {
		if err := json.Unmarshal(meta.Hyper, dst); err != nil {
			return nil, fmt.Errorf("load %s: metadata hyper: %w", path, err)
		}
	}
	sched, err := ParseSchedule(dst.base().Schedule)
	if err != nil {
		return nil, fmt.Errorf("load %s: metadata hyper: %w", path, err)
	}
	return sched, nil
}
