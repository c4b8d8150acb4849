package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// train --png writes filters.png and samples.png each epoch: they decode,
// with the sizes the picture layout gives for 64 filters / 64 samples of
// 4×4 tiles (8×8 grid of 48-px tiles and 1-px separators: 393×393).
func TestTrainPNG(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--epochs", "3", "--png", "--png-steps", "20", "--out", "run")
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{"filters.png", "samples.png"} {
		f, err := os.Open(filepath.Join(dir, "run", name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 393 || b.Dy() != 393 {
			t.Errorf("%s is %v, want 393×393", name, b.Size())
		}
	}
}
