package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
)

// runEnv runs the command in dir with extra environment variables.
func runEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
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

// fakeCUDA builds the cudadrv tests' stand-in libcuda.so.1 and returns its
// folder, or skips without a C compiler.
func fakeCUDA(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build the fake libcuda.so.1")
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "kernels", "cudadrv", "testdata", "fakecuda.c")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", filepath.Join(dir, "libcuda.so.1"), src, "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("building the fake libcuda.so.1: %v\n%s", err, out)
	}
	return dir
}

// --device auto says on stderr, in one line as training starts, why it
// trains on the CPU; --device cpu, and a run that stops at a usage error
// before training, say nothing of the kind. `devices` prints the compute
// mode.
func TestDeviceAutoSaysWhy(t *testing.T) {
	dir := t.TempDir()
	train := []string{"train", "--data", "bas:3x3", "--epochs", "1", "--quiet"}
	if _, err := engine.CUDADevices(); err != nil {
		r := runCLI(t, dir, append(train, "--out", "auto")...)
		if r.code != 0 || len(r.notes) != 1 || !strings.Contains(r.notes[0], "no CUDA driver: ") {
			t.Errorf("train --device auto without a driver: exit %d, notes %q, stderr %q; want one note naming the missing driver", r.code, r.notes, r.stderr)
		}
	}
	if r := runCLI(t, dir, append(train, "--out", "cpu", "--device", "cpu")...); r.code != 0 || len(r.notes) != 0 {
		t.Errorf("train --device cpu: exit %d, notes %q", r.code, r.notes)
	}
	if r := runCLI(t, dir, "train", "--model", "dbn"); r.code != 2 || len(r.notes) != 0 {
		t.Errorf("train --model dbn (a usage error): exit %d, notes %q; want exit 2 and no device note", r.code, r.notes)
	}

	lib := fakeCUDA(t)
	ld := "LD_LIBRARY_PATH=" + lib + string(os.PathListSeparator) + os.Getenv("LD_LIBRARY_PATH")
	r := runEnv(t, dir, []string{ld, "FAKECUDA_NODEVICE=1"}, append(train, "--out", "nodev")...)
	if r.code != 0 || len(r.notes) != 1 || !strings.Contains(r.notes[0], "cuInit: CUDA_ERROR_NO_DEVICE") {
		t.Errorf("train --device auto, driver without a device: exit %d, notes %q, stderr %q", r.code, r.notes, r.stderr)
	}
	r = runEnv(t, dir, []string{ld, "FAKECUDA_COMPUTE_MODE=3"}, "devices")
	if want := "cuda:0   Fake CUDA Device, 1.0 GiB, compute capability 9.0, compute mode Exclusive_Process"; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("devices with the fake driver: exit %d, %q; want a line %q", r.code, r.stdout, want)
	}
}
