package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func runPotts(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// Bad alignments fail with one line and exit 1; bad flags exit 2.
func TestPottsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, []byte(text)) }
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty", []string{"--data", write("empty.fasta", "")}, 1, "empty.fasta"},
		{"unequal", []string{"--data", write("unequal.fasta", ">a\nACDE\n>b\nACD\n")}, 1, "unequal.fasta"},
		{"letter", []string{"--data", write("letter.fasta", ">a\nAC1E\n>b\nACDE\n"), "--alphabet", "protein"}, 1, "letter.fasta"},
		{"alphabet", []string{"--data", write("ok.fasta", ">a\nACDE\n>b\nACDE\n"), "--alphabet", "AA"}, 2, "alphabet"},
		{"builtin", []string{"--data", "bas:4x4"}, 2, "alignment"},
		{"cd", []string{"--data", write("ok2.fasta", ">a\nACDE\n"), "--cd", "1"}, 2, "cd"},
		{"target", []string{"--data", write("ok3.fasta", ">a\nACDE\n"), "--target-pearson", "2"}, 2, "Pearson"},
	} {
		args := append([]string{"train", "--model", "potts", "--out", filepath.Join(dir, "run-"+c.name), "--quiet"}, c.args...)
		code, _, stderr := runPotts(args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line naming %q", c.name, code, stderr, c.code, c.want)
		}
	}
	if code, _, stderr := runPotts("contacts"); code != 2 {
		t.Errorf("contacts without --model: exit %d (%q), want 2", code, stderr)
	}
	if code, _, stderr := runPotts("contacts", "--model", filepath.Join(dir, "none")); code != 1 {
		t.Errorf("contacts of a missing run: exit %d (%q), want 1", code, stderr)
	}
}

// A Pfam seed alignment from Debian's hmmer examples (Stockholm, multi
// block, insert columns removed) trains as a Potts model and gives TSV
// contacts: 1-based i < j, every pair once, best first.
func TestPottsFn3TrainsAndGivesContacts(t *testing.T) {
	const sto = "/usr/share/doc/hmmer/examples/tutorial/fn3.sto"
	if _, err := os.Stat(sto); err != nil {
		t.Skipf("%s is absent (Debian package hmmer-examples): %v", sto, err)
	}
	if testing.Short() {
		t.Skip("trains on a 117-column alignment: skipped with -short")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runPotts("train", "--model", "potts", "--data", sto, "--chains", "20", "--pcd", "1",
		"--epochs", "1", "--batch", "49", "--out", out, "--quiet", "--device", "cpu")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "M_eff = ") || !strings.Contains(stdout, "L=117 q=21") || !strings.Contains(stdout, "Pearson C_ij") {
		t.Fatalf("train output lacks M_eff, the sizes or the Pearson line:\n%s", stdout)
	}
	tsv := filepath.Join(dir, "c.tsv")
	if code, _, stderr := runPotts("contacts", "--model", out, "--out", tsv); code != 0 {
		t.Fatalf("contacts: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(tsv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 117*116/2 {
		t.Fatalf("%d contact lines, want %d", len(lines), 117*116/2)
	}
	prev := 1e300
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("line %q: want i, j, score", l)
		}
		i, _ := strconv.Atoi(f[0])
		j, _ := strconv.Atoi(f[1])
		s, err := strconv.ParseFloat(f[2], 64)
		if err != nil || i < 1 || j <= i || j > 117 || s > prev {
			t.Fatalf("line %q: want 1 ≤ i < j ≤ 117 and scores best first", l)
		}
		prev = s
	}
}

// Every epoch prints the Pearson line; metrics.jsonl carries the same
// figures for the epochs the trainer evaluated (every second one with
// --eval-every 2) and none for the others.
func TestPottsPearsonInMetrics(t *testing.T) {
	dir := t.TempDir()
	var fasta strings.Builder
	const letters = "ACDEFGHIKL"
	for n := range 40 {
		fasta.WriteString(">s" + strconv.Itoa(n) + "\n")
		for i := range 6 {
			fasta.WriteByte(letters[(n*(i+1)+i*n/7)%len(letters)])
		}
		fasta.WriteString("\n")
	}
	data := writeFile(t, dir, "a.fasta", []byte(fasta.String()))
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runPotts("train", "--model", "potts", "--data", data, "--chains", "50", "--epochs", "4",
		"--eval-every", "2", "--target-pearson", "0", "--out", out, "--quiet", "--device", "cpu")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	printed := map[int]string{}
	for _, l := range strings.Split(stdout, "\n") {
		var e int
		var p float64
		if _, err := fmt.Sscanf(l, "epoch %d: Pearson C_ij %f", &e, &p); err == nil {
			printed[e] = strconv.FormatFloat(p, 'f', 4, 64)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(printed) != 4 || len(lines) != 4 {
		t.Fatalf("%d Pearson lines and %d metrics lines, want 4 of each:\n%s", len(printed), len(lines), stdout)
	}
	for i, l := range lines {
		var m struct {
			Pearson *float64 `json:"pearson_cij"`
			Slope   *float64 `json:"pearson_slope"`
			F       *float64 `json:"pearson_fi"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics line %d: %v", i+1, err)
		}
		evaluated := (i+1)%2 == 0
		if (m.Pearson != nil) != evaluated || (m.Slope != nil) != evaluated || (m.F != nil) != evaluated {
			t.Fatalf("epoch %d: metrics %s; want the Pearson figures iff evaluated (%v)", i+1, l, evaluated)
		}
		if evaluated && strconv.FormatFloat(*m.Pearson, 'f', 4, 64) != printed[i+1] {
			t.Errorf("epoch %d: metrics Pearson %v, printed %s", i+1, *m.Pearson, printed[i+1])
		}
	}
}
