package engine_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/host"
	"github.com/rbmgpu/rbmgpu/models"
)

// centerCases are the golden cases of centred training (their own golden
// files, testdata/golden/center-*, so that the other cases' stay as
// they are).
func centerCases() []goldenCase {
	return []goldenCase{
		{"rbm-cd1-centered", engine.Config{Hidden: 8, Batch: 10, Epochs: 3, LR: 0.1, Momentum: 0.5, Seed: 7,
			Centered: true, CenterRate: 0.05}, basData("bas:4x4")},
		{"rbm-pcd2-centered-sparsity", engine.Config{Hidden: 8, K: 2, Persistent: true, Chains: 12, Batch: 10, Epochs: 3,
			LR: 0.05, Momentum: 0.9, InitialMomentum: 0.5, MomentumWarmup: 1, WeightDecay: 1e-3,
			SparsityTarget: 0.1, SparsityCost: 0.05, Schedule: engine.LinearSchedule{Final: 0}, Seed: 3, Centered: true},
			basData("bas:4x4")},
		{"bm-both-centered", engine.Config{Hidden: 4, Chains: 8, Batch: 7, Epochs: 4, LR: 0.1, Momentum: 0.5, WeightDecay: 1e-3, Seed: 2,
			Model: "bm", Options: &engine.BMOptions{Lateral: models.LateralBoth, Sweeps: 2}, Centered: true, CenterRate: 0.05}, basData("bas:3x3")},
		{"bm-visible-meanfield-centered", engine.Config{Hidden: 3, K: 2, Batch: 7, Epochs: 4, LR: 0.05, Seed: 4,
			Model: "bm", Options: &engine.BMOptions{Lateral: models.LateralVisible, MeanField: true}, Centered: true}, basData("bas:3x3")},
	}
}

// TestCenteredGolden trains the centred cases on the tape, host and
// emulator executors, uninterrupted and (tape, host, host-resident)
// stopped after 5 mini-batches, saved, loaded and resumed, and pins the
// checkpoints' digests and the host plan in golden files. The host and
// the emulator must give the same bits, and a resumed run the
// uninterrupted one's.
func TestCenteredGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range centerCases() {
		digest := map[string]string{}
		for _, ex := range goldenExecutors {
			be, done := ex.make()
			full := trainGolden(t, c, be, 0)
			done()
			digest[ex.name] = full
			fmt.Fprintf(&b, "%-28s %-11s %s\n", c.name, ex.name, full)
			if !strings.Contains(full, graph.NameOffsetV) {
				t.Errorf("%s on %s: the checkpoint has no offsets: %s", c.name, ex.name, full)
			}
			if ex.name == "emu" {
				continue
			}
			be, done = ex.make()
			resumed := trainGolden(t, c, be, 5)
			done()
			if resumed != full {
				t.Errorf("%s on %s: resumed run %s, uninterrupted %s", c.name, ex.name, resumed, full)
			}
		}
		if digest["host"] != digest["emu"] {
			t.Errorf("%s: host %s, emulator %s", c.name, digest["host"], digest["emu"])
		}
		for _, ex := range residentExecutors {
			if testing.Short() && ex.name == "emu-resident" {
				continue
			}
			be, done := ex.make()
			got := trainGolden(t, c, be, 5)
			done()
			if want := digest[strings.TrimSuffix(ex.name, "-resident")]; got != want {
				t.Errorf("%s on %s (resumed): %s, not resident %s", c.name, ex.name, got, want)
			}
		}
		// The plan.
		drv := host.NewDriver()
		rec := &recorder{Driver: drv, names: map[kernels.DevicePtr]string{}}
		cfg := c.cfg
		cfg.Epochs = 1
		if _, err := (&engine.Trainer{Config: cfg, Backend: &engine.DeviceBackend{Driver: rec, Label: "rec"}}).Fit(context.Background(), c.data(t), nil); err != nil {
			t.Fatal(err)
		}
		drv.Close()
		compareGolden(t, "center-"+c.name+".plan", rec.out.String())
	}
	compareGolden(t, "center-fingerprints.txt", b.String())
}

// oneStep trains cfg for one mini-batch (one epoch of Batch rows) on
// backend and returns the snapshot.
func oneStep(t *testing.T, cfg engine.Config, d *data.Dataset, b engine.Backend) *engine.Snapshot {
	t.Helper()
	cfg.Epochs, cfg.Batch = 1, d.N
	res, err := (&engine.Trainer{Config: cfg, Backend: b}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Snapshot
}

// One centred step: the tape (gorgonia's interpreter) and the lowered
// executors agree on every tensor to float32 rounding, and the host and
// the emulator to the bit.
func TestCenteredStepExecutorsAgree(t *testing.T) {
	d := basData("bas:4x4")(t)
	for _, cfg := range []engine.Config{
		{Hidden: 8, LR: 0.1, Momentum: 0.5, Seed: 7, Centered: true, CenterRate: 0.2},
		{Hidden: 5, K: 3, Persistent: true, Chains: 7, LR: 0.1, Seed: 2, Centered: true},
		{Model: "bm", Hidden: 3, K: 2, Options: &engine.BMOptions{Lateral: models.LateralBoth, Sweeps: 2}, LR: 0.1, Seed: 5,
			Centered: true, CenterRate: 0.3},
	} {
		snaps := map[string]*engine.Snapshot{}
		for _, ex := range goldenExecutors {
			be, done := ex.make()
			snaps[ex.name] = oneStep(t, cfg, d, be)
			done()
		}
		for name, x := range snaps["host"].Tensors {
			e := snaps["emu"].Tensors[name]
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(e[i]) {
					t.Fatalf("%+v %s[%d]: host %v, emulator %v", cfg, name, i, x[i], e[i])
				}
			}
			tp := snaps["tape"].Tensors[name]
			if len(tp) != len(x) {
				t.Fatalf("%+v %s: tape %d values, host %d", cfg, name, len(tp), len(x))
			}
			for i := range x {
				if math.Abs(float64(x[i]-tp[i])) > 1e-5*math.Max(1, math.Abs(float64(x[i]))) {
					t.Fatalf("%+v %s[%d]: host %v, tape %v", cfg, name, i, x[i], tp[i])
				}
			}
		}
	}
}

// The first centred step from a known state: with momentum 0 and no
// decay the parameters move by lr times the centred gradient, which is
// computed here in float64 from the exact data statistics when the
// negative phase is replaced by… itself: we check instead the offsets
// (exact running averages of the data) and that the step's folded model
// equals Centre→Fold of itself (a saved centred model is an ordinary one).
func TestCenteredOffsetsAndFold(t *testing.T) {
	d := basData("bas:4x4")(t)
	cfg := engine.Config{Hidden: 6, LR: 0.1, Seed: 4, Centered: true, CenterRate: 0.25}
	snap := oneStep(t, cfg, d, engine.Host())
	mu, lambda := snap.Tensors[graph.NameOffsetV], snap.Tensors[graph.NameOffsetH]
	if len(mu) != d.D || len(lambda) != cfg.Hidden {
		t.Fatalf("offsets of %d and %d values", len(mu), len(lambda))
	}
	// μ starts at the data mean and the one batch is all the data, so the
	// running average leaves it there.
	row := make([]float32, d.D)
	mean := make([]float64, d.D)
	for r := 0; r < d.N; r++ {
		for i, x := range d.RowTo(row, r) {
			mean[i] += float64(x) / float64(d.N)
		}
	}
	for i := range mu {
		if math.Abs(float64(mu[i])-mean[i]) > 1e-6 {
			t.Errorf("μ[%d] = %v, data mean %v", i, mu[i], mean[i])
		}
	}
	// λ: 0.75·0.5 + 0.25·mean p(h|v0) of the initial model.
	init, err := (engine.Config{Hidden: 6, Seed: 4, Centered: true}).Defaults().Kind()
	if err != nil {
		t.Fatal(err)
	}
	t0, err := init.Init(engine.Config{Hidden: 6, Batch: d.N, Seed: 4, Centered: true, CenterRate: 0.25}.Defaults(), d)
	if err != nil {
		t.Fatal(err)
	}
	m0 := &models.RBM{V: d.D, H: 6, W: t0[graph.NameW], VBias: t0[graph.NameVBias], HBias: t0[graph.NameHBias]}
	x := d.CopyRows(make([]float32, d.N*d.D), 0, d.N)
	ph := m0.HiddenProbs(nil, x, d.N)
	for j := range lambda {
		var s float64
		for r := 0; r < d.N; r++ {
			s += float64(ph[r*6+j])
		}
		want := 0.75*0.5 + 0.25*s/float64(d.N)
		if math.Abs(float64(lambda[j])-want) > 1e-6 {
			t.Errorf("λ[%d] = %v, want %v", j, lambda[j], want)
		}
	}
	// The saved model is an ordinary RBM whose centred form has the same
	// conditionals; the checkpoint loads as a plain RBM for eval/sample.
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := engine.SaveSnapshot(path, snap, d.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	m, _, _, err := models.LoadRBM(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := models.Centre(m, mu, lambda)
	if err != nil {
		t.Fatal(err)
	}
	shift := c.FreeEnergyShift()
	pm := m.HiddenProbs(nil, x, d.N)
	for r := 0; r < d.N; r++ {
		v := x[r*d.D : (r+1)*d.D]
		for j, p := range c.HiddenProbs(v) {
			if math.Abs(p-float64(pm[r*6+j])) > 1e-6 {
				t.Fatalf("row %d: centred p(h%d|v) %v, folded %v", r, j, p, pm[r*6+j])
			}
		}
		if diff := c.FreeEnergy(v) - m.FreeEnergy(v); math.Abs(diff-shift) > 1e-9*math.Max(1, math.Abs(shift)) {
			t.Fatalf("row %d: F_c − F = %v, shift %v", r, diff, shift)
		}
	}
	snap2, _, err := engine.LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if !snap2.Config.Centered || snap2.Config.CenterRate != 0.25 {
		t.Errorf("loaded config: centered %v, rate %v", snap2.Config.Centered, snap2.Config.CenterRate)
	}
	for _, n := range []string{graph.NameOffsetV, graph.NameOffsetH} {
		if got, want := snap2.Tensors[n], snap.Tensors[n]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("loaded %s = %v, saved %v", n, got, want)
		}
	}
}

// Centring is refused where it does not exist and resuming across the
// setting is refused.
func TestCenteredValidate(t *testing.T) {
	for _, c := range []engine.Config{
		{Model: "grbm", Centered: true},
		{Centered: true, CenterRate: 1.5},
		{Centered: true, CenterRate: -0.1},
		{CenterRate: 0.1},
	} {
		if err := c.Defaults().Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := (engine.Config{Centered: true}).Defaults().Validate(); err != nil {
		t.Errorf("rbm centred: %v", err)
	}
	if !engine.CenteredDefault("rbm") || engine.CenteredDefault("bm") || engine.CenteredDefault("grbm") || !engine.CanCenter("rbm") || !engine.CanCenter("bm") || engine.CanCenter("grbm") {
		t.Error("CenteredDefault / CanCenter")
	}
	d := basData("bas:3x3")(t)
	plain := oneStep(t, engine.Config{Hidden: 4, Seed: 1}, d, engine.Host())
	centred := oneStep(t, engine.Config{Hidden: 4, Seed: 1, Centered: true}, d, engine.Host())
	for _, r := range []struct {
		cfg  engine.Config
		snap *engine.Snapshot
	}{{engine.Config{Hidden: 4, Seed: 1, Centered: true, Epochs: 2, Batch: d.N}, plain},
		{engine.Config{Hidden: 4, Seed: 1, Epochs: 2, Batch: d.N}, centred}} {
		_, err := (&engine.Trainer{Config: r.cfg, Resume: r.snap}).Fit(context.Background(), d, nil)
		if err == nil || !strings.Contains(err.Error(), "centred") {
			t.Errorf("resume centred=%v from the other kind of snapshot: %v", r.cfg.Centered, err)
		}
	}
}

// A DBN pretrained with centred gradients is an ordinary DBN.
func TestCenteredDBN(t *testing.T) {
	cfg := engine.Config{Batch: 10, Epochs: 2, LR: 0.1, Momentum: 0.5, Seed: 8, Centered: true}
	net, err := dbn.Pretrain(context.Background(), []int{16, 8, 4}, []engine.Config{cfg}, basData("bas:4x4")(t), engine.Host())
	if err != nil {
		t.Fatal(err)
	}
	plain := cfg
	plain.Centered = false
	ref, err := dbn.Pretrain(context.Background(), []int{16, 8, 4}, []engine.Config{plain}, basData("bas:4x4")(t), engine.Host())
	if err != nil {
		t.Fatal(err)
	}
	for l, m := range net.Layers {
		if err := m.Validate(); err != nil {
			t.Fatalf("layer %d: %v", l, err)
		}
		if fmt.Sprint(m.W) == fmt.Sprint(ref.Layers[l].W) {
			t.Errorf("layer %d: centred weights equal the plain run's", l)
		}
	}
}

// exactLL trains cfg on bars-and-stripes 4×4 and returns the exact
// average log-likelihood of the training data at the end.
func exactLL(t *testing.T, cfg engine.Config) float64 {
	t.Helper()
	d := basData("bas:4x4")(t)
	res, err := (&engine.Trainer{Config: cfg}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := d.CopyRows(make([]float32, d.N*d.D), 0, d.N)
	ll, err := res.Snapshot.RBM().LogLikelihood(x, d.N)
	if err != nil {
		t.Fatal(err)
	}
	return ll
}

// Quality: centred and plain runs at the same settings on
// bars-and-stripes 4×4 (optimum −log 30 = −3.401), exact log-likelihood
// after training, for a few seeds. Centring must not be worse on average
// by more than 0.1 nats (the figures are logged; see the report).
func TestCenteredQualityBAS(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 12 runs of 300 epochs (-short)")
	}
	for _, base := range []engine.Config{
		{Hidden: 64, K: 1, Batch: 10, Epochs: 300, LR: 0.1, Momentum: 0.5, InitialMomentum: 0.5, ExactLLMaxUnits: -1},
		{Hidden: 64, K: 1, Persistent: true, Chains: 10, Batch: 10, Epochs: 300, LR: 0.05, ExactLLMaxUnits: -1},
	} {
		var plain, centred float64
		seeds := []uint64{1, 2, 3}
		for _, seed := range seeds {
			c := base
			c.Seed = seed
			p := exactLL(t, c)
			c.Centered = true
			q := exactLL(t, c)
			t.Logf("%s seed %d: plain %.3f, centred %.3f", c.Algorithm(), seed, p, q)
			plain += p / float64(len(seeds))
			centred += q / float64(len(seeds))
		}
		t.Logf("%s mean over %d seeds: plain %.3f, centred %.3f", base.Algorithm(), len(seeds), plain, centred)
		if centred < plain-0.1 {
			t.Errorf("%s: centred %.3f is worse than plain %.3f", base.Algorithm(), centred, plain)
		}
	}
}
