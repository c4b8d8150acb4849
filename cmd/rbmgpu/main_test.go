package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
)

var binary string

// TestMain builds the command once; the tests run it as a subprocess, the
// way users do, so exit codes and everything printed are what users see.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rbmgpu-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rbmgpu")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string   // stderr without the device notes
	notes          []string // "rbmgpu: --device auto: using the CPU: ..." lines
}

// autoNote starts the line saying why --device auto fell back to the CPU.
const autoNote = "rbmgpu: --device auto: using the CPU: "

// splitNotes separates the --device auto notes from the rest of stderr, so
// the tests of error messages count only the error's line.
func splitNotes(stderr string) (rest string, notes []string) {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(l, autoNote) {
			notes = append(notes, strings.TrimSuffix(l, "\n"))
			continue
		}
		b.WriteString(l)
	}
	return b.String(), notes
}

func runCLI(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	rest, notes := splitNotes(errb.String())
	return result{code, out.String(), rest, notes}
}

func noPanic(t *testing.T, r result, args []string) {
	t.Helper()
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(r.stderr, bad) || strings.Contains(r.stdout, bad) {
			t.Errorf("%q: output contains %q:\n%s%s", args, bad, r.stdout, r.stderr)
		}
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every bad flag or bad file gives exit status 2 (usage) or 1 (failure)
// and exactly one line on stderr naming the problem; never a panic trace.
func TestBadInputIsOneLineError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.csv", []byte("1,0,1\n0,abc,1\n"))
	writeFile(t, dir, "ragged.csv", []byte("1,0,1\n0,1\n"))
	writeFile(t, dir, "empty.npy", nil)
	writeFile(t, dir, "trunc-ubyte", []byte{0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2})
	writeFile(t, dir, "nan.csv", []byte("1,0\nNaN,1\n"))
	writeFile(t, dir, "model.safetensors", []byte("not a checkpoint"))
	writeFile(t, dir, "config.json", []byte(`{"data":"bas:3x3"}`))
	cases := []struct {
		args []string
		code int
		want string // substring of the error line
	}{
		{[]string{"train", "--hidden", "0"}, 2, "--hidden"},
		{[]string{"train", "--hidden", "x"}, 2, "hidden"},
		{[]string{"train", "--epochs", "-3"}, 2, "--epochs"},
		{[]string{"train", "--batch", "0"}, 2, "--batch"},
		{[]string{"train", "--lr", "-1"}, 2, "--lr"},
		{[]string{"train", "--lr", "NaN"}, 2, "--lr"},
		{[]string{"train", "--momentum", "1.5"}, 2, "momentum"},
		{[]string{"train", "--cd", "1", "--pcd", "2"}, 2, "exclusive"},
		{[]string{"train", "--cd", "-1"}, 2, "--cd"},
		{[]string{"train", "--cd", "1", "--chains", "5"}, 2, "--chains"},
		{[]string{"train", "--model", "bm", "--lateral", "some"}, 2, "--lateral"},
		{[]string{"train", "--model", "bm", "--cd", "2"}, 2, "--pcd"},
		{[]string{"train", "--model", "bm", "--sweeps", "-1"}, 2, "--sweeps"},
		{[]string{"train", "--model", "bm", "--sweeps", "0"}, 2, "--sweeps"},
		{[]string{"train", "--model", "bm", "--hidden", "0"}, 2, "--hidden"},
		{[]string{"train", "--model", "bm", "--sparsity-cost", "0.1"}, 2, "--sparsity-cost"},
		{[]string{"train", "--model", "bm", "--png"}, 2, "--png"},
		{[]string{"train", "--model", "bm", "--layers", "9,4"}, 2, "--layers"},
		{[]string{"train", "--lateral", "both"}, 2, "--lateral"},
		{[]string{"train", "--model", "dbn", "--mean-field"}, 2, "--mean-field"},
		{[]string{"train", "--model", "bm", "--data", "bas:axb"}, 1, "bas"},
		{[]string{"train", "--val", "1.5"}, 2, "--val"},
		{[]string{"train", "--lr-schedule", "cosine"}, 2, "schedule"},
		{[]string{"train", "--binarize", "maybe"}, 2, "--binarize"},
		{[]string{"train", "--binarize", "threshold:7"}, 2, "threshold"},
		{[]string{"train", "--device", "tpu"}, 2, "device"},
		{[]string{"train", "--device", "cuda:x"}, 2, "device"},
		{[]string{"train", "--nosuchflag"}, 2, "nosuchflag"},
		{[]string{"train", "extra-arg"}, 2, "extra-arg"},
		{[]string{"nosuchcommand"}, 2, "nosuchcommand"},
		{[]string{"train", "--data", "bas:0x4"}, 1, "bas"},
		{[]string{"train", "--data", "bas:axb"}, 1, "bas"},
		{[]string{"train", "--data", "missing.csv"}, 1, "missing.csv"},
		{[]string{"train", "--data", "bad.csv"}, 1, "bad.csv: line 2"},
		{[]string{"train", "--data", "ragged.csv"}, 1, "ragged.csv"},
		{[]string{"train", "--data", "empty.npy"}, 1, "empty.npy"},
		{[]string{"train", "--data", "trunc-ubyte"}, 1, "trunc-ubyte"},
		{[]string{"train", "--data", "nan.csv"}, 1, "nan.csv"},
		{[]string{"train", "--resume", "nowhere"}, 1, "nowhere"},
		{[]string{"train", "--resume", ".", "--epochs", "5"}, 1, "model.safetensors"},
		{[]string{"train", "--resume", ".", "--lr", "0.5"}, 2, "--lr"},
		{[]string{"train", "--data", "bas:3x3", "--out", "bad.csv/sub"}, 1, "bad.csv"},
		{[]string{"train", "--model", "grbm", "--sigma-floor", "2"}, 2, "--sigma-floor"},
		{[]string{"train", "--model", "grbm", "--sigma-floor", "-0.1"}, 2, "--sigma-floor"},
		{[]string{"train", "--learn-sigma"}, 2, "--learn-sigma applies to --model grbm"},
		{[]string{"train", "--sigma-floor", "0.2"}, 2, "--sigma-floor applies to --model grbm"},
		{[]string{"train", "--model", "grbm", "--data", "bas:3x3", "--lr", "5", "--out", "grbm-lr"}, 1, "too large for a Gaussian RBM"},
		{[]string{"version", "extra"}, 2, "extra"},
		{[]string{"devices", "extra"}, 2, "extra"},
	}
	if _, err := engine.CUDADevices(); err != nil {
		// No driver here: asking for CUDA is a failure naming the cause.
		cases = append(cases, struct {
			args []string
			code int
			want string
		}{[]string{"train", "--device", "cuda"}, 1, "CUDA"})
	}
	for _, tc := range cases {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != tc.code {
			t.Errorf("%q: exit %d, want %d; stderr %q", tc.args, r.code, tc.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "rbmgpu: ") {
			t.Errorf("%q: want one 'rbmgpu: ...' line on stderr, got %q", tc.args, r.stderr)
		}
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: stderr %q does not mention %q", tc.args, r.stderr, tc.want)
		}
	}
	t.Logf("%d bad-input cases", len(cases))
}

// With no flags but --epochs, train runs on bars-and-stripes with the
// defaults of the study (PCD-5, 100 chains) and prints the exact
// log-likelihood every 10 epochs; the outputs exist and are consistent.
func TestTrainDefaultsAndOutputs(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--epochs", "20", "--out", "run")
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "PCD-5") {
		t.Errorf("the banner does not name PCD-5:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "  LL -"); n != 2 {
		t.Errorf("%d epoch lines with a log-likelihood, want 2 (epochs 10 and 20):\n%s", n, r.stdout)
	}
	for _, f := range []string{modelFile, metricsFile, configFile} {
		if _, err := os.Stat(filepath.Join(dir, "run", f)); err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "run", metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d metrics records, want 20", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[19]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["epoch"].(float64) != 20 || rec["log_likelihood"] == nil {
		t.Errorf("last record %v", rec)
	}
	for _, cmd := range [][]string{{"version"}, {"devices"}, {"--help"}, {"train", "--help"}} {
		r := runCLI(t, dir, cmd...)
		if r.code != 0 || r.stdout == "" {
			t.Errorf("%q: exit %d, stdout %q", cmd, r.code, r.stdout)
		}
	}
}

// SIGINT saves a checkpoint and exits with 130; --resume then finishes the
// run with a model byte-identical to an uninterrupted run's.
func TestInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--data", "bas:4x4", "--pcd", "2", "--hidden", "300", "--epochs", "400", "--eval-every", "1000"}
	interruptAndResume(t, dir, args)
	if !sameAsFull(dir, modelFile) {
		t.Error("resumed model differs from the uninterrupted run's")
	}
	m1, _ := os.ReadFile(filepath.Join(dir, "part", metricsFile))
	if n := strings.Count(string(m1), "\n"); n != 400 {
		t.Errorf("resumed metrics.jsonl has %d records, want 400", n)
	}
}

// interruptAndResume runs the training args three ways in dir: to the end
// (--out full); interrupted by SIGINT in the middle, once its first
// checkpoint exists (--out part), which must exit with 130 and point at
// --resume; and resumed from there (train --resume part), which must
// succeed. The caller compares part with full.
func interruptAndResume(t *testing.T, dir string, args []string) {
	t.Helper()
	trainFull(t, dir, args)
	code, stderr := interruptWhen(t, dir, filepath.Join("part", modelFile), append(args, "--out", "part")...)
	if code != 130 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("interrupted run: exit %d, stderr %q", code, stderr)
	}
	r := runCLI(t, dir, "train", "--resume", "part")
	if r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
}

// trainFull runs the training args to completion with --out full in dir:
// the reference that an interrupted and resumed run ("part") must match.
func trainFull(t *testing.T, dir string, args []string) {
	t.Helper()
	full := runCLI(t, dir, append(args, "--out", "full")...)
	if full.code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", full.code, full.stderr)
	}
}

// sameAsFull reports whether the file name of the resumed run (dir/part)
// is byte-identical to the uninterrupted run's (dir/full) and not empty, so
// that two missing files do not pass for equal ones.
func sameAsFull(dir, name string) bool {
	a, _ := os.ReadFile(filepath.Join(dir, "full", name))
	b, _ := os.ReadFile(filepath.Join(dir, "part", name))
	return len(a) > 0 && bytes.Equal(a, b)
}

// writeLines writes n lines, line(i) each, to dir/name and returns its
// path: the small CSV data and label files the tests make up.
func writeLines(t *testing.T, dir, name string, n int, line func(i int) string) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(line(i) + "\n")
	}
	return writeFile(t, dir, name, []byte(b.String()))
}

// interruptWhen starts the binary with args in dir, sends SIGINT as soon as
// the file `when` (relative to dir) exists, and returns the exit code and
// stderr. It skips the test when the run finished before the signal landed.
func interruptWhen(t *testing.T, dir, when string, args ...string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, when)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no %s after 60 s", when)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Skipf("run finished before the interrupt arrived (err %v); machine too fast for this test", err)
	}
	rest, _ := splitNotes(errb.String())
	return ee.ExitCode(), rest
}
