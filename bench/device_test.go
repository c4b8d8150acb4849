package bench

import (
	"math"
	"os"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// The backend the benchmarks time (RBMGPU_BENCH_DEVICE) trains like the
// reference CPU backend (engine.CPU{}, "cpu-tape": gorgonia's tape machine
// running the step graph), through the public API only, on the benchmark
// shapes: after
// a few steps with momentum and weight decay from the same model and seed,
// the parameters agree with the CPU's. Both backends draw the same Philox
// uniforms, so samples differ only where a probability lies within float32
// rounding of its uniform; each such flip moves a handful of weights by
// about LR/B. The test allows 0.1% of the weights off by more than 1e-5 and
// none by more than 1e-3, and the reconstruction errors within 1e-4
// relative. Skipped when RBMGPU_BENCH_DEVICE is unset or "cpu-tape", or
// names a CUDA device the driver does not list; a listed device whose
// backend does not open fails. The GPU kit runs it with cuda:0 (bench/gpu/run.sh),
// and RBMGPU_BENCH_DEVICE=cpu checks the default (host-kernel) CPU backend.
func TestDeviceMatchesCPU(t *testing.T) {
	be := comparedBackend(t)
	for _, cfg := range []graph.StepConfig{
		{Visible: 784, Hidden: 500, Batch: 128, K: 1},
		{Visible: 784, Hidden: 500, Batch: 128, K: 10},
		{Visible: 784, Hidden: 500, Batch: 100, K: 1, Persistent: true},
		{Visible: 333, Hidden: 77, Batch: 45, K: 3}, // ragged: no dimension a multiple of a tile
	} {
		t.Run(stepCase{alg: map[bool]string{false: "CD", true: "PCD"}[cfg.Persistent], k: cfg.K,
			v: cfg.Visible, h: cfg.Hidden, b: cfg.Batch}.name(), func(t *testing.T) {
			const steps = 3
			var ws [2]*models.RBM
			var recon [2]float64
			for i, b := range []engine.Backend{engine.CPU{}, be} {
				ws[i], recon[i] = train(t, b, cfg, steps)
			}
			n := len(ws[0].W)
			var off, maxd float64
			for i := range ws[0].W {
				d := math.Abs(float64(ws[0].W[i]) - float64(ws[1].W[i]))
				if d > 1e-5 {
					off++
				}
				maxd = max(maxd, d)
			}
			var maxb float64
			for _, p := range [][2][]float32{{ws[0].VBias, ws[1].VBias}, {ws[0].HBias, ws[1].HBias}} {
				for i := range p[0] {
					maxb = max(maxb, math.Abs(float64(p[0][i])-float64(p[1][i])))
				}
			}
			rel := math.Abs(recon[0]-recon[1]) / math.Abs(recon[0])
			t.Logf("%s vs cpu-tape after %d steps: W max |Δ| %.2e, %d of %d > 1e-5; biases max |Δ| %.2e; recon %.6f vs %.6f (rel %.1e)",
				be.Name(), steps, maxd, int(off), n, maxb, recon[0], recon[1], rel)
			if off > 1e-3*float64(n) || maxd > 1e-3 || maxb > 1e-3 || !(rel < 1e-4) {
				t.Errorf("%s disagrees with the reference CPU backend", be.Name())
			}
		})
	}
}

// comparedBackend returns the benchmarked backend (requireBackend), or
// skips t when RBMGPU_BENCH_DEVICE is unset or the reference cpu-tape.
func comparedBackend(t *testing.T) engine.Backend {
	t.Helper()
	if dev := os.Getenv("RBMGPU_BENCH_DEVICE"); dev == "" || dev == "cpu-tape" {
		t.Skip("RBMGPU_BENCH_DEVICE is unset or cpu-tape: nothing to compare")
	}
	return requireBackend(t)
}

func train(t *testing.T, be engine.Backend, cfg graph.StepConfig, steps int) (*models.RBM, float64) {
	t.Helper()
	m, err := models.NewRBM(cfg.Visible, cfg.Hidden, 42)
	if err != nil {
		t.Fatal(err)
	}
	batches := randomBatches(steps+1, cfg.Batch, cfg.Visible, 9)
	var chains []float32
	if cfg.Persistent {
		chains = batches[steps][:cfg.NegativeRows()*cfg.Visible]
	}
	prog, err := compileRBM(be, cfg, 42, m, chains)
	if err != nil {
		t.Fatalf("%s: %v", be.Name(), err)
	}
	defer prog.Close()
	u := graph.Hyper{LR: 0.05, Momentum: 0.5, WeightDecay: 1e-3}
	for i := range steps {
		if err := prog.Step(batches[i], 1, u); err != nil {
			t.Fatalf("%s: step %d: %v", be.Name(), i, err)
		}
	}
	r, err := prog.ReconError()
	if err != nil {
		t.Fatalf("%s: %v", be.Name(), err)
	}
	out, _ := models.NewRBM(cfg.Visible, cfg.Hidden, 1)
	if err := rbmOf(prog, out); err != nil {
		t.Fatal(err)
	}
	return out, r
}

// TestResidentMatchesStep: when the benchmarked backend's programs are
// resident (the CUDA backend), an epoch fed from device memory — the rows
// uploaded once, the order once, each mini-batch gathered on the device
// and each step's recording (a CUDA graph) replayed — gives the same bits
// as Step on mini-batches copied from the host in the same order. Skipped
// where the backend's programs are not exec.Resident (the CPU backends).
func TestResidentMatchesStep(t *testing.T) {
	be := comparedBackend(t)
	for _, cfg := range []graph.StepConfig{
		{Visible: 784, Hidden: 500, Batch: 128, K: 1},
		{Visible: 333, Hidden: 77, Batch: 45, K: 3, Persistent: true},
	} {
		t.Run(stepCase{alg: map[bool]string{false: "CD", true: "PCD"}[cfg.Persistent], k: cfg.K,
			v: cfg.Visible, h: cfg.Hidden, b: cfg.Batch}.name(), func(t *testing.T) {
			const nb = 6
			B, V := cfg.Batch, cfg.Visible
			rows := randomBatches(1, nb*B, V, 5)[0]
			perm := make([]int, nb*B)
			engine.Permutation(perm, 3, 1)
			order := make([]int32, len(perm))
			for i, r := range perm {
				order[i] = int32(r)
			}
			h := graph.Hyper{LR: 0.05, Momentum: 0.5, WeightDecay: 1e-3}
			var got [2]*models.RBM
			var recon [2]float64
			for i := range got {
				m, err := models.NewRBM(V, cfg.Hidden, 42)
				if err != nil {
					t.Fatal(err)
				}
				var chains []float32
				if cfg.Persistent {
					chains = rows[:cfg.NegativeRows()*V]
				}
				prog, err := compileRBM(be, cfg, 42, m, chains)
				if err != nil {
					t.Fatal(err)
				}
				defer prog.Close()
				if i == 0 {
					batch := make([]float32, B*V)
					for b := 0; b < nb; b++ {
						for r := 0; r < B; r++ {
							k := perm[b*B+r]
							copy(batch[r*V:(r+1)*V], rows[k*V:(k+1)*V])
						}
						if err := prog.Step(batch, 1, h); err != nil {
							t.Fatal(err)
						}
					}
				} else {
					res, ok := prog.(exec.Resident)
					if !ok {
						t.Skipf("%s programs are not resident", be.Name())
					}
					if err := res.SetData(rows, nb*B); err != nil {
						t.Fatal(err)
					}
					if err := res.SetOrder(order); err != nil {
						t.Fatal(err)
					}
					// Two calls: the second replays the recording of the first.
					if err := res.StepOrdered(0, 2, h); err != nil {
						t.Fatal(err)
					}
					if err := res.StepOrdered(2, nb-2, h); err != nil {
						t.Fatal(err)
					}
				}
				r, err := prog.ReconError()
				if err != nil {
					t.Fatal(err)
				}
				out, _ := models.NewRBM(V, cfg.Hidden, 1)
				if err := rbmOf(prog, out); err != nil {
					t.Fatal(err)
				}
				got[i], recon[i] = out, r
			}
			for _, p := range [][2][]float32{{got[0].W, got[1].W}, {got[0].VBias, got[1].VBias}, {got[0].HBias, got[1].HBias}} {
				for j := range p[0] {
					if math.Float32bits(p[0][j]) != math.Float32bits(p[1][j]) {
						t.Fatalf("%s: element %d: resident %v, Step %v", be.Name(), j, p[1][j], p[0][j])
					}
				}
			}
			if recon[0] != recon[1] {
				t.Errorf("%s: reconstruction error resident %v, Step %v", be.Name(), recon[1], recon[0])
			}
		})
	}
}
