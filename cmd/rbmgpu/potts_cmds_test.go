package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/align"
)

// writeCoupledFASTA writes n sequences of L sites over "ACD-" in which
// site L−1 copies site 0 (one planted contact), records split over two
// lines, and returns the path.
func writeCoupledFASTA(t *testing.T, dir string, n, L int) string {
	t.Helper()
	r := rand.New(rand.NewSource(7))
	var b strings.Builder
	for s := 0; s < n; s++ {
		seq := make([]byte, L)
		for i := range seq {
			seq[i] = "ACD"[r.Intn(3)]
		}
		seq[L-1] = seq[0]
		fmt.Fprintf(&b, ">s%d\n%s\n%s\n", s, seq[:L/2], seq[L/2:])
	}
	p := filepath.Join(dir, "coupled.fasta")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// evalPottsJSON runs eval --json and returns its record.
func evalPottsJSON(t *testing.T, args ...string) evalResult {
	t.Helper()
	code, stdout, stderr := runPotts(append([]string{"eval", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("eval %v: %v: %q", args, err, stdout)
	}
	if res.Potts == nil || res.ExactLogZ == nil || res.ExactLL == nil || res.Potts.PearsonC == nil {
		t.Fatalf("eval %v: record lacks the Potts metrics or the exact values: %s", args, stdout)
	}
	return res
}

// A trained Potts model is evaluated (Pearson metrics, exact values,
// energies), sampled as FASTA, and moves through adabmDCA's params.dat
// (letters and integer states) and back to a checkpoint without changing
// its distribution: every form gives the same exact log Z and
// log-likelihood, and the same contacts.
func TestPottsEvalSampleConvert(t *testing.T) {
	dir := t.TempDir()
	const n, L = 300, 6
	aln := writeCoupledFASTA(t, dir, n, L)
	run := filepath.Join(dir, "run")
	if code, _, stderr := runPotts("train", "--model", "potts", "--data", aln, "--alphabet", "ACD-", "--epochs", "5",
		"--out", run, "--quiet", "--device", "cpu"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	energies := filepath.Join(dir, "e.tsv")
	ref := evalPottsJSON(t, "--model", run, "--energies", energies)
	if ref.Kind != "potts" || ref.Potts.Sites != L || ref.Potts.States != 4 || ref.N != n || ref.Potts.Sweeps != 0 {
		t.Fatalf("record %+v %+v: want kind potts, L = %d, q = 4, %d sequences, the run's chains", ref, *ref.Potts, L, n)
	}
	if *ref.ExactLL >= 0 || *ref.ExactLL < -float64(L)*math.Log(4) || *ref.Potts.PearsonF < 0.9 {
		t.Errorf("exact LL %v (want in (−L log q, 0)), Pearson f_i %v (want ≥ 0.9)", *ref.ExactLL, *ref.Potts.PearsonF)
	}
	b, err := os.ReadFile(energies)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != n+1 || lines[0] != "name\tenergy" || !strings.HasPrefix(lines[1], "s0\t") {
		t.Errorf("energies file: %d lines starting %q, want a header and %d rows", len(lines), lines[:2], n)
	}

	// Sampling: the FASTA reads back with the run's alphabet; the same
	// seed gives the same file.
	var fastas [2][]byte
	for k := range fastas {
		fa := filepath.Join(dir, fmt.Sprintf("s%d.fa", k))
		if code, _, stderr := runPotts("sample", "--model", run, "--n", "40", "--steps", "20", "--fasta", fa); code != 0 {
			t.Fatalf("sample: exit %d: %s", code, stderr)
		}
		msa, err := align.ReadFile(fa, align.Options{Alphabet: &align.Alphabet{Name: "custom", Letters: "ACD-", Gap: 3}})
		if err != nil || msa.N() != 40 || msa.L != L {
			t.Fatalf("sampled FASTA: %v; want 40 sequences of %d sites", err, L)
		}
		fastas[k], _ = os.ReadFile(fa)
	}
	if string(fastas[0]) != string(fastas[1]) {
		t.Error("two samples with the same seed differ")
	}

	contacts := func(args ...string) string {
		code, stdout, stderr := runPotts(append([]string{"contacts"}, args...)...)
		if code != 0 {
			t.Fatalf("contacts %v: exit %d: %s", args, code, stderr)
		}
		return strings.SplitN(stdout, "\n", 2)[0]
	}
	top := contacts("--model", run)
	if !strings.HasPrefix(top, fmt.Sprintf("1\t%d\t", L)) {
		t.Errorf("top contact %q, want the planted pair 1–%d", top, L)
	}
	dat, ints, back := filepath.Join(dir, "p.dat"), filepath.Join(dir, "p_int.dat"), filepath.Join(dir, "back.safetensors")
	for _, c := range [][]string{
		{"--model", run, "--out", dat},
		{"--model", run, "--out", ints, "--integers"},
		{"--model", dat, "--alphabet", "ACD-", "--out", back},
	} {
		if code, _, stderr := runPotts(append([]string{"convert"}, c...)...); code != 0 {
			t.Fatalf("convert %v: exit %d: %s", c, code, stderr)
		}
	}
	for _, c := range [][]string{
		{"--model", dat, "--alphabet", "ACD-"},
		{"--model", ints, "--alphabet", "ACD-"},
		{"--model", back},
	} {
		got := evalPottsJSON(t, append(c, "--data", aln, "--chains", "200", "--sweeps", "20")...)
		if math.Abs(*got.ExactLogZ-*ref.ExactLogZ) > 1e-4 || math.Abs(*got.ExactLL-*ref.ExactLL) > 1e-4 {
			t.Errorf("%v: exact log Z %v, LL %v; the run's %v, %v", c, *got.ExactLogZ, *got.ExactLL, *ref.ExactLogZ, *ref.ExactLL)
		}
		if got.Potts.Chains != 200 || got.Potts.Sweeps != 20 {
			t.Errorf("%v: statistics from %d chains × %d sweeps, want 200 × 20", c, got.Potts.Chains, got.Potts.Sweeps)
		}
		if g := contacts(c...); g != top {
			t.Errorf("%v: top contact %q, the run's %q", c, g, top)
		}
	}
}

// Bad Potts input to eval, sample and convert: one line, exit 2 for flags
// and 1 for files.
func TestPottsCommandsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, []byte(text)) }
	// 30 protein sites: 30·log₂ 21 ≈ 132 bits, far beyond enumeration.
	big := write("big.dat", "h 29 A 0.1\n")
	small := write("small.dat", "J 0 1 A C 0.5\nh 0 A 0.1\n")
	aln := write("three.fasta", ">a\nACD\n>b\nACE\n")
	bad := write("bad.dat", "J 0 1 A C 0.5\nh 0 A notanumber\n")
	rbm := filepath.Join(dir, "rbm")
	if code, _, stderr := runPotts("train", "--data", "bas:4x4", "--epochs", "1", "--hidden", "4", "--out", rbm, "--quiet", "--device", "cpu"); code != 0 {
		t.Fatalf("train rbm: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"exact too big", []string{"eval", "--model", big, "--data", aln, "--exact"}, 2, "L·log₂q"},
		{"ais", []string{"eval", "--model", small, "--data", aln, "--ais"}, 2, "--ais"},
		{"no data", []string{"eval", "--model", small}, 2, "--data"},
		{"columns", []string{"eval", "--model", small, "--data", aln}, 1, "3 columns, the model has 2 sites"},
		{"reweight", []string{"eval", "--model", small, "--data", aln, "--reweight", "2"}, 2, "--reweight"},
		{"bad params", []string{"eval", "--model", bad, "--data", aln}, 1, "line 2"},
		{"alphabet", []string{"eval", "--model", small, "--data", aln, "--alphabet", "A"}, 2, "alphabet"},
		{"sample no fasta", []string{"sample", "--model", small}, 2, "--fasta"},
		{"fasta of rbm", []string{"sample", "--model", rbm, "--fasta", filepath.Join(dir, "x.fa")}, 2, "Potts"},
		{"convert ext", []string{"convert", "--model", small, "--out", filepath.Join(dir, "x.txt")}, 2, ".dat"},
		{"convert rbm", []string{"convert", "--model", rbm, "--out", filepath.Join(dir, "x.dat")}, 1, "not a Potts model"},
		{"convert no out", []string{"convert", "--model", small}, 2, "--out"},
	} {
		code, _, stderr := runPotts(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line naming %q", c.name, code, stderr, c.code, c.want)
		}
	}
}

// `--model bm --visible potts` is bmDCA, the potts kind, and resumes as
// one; a typed 0 of a Potts setting whose 0 means "off" (--reweight,
// --target-pearson) or "none" (--pseudocount) is taken as given.
func TestPottsAsBMAndZeroSettings(t *testing.T) {
	dir := t.TempDir()
	aln := writeCoupledFASTA(t, dir, 40, 4)
	run := filepath.Join(dir, "bm")
	code, stdout, stderr := runPotts("train", "--model", "bm", "--visible", "potts", "--data", aln, "--alphabet", "ACD-",
		"--reweight", "0", "--pseudocount", "0", "--target-pearson", "0", "--epochs", "1", "--out", run, "--quiet", "--device", "cpu")
	if code != 0 {
		t.Fatalf("train --model bm --visible potts: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Potts BM (bmDCA)") || !strings.Contains(stdout, "M_eff = 40.0 (reweight 0), pseudocount 0;") {
		t.Errorf("banner lacks the Potts BM, M_eff = M or λ = 0:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(run, configFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["model"] != "potts" {
		t.Fatalf("config.json %s: want model potts (%v)", b, err)
	}
	if code, _, stderr := runPotts("train", "--resume", run, "--epochs", "2", "--quiet", "--device", "cpu"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if got := evalPottsJSON(t, "--model", run); got.Kind != "potts" || got.Potts.Reweight != 0 || got.Potts.Lambda != 0 {
		t.Errorf("eval of the resumed run: kind %s, reweight %v, λ %v; want potts, 0, 0", got.Kind, got.Potts.Reweight, got.Potts.Lambda)
	}
}
