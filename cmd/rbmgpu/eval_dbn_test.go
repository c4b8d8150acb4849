package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// eval on a DBN checkpoint reports the classifier's accuracy on labelled
// data and the variational lower bound on log p(v), with the top RBM's
// log Z from AIS: for a DBN with tiny weights the model is nearly uniform
// over 16 bits, so the bound is close to −16 log 2.
func TestEvalDBN(t *testing.T) {
	dir := t.TempDir()
	l0, _ := models.NewRBM(16, 8, 1)
	l1, _ := models.NewRBM(8, 6, 2)
	dbn, err := models.NewDBN([]*models.RBM{l0, l1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dbn.Classes = 2
	dbn.OutW = make([]float32, 6*2)
	dbn.OutB = []float32{0.1, 0} // always predicts class 0
	path := filepath.Join(dir, "dbn.safetensors")
	if err := models.SaveDBN(path, dbn); err != nil {
		t.Fatal(err)
	}
	var labels strings.Builder
	for i := 0; i < 30; i++ {
		labels.WriteString([]string{"0\n", "1\n"}[min(i/20, 1)])
	}
	writeFile(t, dir, "labels.csv", []byte(labels.String()))
	r := runCLI(t, dir, "eval", "--model", "dbn.safetensors", "--data", "bas:4x4", "--labels", "labels.csv",
		"--ais", "--ais-runs", "20", "--ais-betas", "500", "--json")
	noPanic(t, r, nil)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res struct {
		Kind     string   `json:"kind"`
		Bound    *float64 `json:"dbn_lower_bound"`
		Accuracy *float64 `json:"accuracy"`
		Layers   []int    `json:"layers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%q: %v", r.stdout, err)
	}
	if res.Kind != "dbn" || res.Bound == nil || res.Accuracy == nil {
		t.Fatalf("result %s", r.stdout)
	}
	// A near-uniform DBN over 16 binary units: log p(v) ≈ −16 log 2.
	if b := *res.Bound; !(b < 0) || math.Abs(b+16*math.Ln2) > 1 {
		t.Errorf("lower bound %v, want ≈ %v", b, -16*math.Ln2)
	}
	if a := *res.Accuracy; math.Abs(a-20.0/30) > 1e-9 {
		t.Errorf("accuracy %v, want %v", a, 20.0/30)
	}
}
