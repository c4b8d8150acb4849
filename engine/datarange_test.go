package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// A Gaussian run records the range of its training data; the checkpoint
// keeps it in the metadata, and older checkpoints have none.
func TestGRBMDataRange(t *testing.T) {
	d := &data.Dataset{Name: "pixels", N: 6, D: 2, X: []float32{0, 10, 255, 3, 7, 9, 12, 200, 5, 6, 1, 2}}
	res, err := (&Trainer{Config: Config{Model: models.KindGRBM, Hidden: 3, Epochs: 1, Batch: 3, Seed: 1}}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, ok := res.Snapshot.DataRange(); !ok || lo != 0 || hi != 255 {
		t.Fatalf("range %v…%v (%v), want 0…255", lo, hi, ok)
	}
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := SaveSnapshot(path, res.Snapshot, d.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	snap, meta, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, ok := snap.DataRange(); !ok || lo != 0 || hi != 255 || len(meta.DataRange) != 2 {
		t.Errorf("after a round trip: range %v…%v (%v), metadata %v", lo, hi, ok, meta.DataRange)
	}
	old, _, err := LoadSnapshot(filepath.Join("testdata", "checkpoints", "grbm-fixed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := old.DataRange(); ok {
		t.Error("a checkpoint from before the range has one")
	}
}
