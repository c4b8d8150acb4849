package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// train --model dbn --gaussian-bottom fits real-valued CSV data: the DBN
// file has a Gaussian bottom, eval reports accuracy (--ais is refused with
// one line), sample writes a picture, and the Gaussian-only flags are
// refused elsewhere.
func TestTrainDBNGaussianBottom(t *testing.T) {
	dir := t.TempDir()
	var x, y strings.Builder
	s := kernels.Stream{Seed: 8, Op: 0x6A56}
	for i := 0; i < 200; i++ {
		c := i % 2
		for j := 0; j < 6; j++ {
			mu := 0.0
			if j < 3 {
				mu = 2 * float64(2*c-1)
			}
			u1, u2 := float64(s.Uniform(uint64(4*(i*6+j))))+1e-12, float64(s.Uniform(uint64(4*(i*6+j)+1)))
			v := 5*float64(j) + 3*(mu+math.Sqrt(-2*math.Log(u1))*math.Cos(2*math.Pi*u2))
			if j > 0 {
				x.WriteString(",")
			}
			fmt.Fprintf(&x, "%.4f", v)
		}
		x.WriteString("\n")
		fmt.Fprintf(&y, "%d\n", c)
	}
	writeFile(t, dir, "x.csv", []byte(x.String()))
	writeFile(t, dir, "y.csv", []byte(y.String()))
	r := runCLI(t, dir, "train", "--model", "dbn", "--gaussian-bottom", "--learn-sigma", "--data", "x.csv", "--labels", "y.csv",
		"--layers", "6,12,6", "--epochs", "20", "--batch", "20", "--finetune-epochs", "10", "--finetune-lr", "0.01", "--val", "0.25", "--out", "run")
	noPanic(t, r, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "Gaussian bottom layer (lr 0.01)") {
		t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	d, err := models.LoadDBN(filepath.Join(dir, "run", dbnFile))
	if err != nil || d.Gaussian == nil {
		t.Fatalf("DBN %v, Gaussian bottom %v", err, d != nil && d.Gaussian != nil)
	}
	e := runCLI(t, dir, "eval", "--model", "run", "--data", "x.csv", "--labels", "y.csv", "--json")
	var res map[string]any
	if e.code != 0 || json.Unmarshal([]byte(e.stdout), &res) != nil || res["accuracy"] == nil {
		t.Fatalf("eval: exit %d %q %q", e.code, e.stdout, e.stderr)
	}
	if acc := res["accuracy"].(float64); acc < 0.9 {
		t.Errorf("accuracy %.3f, want ≥ 0.9 on two well separated classes", acc)
	}
	if s := runCLI(t, dir, "sample", "--model", "run", "--n", "4", "--steps", "5", "--shape", "2x3", "--png", "g.png"); s.code != 0 {
		t.Errorf("sample: exit %d: %s", s.code, s.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--model", "run", "--data", "x.csv", "--ais"}, "Gaussian bottom"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--bottom-lr", "0.1"}, "--gaussian-bottom"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--learn-sigma"}, "--learn-sigma"},
		{[]string{"train", "--model", "dbn", "--layers", "16,8", "--gaussian-bottom", "--bottom-lr", "-1"}, "--bottom-lr"},
		{[]string{"train", "--gaussian-bottom"}, "--gaussian-bottom"},
		{[]string{"train", "--model", "bm", "--gaussian-bottom"}, "--gaussian-bottom"},
	} {
		r := runCLI(t, dir, tc.args...)
		noPanic(t, r, tc.args)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d %q; want exit 2, one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
