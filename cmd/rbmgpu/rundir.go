package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// The run directory of `rbmgpu train` (--out): the checkpoint, the
// per-epoch metrics and the settings, written so that a crash or Ctrl-C
// leaves files a --resume can continue from.

const (
	modelFile   = "model.safetensors"
	metricsFile = "metrics.jsonl"
	configFile  = "config.json"
)

// sameData refuses to resume on data other than the checkpoint's: the
// fingerprint saved with it (empty in files from before fingerprints) must
// identify d's values (data.Dataset.SameFingerprint).
func sameData(dataName string, d *data.Dataset, saved string) error {
	if saved != "" && !d.SameFingerprint(saved) {
		return fmt.Errorf("resume: %s: the data differ from the data the run was trained on (fingerprint %s, saved %s)", dataName, d.Fingerprint(), saved)
	}
	return nil
}

// openMetrics writes config.json and opens metrics.jsonl for appending. A
// fresh run first removes the metrics.jsonl of an earlier run in --out; a
// resumed one has already cut it back to its checkpoint.
func (f *trainFlags) openMetrics() (*os.File, error) {
	if f.Resume == "" {
		if err := os.Remove(filepath.Join(f.Out, metricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("output directory: %w", err)
		}
	}
	if err := f.writeConfig(); err != nil {
		return nil, err
	}
	metrics, err := os.OpenFile(filepath.Join(f.Out, metricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return metrics, nil
}

// makeOutDir creates --out (default runs/<time>) and removes the temporary
// files of writes that a crash interrupted: they are never data.
func (f *trainFlags) makeOutDir() error {
	if f.Out == "" {
		f.Out = filepath.Join("runs", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(f.Out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if stale, err := filepath.Glob(filepath.Join(f.Out, ".*.tmp-*")); err == nil {
		for _, p := range stale {
			os.Remove(p)
		}
	}
	return nil
}

// writeConfig writes the run's settings to --out/config.json atomically:
// the shared flags and the settings the model takes.
func (f *trainFlags) writeConfig() error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if err := f.models.save(obj, f.Model); err != nil {
		return err
	}
	if b, err = json.MarshalIndent(obj, "", "  "); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(f.Out, configFile), append(b, '\n'))
}

// metricsJSON is the metrics.jsonl record: NaN (not computed) becomes null.
type metricsJSON struct {
	Epoch         int      `json:"epoch"`
	LR            float64  `json:"lr"`
	ReconError    *float64 `json:"recon_error"`
	FreeEnergyGap *float64 `json:"free_energy_gap"`
	LogLikelihood *float64 `json:"log_likelihood"`
	HeldOutLL     *float64 `json:"heldout_log_likelihood"`
	LogZ          *float64 `json:"log_z"`
	Samples       int      `json:"samples"`
	Seconds       float64  `json:"seconds"`
	SamplesPerSec float64  `json:"samples_per_sec"`
	EvalSeconds   float64  `json:"eval_seconds"`
	// Parallel tempering: swap acceptance per replica pair, the ladder.
	PTAcceptance  []float64 `json:"pt_acceptance,omitempty"`
	PTBetas       []float64 `json:"pt_betas,omitempty"`
	PTLadderBound bool      `json:"pt_ladder_bound,omitempty"`
	// The trajectory-AIS estimates (engine.TrackLL); absent when not tracked.
	TrajLL        *float64 `json:"ll_train,omitempty"`
	TrajHeldOutLL *float64 `json:"ll_heldout,omitempty"`
	TrajLogZ      *float64 `json:"traj_log_z,omitempty"`
	TrajESS       *float64 `json:"traj_ess,omitempty"`
	TrajDrift     *float64 `json:"traj_drift,omitempty"`
	// A Potts model's convergence metrics; absent for other kinds and
	// epochs without an evaluation.
	Pearson      *float64 `json:"pearson_cij,omitempty"`
	PearsonSlope *float64 `json:"pearson_slope,omitempty"`
	PearsonF     *float64 `json:"pearson_fi,omitempty"`
}

func jsonMetrics(m engine.EpochMetrics) metricsJSON {
	var ess *float64
	if !math.IsNaN(m.TrajLogZ) {
		ess = num(m.TrajESS)
	}
	j := metricsJSON{TrajESS: ess, Epoch: m.Epoch, LR: m.LR, ReconError: num(m.ReconError), FreeEnergyGap: num(m.FreeEnergyGap),
		LogLikelihood: num(m.LogLikelihood), HeldOutLL: num(m.HeldOutLogLikelihood), LogZ: num(m.LogZ),
		Samples: m.Samples, Seconds: m.Seconds, SamplesPerSec: m.SamplesPerSec, EvalSeconds: m.EvalSeconds,
		PTAcceptance: m.PTAcceptance, PTBetas: m.PTBetas, PTLadderBound: m.PTLadderBound,
		TrajLL: num(m.TrajLL), TrajHeldOutLL: num(m.TrajHeldOutLL), TrajLogZ: num(m.TrajLogZ), TrajDrift: num(m.TrajDrift)}
	if m.Pearson != 0 || m.PearsonF != 0 {
		j.Pearson, j.PearsonSlope, j.PearsonF = num(m.Pearson), num(m.PearsonSlope), num(m.PearsonF)
	}
	return j
}

func formatMetrics(m engine.EpochMetrics, epochs int) string {
	var b strings.Builder
	w := len(strconv.Itoa(epochs))
	fmt.Fprintf(&b, "epoch %*d/%d  recon %.4f", w, m.Epoch, epochs, m.ReconError)
	if !math.IsNaN(m.LogLikelihood) {
		fmt.Fprintf(&b, "  LL %.4f", m.LogLikelihood)
	}
	if !math.IsNaN(m.HeldOutLogLikelihood) {
		fmt.Fprintf(&b, "  held-out LL %.4f", m.HeldOutLogLikelihood)
	}
	if !math.IsNaN(m.TrajLL) {
		fmt.Fprintf(&b, "  AIS-LL %.2f", m.TrajLL)
	}
	if !math.IsNaN(m.TrajHeldOutLL) {
		fmt.Fprintf(&b, "  held-out AIS-LL %.2f", m.TrajHeldOutLL)
	}
	if !math.IsNaN(m.FreeEnergyGap) {
		fmt.Fprintf(&b, "  F-gap %+.4f", m.FreeEnergyGap)
	}
	b.WriteString(ptMetrics(m))
	fmt.Fprintf(&b, "  %.0f samples/s  %.2fs", m.SamplesPerSec, m.Seconds)
	return b.String()
}

// metricsRecord is what the resume code reads back from metrics.jsonl:
// the epoch, and for a DBN run the layer (nil for RBM, BM and fine-tuning
// records).
type metricsRecord struct {
	Layer *int `json:"layer"`
	Epoch int  `json:"epoch"`
}

// filterMetrics rewrites the metrics file at path (atomically) with the
// complete records that keep accepts, so that a resumed run appends where
// its checkpoint left off. A missing file is left missing.
func filterMetrics(path string, keep func(metricsRecord) bool) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var out []byte
	for _, line := range strings.SplitAfter(string(b), "\n") {
		var rec metricsRecord
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasSuffix(line, "\n") && keep(rec) {
			out = append(out, line...)
		}
	}
	return writeFileAtomic(path, out)
}

// truncateMetrics keeps the records of the first `epochs` epochs.
func truncateMetrics(path string, epochs int) error {
	return filterMetrics(path, func(r metricsRecord) bool { return r.Epoch >= 1 && r.Epoch <= epochs })
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, synced before it is renamed over path: readers see the old
// file or the new one, never a part.
func writeFileAtomic(path string, b []byte) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// atomicFile is a file being written under a temporary name in the
// directory of path; Commit syncs it and renames it over path, Abort
// removes it.
type atomicFile struct {
	*os.File
	path string
}

// createAtomic starts an atomic write of path.
func createAtomic(path string) (*atomicFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file private (0600); the outputs are ordinary
	// files others may read, as os.Create would make them.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &atomicFile{File: tmp, path: path}, nil
}

// Commit syncs, closes and renames the file into place.
func (f *atomicFile) Commit() error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file.
func (f *atomicFile) Abort() {
	f.Close()
	os.Remove(f.Name())
}
