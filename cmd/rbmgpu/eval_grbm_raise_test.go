package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// eval --ais on a Gaussian RBM reports RAISE beside AIS, both near the
// exact log Z of the small model.
func TestEvalGRBMRAISE(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, dir, "x.csv", 40, func(i int) string {
		a := float64(i%7) / 7
		return strings.Join([]string{ftoa(a), ftoa(1 - a), ftoa(float64(i%3) / 3)}, ",")
	})
	if r := runCLI(t, dir, "train", "--model", "grbm", "--data", "x.csv", "--hidden", "4", "--epochs", "3",
		"--batch", "5", "--out", "run", "--quiet"); r.code != 0 {
		t.Fatalf("train: exit %d %s", r.code, r.stderr)
	}
	r := runCLI(t, dir, "eval", "--model", "run", "--json", "--exact", "--ais", "--ais-runs", "50", "--ais-betas", "500")
	var res grbmEvalResult
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || res.LogZRAISE == nil || res.AvgLLRAISE == nil || res.ExactLogZ == nil {
		t.Fatalf("eval: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	t.Logf("AIS %.4f, exact %.4f, RAISE %.4f from %d rows", *res.LogZ, *res.ExactLogZ, *res.LogZRAISE, res.RAISERows)
	if d := *res.LogZRAISE - *res.ExactLogZ; d > 0.1 || d < -0.1 || res.RAISERows != 40 {
		t.Errorf("RAISE log Z %.4f, exact %.4f (%d rows)", *res.LogZRAISE, *res.ExactLogZ, res.RAISERows)
	}
	if d := (*res.AvgLL - *res.AvgLLRAISE) - (*res.LogZRAISE - *res.LogZ); d > 1e-9 || d < -1e-9 {
		t.Errorf("the AIS and RAISE densities differ by %g beyond their log Z difference", d)
	}
	text := runCLI(t, dir, "eval", "--model", "run", "--ais", "--ais-betas", "100")
	if text.code != 0 || !strings.Contains(text.stdout, "RAISE log Z") {
		t.Errorf("text: exit %d %q", text.code, text.stdout)
	}
}
