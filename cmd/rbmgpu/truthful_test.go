package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
)

// The root help lists every model from the registries and says how the GPU
// is found.
func TestRootHelp(t *testing.T) {
	r := runCLI(t, t.TempDir(), "--help")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range append(engine.KindNames(), dbnModel, "libcuda.so.1", "no build tag", "transform") {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rbmgpu --help does not mention %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "-tags cuda") {
		t.Errorf("rbmgpu --help still asks for -tags cuda:\n%s", r.stdout)
	}
}

// Every flag's default appears once in --help, and --val's is not -1.
func TestHelpDefaultsOnce(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"train", "eval", "sample", "plot", "transform", "devices", "version"} {
		r := runCLI(t, dir, cmd, "--help")
		if r.code != 0 {
			t.Fatalf("%s --help: exit %d", cmd, r.code)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%s --help: two defaults in %q", cmd, strings.TrimSpace(line))
			}
			if strings.HasPrefix(strings.TrimSpace(line), "--val") && strings.Contains(line, "-1") {
				t.Errorf("%s --help: %q", cmd, strings.TrimSpace(line))
			}
		}
	}
}

// Zero or negative counts are usage errors (exit 2, one line naming the
// flag), never a silent default.
func TestCountFlagsMustBePositive(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--pcd", "0"}, {"--pcd", "-2"}, {"--cd", "0"}, {"--cd", "-1"},
		{"--pcd", "1", "--chains", "0"}, {"--pcd", "1", "--chains", "-5"},
		{"--epochs", "0"}, {"--epochs", "-3"}, {"--val", "-0.5"},
		{"--model", "bm", "--pcd", "0"}, {"--model", "dbn", "--layers", "16,4", "--cd", "0"},
		{"--model", "grbm", "--epochs", "0"},
	} {
		full := append([]string{"train", "--out", "run"}, args...)
		r := runCLI(t, dir, full...)
		noPanic(t, r, full)
		flag := args[len(args)-2]
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, flag) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line naming %s", full, r.code, r.stderr, flag)
		}
	}
}

// A run that fails before its first checkpoint does not point at one
// (TestDivergingRunKeepsLastGoodCheckpoint: one that fails later names the
// checkpoint it wrote).
func TestLastGoodCheckpointOnlyWhenWritten(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--model", "grbm", "--data", "bas:3x3", "--batch", "1", "--lr", "50", "--out", "early")
	if r.code != 1 || !strings.Contains(r.stderr, "too large") || strings.Contains(r.stderr, "checkpoint") {
		t.Errorf("diverging in the first epoch: exit %d, stderr %q; want exit 1 and no checkpoint named", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "early", modelFile)); err == nil {
		t.Error("a checkpoint exists after all")
	}
	// A checkpoint of an earlier run in --out is not this run's.
	if r = runCLI(t, dir, "train", "--epochs", "1", "--out", "stale", "--quiet"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = runCLI(t, dir, "train", "--model", "grbm", "--data", "bas:3x3", "--batch", "1", "--lr", "50", "--out", "stale")
	if r.code != 1 || strings.Contains(r.stderr, "checkpoint") {
		t.Errorf("diverging in the first epoch over an old run: exit %d, stderr %q; want exit 1 and no checkpoint named", r.code, r.stderr)
	}
}

// Before training, the estimate of host (and device) memory is one line;
// a run that cannot fit stops with one line naming the estimate and what
// is available, and without a checkpoint claim.
func TestMemoryEstimate(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--epochs", "1", "--out", "small")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var line string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "memory: about ") {
			line = l
		}
	}
	for _, want := range []string{"on the host", "data ", "parameters ", "chains ", "buffers "} {
		if !strings.Contains(line, want) {
			t.Errorf("memory line %q lacks %q (stdout %q)", line, want, r.stdout)
		}
	}
	_, known := hostAvailable()
	if known && !strings.Contains(line, "available") {
		t.Errorf("memory line %q does not say what is available", line)
	}
	if !known {
		t.Skip("no /proc/meminfo here: the refusal of a run too big is not tested")
	}
	for _, args := range [][]string{
		{"train", "--hidden", "2000000000", "--out", "huge"},
		{"train", "--model", "dbn", "--layers", "16,2000000000", "--out", "huge-dbn"},
		{"train", "--model", "bm", "--hidden", "1000000000", "--out", "huge-bm"},
		// A Potts model of L = 4000 sites and q = 21 states: L²q² ≈ 7·10⁹
		// couplings, refused from the alignment's shape alone.
		{"train", "--model", "potts", "--data", hugeAlignment(t, dir, 4000), "--out", "huge-potts"},
	} {
		r := runCLI(t, dir, args...)
		noPanic(t, r, args)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "host memory") ||
			!strings.Contains(r.stderr, "available") || strings.Contains(r.stderr, "checkpoint") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and one line with the estimate and what is available", args, r.code, r.stderr)
		}
	}
}

// A run caps the Go heap at 90% of the available memory unless the user
// set GOMEMLIMIT, so garbage cannot take a run whose estimate fits past
// what the machine has.
func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		avail int64
		env   string
		want  int64
		ok    bool
	}{
		{10 << 30, "", 9 << 30, true},
		{1000, "", 900, true},
		{10 << 30, "4GiB", 0, false},
		{10 << 30, "off", 0, false},
		{0, "", 0, false},
	} {
		got, ok := memoryLimit(c.avail, c.env)
		if got != c.want || ok != c.ok {
			t.Errorf("memoryLimit(%d, %q) = %d, %v; want %d, %v", c.avail, c.env, got, ok, c.want, c.ok)
		}
	}
}

// hugeAlignment writes two protein sequences of L residues as FASTA in
// dir and returns its name.
func hugeAlignment(t *testing.T, dir string, L int) string {
	t.Helper()
	const aa = "ACDEFGHIKLMNPQRSTVWY-"
	var b strings.Builder
	for s := 0; s < 2; s++ {
		fmt.Fprintf(&b, ">s%d\n", s)
		for i := 0; i < L; i++ {
			b.WriteByte(aa[(i*7+s*3)%len(aa)])
		}
		b.WriteByte('\n')
	}
	const name = "huge.fasta"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// No flag combination gives a Go panic trace; usage errors exit 2.
func TestNoPanicForBadFlags(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "train", "--epochs", "2", "--out", "run", "--quiet"); r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"train", "--pcd", "0", "--chains", "0"}, 2},
		{[]string{"train", "--cd", "0", "--pcd", "0"}, 2},
		{[]string{"train", "--batch", "-1", "--epochs", "0"}, 2},
		{[]string{"train", "--hidden", "-5"}, 2},
		{[]string{"train", "--val", "abc"}, 2},
		{[]string{"train", "--val", "1"}, 2},
		{[]string{"train", "--eval-every", "0"}, 2},
		{[]string{"train", "--png-steps", "0"}, 2},
		{[]string{"train", "--seed", "-1"}, 2},
		{[]string{"train", "--model", "nosuch"}, 2},
		{[]string{"train", "--model", "dbn"}, 2},
		{[]string{"train", "--model", "dbn", "--layers", "16,0"}, 2},
		{[]string{"train", "--model", "dbn", "--layers", "9,4"}, 2},
		{[]string{"train", "--model", "grbm", "--sigma-floor", "0"}, 2},
		{[]string{"train", "--model", "bm", "--chains", "0"}, 2},
		{[]string{"train", "--resume", "run", "--hidden", "9"}, 2},
		{[]string{"eval", "--model", "run", "--ais-runs", "0", "--ais"}, 0},
		{[]string{"eval"}, 2},
		{[]string{"sample", "--model", "run", "--n", "0"}, 2},
		{[]string{"sample", "--model", "run", "--steps", "-1"}, 2},
		{[]string{"sample", "--model", "run", "--label", "-7"}, 2},
		{[]string{"sample", "--model", "run", "--shape", "0x0"}, 2},
		{[]string{"plot", "--model", "run", "--samples", "0"}, 2},
		{[]string{"plot", "--model", "run", "--filters", "-1"}, 2},
		{[]string{"plot", "--model", "run", "--shape", "axb"}, 2},
		{[]string{"transform", "--model", "run", "--out", "f.npy", "--batch", "-1"}, 2},
		{[]string{"transform", "--model", "run", "--out", "f.npy", "--binarize", "maybe"}, 2},
		{[]string{"devices", "--bogus"}, 2},
		{[]string{"version", "--bogus"}, 2},
	}
	for _, tc := range cases {
		r := runCLI(t, dir, tc.args...)
		for _, bad := range []string{"goroutine ", "panic:"} {
			if strings.Contains(r.stderr, bad) {
				t.Errorf("%q: stderr holds %q:\n%s", tc.args, bad, r.stderr)
			}
		}
		if tc.code == 2 && (r.code != 2 || strings.Count(r.stderr, "\n") != 1) {
			t.Errorf("%q: exit %d, stderr %q; want a one-line usage error, exit 2", tc.args, r.code, r.stderr)
		}
	}
}

// Pictures of a Gaussian RBM map grey levels from the training data's
// range (recorded in the checkpoint), so means in data units (0–255) are
// not all drawn white; an old checkpoint without the range falls back to
// the samples' own and says so.
func TestGaussianPicturesUseDataRange(t *testing.T) {
	dir := t.TempDir()
	// 4×4 images in 0…255: a bright bar on a dark field, moving.
	writeLines(t, dir, "img.csv", 60, func(i int) string {
		var px []string
		for k := 0; k < 16; k++ {
			v := 20.0 + float64(k%5)
			if k/4 == i%4 {
				v = 230
			}
			px = append(px, ftoa(v))
		}
		return strings.Join(px, ",")
	})
	r := runCLI(t, dir, "train", "--model", "grbm", "--data", "img.csv", "--hidden", "6", "--epochs", "10", "--batch", "10", "--out", "g", "--quiet")
	if r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	white := func(path string) float64 {
		img := decodePNG(t, path)
		var n, w int
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				if c.R != c.G || c.G != c.B {
					continue // the background
				}
				n++
				if c.R == 255 {
					w++
				}
			}
		}
		return float64(w) / float64(n)
	}
	r = runCLI(t, dir, "sample", "--model", "g", "--n", "16", "--steps", "20", "--png", "s.png")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("sample: exit %d %q", r.code, r.stderr)
	}
	if w := white(filepath.Join(dir, "s.png")); w > 0.5 {
		t.Errorf("sample: %.0f%% of the pixels are white", 100*w)
	}
	r = runCLI(t, dir, "plot", "--model", "g", "--samples", "16", "--steps", "20")
	if r.code != 0 || strings.Contains(r.stderr, "no range") {
		t.Fatalf("plot: exit %d %q", r.code, r.stderr)
	}
	if w := white(filepath.Join(dir, "g", samplesPNG)); w > 0.5 {
		t.Errorf("plot: %.0f%% of the sample pixels are white", 100*w)
	}
	old := filepath.Join("..", "..", "engine", "testdata", "checkpoints", "grbm-fixed.safetensors")
	r = runCLI(t, dir, "sample", "--model", mustAbs(t, old), "--n", "4", "--steps", "5", "--png", "old.png")
	if r.code != 0 || !strings.Contains(r.stderr, "records no range") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("sample of an old checkpoint: exit %d, stderr %q; want one line saying the samples' own range is used", r.code, r.stderr)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
