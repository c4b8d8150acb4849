package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The log-likelihood of an rbm trained on a file by the default PCD recipe
// is tracked by trajectory AIS without a flag; --ll-chains 0 and CD runs
// are not tracked; --ll-chains that cannot make a trajectory is a usage
// error.
func TestLLTrackedByDefault(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewSource(3))
	var b strings.Builder
	for i := 0; i < 200; i++ {
		for j := 0; j < 12; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			// Two prototypes with 10% noise: a structured set whose LL moves.
			on := (j < 6) == (i%2 == 0)
			if r.Float64() < 0.1 {
				on = !on
			}
			fmt.Fprint(&b, map[bool]int{true: 1, false: 0}[on])
		}
		b.WriteByte('\n')
	}
	data := writeFile(t, dir, "two.csv", []byte(b.String()))
	cases := []struct {
		name    string
		args    []string
		tracked bool
	}{
		{"default", nil, true},
		{"off", []string{"--ll-chains", "0"}, false},
		{"cd", []string{"--cd", "1"}, false},
		{"chains", []string{"--ll-chains", "20"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name)
			args := append([]string{"train", "--data", data, "--hidden", "30", "--batch", "10", "--epochs", "2", "--out", out, "--device", "cpu"}, c.args...)
			if c.name != "cd" {
				args = append(args, "--chains", "50")
			}
			res := runCLI(t, dir, args...)
			noPanic(t, res, args)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			raw, err := os.ReadFile(filepath.Join(out, metricsFile))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d metrics records, want 2", len(lines))
			}
			for i, l := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatal(err)
				}
				ll, ok := rec["ll_train"].(float64)
				if ok != c.tracked {
					t.Fatalf("epoch %d: ll_train = %v, tracked %v, want tracked %v", i+1, rec["ll_train"], ok, c.tracked)
				}
				// 12 binary units: log-likelihood in (−12 log 2, 0).
				if ok && !(ll < 0 && ll > -12*0.6931472) {
					t.Errorf("epoch %d: ll_train = %v, outside (−8.32, 0)", i+1, ll)
				}
				// The model is small enough to enumerate: the tracked
				// estimate must agree with the exact log-likelihood.
				if exact, ok2 := rec["log_likelihood"].(float64); ok && ok2 {
					if d := ll - exact; d > 0.1 || d < -0.1 {
						t.Errorf("epoch %d: tracked LL %.4f, exact %.4f", i+1, ll, exact)
					}
				}
			}
			cfg, err := os.ReadFile(filepath.Join(out, configFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(cfg), `"ll_chains"`) {
				t.Errorf("config.json does not record ll_chains:\n%s", cfg)
			}
		})
	}
	for _, bad := range []string{"1", "-2", "x"} {
		args := []string{"train", "--data", data, "--ll-chains", bad, "--out", filepath.Join(dir, "bad")}
		res := runCLI(t, dir, args...)
		noPanic(t, res, args)
		if res.code != 2 || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 || !strings.Contains(res.stderr, "ll-chains") {
			t.Errorf("--ll-chains %s: exit %d, stderr %q; want exit 2 and one line naming --ll-chains", bad, res.code, res.stderr)
		}
	}
}
