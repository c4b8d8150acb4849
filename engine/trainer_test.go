package engine

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
)

// With many Gibbs steps on a tiny model whose chains mix quickly, the CD-k
// and PCD-k gradients estimate the exact log-likelihood gradient (computed
// by enumeration). Each of R runs gives an independent estimate (fresh
// Philox step); we require the mean of the runs to sit within 5 standard
// errors (plus 2e-3 for the residual bias of a finite chain) of the exact
// value for every parameter. 5σ keeps the test's false-alarm rate below
// 1e-4 over all parameters while still catching a wrong sign, a missing
// 1/B or a biased statistic (those are off by ≥ 0.05 here, more than 10σ).
func TestGradientMatchesExact(t *testing.T) {
	const V, H, B, R = 5, 3, 400, 40
	m, err := models.NewRBM(V, H, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.W { // moderate weights: a non-trivial but fast-mixing model
		m.W[i] *= 50
	}
	for i := range m.VBias {
		m.VBias[i] = float32(i%3) * 0.3
	}
	// Data: B rows drawn from a fixed pattern set.
	patterns := [][]float32{{1, 0, 1, 0, 1}, {0, 1, 1, 0, 0}, {1, 1, 0, 0, 1}, {0, 0, 0, 1, 1}}
	x := make([]float32, 0, B*V)
	for i := 0; i < B; i++ {
		x = append(x, patterns[i%len(patterns)]...)
	}
	eW, eb, ec, err := m.ExactGradient(x, B)
	if err != nil {
		t.Fatal(err)
	}
	exact := append(append(append([]float64{}, eW...), eb...), ec...)
	for _, pcd := range []bool{false, true} {
		cfg := graph.StepConfig{Visible: V, Hidden: H, Batch: B, K: 50, Persistent: pcd, Chains: 300}
		prog, err := compileRBMStep(CPU{}, cfg, 99)
		if err != nil {
			t.Fatal(err)
		}
		st := trainState{VelW: make([]float32, V*H), VelVBias: make([]float32, V), VelHBias: make([]float32, H)}
		if pcd {
			st.Chains = make([]float32, 300*V) // all-zero start; 50 steps forget it
		}
		if err := prog.SetState(st); err != nil {
			t.Fatal(err)
		}
		sum := make([]float64, len(exact))
		sq := make([]float64, len(exact))
		after := m.Clone()
		for r := 0; r < R; r++ {
			// lr = 1, no momentum: the parameter change is the gradient.
			if err := prog.SetModel(m); err != nil {
				t.Fatal(err)
			}
			if err := prog.Step(x, graph.Hyper{LR: 1}); err != nil {
				t.Fatal(err)
			}
			if err := prog.Model(after); err != nil {
				t.Fatal(err)
			}
			g := diff(after, m)
			for i := range g {
				sum[i] += g[i]
				sq[i] += g[i] * g[i]
			}
		}
		prog.Close()
		for i := range exact {
			mean := sum[i] / R
			se := math.Sqrt(math.Max(sq[i]/R-mean*mean, 0) / R)
			if d := math.Abs(mean - exact[i]); d > 5*se+2e-3 {
				t.Errorf("pcd=%v parameter %d: sampled gradient %.4f ± %.4f, exact %.4f", pcd, i, mean, se, exact[i])
			}
		}
	}
}

func diff(a, b *models.RBM) []float64 {
	var out []float64
	for _, p := range [][2][]float32{{a.W, b.W}, {a.VBias, b.VBias}, {a.HBias, b.HBias}} {
		for i := range p[0] {
			out = append(out, float64(p[0][i])-float64(p[1][i]))
		}
	}
	return out
}

func bas(t *testing.T, r, c int) *data.Dataset {
	t.Helper()
	d, err := data.BarsAndStripes(r, c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// BASConfig is the PCD setting used for the bars-and-stripes figure.
var basConfig = Config{Hidden: 64, Persistent: true, K: 10, Chains: 100, Epochs: 1500, Batch: 10,
	LR: 0.05, Schedule: LinearSchedule{Final: 0}, Momentum: 0.5, Seed: 1, EvalEvery: 500}

// PCD on bars-and-stripes 4×4 (30 patterns) gets within 0.6 nats of the
// optimum average log-likelihood −log 30 ≈ −3.401.
func TestPCDBarsAndStripes(t *testing.T) {
	if testing.Short() {
		t.Skip("long training run; skipped with -short")
	}
	d := bas(t, 4, 4)
	start := time.Now()
	res, err := (&Trainer{Config: basConfig}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	ll := res.Metrics[len(res.Metrics)-1].LogLikelihood
	opt := -math.Log(30)
	t.Logf("bars-and-stripes 4x4, %s, H=%d, %d epochs: exact LL %.3f (optimum %.3f, gap %.3f) in %v",
		basConfig.Algorithm(), basConfig.Hidden, basConfig.Epochs, ll, opt, opt-ll, time.Since(start))
	if !(ll >= opt-0.6) {
		t.Errorf("exact LL %.3f, want ≥ %.3f", ll, opt-0.6)
	}
}

func shortConfig(pcd bool) Config {
	return Config{Hidden: 12, Persistent: pcd, K: 2, Chains: 7, Epochs: 6, Batch: 8, LR: 0.1,
		Momentum: 0.9, InitialMomentum: 0.5, MomentumWarmup: 2, WeightDecay: 1e-3,
		SparsityTarget: 0.2, SparsityCost: 0.01, Seed: 42, Schedule: ExpSchedule{Gamma: 0.9}}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The same seed gives a byte-identical checkpoint; another seed does not.
func TestSameSeedSameFile(t *testing.T) {
	d := bas(t, 3, 4)
	dir := t.TempDir()
	run := func(name string, seed uint64) []byte {
		cfg := shortConfig(true)
		cfg.Seed = seed
		res, err := (&Trainer{Config: cfg}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := SaveSnapshot(p, res.Snapshot, d.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		return fileBytes(t, p)
	}
	a, b, c := run("a", 42), run("b", 42), run("c", 43)
	if !bytes.Equal(a, b) {
		t.Error("two runs with seed 42 wrote different files")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 42 and 43 wrote the same file")
	}
}

// Interrupting a run (between epochs or in the middle of one), saving it,
// loading it and resuming gives the same bytes as the uninterrupted run.
func TestResumeBitIdentical(t *testing.T) {
	d := bas(t, 4, 3)
	dir := t.TempDir()
	for _, pcd := range []bool{false, true} {
		cfg := shortConfig(pcd)
		full, err := (&Trainer{Config: cfg}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(dir, "full")
		if err := SaveSnapshot(want, full.Snapshot, d.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		for _, stopAfter := range []int{1, 5, 8} { // batches: mid-epoch and on an epoch boundary
			ctx, cancel := context.WithCancel(context.Background())
			n := 0
			tr := &Trainer{Config: cfg, OnBatch: func(int, int, int) {
				if n++; n == stopAfter {
					cancel()
				}
			}}
			part, err := tr.Fit(ctx, d, nil)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("pcd=%v stop %d: error %v, want context.Canceled", pcd, stopAfter, err)
			}
			ck := filepath.Join(dir, "ck")
			if err := SaveSnapshot(ck, part.Snapshot, d.Fingerprint()); err != nil {
				t.Fatal(err)
			}
			snap, _, err := LoadSnapshot(ck)
			if err != nil {
				t.Fatal(err)
			}
			res, err := (&Trainer{Config: snap.Config, Resume: snap}).Fit(context.Background(), d, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := filepath.Join(dir, "resumed")
			if err := SaveSnapshot(got, res.Snapshot, d.Fingerprint()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fileBytes(t, want), fileBytes(t, got)) {
				t.Errorf("pcd=%v: resumed after %d batches differs from the uninterrupted run", pcd, stopAfter)
			}
		}
	}
}

func TestPermutation(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000} {
		p := make([]int, n)
		Permutation(p, 5, 3)
		seen := make([]bool, n)
		for _, v := range p {
			if seen[v] {
				t.Fatalf("n=%d: %d repeats", n, v)
			}
			seen[v] = true
		}
		q := make([]int, n)
		Permutation(q, 5, 3)
		for i := range p {
			if p[i] != q[i] {
				t.Fatalf("n=%d: not deterministic", n)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{}.Defaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Hidden = -1 },
		func(c *Config) { c.K = -2 },
		func(c *Config) { c.Epochs = -1 },
		func(c *Config) { c.LR = math.NaN() },
		func(c *Config) { c.LR = -1 },
		func(c *Config) { c.Momentum = 1 },
		func(c *Config) { c.WeightDecay = -1 },
		func(c *Config) { c.SparsityCost = 1; c.SparsityTarget = 0 },
		func(c *Config) { c.Chains = -1 },
	}
	for i, f := range bad {
		c := good
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: no error for %+v", i, c)
		}
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	d := bas(t, 3, 3)
	if _, err := (&Trainer{}).Fit(context.Background(), nil, nil); err == nil {
		t.Error("nil data: no error")
	}
	other := bas(t, 2, 2)
	if _, err := (&Trainer{Config: Config{Epochs: 1}}).Fit(context.Background(), d, other); err == nil {
		t.Error("held-out width mismatch: no error")
	}
	snap := rbmSnapshot(4, 64)
	if _, err := (&Trainer{Config: Config{Epochs: 1}, Resume: snap}).Fit(context.Background(), d, nil); err == nil {
		t.Error("resume with wrong V: no error")
	}
}

// A learning rate far too large makes the weights overflow: Fit stops with
// an error naming the epoch instead of returning NaNs.
func TestDivergenceIsAnError(t *testing.T) {
	d := bas(t, 3, 3)
	_, err := (&Trainer{Config: Config{Hidden: 8, Epochs: 50, Batch: 7, LR: 1e38, Momentum: 0.99, Seed: 1}}).Fit(context.Background(), d, nil)
	if err == nil {
		t.Fatal("no error")
	}
	// "epoch N: training diverged: RBM 9×8: W[i] = NaN is not finite" or the
	// like: the epoch and the tensor are named.
	msg := err.Error()
	if !strings.HasPrefix(msg, "epoch ") || !strings.Contains(msg, "diverged") || !strings.ContainsAny(msg, "[") {
		t.Errorf("error %q does not name the epoch and the tensor", msg)
	}
	t.Log(err)
}
