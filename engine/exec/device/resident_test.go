package device_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/engine/exec/device"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// recorder wraps a driver as a kernels.Recorder that counts recordings,
// replays and launches, and replays by launching each recorded launch.
type recorder struct {
	kernels.Driver
	mu                         sync.Mutex
	records, replays, launches int
	memsets                    int
}

func (r *recorder) Launch(grid, block kernels.Dim3, a kernels.Args) error {
	r.mu.Lock()
	r.launches++
	r.mu.Unlock()
	return r.Driver.Launch(grid, block, a)
}

func (r *recorder) MemsetD32(dst kernels.DevicePtr, v uint32, n int) error {
	r.memsets++
	return r.Driver.(kernels.Memsetter).MemsetD32(dst, v, n)
}

func (r *recorder) Record(ls []kernels.LaunchSpec) (kernels.Recording, error) {
	r.records++
	return &replayer{r: r, ls: append([]kernels.LaunchSpec(nil), ls...)}, nil
}

type replayer struct {
	r  *recorder
	ls []kernels.LaunchSpec
}

func (p *replayer) Replay() error {
	p.r.replays++
	for _, l := range p.ls {
		if err := p.r.Driver.Launch(l.Grid, l.Block, l.Args); err != nil {
			return err
		}
	}
	return nil
}

func (p *replayer) Close() error { return nil }

const (
	testV, testH, testB = 12, 5, 4
	testRows            = 10
)

func compile(t *testing.T, b *device.Backend) exec.Program {
	t.Helper()
	s, err := graph.BuildCDStep(graph.StepConfig{Visible: testV, Hidden: testH, Batch: testB, K: 1},
		&graph.RNG{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	w := make([]float32, testV*testH)
	for i := range w {
		w[i] = float32(i%7)*0.05 - 0.15
	}
	if err := p.Set(graph.NameW, w); err != nil {
		t.Fatal(err)
	}
	return p
}

// testData is testRows binary rows of testV values.
func testData() []float32 {
	x := make([]float32, testRows*testV)
	for i := range x {
		if (i*7+i/testV)%3 == 0 {
			x[i] = 1
		}
	}
	return x
}

var testOrder = []int32{3, 9, 0, 7, 1, 4, 8, 2, 6, 5}

// TestResidentMatchesStep runs the same mini-batches through Step (the
// rows copied on the host) and through a resident program (the rows
// gathered on the device), on the host kernels and the emulator, and
// requires the same parameters bit for bit; the resident program records
// its step once per tail (hyper-parameters) and replays it every step.
func TestResidentMatchesStep(t *testing.T) {
	drivers := map[string]func() kernels.Driver{
		"host": func() kernels.Driver { return host.NewDriver() },
		"emu":  func() kernels.Driver { return emu.NewDriver() },
	}
	for name, mk := range drivers {
		t.Run(name, func(t *testing.T) {
			h := graph.Hyper{LR: 0.1, Momentum: 0.5}
			x := testData()

			plain := compile(t, &device.Backend{Label: name, New: mk})
			batches := make([]float32, 0, len(testOrder)*testV)
			for _, r := range testOrder[:8] {
				batches = append(batches, x[int(r)*testV:(int(r)+1)*testV]...)
			}
			if err := plain.Step(batches, 2, h); err != nil {
				t.Fatal(err)
			}
			h2 := graph.Hyper{LR: 0.05, Momentum: 0.5}
			if err := plain.Step(batches[:testB*testV], 1, h2); err != nil {
				t.Fatal(err)
			}

			rec := &recorder{Driver: mk()}
			defer rec.Close()
			rp := compile(t, &device.Backend{Label: name, Driver: rec, Resident: true})
			res, ok := rp.(exec.Resident)
			if !ok {
				t.Fatal("a Resident backend's program is not exec.Resident")
			}
			if rec.memsets == 0 {
				t.Error("the program's memory was not cleared with MemsetD32")
			}
			if err := res.SetData(x, testRows); err != nil {
				t.Fatal(err)
			}
			if err := res.SetOrder(testOrder); err != nil {
				t.Fatal(err)
			}
			if err := res.StepOrdered(0, 2, h); err != nil {
				t.Fatal(err)
			}
			if err := res.StepOrdered(0, 1, h2); err != nil {
				t.Fatal(err)
			}
			if rec.records != 2 || rec.replays != 3 || rec.launches != 0 {
				t.Errorf("records %d, replays %d, single launches %d; want 2, 3, 0", rec.records, rec.replays, rec.launches)
			}
			if rp.RNGStep() != plain.RNGStep() {
				t.Errorf("RNG step %d, Step's %d", rp.RNGStep(), plain.RNGStep())
			}
			for _, tn := range rp.Tensors() {
				a, b := make([]float32, tn.Len), make([]float32, tn.Len)
				okA, err := plain.Get(tn.Name, a)
				if err != nil {
					t.Fatal(err)
				}
				okB, err := rp.Get(tn.Name, b)
				if err != nil {
					t.Fatal(err)
				}
				if okA != okB {
					t.Fatalf("%s present %v, Step's %v", tn.Name, okB, okA)
				}
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("%s[%d] = %v resident, %v by Step", tn.Name, i, b[i], a[i])
					}
				}
			}
			ra, err := plain.Recon()
			if err != nil {
				t.Fatal(err)
			}
			rb, err := rp.Recon()
			if err != nil {
				t.Fatal(err)
			}
			if ra != rb {
				t.Errorf("recon %v resident, %v by Step", rb, ra)
			}
		})
	}
}

// TestResidentErrors: bad rows, orders and ranges are errors naming what
// is wrong, and nothing runs.
func TestResidentErrors(t *testing.T) {
	h := graph.Hyper{LR: 0.1}
	p := compile(t, &device.Backend{Label: "cpu", New: func() kernels.Driver { return host.NewDriver() }, Resident: true})
	res := p.(exec.Resident)
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", what, err, want)
		}
	}
	check("StepOrdered first", res.StepOrdered(0, 1, h), "before SetData")
	check("SetOrder first", res.SetOrder(testOrder), "before SetData")
	check("short rows", res.SetData(testData()[:5], testRows), "5 values for 10 rows of 12")
	if err := res.SetData(testData(), testRows); err != nil {
		t.Fatal(err)
	}
	check("index past the rows", res.SetOrder([]int32{0, 1, 10}), "order[2] = 10 is not a row")
	check("negative index", res.SetOrder([]int32{-1}), "order[0] = -1")
	if err := res.SetOrder(testOrder); err != nil {
		t.Fatal(err)
	}
	check("past the order", res.StepOrdered(1, 2, h), "mini-batches 1…2 of an order of 2")
	check("no batches", res.StepOrdered(0, 0, h), "mini-batches 0…-1")
	check("negative first", res.StepOrdered(-1, 1, h), "mini-batches -1…-1")
	if p.RNGStep() != 0 {
		t.Errorf("RNG step %d after refused calls, want 0", p.RNGStep())
	}
	// A longer order reallocates; a shorter one reuses the buffer.
	long := append(append([]int32(nil), testOrder...), testOrder...)
	if err := res.SetOrder(long); err != nil {
		t.Fatal(err)
	}
	if err := res.StepOrdered(4, 1, h); err != nil {
		t.Fatal(err)
	}
	if err := res.SetOrder(testOrder[:4]); err != nil {
		t.Fatal(err)
	}
	check("past the shorter order", res.StepOrdered(1, 1, h), "of an order of 1")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	check("after Close", res.SetData(testData(), testRows), "closed")
}
