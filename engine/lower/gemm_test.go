package lower

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// The automatic choice on the products of a CD-1 step (h = v W, v = h Wᵀ:
// M = batch; dW = vᵀ h: M = visible, N = hidden), on small ones and at
// the model's crossovers.
func TestGemmKernelFor(t *testing.T) {
	const (
		base  = kernels.GemmF32
		small = kernels.GemmF32x64
		big   = kernels.GemmF32x128
	)
	for _, c := range []struct {
		M, N int
		want string
	}{
		{1, 1, base},
		{10, 8, base},
		{128, 500, base},   // B=128: 16 tiles of 64
		{128, 784, base},   // 26 tiles of 64
		{784, 500, small},  // 104 tiles of 64
		{1024, 500, small}, // 128 tiles of 64
		{1024, 784, small},
		{4096, 500, small},  // 128 tiles of 128: one per SM
		{4096, 784, big},    // 224 tiles of 128
		{128, 4096, small},  // 128 tiles of 64
		{4096, 4096, big},   // 1024 tiles of 128
		{480, 480, base},    // 64 tiles of 64, gemm_f32 still on 7 blocks per SM
		{496, 496, small},   // the crossovers on square outputs
		{1600, 1600, small}, // 169 tiles of 128, but 625 of 64
		{1616, 1616, big},
		{448, 500, base}, // and on 500 columns
		{464, 500, small},
		{5248, 500, small},
		{5264, 500, big},
	} {
		if got := GemmKernelFor(c.M, c.N); got != c.want {
			t.Errorf("GemmKernelFor(%d, %d) = %s, want %s", c.M, c.N, got, c.want)
		}
	}
}

func TestParseGemmMode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want GemmMode
	}{{"", GemmAuto}, {"auto", GemmAuto}, {"baseline", GemmBaseline}, {"128x128", GemmBig}, {"64x64", GemmSmall}} {
		got, err := ParseGemmMode(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseGemmMode(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if c.in != "" && got.String() != c.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), c.in)
		}
	}
	for _, bad := range []string{"Baseline", "128", "blocked", " auto"} {
		if _, err := ParseGemmMode(bad); err == nil || !strings.Contains(err.Error(), EnvGemm) {
			t.Errorf("ParseGemmMode(%q): %v, want an error naming %s", bad, err, EnvGemm)
		}
	}
	if _, err := LowerWith(nil, Options{Gemm: GemmMode(99)}); err == nil {
		t.Error("LowerWith accepted an unknown GemmMode")
	}
}

// Every mode lowers the CD-1 step to the same launches but for the GEMM
// kernel, whose grid covers its output with the kernel's tile and whose
// block is the table's.
func TestLowerGemmModes(t *testing.T) {
	cfg := graph.StepConfig{Visible: 784, Hidden: 500, Batch: 128, K: 1}
	want := map[GemmMode]func(M, N int) string{
		GemmAuto:     GemmKernelFor,
		GemmBaseline: func(int, int) string { return kernels.GemmF32 },
		GemmBig:      func(int, int) string { return kernels.GemmF32x128 },
		GemmSmall:    func(int, int) string { return kernels.GemmF32x64 },
	}
	var notes []string
	for mode, kernelFor := range want {
		s, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		p, err := LowerWith(s, Options{Gemm: mode})
		if err != nil {
			t.Fatal(err)
		}
		var these []string
		gemms := 0
		for _, l := range p.Launches {
			these = append(these, l.Note)
			a, ok := kernels.GemmArgsOf(l.Args)
			if !ok {
				continue
			}
			gemms++
			M, N := int(a.M), int(a.N)
			if k := kernelFor(M, N); l.Kernel != k {
				t.Errorf("%v: %s (%dx%d) launches %s, want %s", mode, l.Note, M, N, l.Kernel, k)
			}
			grid, err := kernels.GemmGridOf(l.Kernel, M, N)
			if err != nil || l.Grid != grid {
				t.Errorf("%v: %s: grid %v, want %v (%v)", mode, l.Note, l.Grid, grid, err)
			}
			if k, _ := kernels.Lookup(l.Kernel); l.Block != k.Block {
				t.Errorf("%v: %s: block %v, want %v", mode, l.Note, l.Block, k.Block)
			}
			if err := l.Validate(); err != nil {
				t.Errorf("%v: %s: %v", mode, l.Note, err)
			}
		}
		if gemms != 5 {
			t.Errorf("%v: %d GEMM launches, want 5", mode, gemms)
		}
		if notes == nil {
			notes = these
		} else if strings.Join(these, "\n") != strings.Join(notes, "\n") {
			t.Errorf("%v: launches differ from another mode's:\n%s\nvs\n%s", mode, strings.Join(these, "\n"), strings.Join(notes, "\n"))
		}
	}
}

// A size past 2³¹−1 in any launch's int parameter is an error that names
// the kernel and the parameter, never a wrapped value.
func TestSizesMustFitInt32(t *testing.T) {
	const big = 1 << 31
	buf := func(r, c int) bufVal { return bufVal{b: &Buffer{Name: "x", Rows: r, Cols: c}} }
	newL := func() *lowerer {
		return &lowerer{plan: &Plan{}, rng: &graph.RNG{Seed: 1}, gemm: GemmAuto}
	}
	for _, c := range []struct {
		name string
		run  func() error
		want string
	}{
		{"gemm M", func() error {
			return newL().gemmLaunch(term{kind: gemmTerm, alpha: 1, a: buf(big, 2), b: buf(2, 3)}, 0, &Buffer{}, 0, nil, nil, nil, 0, "")
		}, "M = 2147483648"},
		{"gemm N", func() error {
			return newL().gemmLaunch(term{kind: gemmTerm, alpha: 1, a: buf(3, 2), b: buf(2, big)}, 0, &Buffer{}, 0, nil, nil, nil, 0, "")
		}, "N = 2147483648"},
		{"gemm K", func() error {
			return newL().gemmLaunch(term{kind: gemmTerm, alpha: 1, a: buf(1, big), b: buf(big, 1)}, 0, &Buffer{}, 0, nil, nil, nil, 0, "")
		}, "K = 2147483648"},
		{"gemm K transposed", func() error {
			a, b := buf(big+5, 1), buf(1, big+5)
			a.trans, b.trans = true, true
			return newL().gemmLaunch(term{kind: gemmTerm, alpha: 1, a: a, b: b}, 0, &Buffer{}, 0, nil, nil, nil, 0, "")
		}, "K = 2147483653"},
		{"col sum", func() error {
			_, err := newL().materialiseLin(nil, lin{terms: []term{{kind: colSumTerm, alpha: 1, a: buf(big, 1)}}, rows: 1, cols: 1})
			return err
		}, "col_sum_f32: M = 2147483648"},
		{"sq diff", func() error {
			_, err := newL().materialiseLin(nil, lin{terms: []term{{kind: sqDiffTerm, alpha: 1, a: buf(1<<16, 1<<16), b: buf(1<<16, 1<<16)}}, rows: 1, cols: 1})
			return err
		}, "sq_diff_partial_f32: n = 4294967296"},
		{"sgd update", func() error {
			_, err := UpdateLaunches([]graph.UpdateOp{{Kind: graph.SGD, Out: "W", Vel: "v", Grad: "g", Note: "W"}},
				func(string) *Buffer { return &Buffer{Rows: 1 << 20, Cols: 1 << 12} })
			return err
		}, "sgd_update_f32: n = 4294967296"},
		{"axpby", func() error {
			_, err := UpdateLaunches([]graph.UpdateOp{{Kind: graph.Axpby, Out: "m", X: "x", Note: "m"}},
				func(string) *Buffer { return &Buffer{Rows: 1, Cols: big} })
			return err
		}, "col_sum_f32: N = 2147483648"},
		{"clamp", func() error {
			_, err := UpdateLaunches([]graph.UpdateOp{{Kind: graph.ClampMin, Out: "z", Note: "z"}},
				func(string) *Buffer { return &Buffer{Rows: 3, Cols: big} })
			return err
		}, "clamp_min_f32: n = 6442450944"},
	} {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "does not fit") {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := fitInt32("scale_exp_neg", [][2]int{{10, 5}, {1 << 16, 1 << 15}}); err == nil ||
		!strings.Contains(err.Error(), "elements of operand 1 = 2147483648 does not fit") {
		t.Errorf("fitInt32: %v", err)
	}
	if err := fitInt32("op", [][2]int{{1<<31 - 1, 1}, {1, 1<<31 - 1}}); err != nil {
		t.Errorf("fitInt32 at the limit: %v", err)
	}
	// At the limit the launch is built.
	if err := newL().gemmLaunch(term{kind: gemmTerm, alpha: 1, a: buf(1, 1<<31-1), b: buf(1<<31-1, 1)}, 0, &Buffer{}, 0, nil, nil, nil, 0, ""); err != nil {
		t.Errorf("K = 2³¹−1: %v", err)
	}
}
