package kernels_test

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// plainDriver hides every optional interface of the driver it wraps.
type plainDriver struct{ kernels.Driver }

// drivers are the drivers the tests of this file run on, each also without
// its optional interfaces (the fallbacks of ZeroD32 and Record).
func drivers() map[string]func() kernels.Driver {
	return map[string]func() kernels.Driver{
		"host":       func() kernels.Driver { return host.NewDriver() },
		"emu":        func() kernels.Driver { return emu.NewDriver() },
		"host-plain": func() kernels.Driver { return plainDriver{host.NewDriver()} },
		"emu-plain":  func() kernels.Driver { return plainDriver{emu.NewDriver()} },
	}
}

func upload(t *testing.T, d kernels.Driver, x []float32) kernels.DevicePtr {
	t.Helper()
	p, err := d.Alloc(4 * len(x))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CopyHtoD(p, kernels.Float32Bytes(x)); err != nil {
		t.Fatal(err)
	}
	return p
}

func download(t *testing.T, d kernels.Driver, p kernels.DevicePtr, n int) []float32 {
	t.Helper()
	x := make([]float32, n)
	if err := d.CopyDtoH(kernels.Float32Bytes(x), p); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestZeroD32 fills part of a buffer with a 32-bit pattern, with the
// driver's MemsetD32 and with the copying fallback, leaving the rest.
func TestZeroD32(t *testing.T) {
	for name, mk := range drivers() {
		t.Run(name, func(t *testing.T) {
			d := mk()
			defer d.Close()
			const n = 300_000 // more than one piece of the fallback
			p := upload(t, d, make([]float32, n+2))
			if err := kernels.ZeroD32(d, p+4, 0x3f800000, n); err != nil {
				t.Fatal(err)
			}
			x := download(t, d, p, n+2)
			if x[0] != 0 || x[n+1] != 0 {
				t.Errorf("outside the range: %v, %v", x[0], x[n+1])
			}
			for i := 1; i <= n; i++ {
				if x[i] != 1 {
					t.Fatalf("x[%d] = %v, want 1", i, x[i])
				}
			}
			if err := kernels.ZeroD32(d, p, 0, -1); err == nil {
				t.Error("a negative count is not an error")
			}
			if err := kernels.ZeroD32(d, p, 0, n+3); err == nil {
				t.Error("a range past the allocation is not an error")
			}
		})
	}
}

// TestGatherRows: gather_rows_f32 copies the rows an order names, on every
// driver, and an index past the source is an error on the host kernels
// (the emulator would read outside the allocation, as a GPU does).
func TestGatherRows(t *testing.T) {
	const rows, cols, srcRows = 5, 7, 9
	src := make([]float32, srcRows*cols)
	for i := range src {
		src[i] = float32(i) + 0.5
	}
	idx := []uint32{8, 0, 3, 3, 6}
	for name, mk := range drivers() {
		t.Run(name, func(t *testing.T) {
			d := mk()
			defer d.Close()
			pSrc, pDst := upload(t, d, src), upload(t, d, make([]float32, rows*cols))
			pIdx, err := d.Alloc(4 * len(idx))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.CopyHtoD(pIdx, kernels.Uint32Bytes(idx)); err != nil {
				t.Fatal(err)
			}
			k, _ := kernels.Lookup(kernels.GatherRowsF32)
			a := &kernels.GatherRowsF32Args{Rows: rows, Cols: cols, Src: pSrc, Idx: pIdx, Dst: pDst}
			if err := d.Launch(kernels.ElementwiseGrid(rows*cols), k.Block, a); err != nil {
				t.Fatal(err)
			}
			got := download(t, d, pDst, rows*cols)
			for r, i := range idx {
				for c := 0; c < cols; c++ {
					if want := src[int(i)*cols+c]; got[r*cols+c] != want {
						t.Fatalf("dst[%d,%d] = %v, want src[%d,%d] = %v", r, c, got[r*cols+c], i, c, want)
					}
				}
			}
			if strings.HasPrefix(name, "host") {
				bad := []uint32{1, srcRows}
				if err := d.CopyHtoD(pIdx, kernels.Uint32Bytes(bad)); err != nil {
					t.Fatal(err)
				}
				a.Rows = 2
				err := d.Launch(kernels.ElementwiseGrid(2*cols), k.Block, a)
				if err == nil || !strings.Contains(err.Error(), "row 1 of the order is 9") {
					t.Errorf("index past the source: error %v", err)
				}
			}
		})
	}
}

// TestRecord records two launches, changes their arguments and replays:
// each replay runs the launches in order with the values the Args hold
// then, on a Recorder and on the fallback alike; a bad launch is refused
// when recorded, and a closed recording does not replay.
func TestRecord(t *testing.T) {
	for name, mk := range drivers() {
		t.Run(name, func(t *testing.T) {
			d := mk()
			defer d.Close()
			const n = 64
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i)
			}
			pA, pB := upload(t, d, src), upload(t, d, make([]float32, n))
			pIdx, err := d.Alloc(4 * n)
			if err != nil {
				t.Fatal(err)
			}
			order := make([]uint32, n)
			for i := range order {
				order[i] = uint32(n - 1 - i)
			}
			if err := d.CopyHtoD(pIdx, kernels.Uint32Bytes(order)); err != nil {
				t.Fatal(err)
			}
			k, _ := kernels.Lookup(kernels.GatherRowsF32)
			// B = reverse(A) on the first rows, then A[0:m] = B[0:m].
			g1 := &kernels.GatherRowsF32Args{Rows: 4, Cols: 1, Src: pA, Idx: pIdx, Dst: pB}
			g2 := &kernels.GatherRowsF32Args{Rows: 4, Cols: 1, Src: pB, Idx: pIdx + 4*(n-4), Dst: pA}
			grid := kernels.ElementwiseGrid(4)
			rec, err := kernels.Record(d, []kernels.LaunchSpec{{Grid: grid, Block: k.Block, Args: g1}, {Grid: grid, Block: k.Block, Args: g2}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rec.Replay(); err != nil {
				t.Fatal(err)
			}
			// g2's order entries n-4..n-1 are 3, 2, 1, 0: A[0..3] = B[3], B[2], B[1], B[0] = A[60], A[61], A[62], A[63].
			if got := download(t, d, pA, 4); got[0] != 60 || got[3] != 63 {
				t.Fatalf("after the first replay A[0:4] = %v, want [60 61 62 63]", got)
			}
			g1.Rows, g2.Rows = 8, 8 // the current values count
			g2.Idx = pIdx + 4*(n-8)
			if err := rec.Replay(); err != nil {
				t.Fatal(err)
			}
			// B[0..7] = A[63..56] (A[0..3] now 60..63 but not read), then A[0..7] = B[7..0] = A[56..63].
			if got := download(t, d, pA, 8); got[0] != 56 || got[7] != 63 {
				t.Fatalf("after the second replay A[0:8] = %v, want [56 … 63]", got)
			}
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			if err := rec.Replay(); err == nil {
				t.Error("a closed recording replayed")
			}
			if _, err := kernels.Record(d, []kernels.LaunchSpec{{Grid: grid, Block: kernels.Dim3{X: 7, Y: 1, Z: 1}, Args: g1}}); err == nil {
				t.Error("a launch with the wrong block was recorded")
			}
			if _, err := kernels.Record(d, []kernels.LaunchSpec{{Grid: grid, Block: k.Block}}); err == nil {
				t.Error("a launch without arguments was recorded")
			}
		})
	}
}
