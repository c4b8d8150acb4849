package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A DBN run interrupted by SIGINT inside its second layer saves that
// layer's checkpoint and exits with 130; --resume finishes pretraining with
// a DBN byte-identical to an uninterrupted run's, and metrics.jsonl holds
// every layer epoch exactly once.
func TestInterruptAndResumeDBN(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--model", "dbn", "--data", "bas:4x4", "--layers", "16,200,200", "--epochs", "150", "--batch", "5"}
	trainFull(t, dir, args)
	code, stderr := interruptWhen(t, dir, filepath.Join("part", "layer1.safetensors"), append(args, "--out", "part")...)
	if code != 130 || !strings.Contains(stderr, "--resume") || !strings.Contains(stderr, "layer 1") {
		t.Fatalf("interrupted run: exit %d, stderr %q", code, stderr)
	}
	r := runCLI(t, dir, "train", "--resume", "part")
	if r.code != 0 || !strings.Contains(r.stdout, "resuming: 1 layers done, layer 1 after epoch") {
		t.Fatalf("resume: exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	if !sameAsFull(dir, dbnFile) {
		t.Error("resumed DBN differs from the uninterrupted run's")
	}
	m, _ := os.ReadFile(filepath.Join(dir, "part", metricsFile))
	if n := strings.Count(string(m), "\n"); n != 300 {
		t.Errorf("resumed metrics.jsonl has %d records, want 300", n)
	}
	// A finished run does not resume; a changed --epochs is refused.
	for _, extra := range [][]string{{}, {"--epochs", "9"}} {
		r := runCLI(t, dir, append([]string{"train", "--resume", "part"}, extra...)...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("resume %q again: exit %d %q, want exit 2 and one line", extra, r.code, r.stderr)
		}
	}
}
