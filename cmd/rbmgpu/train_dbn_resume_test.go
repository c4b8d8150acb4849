package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A DBN run interrupted by SIGINT inside its second layer saves that
// layer's checkpoint and exits with 130; --resume finishes pretraining with
// a DBN byte-identical to an uninterrupted run's, and metrics.jsonl holds
// every layer epoch exactly once.
func TestInterruptAndResumeDBN(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--model", "dbn", "--data", "bas:4x4", "--layers", "16,200,200", "--epochs", "150", "--batch", "5"}
	full := runCLI(t, dir, append(args, "--out", "full")...)
	if full.code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", full.code, full.stderr)
	}
	cmd := exec.Command(binary, append(args, "--out", "part")...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "part", "layer1.safetensors")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no layer-1 checkpoint after 60 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Skipf("run finished before the interrupt arrived (err %v); machine too fast for this test", err)
	}
	if ee.ExitCode() != 130 || !strings.Contains(errb.String(), "--resume") || !strings.Contains(errb.String(), "layer 1") {
		t.Fatalf("interrupted run: exit %d, stderr %q", ee.ExitCode(), errb.String())
	}
	r := runCLI(t, dir, "train", "--resume", "part")
	if r.code != 0 || !strings.Contains(r.stdout, "resuming: 1 layers done, layer 1 after epoch") {
		t.Fatalf("resume: exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "full", dbnFile))
	b, _ := os.ReadFile(filepath.Join(dir, "part", dbnFile))
	if len(a) == 0 || !bytes.Equal(a, b) {
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
