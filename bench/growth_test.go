package bench

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// TestGrowth measures how the time of a CD-1 step grows with H and with B
// on the default CPU backend and compares each growth ratio with the cost
// model's FLOP ratio (StepFLOPs). It is a measurement, not a check — timing
// on shared machines is noisy — so it runs only with RBMGPU_GROWTH=1 and
// prints the table for bench/RESULTS.md:
//
//	RBMGPU_GROWTH=1 go test -run TestGrowth -v ./bench
func TestGrowth(t *testing.T) {
	if os.Getenv("RBMGPU_GROWTH") != "1" {
		t.Skip("set RBMGPU_GROWTH=1 to measure the growth table")
	}
	type row struct {
		cfg graph.StepConfig
		sec float64
	}
	measure := func(cfg graph.StepConfig) float64 {
		m, _ := models.NewRBM(cfg.Visible, cfg.Hidden, 1)
		prog, err := compileRBM(engine.Host(), cfg, 1, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer prog.Close()
		batch := randomBatches(1, cfg.Batch, cfg.Visible, 5)[0]
		u := graph.Hyper{LR: 0.01, Momentum: 0.5}
		for i := 0; i < 2; i++ {
			prog.Step(batch, 1, u)
		}
		// The median of 7 repetitions of ≥ 0.3 s each resists the neighbours.
		var reps []float64
		for r := 0; r < 7; r++ {
			n := 0
			start := time.Now()
			for time.Since(start) < 300*time.Millisecond {
				if err := prog.Step(batch, 1, u); err != nil {
					t.Fatal(err)
				}
				n++
			}
			prog.ReconError()
			reps = append(reps, time.Since(start).Seconds()/float64(n))
		}
		sort.Float64s(reps)
		return reps[len(reps)/2]
	}
	var all []row
	table := func(title string, cfgs []graph.StepConfig) {
		var rows []row
		for _, c := range cfgs {
			rows = append(rows, row{c, measure(c)})
		}
		all = append(all, rows...)
		t.Logf("%s", title)
		t.Logf("| config | ms/step | time ratio | FLOP ratio (model) | time / FLOP ratio |")
		t.Logf("|---|---:|---:|---:|---:|")
		base := rows[0]
		for _, r := range rows {
			tr := r.sec / base.sec
			fr := StepFLOPs(r.cfg) / StepFLOPs(base.cfg)
			t.Logf("| %s | %.2f | %.2f | %.2f | %.2f |", fmt.Sprintf("CD-1 %dx%d B%d", r.cfg.Visible, r.cfg.Hidden, r.cfg.Batch), 1e3*r.sec, tr, fr, tr/fr)
		}
	}
	var byH, byB []graph.StepConfig
	for _, h := range []int{125, 250, 500, 1000} {
		byH = append(byH, graph.StepConfig{Visible: 784, Hidden: h, Batch: 100, K: 1})
	}
	for _, b := range []int{25, 50, 100, 200, 400} {
		byB = append(byB, graph.StepConfig{Visible: 784, Hidden: 500, Batch: b, K: 1})
	}
	table("growth with H (V = 784, B = 100)", byH)
	table("growth with B (V = 784, H = 500)", byB)

	// The FLOP count alone misses the work proportional to the weights and
	// independent of B (packing W for each of the 2k+3 products, the
	// momentum update of W: memory traffic) and a fixed cost per step (about
	// 15 launches and their synchronisation). Fit t = a·FLOPs + b·V·H + c by
	// least squares over every row and show how well the terms explain it.
	var A [3][4]float64 // normal equations [XᵀX | Xᵀt]
	for _, r := range all {
		x := [3]float64{StepFLOPs(r.cfg), float64(r.cfg.Visible * r.cfg.Hidden), 1}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				A[i][j] += x[i] * x[j]
			}
			A[i][3] += x[i] * r.sec
		}
	}
	for i := 0; i < 3; i++ { // Gauss–Jordan; XᵀX is positive definite here
		for k := 0; k < 3; k++ {
			if k != i {
				f := A[k][i] / A[i][i]
				for j := i; j < 4; j++ {
					A[k][j] -= f * A[i][j]
				}
			}
		}
	}
	a, b, c := A[0][3]/A[0][0], A[1][3]/A[1][1], A[2][3]/A[2][2]
	t.Logf("three-term model t = FLOPs / %.1f GFLOP/s + V·H × %.2f ns + %.2f ms", 1e-9/a, 1e9*b, 1e3*c)
	t.Logf("| config | measured ms | model ms | model / measured |")
	t.Logf("|---|---:|---:|---:|")
	for _, r := range all {
		m := a*StepFLOPs(r.cfg) + b*float64(r.cfg.Visible*r.cfg.Hidden) + c
		t.Logf("| CD-1 %dx%d B%d | %.2f | %.2f | %.2f |", r.cfg.Visible, r.cfg.Hidden, r.cfg.Batch, 1e3*r.sec, 1e3*m, m/r.sec)
	}
}
