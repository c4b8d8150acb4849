package models_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// gaussRBM returns a v×h RBM with weights N(0, wstd²) and biases uniform in
// [-bias, bias], drawn from Philox so every run of the tests sees the same
// models.
func gaussRBM(v, h int, wstd, bias float64, seed uint64) *models.RBM {
	m := &models.RBM{V: v, H: h, W: make([]float32, v*h), VBias: make([]float32, v), HBias: make([]float32, h)}
	s := kernels.Stream{Seed: seed, Op: 0xA15E}
	e := uint64(0)
	next := func() float64 { e++; return float64(s.Uniform(e - 1)) }
	for k := range m.W {
		r := math.Sqrt(-2 * math.Log(1-next()))
		m.W[k] = float32(wstd * r * math.Cos(2*math.Pi*next()))
	}
	for _, b := range [][]float32{m.VBias, m.HBias} {
		for i := range b {
			b[i] = float32(bias * (2*next() - 1))
		}
	}
	return m
}

func exactLogZ(t testing.TB, m *models.RBM) float64 {
	t.Helper()
	z, err := m.LogZ()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestAISMatchesExact compares AIS at default settings (100 runs, 14,500
// β steps) with exact enumeration on models small enough to enumerate.
func TestAISMatchesExact(t *testing.T) {
	tests := []struct {
		v, h  int
		wstd  float64
		large bool // run only with RBMGPU_LONG_TESTS=1 (about a minute on 2 cores)
	}{
		{20, 10, 0.01, false}, {20, 10, 0.1, false}, {20, 10, 0.5, false},
		{100, 15, 0.01, false}, {100, 15, 0.5, false},
		{784, 20, 0.1, true},
	}
	t.Logf("%-8s %5s %12s %12s %9s %26s", "V×H", "w std", "exact", "AIS", "error", "[lo, hi]")
	for i, tc := range tests {
		name := fmt.Sprintf("%dx%d_std%g", tc.v, tc.h, tc.wstd)
		if tc.large && (testing.Short() || os.Getenv("RBMGPU_LONG_TESTS") != "1") {
			t.Logf("%s: skipped (set RBMGPU_LONG_TESTS=1 to run it)", name)
			continue
		}
		m := gaussRBM(tc.v, tc.h, tc.wstd, 1, uint64(100+i))
		want := exactLogZ(t, m)
		start := time.Now()
		r, err := m.AIS(context.Background(), models.AISConfig{Seed: uint64(i)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		diff := r.LogZ - want
		t.Logf("%-8s %5g %12.5f %12.5f %+9.5f [%11.5f, %11.5f] %v", fmt.Sprintf("%dx%d", tc.v, tc.h), tc.wstd, want, r.LogZ, diff, r.LogZLo, r.LogZHi, time.Since(start).Round(time.Millisecond))
		if math.Abs(diff) > 0.05 {
			t.Errorf("%s: AIS log Z = %.5f, exact %.5f: error %.5f > 0.05", name, r.LogZ, want, diff)
		}
		if want < r.LogZLo || want > r.LogZHi {
			t.Errorf("%s: exact log Z %.5f outside the ±3σ interval [%.5f, %.5f]", name, want, r.LogZLo, r.LogZHi)
		}
		if r.Runs != models.DefaultAISRuns || r.Steps != 14500 || len(r.LogWeights) != r.Runs {
			t.Errorf("%s: Runs %d, Steps %d, %d log weights; want 100, 14500, 100", name, r.Runs, r.Steps, len(r.LogWeights))
		}
	}
}

// TestAISDeterministic checks that a result is a function of the seed only:
// the same bits for any GOMAXPROCS (hence any split of runs among
// goroutines), different bits for another seed.
func TestAISDeterministic(t *testing.T) {
	m := gaussRBM(30, 12, 0.3, 1, 7)
	cfg := models.AISConfig{Runs: 37, Betas: models.Betas(200), Seed: 99}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var ref models.AISResult
	for k, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		r, err := m.AIS(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			ref = r
			continue
		}
		if math.Float64bits(r.LogZ) != math.Float64bits(ref.LogZ) {
			t.Errorf("GOMAXPROCS=%d: log Z %v, want %v as with GOMAXPROCS=1", procs, r.LogZ, ref.LogZ)
		}
		for i, w := range r.LogWeights {
			if math.Float64bits(w) != math.Float64bits(ref.LogWeights[i]) {
				t.Fatalf("GOMAXPROCS=%d: log weight %d = %v, want %v", procs, i, w, ref.LogWeights[i])
			}
		}
	}
	cfg.Seed++
	r, err := m.AIS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.LogZ == ref.LogZ {
		t.Errorf("seeds 99 and 100 give the same log Z %v", r.LogZ)
	}
}

// TestAISMoreBetasSmallerError logs the mean absolute error over a few seeds
// against the number of β steps, and checks it decreases.
func TestAISMoreBetasSmallerError(t *testing.T) {
	m := gaussRBM(20, 10, 1, 1, 3)
	want := exactLogZ(t, m)
	seeds := []uint64{1, 2, 3}
	prev := math.Inf(1)
	t.Logf("%8s %12s %12s", "β steps", "mean |err|", "mean (lo,hi) width")
	for _, steps := range []int{100, 1000, 14500} {
		mae, width := 0.0, 0.0
		for _, seed := range seeds {
			r, err := m.AIS(context.Background(), models.AISConfig{Betas: models.Betas(steps), Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			mae += math.Abs(r.LogZ-want) / float64(len(seeds))
			width += (r.LogZHi - r.LogZLo) / float64(len(seeds))
		}
		t.Logf("%8d %12.5f %12.5f", steps, mae, width)
		if mae >= prev {
			t.Errorf("%d steps: mean |error| %.5f, not below %.5f with fewer steps", steps, mae, prev)
		}
		prev = mae
	}
}

// TestAISBaseModel checks the closed form of log Z_A: a model that equals
// its base model (W = 0, c = 0, b = b_A) has every weight exactly 1.
func TestAISBaseModel(t *testing.T) {
	m := gaussRBM(6, 3, 0, 2, 5)
	for j := range m.HBias {
		m.HBias[j] = 0
	}
	r, err := m.AIS(context.Background(), models.AISConfig{Runs: 4, Betas: []float64{0, 0.5, 1}, BaseVBias: m.VBias})
	if err != nil {
		t.Fatal(err)
	}
	want := exactLogZ(t, m)
	if math.Abs(r.LogZBase-want) > 1e-12 || math.Abs(r.LogZ-want) > 1e-12 {
		t.Errorf("log Z_A = %.15g, log Ẑ = %.15g, want both %.15g", r.LogZBase, r.LogZ, want)
	}
	for i, w := range r.LogWeights {
		if math.Abs(w) > 1e-12 {
			t.Errorf("log weight %d = %g, want 0", i, w)
		}
	}
	if math.Abs(r.LogZHi-r.LogZ) > 1e-12 || math.Abs(r.LogZLo-r.LogZ) > 1e-12 {
		t.Errorf("interval [%v, %v] around %v, want zero width", r.LogZLo, r.LogZHi, r.LogZ)
	}
	// One run: no spread to estimate.
	r, err = m.AIS(context.Background(), models.AISConfig{Runs: 1, Betas: []float64{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(r.LogZLo, -1) || !math.IsInf(r.LogZHi, 1) {
		t.Errorf("one run: interval [%v, %v], want (-Inf, +Inf)", r.LogZLo, r.LogZHi)
	}
}

// TestAISBaseRate checks that a base-rate base model fitted to data (the
// usual choice for trained models) still gives the right answer.
func TestAISBaseRate(t *testing.T) {
	m := gaussRBM(40, 8, 0.3, 1, 11)
	x := make([]float32, 0, 50*40)
	s := kernels.Stream{Seed: 4, Op: 1}
	for e := uint64(0); e < 50*40; e++ {
		x = append(x, float32(int(e%40)%3&1)*float32(int(s.Uniform(e)*1.3))) // sparse, structured
	}
	b := models.BaseRateBias(x, 50, 40, 1)
	r, err := m.AIS(context.Background(), models.AISConfig{Betas: models.Betas(2000), BaseVBias: b, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := exactLogZ(t, m)
	if math.Abs(r.LogZ-want) > 0.05 || want < r.LogZLo || want > r.LogZHi {
		t.Errorf("base-rate AIS: log Z = %.5f [%.5f, %.5f], exact %.5f", r.LogZ, r.LogZLo, r.LogZHi, want)
	}
	ll, err := m.LogLikelihood(x, 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.AvgLogLikelihoodAIS(x, 50, r); math.Abs(got-(ll-(r.LogZ-want))) > 1e-9 {
		t.Errorf("AvgLogLikelihoodAIS = %.9f, want exact %.9f shifted by the log Z error %.9f", got, ll, r.LogZ-want)
	}
	if got := m.AvgLogLikelihoodAIS(x, 0, r); !math.IsNaN(got) {
		t.Errorf("AvgLogLikelihoodAIS with n = 0: %v, want NaN", got)
	}
}

func TestBaseRateBias(t *testing.T) {
	x := []float32{
		1, 0, 1,
		1, 0, 0,
		1, 0, 1,
		1, 0, 0,
	}
	logit := func(p float64) float32 { return float32(math.Log(p / (1 - p))) }
	for _, tc := range []struct {
		s    float64
		want []float32
	}{
		{0, []float32{logit(1 - 1e-6), logit(1e-6), 0}},
		{1, []float32{logit(5.0 / 6), logit(1.0 / 6), 0}},
		{-3, []float32{logit(1 - 1e-6), logit(1e-6), 0}}, // negative smoothing is 0
	} {
		got := models.BaseRateBias(x, 4, 3, tc.s)
		for i := range tc.want {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-5 {
				t.Errorf("smoothing %g: b_A = %v, want %v", tc.s, got, tc.want)
				break
			}
		}
	}
	for _, bad := range []struct{ n, v int }{{0, 3}, {4, 0}, {5, 3}, {-1, 3}} {
		if got := models.BaseRateBias(x, bad.n, bad.v, 1); got != nil {
			t.Errorf("n = %d, v = %d: got %v, want nil", bad.n, bad.v, got)
		}
	}
}

func TestBetas(t *testing.T) {
	d := models.DefaultBetas()
	if len(d) != 14501 || d[0] != 0 || d[500] != 0.5 || d[4500] != 0.9 || d[14500] != 1 {
		t.Fatalf("DefaultBetas: %d values, β[0,500,4500,last] = %v %v %v %v; want 14501, 0 0.5 0.9 1",
			len(d), d[0], d[min(500, len(d)-1)], d[min(4500, len(d)-1)], d[len(d)-1])
	}
	if math.Abs(d[1]-0.001) > 1e-15 || math.Abs(d[501]-0.5001) > 1e-15 || math.Abs(d[4501]-0.90001) > 1e-15 {
		t.Errorf("DefaultBetas step sizes: β1 = %v, β501 = %v, β4501 = %v", d[1], d[501], d[4501])
	}
	for _, n := range []int{-5, 0, 1, 2, 3, 7, 29, 100, 1000, 14500, 20000} {
		b := models.Betas(n)
		if want := max(n, 1) + 1; len(b) != want {
			t.Errorf("Betas(%d): %d values, want %d", n, len(b), want)
		}
		if b[0] != 0 || b[len(b)-1] != 1 {
			t.Errorf("Betas(%d) runs from %v to %v, want 0 to 1", n, b[0], b[len(b)-1])
		}
		for k := 1; k < len(b); k++ {
			if !(b[k] > b[k-1]) {
				t.Errorf("Betas(%d): β[%d] = %v ≤ β[%d] = %v", n, k, b[k], k-1, b[k-1])
				break
			}
		}
	}
}

func TestAISConfigErrors(t *testing.T) {
	m := gaussRBM(5, 4, 0.1, 1, 1)
	nan := float32(math.NaN())
	tests := []struct {
		name string
		cfg  models.AISConfig
		want string
	}{
		{"negative runs", models.AISConfig{Runs: -1}, "Runs = -1"},
		{"one beta", models.AISConfig{Betas: []float64{0}}, "need at least 0 and 1"},
		{"not from 0", models.AISConfig{Betas: []float64{0.1, 0.5, 1}}, "start at exactly 0"},
		{"not to 1", models.AISConfig{Betas: []float64{0, 0.5, 0.99}}, "end at exactly 1"},
		{"not increasing", models.AISConfig{Betas: []float64{0, 0.5, 0.5, 1}}, "increase strictly"},
		{"decreasing", models.AISConfig{Betas: []float64{0, 0.7, 0.3, 1}}, "increase strictly"},
		{"NaN beta", models.AISConfig{Betas: []float64{0, math.NaN(), 1}}, "not finite"},
		{"short base", models.AISConfig{BaseVBias: []float32{0, 0}}, "BaseVBias has 2 elements, want V = 5"},
		{"NaN base", models.AISConfig{BaseVBias: []float32{0, 0, nan, 0, 0}}, "BaseVBias[2]"},
	}
	for _, tc := range tests {
		_, err := m.AIS(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
	bad := m.Clone()
	bad.W = bad.W[:3]
	if _, err := bad.AIS(context.Background(), models.AISConfig{}); err == nil || !strings.Contains(err.Error(), "W has 3 elements") {
		t.Errorf("invalid model: error %v", err)
	}
}

func TestAISCancel(t *testing.T) {
	m := gaussRBM(50, 20, 0.1, 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.AIS(ctx, models.AISConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the start: error %v, want context.Canceled", err)
	}
	// Cancel while running: default settings would take seconds.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.AIS(ctx, models.AISConfig{Runs: 200})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline while running: error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("AIS returned %v after its deadline", d)
	}
}

// BenchmarkAIS784x500 runs default-schedule AIS (14,500 β steps) on a
// 784×500 model with 10 runs: ≈ 2·10·14,500·784·500·2 ≈ 2.3·10¹¹ FLOP of
// GEMM (half of it skipped on zeros of the binary states).
func BenchmarkAIS784x500(b *testing.B) {
	m, err := models.NewRBM(784, 500, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := models.AISConfig{Runs: 10, Seed: 1}
	for b.Loop() {
		if _, err := m.AIS(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	flop := 2 * 2 * float64(cfg.Runs) * 14500 * 784 * 500
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// AIS estimates log Z of models too large to enumerate; on a small one it
// can be checked against the exact value.
func ExampleRBM_AIS() {
	m, err := models.NewRBM(20, 12, 7)
	if err != nil {
		log.Fatal(err)
	}
	for i := range m.W {
		m.W[i] *= 30 // std 0.3: far from the uniform base model
	}
	r, err := m.AIS(context.Background(), models.AISConfig{Runs: 100, Betas: models.Betas(1000), Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	exact, err := m.LogZ()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("AIS log Z = %.1f (exact %.1f) from %d runs of %d steps\n", r.LogZ, exact, r.Runs, r.Steps)
	// Output:
	// AIS log Z = 22.8 (exact 22.8) from 100 runs of 1000 steps
}
