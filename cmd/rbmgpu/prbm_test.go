package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/align"
)

// motifFASTA writes n protein sequences of two motifs with 15% of the
// sites replaced at random: correlated columns for a Potts RBM.
func motifFASTA(t *testing.T, dir string, n int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 5))
	const letters = "ACDEFGHIKLMNPQRSTVWY-"
	motifs := []string{"ACDEFGHIKL", "LKIHGFEDCA"}
	var b strings.Builder
	for s := 0; s < n; s++ {
		x := []byte(motifs[r.IntN(2)])
		for i := range x {
			if r.Float64() < 0.15 {
				x[i] = letters[r.IntN(len(letters))]
			}
		}
		fmt.Fprintf(&b, ">s%d\n%s\n", s, x)
	}
	p := filepath.Join(dir, "motifs.fasta")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bad input to a Potts RBM run: one line, exit 2 for flags, 1 for files,
// no panic.
func TestPottsRBMBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, []byte(text)) }
	ok := write("ok.fasta", ">a\nACDE\n>b\nACDF\n")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"visible foo", []string{"--visible", "foo", "--data", ok}, 2, "--visible"},
		{"visible grbm", []string{"--visible", "potts", "--model", "grbm", "--data", ok}, 2, "--model grbm"},
		{"visible bm hidden", []string{"--visible", "potts", "--model", "bm", "--hidden", "3", "--data", ok}, 2, "hidden"},
		{"bernoulli potts", []string{"--visible", "bernoulli", "--model", "potts", "--data", ok}, 2, "contradicts"},
		{"bernoulli prbm", []string{"--visible", "bernoulli", "--model", "prbm", "--data", ok}, 2, "contradicts"},
		{"unequal", []string{"--visible", "potts", "--data", write("unequal.fasta", ">a\nACDE\n>b\nACD\n")}, 1, "unequal.fasta"},
		{"empty", []string{"--visible", "potts", "--data", write("empty.fasta", "")}, 1, "empty.fasta"},
		{"missing", []string{"--visible", "potts", "--data", filepath.Join(dir, "none.fasta")}, 1, "none.fasta"},
		{"builtin", []string{"--visible", "potts"}, 2, "alignment"},
		{"alphabet", []string{"--visible", "potts", "--data", ok, "--alphabet", "AA"}, 2, "alphabet"},
		{"pearson", []string{"--visible", "potts", "--data", ok, "--target-pearson", "0.9"}, 2, "--model potts"},
		{"pt", []string{"--visible", "potts", "--data", ok, "--pcd", "1", "--pt", "4"}, 2, "--pt"},
		{"centered", []string{"--visible", "potts", "--data", ok, "--centered"}, 2, "--centered"},
		{"val", []string{"--visible", "potts", "--data", ok, "--val", "0.2"}, 2, "held-out"},
	} {
		args := append([]string{"train", "--out", filepath.Join(dir, "run-"+strings.ReplaceAll(c.name, " ", "-")), "--quiet", "--device", "cpu"}, c.args...)
		code, stdout, stderr := runPotts(args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line naming %q", c.name, code, stderr, c.code, c.want)
		}
		for _, bad := range []string{"panic", "goroutine "} {
			if strings.Contains(stderr+stdout, bad) {
				t.Errorf("%s: output contains %q", c.name, bad)
			}
		}
	}
}

// `train --model rbm --visible potts` on a small synthetic alignment
// prints the reconstruction and the exact log-likelihood every epoch,
// which rises; eval and sample read the run; --resume continues it.
func TestPottsRBMTrainEvalSample(t *testing.T) {
	dir := t.TempDir()
	aln := motifFASTA(t, dir, 200)
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runPotts("train", "--model", "rbm", "--visible", "potts", "--data", aln, "--hidden", "4",
		"--pcd", "5", "--chains", "50", "--batch", "20", "--lr", "0.1", "--epochs", "6", "--weight-decay", "0.001",
		"--out", out, "--quiet", "--device", "cpu")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Potts–Bernoulli RBM L=10 q=21") {
		t.Errorf("banner lacks the sizes:\n%s", stdout)
	}
	var lls []float64
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, "epoch ") {
			continue
		}
		var ll float64
		i := strings.Index(line, "  LL ")
		if !strings.Contains(line, "recon ") || i < 0 {
			t.Fatalf("epoch line lacks recon or LL: %q", line)
		}
		if _, err := fmt.Sscan(line[i+5:], &ll); err != nil {
			t.Fatalf("epoch line %q: %v", line, err)
		}
		lls = append(lls, ll)
	}
	if len(lls) != 6 || !(lls[5] > lls[0]) {
		t.Errorf("exact LL per epoch %v: want 6 values, rising", lls)
	}
	b, err := os.ReadFile(filepath.Join(out, configFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["model"] != "prbm" || cfg["visible"] != "potts" {
		t.Errorf("config.json: model %v, visible %v (%v)", cfg["model"], cfg["visible"], err)
	}

	code, stdout, stderr = runPotts("eval", "--model", out)
	if code != 0 || !strings.Contains(stdout, "exact average log-lik.") {
		t.Fatalf("eval: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runPotts("eval", "--model", out, "--ais", "--ais-runs", "30", "--ais-betas", "300", "--json")
	if code != 0 || !strings.Contains(stdout, `"avg_ll"`) || !strings.Contains(stdout, `"kind":"prbm"`) {
		t.Fatalf("eval --ais --json: exit %d: %s%s", code, stdout, stderr)
	}
	png := filepath.Join(dir, "s.png")
	code, stdout, stderr = runPotts("sample", "--model", out, "--n", "9", "--steps", "20", "--png", png)
	if code != 0 || !strings.Contains(stdout, "Potts RBM") {
		t.Fatalf("sample: exit %d: %s%s", code, stdout, stderr)
	}
	fa := filepath.Join(dir, "s.fa")
	if code, _, stderr := runPotts("sample", "--model", out, "--n", "9", "--steps", "20", "--fasta", fa); code != 0 {
		t.Fatalf("sample --fasta: exit %d: %s", code, stderr)
	}
	if msa, err := align.ReadFile(fa, align.Options{}); err != nil || msa.N() != 9 || msa.L != 10 {
		t.Fatalf("sampled FASTA: %v; want 9 protein sequences of 10 sites", err)
	}
	if _, err := os.Stat(png); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runPotts("train", "--resume", out, "--epochs", "7", "--quiet", "--device", "cpu")
	if code != 0 || !strings.Contains(stdout, "epoch 7/7") {
		t.Fatalf("resume: exit %d: %s%s", code, stdout, stderr)
	}
}

// A Pfam seed alignment from Debian's hmmer examples (Stockholm, gzipped)
// trains as a Potts RBM; the log-likelihood comes from AIS (AIS-LL).
func TestPottsRBMTrainsOnRRM(t *testing.T) {
	const sto = "/usr/share/doc/hmmer/examples/testsuite/RRM_1.sto.gz"
	if _, err := os.Stat(sto); err != nil {
		t.Skipf("%s is absent (Debian package hmmer-examples): %v", sto, err)
	}
	if testing.Short() {
		t.Skip("trains on an 80-column alignment: skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runPotts("train", "--visible", "potts", "--data", sto, "--hidden", "16", "--pcd", "1",
		"--chains", "40", "--batch", "20", "--epochs", "2", "--out", out, "--quiet", "--device", "cpu")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "L=80 q=21") || !strings.Contains(stdout, "AIS-LL") {
		t.Fatalf("train output lacks the sizes or AIS-LL:\n%s", stdout)
	}
}
