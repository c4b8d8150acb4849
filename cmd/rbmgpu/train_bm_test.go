package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// `train --model bm` trains a BM with the exact log-likelihood in its
// output, --resume continues it, eval --exact and sample read the
// checkpoint, plot refuses it with one line.
func TestTrainBMCommands(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--model", "bm", "--data", "bas:3x3", "--hidden", "3", "--lateral", "hidden", "--sweeps", "2",
		"--pcd", "1", "--chains", "20", "--batch", "7", "--lr-schedule", "linear:0"}
	r := runCLI(t, dir, append(args, "--epochs", "6", "--out", "full")...)
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("train: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "training BM 9+3 (lateral hidden)") || strings.Count(r.stdout, "  LL -") != 6 {
		t.Errorf("train output:\n%s", r.stdout)
	}
	m, meta, _, err := models.LoadBM(filepath.Join(dir, "full", modelFile))
	if err != nil || meta.Epoch != 6 {
		t.Fatalf("checkpoint: %v (epoch %d)", err, meta.Epoch)
	}
	if l, ok := m.Lateral(); !ok || l != models.LateralHidden {
		t.Errorf("connectivity %v %v", l, ok)
	}
	// A completed run continues for more epochs and appends its metrics
	// (bit-identical resumption itself is tested in package engine).
	r = runCLI(t, dir, append(args, "--epochs", "6", "--out", "part")...)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = runCLI(t, dir, "train", "--resume", "part", "--epochs", "8")
	noPanic(t, r, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "resuming after epoch 6") || strings.Count(r.stdout, "  LL -") != 2 {
		t.Fatalf("resume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "part", metricsFile))
	if n := strings.Count(string(b), "\n"); n != 8 {
		t.Errorf("%d metrics records after resuming to 8 epochs", n)
	}

	r = runCLI(t, dir, "eval", "--model", "full", "--exact", "--json")
	noPanic(t, r, nil)
	var res evalResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Kind != "bm" || res.ExactLL == nil {
		t.Fatalf("eval: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	want, _ := m.LogLikelihood(bas3x3(), 14)
	if math.Abs(*res.ExactLL-want) > 1e-9 {
		t.Errorf("eval LL %v, model %v", *res.ExactLL, want)
	}
	r = runCLI(t, dir, "eval", "--model", "full", "--ais")
	if r.code != 2 || !strings.Contains(r.stderr, "--exact") {
		t.Errorf("eval --ais of a BM: exit %d %s", r.code, r.stderr)
	}
	r = runCLI(t, dir, "sample", "--model", filepath.Join("full", modelFile), "--n", "9", "--steps", "20", "--png", "s.png")
	noPanic(t, r, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "BM 9+3") {
		t.Fatalf("sample: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "s.png")); err != nil {
		t.Error(err)
	}
	r = runCLI(t, dir, "plot", "--model", "full", "--out", "pics")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "Boltzmann machine") {
		t.Errorf("plot of a BM run: exit %d %q", r.code, r.stderr)
	}
}

func bas3x3() []float32 {
	var x []float32
	for _, stripes := range []bool{false, true} {
		for mask := 0; mask < 8; mask++ {
			if stripes && (mask == 0 || mask == 7) {
				continue
			}
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					k := j
					if stripes {
						k = i
					}
					x = append(x, float32(mask>>k&1))
				}
			}
		}
	}
	return x
}

// Damaged BM checkpoints (asymmetric W, a mask entry of 0.5, a weight on
// the diagonal, a NaN, a truncated file) are one-line failures, exit 1,
// naming the file, in eval, sample and train --resume.
func TestCorruptBMCheckpoints(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--model", "bm", "--data", "bas:2x2", "--hidden", "2", "--epochs", "2", "--out", "good")
	if r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	path := filepath.Join(dir, "good", modelFile)
	good, _ := os.ReadFile(path)
	config, _ := os.ReadFile(filepath.Join(dir, "good", configFile))
	tensors, md, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name string, f func(x []float32)) []byte {
		var list []safetensors.Tensor
		for n, tt := range tensors {
			tt.Name = n
			tt.Data = append([]float32(nil), tt.Data...)
			if n == name {
				f(tt.Data)
			}
			list = append(list, tt)
		}
		p := filepath.Join(dir, "tmp.safetensors")
		if err := safetensors.Write(p, list, md); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		return b
	}
	variants := map[string][]byte{
		"asymmetric": edit("W", func(x []float32) { x[1] += 1 }),
		"mask-half":  edit("mask", func(x []float32) { x[1], x[6] = 0.5, 0.5 }),
		"diagonal":   edit("W", func(x []float32) { x[0] = 1 }),
		"nan":        edit("bias", func(x []float32) { x[2] = float32(math.NaN()) }),
		"truncated":  good[:len(good)-9],
	}
	for name, b := range variants {
		run := filepath.Join(dir, "run-"+name)
		os.MkdirAll(run, 0o755)
		writeFile(t, run, modelFile, b)
		writeFile(t, run, configFile, config)
		for _, args := range [][]string{
			{"eval", "--model", run},
			{"sample", "--model", filepath.Join(run, modelFile), "--png", filepath.Join(dir, "s-"+name+".png")},
			{"train", "--resume", run, "--epochs", "4"},
		} {
			r := runCLI(t, dir, args...)
			noPanic(t, r, args)
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, modelFile) {
				t.Errorf("%s: %q: exit %d, stderr %q; want exit 1 and one line naming %s", name, args[0], r.code, r.stderr, modelFile)
			}
		}
	}
}

// SIGINT saves a BM run and exits with 130; --resume then finishes it with
// a checkpoint byte-identical to an uninterrupted run's.
func TestInterruptAndResumeBM(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--model", "bm", "--data", "bas:4x4", "--hidden", "40", "--pcd", "2", "--sweeps", "2",
		"--epochs", "300", "--eval-every", "1000", "--quiet"}
	interruptAndResume(t, dir, args)
	if !sameAsFull(dir, modelFile) {
		t.Error("resumed BM checkpoint differs from the uninterrupted run's")
	}
}
