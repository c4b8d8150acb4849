package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
)

// A run whose learning rate makes the weights overflow stops with exit 1
// and one line naming the epoch and the tensor; the checkpoint of the last
// good epoch stays and loads.
func TestDivergingRunKeepsLastGoodCheckpoint(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--data", "bas:3x3", "--hidden", "8", "--batch", "7", "--epochs", "50",
		"--lr", "1e38", "--momentum", "0.99", "--out", "run")
	noPanic(t, r, nil)
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want exit 1 and one line", r.code, r.stderr)
	}
	for _, want := range []string{"epoch ", "diverged", "is not finite", "last good checkpoint"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
	snap, _, err := engine.LoadSnapshot(filepath.Join(dir, "run", modelFile))
	if err != nil {
		t.Fatalf("last good checkpoint: %v", err)
	}
	if !strings.Contains(r.stderr, "epoch ") || snap.Epoch < 1 {
		t.Errorf("checkpoint at epoch %d", snap.Epoch)
	}
	t.Logf("%s(checkpoint after epoch %d)", r.stderr, snap.Epoch)
}
