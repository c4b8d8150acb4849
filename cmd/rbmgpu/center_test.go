package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// --centered where there is no centring, a rate without --centered or out
// of range, and a change of --centered on resume are usage errors: exit 2,
// one line naming the problem.
func TestCenteredBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "grbm", "--centered"}, "no centred gradients"},
		{[]string{"--centered=false", "--center-rate", "0.1"}, "--center-rate"},
		{[]string{"--model", "bm", "--center-rate", "0.1"}, "--center-rate"},
		{[]string{"--centered", "--center-rate", "2"}, "offset rate"},
		{[]string{"--centered", "--center-rate", "0"}, "--center-rate"},
		{[]string{"--centered", "--center-rate", "-0.5"}, "--center-rate"},
	} {
		full := append([]string{"train", "--data", "bas:3x3", "--epochs", "1", "--out", "run", "--quiet"}, c.args...)
		r := runCLI(t, dir, full...)
		noPanic(t, r, full)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", full, r.code, r.stderr, c.want)
		}
	}
}

// A centred run saves an ordinary RBM with its offsets as training state:
// eval, sample and transform read it as any RBM; resuming it continues
// bit-identically (at a constant rate: a decaying schedule depends on the
// number of epochs, which the resume extends); --centered cannot be switched on resume; a DBN trains
// centred.
func TestCenteredRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"train", "--data", "bas:3x3", "--hidden", "6", "--pcd", "2", "--lr-schedule", "constant", "--centered", "--quiet"}
	for _, args := range [][]string{
		append(append([]string(nil), common...), "--epochs", "6", "--out", "full"),
		append(append([]string(nil), common...), "--epochs", "3", "--out", "half"),
		{"train", "--resume", "half", "--epochs", "6", "--quiet"},
		{"eval", "--model", "full", "--data", "bas:3x3", "--exact"},
		{"sample", "--model", "full", "--n", "4", "--steps", "5", "--png", "s.png"},
		{"transform", "--model", "full", "--out", "f.npy"},
		{"train", "--model", "dbn", "--layers", "9,6,4", "--data", "bas:3x3", "--epochs", "2", "--centered", "--quiet", "--out", "dbn"},
		{"train", "--model", "bm", "--hidden", "3", "--data", "bas:3x3", "--epochs", "2", "--centered", "--quiet", "--out", "bm"},
		{"eval", "--model", "bm", "--data", "bas:3x3"},
		{"sample", "--model", "bm", "--n", "4", "--steps", "5", "--png", "b.png"},
	} {
		r := runCLI(t, dir, args...)
		noPanic(t, r, args)
		if r.code != 0 {
			t.Fatalf("%q: exit %d: %s", args, r.code, r.stderr)
		}
	}
	full, _, err := safetensors.Read(filepath.Join(dir, "full", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	resumed, _, err := safetensors.Read(filepath.Join(dir, "half", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{graph.NameW, graph.NameVBias, graph.NameHBias, graph.NameOffsetV, graph.NameOffsetH, graph.NameChains} {
		a, b := full[n], resumed[n]
		if len(a.Data) == 0 || len(a.Data) != len(b.Data) {
			t.Fatalf("%s: %d and %d values", n, len(a.Data), len(b.Data))
		}
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", n, i, a.Data[i], b.Data[i])
			}
		}
	}
	if _, _, _, err := models.LoadRBM(filepath.Join(dir, "full", modelFile)); err != nil {
		t.Errorf("the centred checkpoint is not an ordinary RBM: %v", err)
	}
	r := runCLI(t, dir, "train", "--resume", "full", "--epochs", "8", "--centered=false", "--quiet")
	if r.code != 2 || !strings.Contains(r.stderr, "--centered") {
		t.Errorf("resume with --centered=false: exit %d, stderr %q", r.code, r.stderr)
	}
}
