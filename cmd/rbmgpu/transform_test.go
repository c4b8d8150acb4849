package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/models"
)

// readFeatures checks the NPY header of a transform output byte for byte
// and returns the array as the data package reads it.
func readFeatures(t *testing.T, path string, rows, cols int) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head := npyHeader(rows, cols)
	if !bytes.HasPrefix(b, head) || len(head)%64 != 0 || !bytes.HasPrefix(head, []byte("\x93NUMPY\x01\x00")) {
		t.Fatalf("%s: header %q, want %q (a multiple of 64 bytes)", path, b[:min(len(b), len(head))], head)
	}
	if len(b) != len(head)+4*rows*cols {
		t.Fatalf("%s: %d bytes, want %d header + %d data", path, len(b), len(head), 4*rows*cols)
	}
	a, err := data.ReadNPY(bytes.NewReader(b), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != rows || a.Shape[1] != cols {
		t.Fatalf("%s: shape %v, want [%d %d]", path, a.Shape, rows, cols)
	}
	return a.Data
}

// numpyShape loads path with NumPy (/usr/bin/python3) and returns
// "shape dtype", or skips the check when NumPy is not installed.
func numpyShape(t *testing.T, path string) (string, bool) {
	t.Helper()
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Logf("NumPy not available (%s -c 'import numpy' failed): skipping the NumPy read of %s; the Go check of its header and bytes ran", py, filepath.Base(path))
		return "", false
	}
	out, err := exec.Command(py, "-c", "import sys, numpy; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, float(a.sum()))", path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load %s: %v: %s", path, err, out)
	}
	return strings.TrimSpace(string(out)), true
}

// transform writes the features of an RBM, a Gaussian RBM and a DBN run,
// batch by batch, as N×H float32 NPY files equal to the engine's Transform.
func TestTransformCommand(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, dir, "x.csv", 40, func(i int) string {
		return strings.Join([]string{ftoa(float64(i % 7 * 30)), ftoa(float64(255 - i%5*40)), ftoa(float64(i % 3 * 100))}, ",")
	})
	runs := []struct {
		name  string
		train []string
		model string   // --model of transform
		args  []string // further transform flags
		rows  int
		cols  int
	}{
		{"rbm", []string{"--hidden", "7", "--epochs", "5"}, "rbm", []string{"--batch", "4"}, 30, 7},
		{"grbm", []string{"--model", "grbm", "--data", "x.csv", "--hidden", "5", "--epochs", "3", "--batch", "5"}, "grbm", []string{"--batch", "7"}, 40, 5},
		{"dbn", []string{"--model", "dbn", "--layers", "16,12,6", "--epochs", "5"}, "dbn/" + dbnFile, []string{"--data", "bas:4x4"}, 30, 6},
		{"rbm on the tape", nil, "rbm", []string{"--device", "cpu-tape", "--data", "bas:4x4"}, 30, 7},
	}
	for _, run := range runs {
		if run.train != nil {
			r := runCLI(t, dir, append([]string{"train", "--out", run.name, "--quiet"}, run.train...)...)
			if r.code != 0 {
				t.Fatalf("%s: train: exit %d: %s", run.name, r.code, r.stderr)
			}
		}
		out := strings.ReplaceAll(run.name, " ", "-") + ".npy"
		args := append([]string{"transform", "--model", run.model, "--out", out}, run.args...)
		r := runCLI(t, dir, args...)
		noPanic(t, r, args)
		if r.code != 0 || !strings.Contains(r.stdout, "wrote "+out) {
			t.Fatalf("%q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		got := readFeatures(t, filepath.Join(dir, out), run.rows, run.cols)

		// The same features from the engine, in the test process.
		var want []float32
		var err error
		path := filepath.Join(dir, run.model)
		if strings.HasSuffix(path, dbnFile) {
			net, lerr := models.LoadDBN(path)
			if lerr != nil {
				t.Fatal(lerr)
			}
			d, _ := data.Load("bas:4x4", data.LoadOptions{})
			want, err = dbn.Transform(context.Background(), engine.CPU{}, net, nil, d.X, d.N)
		} else {
			snap, _, lerr := engine.LoadSnapshot(filepath.Join(path, modelFile))
			if lerr != nil {
				t.Fatal(lerr)
			}
			spec := "bas:4x4"
			if snap.GRBM() != nil {
				spec = filepath.Join(dir, "x.csv")
			}
			d, _ := data.Load(spec, data.LoadOptions{CSVHeader: data.CSVHeaderAuto})
			want, err = snap.Transform(context.Background(), engine.CPU{}, nil, d.X, d.N)
		}
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if d := got[k] - want[k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s: feature %d = %v, the engine's %v", run.name, k, got[k], want[k])
			}
		}
		if s, ok := numpyShape(t, filepath.Join(dir, out)); ok && !strings.HasPrefix(s, "("+itoa(run.rows)+", "+itoa(run.cols)+") float32") {
			t.Errorf("%s: numpy reads %q", run.name, s)
		}
	}

	bm := runCLI(t, dir, "train", "--model", "bm", "--data", "bas:3x3", "--hidden", "2", "--pcd", "1", "--epochs", "2", "--out", "bm", "--quiet")
	if bm.code != 0 {
		t.Fatalf("bm: %s", bm.stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"transform", "--out", "f.npy"}, 2, "--model"},
		{[]string{"transform", "--model", "rbm"}, 2, "--out"},
		{[]string{"transform", "--model", "rbm", "--out", "f.npy", "--batch", "0"}, 2, "--batch"},
		{[]string{"transform", "--model", "rbm", "--out", "f.npy", "--device", "tpu"}, 2, "device"},
		{[]string{"transform", "--model", "nowhere", "--out", "f.npy"}, 1, "nowhere"},
		{[]string{"transform", "--model", "rbm", "--out", "f.npy", "--data", "bas:3x3"}, 1, "9 features per row"},
		{[]string{"transform", "--model", "rbm/" + modelFile, "--out", "f.npy"}, 0, ""},
		{[]string{"transform", "--model", "bm", "--out", "f.npy"}, 1, "no hidden features"},
		{[]string{"transform", "--model", "rbm", "--out", "no/such/dir/f.npy"}, 1, "no/such/dir"},
		{[]string{"transform", "--model", "x.csv", "--data", "bas:4x4", "--out", "f.npy"}, 1, "x.csv"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || (tc.code != 0 && strings.Count(r.stderr, "\n") != 1) {
			t.Errorf("%q: exit %d %q; want exit %d, one line with %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func itoa(n int) string { return strings.TrimSpace(ftoa(float64(n))) }
