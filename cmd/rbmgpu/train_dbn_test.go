package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// train --model dbn pretrains, fine-tunes with labels and writes a DBN
// checkpoint that eval scores (accuracy, lower bound) and sample draws from.
func TestTrainDBN(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, dir, "labels.csv", 30, func(i int) string { return []string{"0", "1"}[i%2] })
	r := runCLI(t, dir, "train", "--model", "dbn", "--layers", "16,12,8", "--epochs", "20", "--labels", "labels.csv",
		"--finetune-epochs", "3", "--val", "0.2", "--out", "run")
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"layer 0: epoch 20/20", "layer 1: epoch 20/20", "fine-tune epoch 3/3", "saved"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run", dbnFile)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "run", metricsFile))
	if n := strings.Count(string(b), "\n"); n != 43 { // 2 layers × 20 epochs + 3 fine-tuning epochs
		t.Errorf("metrics.jsonl has %d records, want 43", n)
	}
	e := runCLI(t, dir, "eval", "--model", "run/dbn.safetensors", "--data", "bas:4x4", "--labels", "labels.csv", "--json")
	if e.code != 0 {
		t.Fatalf("eval: exit %d: %s", e.code, e.stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(e.stdout), &res); err != nil || res["accuracy"] == nil {
		t.Errorf("eval --json: %q (%v)", e.stdout, err)
	}
	if s := runCLI(t, dir, "sample", "--model", "run/dbn.safetensors", "--n", "4", "--steps", "5", "--png", "s.png"); s.code != 0 {
		t.Errorf("sample: exit %d: %s", s.code, s.stderr)
	}
	// The run directory stands for its DBN checkpoint.
	if s := runCLI(t, dir, "sample", "--model", "run", "--n", "4", "--steps", "5", "--png", "d.png"); s.code != 0 {
		t.Errorf("sample --model RUNDIR: exit %d: %s", s.code, s.stderr)
	}
	if e := runCLI(t, dir, "eval", "--model", "run", "--data", "bas:4x4", "--labels", "labels.csv"); e.code != 0 || !strings.Contains(e.stdout, "accuracy") {
		t.Errorf("eval --model RUNDIR: exit %d: %s%s", e.code, e.stdout, e.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "dbn"}, "--layers"},
		{[]string{"train", "--model", "dbn", "--layers", "15,8"}, "16 features"},
		{[]string{"train", "--model", "dbn", "--layers", "16,x"}, "--layers"},
		{[]string{"train", "--model", "dbn", "--layers", "16"}, "--layers"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--finetune-epochs", "2"}, "--labels"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--resume", "run"}, "--resume"},
		{[]string{"train", "--model", "xyz"}, "--model"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--finetune-lr-schedule", "cosine"}, "--finetune-lr-schedule"},
		{[]string{"train", "--layers", "16,8"}, "--layers"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d %q; want exit 2, one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
