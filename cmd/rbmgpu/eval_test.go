package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// eval on a trained run: --json carries the exact and AIS estimates, which
// agree, and the exact value sits inside the AIS interval.
func TestEvalJSON(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "train", "--epochs", "30", "--out", "run"); r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	r := runCLI(t, dir, "eval", "--model", "run", "--exact", "--ais", "--ais-runs", "100", "--ais-betas", "3000", "--pll", "--json")
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("eval: exit %d: %s", r.code, r.stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("eval --json printed %q: %v", r.stdout, err)
	}
	for _, k := range []string{"log_z", "log_z_lo", "log_z_hi", "avg_ll", "exact_log_z", "pll", "n"} {
		if res[k] == nil {
			t.Errorf("--json lacks %s: %s", k, r.stdout)
		}
	}
	logZ, exact := res["log_z"].(float64), res["exact_log_z"].(float64)
	lo, hi := res["log_z_lo"].(float64), res["log_z_hi"].(float64)
	if math.Abs(logZ-exact) > 0.1 || exact < lo || exact > hi {
		t.Errorf("AIS log Z %.4f [%.4f, %.4f], exact %.4f", logZ, lo, hi, exact)
	}
	if res["n"].(float64) != 30 {
		t.Errorf("n = %v, want 30", res["n"])
	}
	text := runCLI(t, dir, "eval", "--model", "run")
	if text.code != 0 || !strings.Contains(text.stdout, "exact log Z") {
		t.Errorf("eval text output: exit %d %q", text.code, text.stdout)
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "train", "--epochs", "2", "--out", "run"); r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	writeFile(t, dir, "x.npz", []byte("PK not a zip"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval"}, 2, "--model"},
		{[]string{"eval", "--model", "missing"}, 1, "missing"},
		{[]string{"eval", "--model", "run", "--data", "bas:3x3"}, 1, "9 features"},
		{[]string{"eval", "--model", "run", "--ais-runs", "0"}, 2, "--ais-runs"},
		{[]string{"eval", "--model", "run", "--binarize", "half"}, 2, "--binarize"},
		{[]string{"eval", "--model", "run/model.safetensors"}, 2, "--data"},
		{[]string{"eval", "--model", "x.npz", "--data", "bas:4x4"}, 1, "x.npz"},
	}
	for _, tc := range cases {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d stderr %q; want exit %d and one line mentioning %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}
