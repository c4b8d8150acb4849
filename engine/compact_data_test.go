package engine_test

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
)

// writePixels writes n images of rows×cols pseudo-random pixels, about half
// of them 0 as in MNIST, as an IDX file and returns its path.
func writePixels(t *testing.T, n, rows, cols int) string {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, 0x00000803)
	for _, d := range []int{n, rows, cols} {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	for i := range n * rows * cols {
		h := uint32(i) * 2654435761
		if v := byte(h >> 24); h>>8&1 == 1 {
			b = append(b, v)
		} else {
			b = append(b, 0)
		}
	}
	path := filepath.Join(t.TempDir(), "px-idx3-ubyte")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompactDataTrainsBitIdentically trains on data held compactly (uint8
// codes, bits, the views of a split) and on float32 copies of the same
// values, host-fed and resident, and requires the same parameter bits and
// the same metrics: the compact path changes where the values live, not
// what the trainer computes.
func TestCompactDataTrainsBitIdentically(t *testing.T) {
	path := writePixels(t, 250, 6, 6)
	tests := []struct {
		name  string
		model string
		prep  func(*data.Dataset) error
		// gather is the kernel a resident program gathers the compact
		// rows with: the kind's rows stay compact on the device unless it
		// prepares them (the Gaussian RBM standardises).
		gather string
	}{
		{"scaled", "rbm", func(d *data.Dataset) error { d.ScaleTo01(); return nil }, kernels.GatherRowsU8},
		{"threshold", "rbm", func(d *data.Dataset) error { d.ScaleTo01(); d.Binarize(0.5); return nil }, kernels.GatherRowsBits},
		{"stochastic", "rbm", func(d *data.Dataset) error { d.ScaleTo01(); return d.BinarizeStochastic(9) }, kernels.GatherRowsBits},
		{"grbm raw pixels", "grbm", func(*data.Dataset) error { return nil }, kernels.GatherRowsF32},
	}
	resident := *engine.Host().(*engine.DeviceBackend)
	resident.Resident = true
	emuDrv := emu.NewDriver()
	defer emuDrv.Close()
	counted := &countingDriver{Driver: emuDrv, n: map[string]int{}}
	backends := []struct {
		name string
		b    engine.Backend
	}{{"host", engine.Host()}, {"host-resident", &resident},
		{"emu-resident", &engine.DeviceBackend{Driver: counted, Label: "emu", Resident: true}}}
	for _, tc := range tests {
		d, err := data.Load(path, data.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.prep(d); err != nil {
			t.Fatal(err)
		}
		train, val, err := d.Split(0.2, 1)
		if err != nil {
			t.Fatal(err)
		}
		copyOf := func(p *data.Dataset) *data.Dataset {
			return &data.Dataset{Name: p.Name, N: p.N, D: p.D, X: append([]float32(nil), p.Values()...)}
		}
		ftrain, fval := copyOf(train), copyOf(val)
		for _, be := range backends {
			t.Run(tc.name+"/"+be.name, func(t *testing.T) {
				cfg := engine.Config{Model: tc.model, Hidden: 12, K: 1, Epochs: 2, Batch: 20, LR: 0.02, Momentum: 0.5, Seed: 1}
				counted.n = map[string]int{}
				got, err := (&engine.Trainer{Config: cfg, Backend: be.b}).Fit(context.Background(), train, val)
				if err != nil {
					t.Fatal(err)
				}
				if be.name == "emu-resident" && counted.n[tc.gather] != 2*(train.N/cfg.Batch) {
					t.Errorf("the compact run launched %v, want %d of %s", counted.n, 2*(train.N/cfg.Batch), tc.gather)
				}
				want, err := (&engine.Trainer{Config: cfg, Backend: be.b}).Fit(context.Background(), ftrain, fval)
				if err != nil {
					t.Fatal(err)
				}
				for name, w := range want.Snapshot.Tensors {
					g := got.Snapshot.Tensors[name]
					if len(g) != len(w) {
						t.Fatalf("%s: %d values, want %d", name, len(g), len(w))
					}
					for i := range w {
						if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
							t.Fatalf("%s[%d] = %v, float32 data gave %v", name, i, g[i], w[i])
						}
					}
				}
				for e, m := range want.Metrics {
					gm := got.Metrics[e]
					if gm.ReconError != m.ReconError || math.Float64bits(gm.FreeEnergyGap) != math.Float64bits(m.FreeEnergyGap) ||
						math.Float64bits(gm.LogLikelihood) != math.Float64bits(m.LogLikelihood) {
						t.Errorf("epoch %d metrics %+v, float32 data gave %+v", e+1, gm, m)
					}
				}
			})
		}
	}
}
