package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var mixingRE = regexp.MustCompile(`(?m)^mixing \(free energy, last (29|30) of 60 sweeps, 8 chains\): τ = [0-9.]+ sweeps, ESS = [0-9]+ of [0-9]+, R̂ = [0-9.]+: `)

// Parallel-tempering settings no run can use are usage errors: exit 2 and
// one line naming the flag, before any training.
func TestPTBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pcd", "1", "--pt", "1"}, "--pt 1"},
		{[]string{"--pcd", "1", "--pt", "0"}, "--pt"},
		{[]string{"--pcd", "1", "--pt", "-3"}, "--pt"},
		{[]string{"--cd", "1", "--pt", "4"}, "--pcd"},
		{[]string{"--model", "grbm", "--pt", "4"}, "model grbm"},
		{[]string{"--pt", "4", "--centered"}, "centred"},
		{[]string{"--pcd", "1", "--pt", "65"}, "--pt"},
		{[]string{"--pcd", "1", "--pt", "4", "--pt-target", "1"}, "--pt-target"},
		{[]string{"--pcd", "1", "--pt", "4", "--pt-target", "-0.1"}, "--pt-target"},
		{[]string{"--pcd", "1", "--pt", "4", "--pt-beta-min", "1"}, "--pt-beta-min"},
		{[]string{"--pcd", "1", "--pt", "4", "--pt-beta-min", "0.00001"}, "--pt-beta-min"},
		{[]string{"--pcd", "1", "--pt-target", "0.3"}, "--pt"},
		{[]string{"--model", "bm", "--pcd", "1", "--pt", "4"}, "model bm"},
		{[]string{"--model", "grbm", "--pcd", "1", "--pt", "4"}, "model grbm"},
		{[]string{"--model", "dbn", "--layers", "16,4", "--pcd", "1", "--pt", "4"}, "--pt"},
	} {
		full := append([]string{"train", "--out", "run", "--epochs", "1"}, c.args...)
		r := runCLI(t, dir, full...)
		noPanic(t, r, full)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line naming %s", full, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run", modelFile)); err == nil {
		t.Error("a bad --pt run wrote a checkpoint")
	}
}

// train --pt reports each pair's swap acceptance and the ladder every
// epoch (progress line and metrics.jsonl), and the run resumes; sample
// --pt samples by parallel tempering and, like plain sampling, prints one
// line of mixing diagnostics; sample's bad --pt input is a usage error.
func TestPTTrainAndSample(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "train", "--out", "run", "--pcd", "1", "--pt", "3", "--epochs", "3", "--quiet")
	if r.code != 0 {
		t.Fatalf("train --pt: exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stdout, "  swaps "); n != 3 {
		t.Errorf("train --pt: %d epoch lines with swap acceptance, want 3:\n%s", n, r.stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "run", metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, line := range lines {
		var m struct {
			Acc   []float64 `json:"pt_acceptance"`
			Betas []float64 `json:"pt_betas"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Acc) != 2 || len(m.Betas) != 3 || m.Betas[0] != 1 || !(m.Betas[2] < m.Betas[1]) {
			t.Errorf("metrics line %s: want 2 acceptances and a ladder of 3 from 1 down", line)
		}
	}
	r = runCLI(t, dir, "train", "--resume", "run", "--epochs", "4", "--quiet")
	if r.code != 0 || !strings.Contains(r.stdout, "swaps ") {
		t.Fatalf("resume of a --pt run: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	for _, args := range [][]string{{"--pt", "4"}, {}} {
		full := append([]string{"sample", "--model", "run", "--n", "8", "--steps", "60", "--png", "s.png"}, args...)
		r = runCLI(t, dir, full...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d: %s", full, r.code, r.stderr)
		}
		if !mixingRE.MatchString(r.stdout) || strings.Count(r.stdout, "mixing") != 1 {
			t.Errorf("%q: no mixing line:\n%s", full, r.stdout)
		}
		if pt := strings.Contains(r.stdout, "parallel tempering: 4 replicas"); pt != (len(args) > 0) {
			t.Errorf("%q: parallel tempering line present = %v:\n%s", full, pt, r.stdout)
		}
	}
	for _, args := range [][]string{{"--pt", "1"}, {"--pt", "3", "--steps", "1"}, {"--pt", "3", "--pt-beta-min", "2"}, {"--pt-beta-min", "0.5"}} {
		full := append([]string{"sample", "--model", "run", "--png", "s.png"}, args...)
		r = runCLI(t, dir, full...)
		noPanic(t, r, full)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "--pt") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", full, r.code, r.stderr)
		}
	}
}
