package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/lower"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/kernels/host"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// The golden files pin what every model kind computes, so that code can
// move without changing a bit of it:
//
//   - testdata/golden/<case>.plan: every launch (kernel, grid, block,
//     arguments) and allocation that a short training run makes on the
//     lowered executor, update launches included; device pointers are
//     named p0, p1, … in order of first appearance, so the listing pins the
//     data flow and not the memory layout.
//   - testdata/golden/fingerprints.txt: the SHA-256 of every tensor of the
//     checkpoint after the run, for each case × executor (tape, host,
//     emulator) and for the run stopped mid-epoch, saved, loaded and
//     resumed.
//
// go test ./engine -run Golden -update rewrites them.
var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// writeFixtures rewrites the checkpoint fixtures under testdata/checkpoints:
// checkpoints written by an earlier version of the engine, which every later
// version must keep loading (so it is a separate flag from -update).
var writeFixtures = flag.Bool("write-fixtures", false, "rewrite the checkpoint fixtures under testdata/checkpoints")

type goldenCase struct {
	name string
	cfg  engine.Config
	data func(t *testing.T) *data.Dataset
}

func basData(spec string) func(t *testing.T) *data.Dataset {
	return func(t *testing.T) *data.Dataset {
		d, err := data.Load(spec, data.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
}

// realData is 40 rows of 6 real-valued features drawn from a Philox stream
// (Box–Muller), shifted and scaled per feature.
func realData(t *testing.T) *data.Dataset {
	const n, d = 40, 6
	x := make([]float32, n*d)
	s := kernels.Stream{Seed: 11, Op: 0x601D}
	for i := range x {
		x[i] = 3*kernels.Normal(s, uint64(i)) + float32(i%d)
	}
	return &data.Dataset{Name: "golden-real", N: n, D: d, X: x}
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"rbm-cd1", engine.Config{Hidden: 8, Batch: 10, Epochs: 3, LR: 0.1, Momentum: 0.5, Seed: 7}, basData("bas:4x4")},
		{"rbm-pcd2-decay-sparsity", engine.Config{Hidden: 8, K: 2, Persistent: true, Chains: 12, Batch: 10, Epochs: 3,
			LR: 0.05, Momentum: 0.9, InitialMomentum: 0.5, MomentumWarmup: 1, WeightDecay: 1e-3,
			SparsityTarget: 0.1, SparsityCost: 0.05, Schedule: engine.LinearSchedule{Final: 0}, Seed: 3}, basData("bas:4x4")},
		{"grbm-fixed", engine.Config{Model: "grbm", Hidden: 5, Batch: 10, Epochs: 3, Momentum: 0.5, Seed: 5}, realData},
		{"grbm-learn-pcd2", engine.Config{Model: "grbm", Options: &engine.GRBMOptions{LearnVariance: true, SigmaFloor: 0.3},
			Hidden: 5, K: 2, Persistent: true, Batch: 10, Epochs: 3, LR: 0.005, Momentum: 0.5, Seed: 9}, realData},
		{"bm-both", engine.Config{Hidden: 4, Chains: 8, Batch: 7, Epochs: 4, LR: 0.1, Momentum: 0.5, WeightDecay: 1e-3, Seed: 2,
			Model: "bm", Options: &engine.BMOptions{Lateral: models.LateralBoth, Sweeps: 2}}, basData("bas:3x3")},
		{"bm-visible-meanfield", engine.Config{Hidden: 3, K: 2, Batch: 7, Epochs: 4, LR: 0.05, Seed: 4,
			Model: "bm", Options: &engine.BMOptions{Lateral: models.LateralVisible, MeanField: true}}, basData("bas:3x3")},
	}
}

// goldenExecutors are the executors every case runs on; each call makes a
// fresh backend (and driver) and a function that releases it.
var goldenExecutors = []struct {
	name string
	make func() (engine.Backend, func())
}{
	{"tape", func() (engine.Backend, func()) { return engine.CPU{}, func() {} }},
	{"host", func() (engine.Backend, func()) { return engine.Host(), func() {} }},
	{"emu", func() (engine.Backend, func()) {
		drv := emu.NewDriver()
		return &engine.DeviceBackend{Driver: drv, Label: "emu"}, func() { drv.Close() }
	}},
}

// checkpointDigest trains nothing: it returns the SHA-256 of every tensor
// of the checkpoint at path (sorted by name: name, shape, float32 bits)
// and the epoch and RNG counter of its metadata.
func checkpointDigest(t *testing.T, path string) string {
	t.Helper()
	tensors, _, err := safetensors.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	_, meta, err := engine.LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	var buf [4]byte
	for _, n := range names {
		tt := tensors[n]
		fmt.Fprintf(h, "%s %v\n", n, tt.Shape)
		for _, x := range tt.Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			h.Write(buf[:])
		}
	}
	return fmt.Sprintf("%x epoch=%d rng=%d tensors=%s", h.Sum(nil)[:16], meta.Epoch, meta.RNGStep, strings.Join(names, ","))
}

// trainGolden runs c on b to the end, or (stopAt > 0) cancels it after
// stopAt mini-batches, saves, loads and resumes it; it returns the digest
// of the final checkpoint.
func trainGolden(t *testing.T, c goldenCase, b engine.Backend, stopAt int) string {
	t.Helper()
	d := c.data(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	tr := &engine.Trainer{Config: c.cfg, Backend: b}
	var res *engine.Result
	var err error
	if stopAt > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		tr.OnBatch = func(_, _, _ int) {
			if seen++; seen == stopAt {
				cancel()
			}
		}
		res, err = tr.Fit(ctx, d, nil)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: stopped run: %v", c.name, err)
		}
		if err := engine.SaveSnapshot(path, res.Snapshot, d.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		if *writeFixtures && b.Name() == "cpu-tape" {
			if err := copyFile(fixturePath(c.name), path); err != nil {
				t.Fatal(err)
			}
		}
		snap, _, err := engine.LoadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		tr = &engine.Trainer{Config: c.cfg, Backend: b, Resume: snap}
	}
	res, err = tr.Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if err := engine.SaveSnapshot(path, res.Snapshot, d.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	return checkpointDigest(t, path)
}

func goldenPath(name string) string { return filepath.Join("testdata", "golden", name) }

func fixturePath(name string) string {
	return filepath.Join("testdata", "checkpoints", name+".safetensors")
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// goldenLine returns the digest recorded for case name on executor ex.
func goldenLine(t *testing.T, name, ex string) string {
	t.Helper()
	b, err := os.ReadFile(goldenPath("fingerprints.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == name && f[1] == ex {
			return strings.Join(f[2:], " ")
		}
	}
	t.Fatalf("no golden fingerprint for %s on %s", name, ex)
	return ""
}

// fixtureExceptions are the fixtures whose resumed run differs from the
// uninterrupted golden run on the tape, with the reason. The tape's
// sparsity update used to be its own Go loop (q ← 0.9q + 0.1m in float32,
// q starting at the first step's mean and then updated in the same step);
// it now runs the declared update (graph.Updates) with the Go twins of the
// kernels the device runs (axpby in float64, q ← m on the first step), so
// the second half of a resumed run follows the new arithmetic.
var fixtureExceptions = map[string]string{
	"rbm-pcd2-decay-sparsity": "14403e4d9f746d2be9347688979e4a12 epoch=3 rng=9 tensors=W,chains,hbias,hidden_mean,vbias,velocity.W,velocity.hbias,velocity.vbias",
}

// TestCheckpointFixtures loads the checkpoints that the engine of
// 2026-12-02 (main at 0d1100b) wrote 5 mini-batches into each golden case
// on the tape executor (which steps one mini-batch at a time, so the
// position is within an epoch) and resumes them there: the result must be
// bit-identical to that engine's uninterrupted run.
func TestCheckpointFixtures(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			snap, _, err := engine.LoadSnapshot(fixturePath(c.name))
			if err != nil {
				t.Fatal(err)
			}
			if snap.Batch == 0 {
				t.Errorf("fixture position: epoch %d, batch %d, want a position within an epoch", snap.Epoch, snap.Batch)
			}
			d := c.data(t)
			res, err := (&engine.Trainer{Config: c.cfg, Backend: engine.CPU{}, Resume: snap}).Fit(context.Background(), d, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := engine.SaveSnapshot(path, res.Snapshot, d.Fingerprint()); err != nil {
				t.Fatal(err)
			}
			want := goldenLine(t, c.name, "tape")
			if w, ok := fixtureExceptions[c.name]; ok {
				want = w
			}
			if got := checkpointDigest(t, path); got != want {
				t.Errorf("resumed from the fixture: %s, golden %s", got, want)
			}
		})
	}
}

// compareGolden checks got against the golden file (or rewrites it).
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := goldenPath(name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./engine -run Golden -update writes it)", err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < max(len(wl), len(gl)); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// TestGoldenFingerprints trains every case on every executor, and once
// more stopped after 5 mini-batches and resumed from its checkpoint (on the
// host executor and on the tape), and compares the checkpoints' digests
// with the golden file. A resumed run must equal the uninterrupted one.
func TestGoldenFingerprints(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 6 cases on 3 executors (-short)")
	}
	var b strings.Builder
	for _, c := range goldenCases() {
		for _, ex := range goldenExecutors {
			be, done := ex.make()
			full := trainGolden(t, c, be, 0)
			done()
			fmt.Fprintf(&b, "%-24s %-11s %s\n", c.name, ex.name, full)
			if ex.name == "emu" {
				checkBlockedGemmGolden(t, c, full)
				continue
			}
			be, done = ex.make()
			resumed := trainGolden(t, c, be, 5)
			done()
			if resumed != full {
				t.Errorf("%s on %s: resumed run %s, uninterrupted %s", c.name, ex.name, resumed, full)
			}
			fmt.Fprintf(&b, "%-24s %-11s %s\n", c.name, ex.name+"+resume", resumed)
		}
	}
	fmt.Fprintf(&b, "%-24s %-11s %s\n", "dbn-16-8-4", "host", dbnDigest(t))
	compareGolden(t, "fingerprints.txt", b.String())
}

// residentExecutors are DeviceBackends in the CUDA backend's resident
// mode: the data uploaded once, each mini-batch gathered on the device.
var residentExecutors = []struct {
	name string
	make func() (engine.Backend, func())
}{
	{"emu-resident", func() (engine.Backend, func()) {
		drv := emu.NewDriver()
		return &engine.DeviceBackend{Driver: drv, Label: "emu", Resident: true}, func() { drv.Close() }
	}},
	{"host-resident", func() (engine.Backend, func()) {
		b := *engine.Host().(*engine.DeviceBackend)
		b.Resident = true
		return &b, func() {}
	}},
}

// TestResidentMatchesHost trains every golden case on the resident
// executors, uninterrupted and stopped after 5 mini-batches and resumed,
// and requires the digest of the same driver's non-resident executor
// (the emulator's expf is glibc's, so it has digests of its own):
// gathering the mini-batches on the device and replaying each step's
// recording computes the same bits as uploading them.
func TestResidentMatchesHost(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 6 cases on 2 more executors (-short)")
	}
	twin := func(name string) (engine.Backend, func()) {
		for _, ex := range goldenExecutors {
			if ex.name+"-resident" == name {
				return ex.make()
			}
		}
		t.Fatalf("no executor for %s", name)
		return nil, nil
	}
	for _, c := range goldenCases() {
		for _, ex := range residentExecutors {
			tb, tdone := twin(ex.name)
			want := trainGolden(t, c, tb, 0)
			tdone()
			for _, stopAt := range []int{0, 5} {
				be, done := ex.make()
				got := trainGolden(t, c, be, stopAt)
				done()
				if got != want {
					t.Errorf("%s on %s (stopped at %d): %s, not resident %s", c.name, ex.name, stopAt, got, want)
				}
			}
		}
	}
}

// countingDriver forwards to a driver and counts launches per kernel.
type countingDriver struct {
	kernels.Driver
	mu sync.Mutex
	n  map[string]int
}

func (d *countingDriver) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	d.mu.Lock()
	d.n[a.Kernel()]++
	d.mu.Unlock()
	return d.Driver.Launch(grid, block, a)
}

// checkBlockedGemmGolden trains c through the emulator once with each
// register-blocked GEMM kernel forced on every product (the golden
// cases' products are small, so the automatic choice is gemm_f32): the
// checkpoint must be the one of the emulator with gemm_f32, bit for bit —
// which for the RBM and BM cases is also the host executor's (the golden
// file; the Gaussian kernels' expf/logf are the C library's here) — and
// the plan must have launched that kernel and never gemm_f32. (No line
// in the golden file: the digest is the "emu" line's.)
func checkBlockedGemmGolden(t *testing.T, c goldenCase, emuBaseline string) {
	t.Helper()
	for _, mode := range []lower.GemmMode{lower.GemmBig, lower.GemmSmall} {
		drv := emu.NewDriver()
		cnt := &countingDriver{Driver: drv, n: map[string]int{}}
		got := trainGolden(t, c, &engine.DeviceBackend{Driver: cnt, Label: "emu-" + mode.String(), Gemm: mode}, 0)
		drv.Close()
		want := map[lower.GemmMode]string{lower.GemmBig: kernels.GemmF32x128, lower.GemmSmall: kernels.GemmF32x64}[mode]
		if cnt.n[want] == 0 || cnt.n[kernels.GemmF32] != 0 {
			t.Errorf("%s on emu with GEMM %v: launches %v, want %s and no %s", c.name, mode, cnt.n, want, kernels.GemmF32)
		}
		if got != emuBaseline {
			t.Errorf("%s on emu with %s: %s, with %s %s", c.name, want, got, kernels.GemmF32, emuBaseline)
		}
	}
}

// dbnDigest pretrains a 16-8-4 DBN on bars-and-stripes 4×4 and hashes its
// layers' parameters.
func dbnDigest(t *testing.T) string {
	t.Helper()
	cfg := engine.Config{Batch: 10, Epochs: 3, LR: 0.1, Momentum: 0.5, Seed: 8}
	dbn, err := dbn.Pretrain(context.Background(), []int{16, 8, 4}, []engine.Config{cfg}, basData("bas:4x4")(t), engine.Host())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var buf [4]byte
	for _, l := range dbn.Layers {
		for _, x := range [][]float32{l.W, l.VBias, l.HBias} {
			for _, v := range x {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				h.Write(buf[:])
			}
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:16])
}

// recorder is a kernels.Driver that forwards to a host driver and writes
// every allocation and launch, pointers named by first appearance.
type recorder struct {
	kernels.Driver
	mu    sync.Mutex
	names map[kernels.DevicePtr]string
	out   strings.Builder
}

func (r *recorder) name(p kernels.DevicePtr) string {
	if p == 0 {
		return "nil"
	}
	n, ok := r.names[p]
	if !ok {
		n = fmt.Sprintf("p%d", len(r.names))
		r.names[p] = n
	}
	return n
}

func (r *recorder) Alloc(bytes int) (kernels.DevicePtr, error) {
	p, err := r.Driver.Alloc(bytes)
	r.mu.Lock()
	fmt.Fprintf(&r.out, "alloc %d\n", bytes)
	r.mu.Unlock()
	return p, err
}

// Launch records the launch as "kernel grid=x,y,z block=x,y,z name=value
// …", parameters in table order (through Args.Addr), float32 as its bits,
// pointers named by first appearance.
func (r *recorder) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	r.mu.Lock()
	k, _ := kernels.LookupArgs(a)
	fmt.Fprintf(&r.out, "%s grid=%d,%d,%d block=%d,%d,%d", a.Kernel(), grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z)
	for i, p := range k.Args {
		addr := a.Addr(i)
		switch p.Type {
		case kernels.PtrFloat32, kernels.PtrUint32:
			fmt.Fprintf(&r.out, " %s=%s", p.Name, r.name(*(*kernels.DevicePtr)(addr)))
		case kernels.Float32:
			fmt.Fprintf(&r.out, " %s=%08x", p.Name, math.Float32bits(*(*float32)(addr)))
		case kernels.Int32:
			fmt.Fprintf(&r.out, " %s=%d", p.Name, *(*int32)(addr))
		case kernels.Uint32:
			fmt.Fprintf(&r.out, " %s=%d", p.Name, *(*uint32)(addr))
		case kernels.Uint64:
			fmt.Fprintf(&r.out, " %s=%d", p.Name, *(*uint64)(addr))
		}
	}
	r.out.WriteByte('\n')
	r.mu.Unlock()
	return r.Driver.Launch(grid, block, a)
}

// TestGoldenPlans records one epoch of every case on the lowered executor
// (host kernels) and compares the launch list with its golden file.
func TestGoldenPlans(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			drv := host.NewDriver()
			defer drv.Close()
			rec := &recorder{Driver: drv, names: map[kernels.DevicePtr]string{}}
			cfg := c.cfg
			cfg.Epochs = 1
			tr := &engine.Trainer{Config: cfg, Backend: &engine.DeviceBackend{Driver: rec, Label: "rec"}}
			if _, err := tr.Fit(context.Background(), c.data(t), nil); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, c.name+".plan", rec.out.String())
		})
	}
}
