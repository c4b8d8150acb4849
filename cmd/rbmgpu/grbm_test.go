package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// train --model grbm writes a "grbm" checkpoint (with the standardisation)
// that eval, sample and plot read, and --resume continues; Gaussian-only
// requests on it (pseudo-likelihood) are usage errors; --ais estimates log
// Z close to the exact one.
func TestGRBMCommands(t *testing.T) {
	dir := t.TempDir()
	// Real-valued data: 3 features, 40 rows.
	writeLines(t, dir, "x.csv", 40, func(i int) string {
		a := float64(i%7) / 7
		return strings.Join([]string{ftoa(a), ftoa(1 - a), ftoa(float64(i%3) / 3)}, ",")
	})
	r := runCLI(t, dir, "train", "--model", "grbm", "--learn-sigma", "--data", "x.csv", "--hidden", "4", "--epochs", "3",
		"--batch", "5", "--val", "0.2", "--out", "run", "--quiet", "--png", "--png-steps", "5")
	noPanic(t, r, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "Gaussian RBM (standardised data, σ learned, floor 0.1)") || strings.Count(r.stdout, "  LL -") != 3 {
		t.Fatalf("train: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if k, err := models.CheckpointKind(filepath.Join(dir, "run", modelFile)); err != nil || k != models.KindGRBM {
		t.Fatalf("checkpoint kind %q, %v", k, err)
	}
	g, _, _, err := models.LoadGRBM(filepath.Join(dir, "run", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if g.DataStd[0] == 1 || g.DataMean[0] == 0 {
		t.Errorf("standardisation not stored: mean %v std %v", g.DataMean, g.DataStd)
	}
	r = runCLI(t, dir, "eval", "--model", "run", "--json")
	var res grbmEvalResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Kind != "grbm" || res.ExactLL == nil || res.ReconError == nil {
		t.Errorf("eval: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, "eval", "--model", "run", "--json", "--exact", "--ais", "--ais-runs", "50", "--ais-betas", "500")
	var both grbmEvalResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &both) != nil || both.LogZ == nil || both.ExactLogZ == nil || both.AvgLL == nil {
		t.Fatalf("eval --exact --ais: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if d := *both.LogZ - *both.ExactLogZ; d > 0.1 || d < -0.1 || both.AISRuns != 50 || both.AISSteps != 500 {
		t.Errorf("AIS log Z %v, exact %v (%d runs, %d steps)", *both.LogZ, *both.ExactLogZ, both.AISRuns, both.AISSteps)
	}
	if d := *both.AvgLL - *both.ExactLL; d > 0.1 || d < -0.1 {
		t.Errorf("AIS average log-density %v, exact %v", *both.AvgLL, *both.ExactLL)
	}
	r = runCLI(t, dir, "eval", "--model", "run", "--ais", "--ais-runs", "20", "--ais-betas", "100")
	if r.code != 0 || !strings.Contains(r.stdout, "AIS log Z") || !strings.Contains(r.stdout, "AIS average log-density") {
		t.Errorf("eval --ais: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = runCLI(t, dir, "sample", "--model", "run", "--n", "4", "--steps", "10", "--png", "s.png", "--shape", "1x3"); r.code != 0 {
		t.Errorf("sample: exit %d %s", r.code, r.stderr)
	}
	if r = runCLI(t, dir, "plot", "--model", "run", "--shape", "1x3", "--steps", "5"); r.code != 0 {
		t.Errorf("plot: exit %d %s", r.code, r.stderr)
	}
	for _, f := range []string{"s.png", "run/filters.png", "run/samples.png", "run/curves.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if r = runCLI(t, dir, "train", "--resume", "run", "--epochs", "5", "--quiet"); r.code != 0 || !strings.Contains(r.stdout, "epoch 5/5") {
		t.Errorf("resume: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--model", "run", "--pll"}, "not available for Gaussian RBMs"},
		{[]string{"train", "--resume", "run", "--learn-sigma"}, "cannot be changed"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d %q; want exit 2, one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func ftoa(x float64) string { b, _ := json.Marshal(x); return string(b) }
