package ais_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/ais"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/models"
)

func randomRBM(V, H int, std float64, seed uint64) *models.RBM {
	rng := rand.New(rand.NewPCG(seed, 1))
	m, _ := models.NewRBM(V, H, seed)
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * std)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.Float64()*2 - 1)
	}
	for j := range m.HBias {
		m.HBias[j] = float32(rng.Float64()*2 - 1)
	}
	return m
}

// AIS as device launches (Host backend: Go kernels; emulator: the .cu
// sources) estimates log Z within 0.05 nats of the exact value, which lies
// inside the ±3σ interval, at the default schedule (Host) or a shorter one
// (emulator, slow).
func TestDeviceAISMatchesExact(t *testing.T) {
	cases := []struct {
		V, H  int
		std   float64
		betas int
	}{
		{20, 10, 0.5, 14500},
		{100, 15, 0.5, 14500},
	}
	if testing.Short() {
		cases = cases[:1]
	}
	for i, tc := range cases {
		m := randomRBM(tc.V, tc.H, tc.std, uint64(i+1))
		exact, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, err := ais.Estimate(context.Background(), engine.Host(), m, models.AISConfig{Runs: 100, Betas: models.Betas(tc.betas), Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d×%d std %.1f: exact %.5f, device AIS %.5f [%.5f, %.5f], error %+.5f (%v)",
			tc.V, tc.H, tc.std, exact, r.LogZ, r.LogZLo, r.LogZHi, r.LogZ-exact, time.Since(start).Round(time.Millisecond))
		if math.Abs(r.LogZ-exact) > 0.05 || exact < r.LogZLo || exact > r.LogZHi {
			t.Errorf("%d×%d std %.1f: AIS %.5f [%.5f, %.5f], exact %.5f", tc.V, tc.H, tc.std, r.LogZ, r.LogZLo, r.LogZHi, exact)
		}
	}
	// The emulator runs the CUDA sources themselves: a shorter schedule.
	drv := emu.NewDriver()
	defer drv.Close()
	m := randomRBM(12, 6, 0.3, 9)
	exact, _ := m.LogZ()
	r, err := ais.Estimate(context.Background(), &engine.DeviceBackend{Driver: drv, Label: "emu"}, m, models.AISConfig{Runs: 32, Betas: models.Betas(300), Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("emulated CUDA, 12×6, 32 runs × 300 β: exact %.5f, AIS %.5f [%.5f, %.5f]", exact, r.LogZ, r.LogZLo, r.LogZHi)
	if math.Abs(r.LogZ-exact) > 0.1 || exact < r.LogZLo || exact > r.LogZHi {
		t.Errorf("emulated AIS %.5f [%.5f, %.5f], exact %.5f", r.LogZ, r.LogZLo, r.LogZHi, exact)
	}
}

// AIS on trained models, not only random ones: RBMs fitted to
// bars-and-stripes 4×4 (CD-1 and PCD-5, 20 hidden units) have the sharp,
// multimodal distributions where AIS is hardest. At the default settings
// both implementations (float64 CPU, device launches) stay within 0.05 nats
// of the exact log Z, which lies inside their ±3σ intervals.
func TestAISOnTrainedRBMs(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models and runs four default AIS estimates; skipped with -short")
	}
	d, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, cfg := range []engine.Config{
		{Hidden: 20, K: 1, Epochs: 300, Batch: 10, LR: 0.1, Momentum: 0.5, Seed: 3, EvalEvery: 300},
		{Hidden: 20, K: 5, Persistent: true, Chains: 50, Epochs: 300, Batch: 10, LR: 0.05, Momentum: 0.5, Seed: 4, EvalEvery: 300},
	} {
		res, err := (&engine.Trainer{Config: cfg}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Snapshot.RBM()
		exact, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		aisCfg := models.AISConfig{Seed: 7, BaseVBias: models.BaseRateBias(d.Values(), d.N, d.D, 1)}
		backends := []engine.Backend{engine.CPU{}, engine.Host()}
		if i > 0 {
			backends = backends[:1] // the device path once is enough (it is 3× slower on tiny models)
		}
		for _, b := range backends {
			start := time.Now()
			r, err := ais.Estimate(context.Background(), b, m, aisCfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, exact LL %.3f: exact log Z %.4f, AIS on %s %.4f [%.4f, %.4f], error %+.4f (%v)",
				cfg.Algorithm(), res.Metrics[len(res.Metrics)-1].LogLikelihood, exact, b.Name(), r.LogZ, r.LogZLo, r.LogZHi, r.LogZ-exact, time.Since(start).Round(time.Millisecond))
			if math.Abs(r.LogZ-exact) > 0.05 || exact < r.LogZLo || exact > r.LogZHi {
				t.Errorf("%s on %s: AIS %.4f [%.4f, %.4f], exact %.4f", cfg.Algorithm(), b.Name(), r.LogZ, r.LogZLo, r.LogZHi, exact)
			}
		}
	}
}

// On a machine with an NVIDIA GPU (the GPU kit runs this), AIS on the real
// CUDA backend matches the exact log Z.
func TestCUDAAISMatchesExact(t *testing.T) {
	b := engine.RequireCUDA(t, 0)
	m := randomRBM(20, 10, 0.5, 1)
	exact, _ := m.LogZ()
	r, err := ais.Estimate(context.Background(), b, m, models.AISConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cuda AIS 20×10: %.5f [%.5f, %.5f], exact %.5f", r.LogZ, r.LogZLo, r.LogZHi, exact)
	if math.Abs(r.LogZ-exact) > 0.05 || exact < r.LogZLo || exact > r.LogZHi {
		t.Errorf("cuda AIS %.5f [%.5f, %.5f], exact %.5f", r.LogZ, r.LogZLo, r.LogZHi, exact)
	}
}
