package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/cmd/rbmgpu/internal/pictures"
	"github.com/rbmgpu/rbmgpu/models"
)

func TestSample(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "train", "--epochs", "3", "--out", "run"); r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	l0, _ := models.NewRBM(16, 8, 1)
	l1, _ := models.NewRBM(8, 6, 2)
	dbn, _ := models.NewDBN([]*models.RBM{l0, l1}, 0)
	if err := models.SaveDBN(filepath.Join(dir, "dbn.safetensors"), dbn); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		out  string
		n    int
	}{
		{[]string{"sample", "--model", "run", "--n", "16", "--steps", "10", "--png", "a.png"}, "a.png", 16},
		{[]string{"sample", "--model", "dbn.safetensors", "--n", "9", "--steps", "5", "--png", "b.png", "--shape", "4x4"}, "b.png", 9},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.args, r.code, r.stderr)
		}
		want, err := pictures.Grid(make([]float32, tc.n*16), tc.n, 4, 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, tc.out))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Size() != want.Bounds().Size() {
			t.Errorf("%q: %v, want %v", tc.args, img.Bounds().Size(), want.Bounds().Size())
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sample"}, 2, "--model"},
		{[]string{"sample", "--model", "run", "--n", "0"}, 2, "--n"},
		{[]string{"sample", "--model", "run", "--label", "2"}, 2, "--label"},
		{[]string{"sample", "--model", "nowhere"}, 1, "nowhere"},
		{[]string{"sample", "--model", "run", "--shape", "3x3"}, 2, "--shape"},
		{[]string{"sample", "--model", "dbn.safetensors", "--label", "1"}, 1, "label"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d %q; want exit %d, one line with %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}
