package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/cmd/rbmgpu/internal/pictures"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// trainedRun makes a 3-epoch bars-and-stripes run (16×64, CD-1) with
// `rbmgpu train` and returns its directory.
func trainedRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if r := runCLI(t, t.TempDir(), "train", "--epochs", "3", "--quiet", "--out", dir); r.code != 0 {
		t.Fatalf("train: exit %d: %s", r.code, r.stderr)
	}
	return dir
}

// copyRun copies the files of run dir src into a fresh directory.
func copyRun(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{modelFile, metricsFile, configFile} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, name, b)
	}
	return dst
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestPlotRun(t *testing.T) {
	dir := trainedRun(t)
	args := []string{"plot", "--model", dir, "--samples", "9", "--steps", "20"}
	r := runCLI(t, dir, args...)
	noPanic(t, r, args)
	if r.code != 0 {
		t.Fatalf("%q: exit %d: %s", args, r.code, r.stderr)
	}
	// 64 filters of 4×4 magnified 12×: 8×8 grid of 49-pixel cells;
	// 9 samples: 3×3 grid; curves: reconstruction error and exact
	// log-likelihood, two panels side by side.
	for _, tc := range []struct {
		name string
		w, h int
	}{
		{"filters.png", 8*49 + 1, 8*49 + 1},
		{"samples.png", 3*49 + 1, 3*49 + 1},
		{"curves.png", 2 * pictures.PanelWidth, pictures.PanelHeight},
	} {
		img := decodePNG(t, filepath.Join(dir, tc.name))
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("%s is %d×%d, want %d×%d", tc.name, b.Dx(), b.Dy(), tc.w, tc.h)
		}
		if !strings.Contains(r.stdout, filepath.Join(dir, tc.name)) {
			t.Errorf("stdout does not name %s:\n%s", tc.name, r.stdout)
		}
	}
	samples, _ := os.ReadFile(filepath.Join(dir, "samples.png"))

	// --out, --shape, --filters; same seed: the same samples.
	out := filepath.Join(t.TempDir(), "pics")
	args = []string{"plot", "--model", filepath.Join(dir, modelFile), "--out", out, "--shape", "2x8",
		"--samples", "9", "--steps", "20", "--filters", "10"}
	r = runCLI(t, dir, args...)
	noPanic(t, r, args)
	if r.code != 0 {
		t.Fatalf("%q: exit %d: %s", args, r.code, r.stderr)
	}
	// 2×8 tiles magnified 6×: 12×48 pixels; 10 filters in a 4×3 grid.
	if b := decodePNG(t, filepath.Join(out, "filters.png")).Bounds(); b.Dx() != 4*49+1 || b.Dy() != 3*13+1 {
		t.Errorf("filters.png with --shape 2x8 --filters 10 is %v, want %d×%d", b, 4*49+1, 3*13+1)
	}
	if b := decodePNG(t, filepath.Join(out, "samples.png")).Bounds(); b.Dx() != 3*49+1 || b.Dy() != 3*13+1 {
		t.Errorf("samples.png with --shape 2x8 is %v", b)
	}
	// The same chains drawn as 4×4 tiles again: byte-identical.
	r = runCLI(t, dir, "plot", "--model", dir, "--out", out, "--samples", "9", "--steps", "20")
	if again, _ := os.ReadFile(filepath.Join(out, "samples.png")); r.code != 0 || !bytes.Equal(again, samples) {
		t.Errorf("samples.png differs between two runs with the same seed (exit %d)", r.code)
	}
	r = runCLI(t, dir, "plot", "--model", dir, "--out", out, "--samples", "9", "--steps", "20", "--seed", "2")
	if other, _ := os.ReadFile(filepath.Join(out, "samples.png")); r.code != 0 || bytes.Equal(other, samples) {
		t.Errorf("samples.png is the same with --seed 2 (exit %d)", r.code)
	}
}

// A run without metrics.jsonl still gets filters and samples; curves.png
// is skipped with a note.
func TestPlotWithoutMetrics(t *testing.T) {
	dir := trainedRun(t)
	os.Remove(filepath.Join(dir, metricsFile))
	os.Remove(filepath.Join(dir, configFile))
	r := runCLI(t, dir, "plot", "--model", dir, "--samples", "4", "--steps", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "curves.png not written") {
		t.Errorf("stderr = %q, want a note that curves.png was not written", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "curves.png")); err == nil {
		t.Error("curves.png written without metrics")
	}
	decodePNG(t, filepath.Join(dir, "filters.png"))
	decodePNG(t, filepath.Join(dir, "samples.png"))
}

func TestPlotBadInput(t *testing.T) {
	run := trainedRun(t)
	dir := copyRun(t, run)
	badMetrics := copyRun(t, run)
	writeFile(t, badMetrics, metricsFile, []byte("{\"epoch\":1,\"recon_error\":1}\n{\"epoch\":2,\"recon_error\":oops}\n"))
	badModel := copyRun(t, run)
	writeFile(t, badModel, modelFile, []byte("not a safetensors file"))
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plot"}, 2, "--model DIR is required"},
		{[]string{"plot", "--model", filepath.Join(empty, "nope")}, 1, "no such run directory"},
		{[]string{"plot", "--model", empty}, 1, "model.safetensors: no such file"},
		{[]string{"plot", "--model", dir, "--shape", "5x5"}, 2, "has 25 pixels, the model"},
		{[]string{"plot", "--model", dir, "--shape", "4by4"}, 2, "want RxC"},
		{[]string{"plot", "--model", dir, "--shape", "0x16"}, 2, "positive whole numbers"},
		{[]string{"plot", "--model", dir, "--samples", "0"}, 2, "--samples 0"},
		{[]string{"plot", "--model", dir, "--steps", "-1"}, 2, "--steps -1"},
		{[]string{"plot", "--model", dir, "--filters", "-3"}, 2, "--filters -3"},
		{[]string{"plot", "--model", dir, "--steps", "x"}, 2, "invalid argument"},
		{[]string{"plot", "--model", dir, "--colour", "red"}, 2, "unknown flag"},
		{[]string{"plot", "--model", dir, "extra"}, 2, "unknown command"},
		{[]string{"plot", "--model", badMetrics}, 1, "metrics.jsonl: line 2: invalid character"},
		{[]string{"plot", "--model", badModel}, 1, "model.safetensors"},
		{[]string{"plot", "--model", dir, "--out", filepath.Join(dir, modelFile, "x")}, 1, "output directory"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != tc.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, r.code, tc.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: stderr %q, want one line containing %q", tc.args, r.stderr, tc.want)
		}
	}
	// Bad metrics are found before anything is written.
	if _, err := os.Stat(filepath.Join(badMetrics, "filters.png")); err == nil {
		t.Error("filters.png written although metrics.jsonl is bad")
	}
}

func TestInferShape(t *testing.T) {
	dir := t.TempDir()
	if s := inferShape(dir, 784); s != [2]int{28, 28} {
		t.Errorf("784 without config: %v", s)
	}
	if s := inferShape(dir, 10); s != [2]int{1, 10} {
		t.Errorf("10 without config: %v", s)
	}
	writeFile(t, dir, configFile, []byte(`{"data": "bas:2x8"}`))
	if s := inferShape(dir, 16); s != [2]int{2, 8} {
		t.Errorf("bas:2x8: %v", s)
	}
	if s := inferShape(dir, 9); s != [2]int{3, 3} { // config does not fit: fall back
		t.Errorf("bas:2x8 with 9 units: %v", s)
	}
	writeFile(t, dir, configFile, []byte(`{"data": "train.csv"}`))
	if s := inferShape(dir, 64); s != [2]int{8, 8} {
		t.Errorf("csv with 64 units: %v", s)
	}
	writeFile(t, dir, configFile, []byte(`not json`))
	if s := inferShape(dir, 12); s != [2]int{1, 12} {
		t.Errorf("bad config with 12 units: %v", s)
	}
}

func TestParseShape(t *testing.T) {
	for in, want := range map[string][2]int{"4x4": {4, 4}, "28X28": {28, 28}, "2×8": {2, 8}, " 3 x 5 ": {3, 5}} {
		r, c, err := parseShape(in)
		if err != nil || r != want[0] || c != want[1] {
			t.Errorf("parseShape(%q) = %d, %d, %v; want %v", in, r, c, err, want)
		}
	}
	for _, in := range []string{"", "4", "4x", "x4", "4x4x4", "-4x-4", "0x4", "axb", "1.5x2"} {
		if _, _, err := parseShape(in); err == nil {
			t.Errorf("parseShape(%q) succeeded", in)
		}
	}
}

// sampleChains returns the probabilities the last Gibbs sweep draws its
// visible sample from: Gibbs(steps) on the same starts gives exactly
// 1{u < p} with the visible uniforms of sweep steps-1.
func TestSampleChainsMatchesGibbs(t *testing.T) {
	m, err := models.NewRBM(16, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.W { // make the conditionals far from ½
		m.W[i] *= 200
	}
	const n, steps, seed = 5, 7, 11
	probs, err := sampleChains(m, n, steps, seed)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := sampleChains(m, n, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	ones := 0
	for _, x := range starts {
		if x != 0 && x != 1 {
			t.Fatalf("start value %v is not binary", x)
		}
		ones += int(x)
	}
	if ones == 0 || ones == len(starts) {
		t.Errorf("starts have %d ones of %d, want a random mix", ones, len(starts))
	}
	v := append([]float32(nil), starts...)
	if err := m.Gibbs(v, n, steps, seed, 0); err != nil {
		t.Fatal(err)
	}
	u := make([]float32, len(v))
	kernels.Stream{Seed: seed, Op: models.OpGibbsVisible, Step: steps - 1}.Fill(u)
	for k := range v {
		want := float32(0)
		if u[k] < probs[k] {
			want = 1
		}
		if v[k] != want {
			t.Fatalf("element %d: Gibbs sample %v, but u = %v and p = %v", k, v[k], u[k], probs[k])
		}
	}
}
