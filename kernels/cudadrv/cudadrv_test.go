//go:build cgo

package cudadrv

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/kernels/emu"
	"github.com/rbmgpu/rbmgpu/kernels/host"
)

// Four layers of tests:
//
//   - TestNoDriver: where libcuda.so.1 is missing or cuInit fails, New,
//     Devices and DriverVersion return one-line errors wrapping ErrNoDriver
//     (no crash, no exit). Skipped where a working driver is present.
//   - TestFakeDriver: the whole package against testdata/fakecuda.c, a host
//     stand-in for libcuda.so.1 built with cc and loaded in child test
//     processes through LD_LIBRARY_PATH: symbol loading, the primary
//     context's reference count and leak check, context push/pop balance on
//     every thread, concurrency, parameter marshalling (as the driver reads
//     it, by PTX parameter size), memsets, graphs recorded and replayed with
//     changed arguments (TestFakeDriverChild), and, on a stream that takes
//     30 ms per operation, copies that return without waiting for earlier
//     launches yet never refill a staging buffer in flight
//     (TestFakeDriverAsync); out-of-memory and JIT-log errors, Close. Runs
//     everywhere cc does.
//   - TestGPUCasesOnEmulator, TestHostMatchesEmulator, TestWithinULPs: the
//     launches of the GPU comparisons on the emulator and the host kernels,
//     checking the harness, the Go twins, the tolerances and that the host
//     kernels can stand in for the emulator as the GPU's reference.
//   - TestGPU*: on a real GPU, every kernel through the CUDA driver against
//     the emulator (TestGPUMatchesEmulator) and against the host kernels
//     (TestGPUMatchesHost: what the GPU kit runs, the emulator being slow
//     there), a CUDA graph, MemsetD32 and two Drivers, out-of-memory and
//     JIT errors, concurrent copies. Skipped where no driver loads.

const childEnv = "CUDADRV_FAKE_CHILD" // set in the child processes of TestFakeDriver

func TestNoDriver(t *testing.T) {
	_, err := Devices()
	if err == nil {
		t.Skip("a CUDA driver is present")
	}
	if !errors.Is(err, ErrNoDriver) {
		t.Fatalf("Devices: %v: does not wrap ErrNoDriver", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "CUDA driver not available: ") || strings.Contains(msg, "\n") {
		t.Errorf("Devices: %q: want one line starting with %q", msg, "CUDA driver not available: ")
	}
	want := "libcuda.so.1"
	if os.Getenv("FAKECUDA_NODEVICE") == "1" {
		want = "cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"
	}
	if !strings.Contains(msg, want) {
		t.Errorf("Devices: %q: want it to mention %q", msg, want)
	}
	t.Log(msg)
	// The failure is remembered: every entry point returns it again.
	d, err2 := New(0)
	if d != nil || err2 == nil || err2.Error() != msg || !errors.Is(err2, ErrNoDriver) {
		t.Errorf("New(0) = %v, %v; want nil, %q", d, err2, msg)
	}
	if v, err2 := DriverVersion(); err2 == nil || err2.Error() != msg {
		t.Errorf("DriverVersion() = %d, %v; want %q", v, err2, msg)
	}
}

// TestFakeDriver builds testdata/fakecuda.c as libcuda.so.1 and runs
// TestFakeDriverChild, and TestNoDriver with cuInit failing, in child
// processes that load it.
func TestFakeDriver(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child process")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build the fake libcuda.so.1")
	}
	dir := t.TempDir()
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", filepath.Join(dir, "libcuda.so.1"),
		"testdata/fakecuda.c", "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("building fake libcuda.so.1: %v\n%s", err, out)
	}
	for _, c := range []struct {
		test  string
		extra []string
	}{
		{"TestFakeDriverChild", nil},
		{"TestFakeDriverAsync", []string{"FAKECUDA_DELAY_US=30000", "FAKECUDA_COMPUTE_MODE=3"}},
		{"TestNoDriver", []string{"FAKECUDA_NODEVICE=1"}},
	} {
		t.Run(c.test, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^"+c.test+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"=1",
				"LD_LIBRARY_PATH="+dir+string(os.PathListSeparator)+os.Getenv("LD_LIBRARY_PATH"),
				"FAKECUDA_LOG="+filepath.Join(dir, "launches.log"))
			cmd.Env = append(cmd.Env, c.extra...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: "+c.test) {
				t.Fatalf("child %s: %v\n%s", c.test, err, out)
			}
			if testing.Verbose() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

// TestFakeDriverChild runs only as a child of TestFakeDriver.
func TestFakeDriverChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestFakeDriver")
	}
	logPath := os.Getenv("FAKECUDA_LOG")
	if v, err := DriverVersion(); err != nil || v != 12040 {
		t.Fatalf("DriverVersion() = %d, %v", v, err)
	}
	devs, err := Devices()
	want := []Device{{Ordinal: 0, Name: "Fake CUDA Device", Memory: 1 << 30, Major: 9, Minor: 0, ComputeMode: ComputeDefault}}
	if err != nil || len(devs) != 1 || devs[0] != want[0] {
		t.Fatalf("Devices() = %+v, %v; want %+v", devs, err, want)
	}
	for _, o := range []int{-1, 1} {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no device %d", o)) {
			t.Errorf("New(%d): %v", o, err)
		}
	}
	d, err := New(0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Device() != want[0] {
		t.Errorf("Device() = %+v", d.Device())
	}

	t.Run("copies", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := range 16 {
			wg.Go(func() {
				errs <- roundTrip(d, 1000+g)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("oom", func(t *testing.T) {
		p, err := d.Alloc(1 << 29)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free(p)
		_, err = d.Alloc(3 << 30)
		if err == nil || !strings.Contains(err.Error(), "Alloc(3221225472 bytes) on device 0: out of device memory (0.50 GiB free of 1.00 GiB)") {
			t.Errorf("Alloc(3 GiB): %v", err)
		}
		if _, err := d.Alloc(-1); err == nil {
			t.Error("Alloc(-1): no error")
		}
	})

	t.Run("jit log", func(t *testing.T) {
		_, err := d.ctx.loadModule([]byte(".version 7.8\nBROKEN\n"))
		want := "cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX (a PTX JIT compilation failed): JIT log: " +
			"ptxas application ptx input, line 2; error   : syntax error; ptxas fatal   : Ptx assembly aborted"
		if err == nil || err.Error() != want {
			t.Errorf("loadModule(broken): %v\nwant %s", err, want)
		}
	})

	t.Run("launch", func(t *testing.T) {
		os.Remove(logPath)
		// Every scalar type, a negative int, a NULL pointer, and the
		// largest values, as cuLaunchKernel reads them.
		args := &kernels.GemmF32Args{M: int32(-3), N: int32(5), K: int32(7), Alpha: float32(1.5), A: kernels.DevicePtr(0x1122334455667788), B: kernels.DevicePtr(8), Beta: float32(-2), C: kernels.DevicePtr(16), TransA: int32(0), TransB: int32(1), Flags: int32(kernels.GemmBias), P: kernels.DevicePtr(24), S: kernels.DevicePtr(32), Seed: uint64(math.MaxUint64), Op: uint32(0xcafebabe), Step: uint64(1 << 40)}
		if err := d.Launch(kernels.Dim3{X: 3, Y: 2, Z: 1}, kernels.Dim3{X: 16, Y: 16, Z: 1}, args); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		want := "gemm_f32 3 2 1 16 16 1 0 1 fffffffd 00000005 00000007 3fc00000 1122334455667788 0000000000000008 " +
			"c0000000 0000000000000010 00000000 00000001 00000001 0000000000000000 0000000000000018 0000000000000020 " +
			"ffffffffffffffff cafebabe 0000010000000000"
		if lines := readLines(t, logPath); len(lines) != 1 || lines[0] != want {
			t.Errorf("launch recorded as\n%q\nwant\n%q", lines, want)
		}
		// Parameter counts and types are checked by the compiler.
		sum := &kernels.SumF32Args{N: 1, X: 8, Alpha: 1, Out: 8}
		bad := []struct {
			name        string
			grid, block kernels.Dim3
			args        kernels.Args
			want        string
		}{
			{"no arguments", d1(1), d1(1), nil, "without arguments"},
			{"block", d1(1), d1(128), sum, "block"},
			{"grid", kernels.Dim3{X: 1, Y: 0, Z: 1}, d1(256), sum, "invalid grid"},
		}
		for _, b := range bad {
			if err := d.Launch(b.grid, b.block, b.args); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("%s: %v, want an error mentioning %q", b.name, err, b.want)
			}
		}
		if lines := readLines(t, logPath); len(lines) != 1 {
			t.Errorf("rejected launches reached the driver: %q", lines[1:])
		}
		// Launches from many goroutines (so many OS threads): the fake
		// driver fails any call without a current context and any push onto
		// a non-empty context stack.
		var wg sync.WaitGroup
		var failed sync.Once
		for g := range 8 {
			wg.Go(func() {
				for i := range 50 {
					err := d.Launch(d1(1), d1(256), &kernels.SumF32Args{N: int32(g*100 + i), X: kernels.DevicePtr(8), Alpha: float32(1), Out: kernels.DevicePtr(16)})
					if err == nil {
						err = d.Synchronize()
					}
					if err != nil {
						failed.Do(func() { t.Error(err) })
						return
					}
				}
			})
		}
		wg.Wait()
		if lines := readLines(t, logPath); len(lines) != 1+8*50 {
			t.Errorf("%d launches recorded, want %d", len(lines), 1+8*50)
		}
	})

	t.Run("memset", func(t *testing.T) {
		p, err := d.Alloc(4 * 1000)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free(p)
		if err := d.MemsetD32(p+4, 0xdeadbeef, 998); err != nil {
			t.Fatal(err)
		}
		if err := kernels.ZeroD32(d, p, 7, 1); err != nil { // through the Memsetter
			t.Fatal(err)
		}
		got := make([]uint32, 1000)
		if err := d.CopyDtoH(kernels.Uint32Bytes(got), p); err != nil {
			t.Fatal(err)
		}
		if got[0] != 7 || got[1] != 0xdeadbeef || got[998] != 0xdeadbeef {
			t.Errorf("after MemsetD32: %#x %#x %#x", got[0], got[1], got[998])
		}
		if err := d.MemsetD32(p, 0, 1001); err == nil {
			t.Error("MemsetD32 past the allocation: no error")
		}
		if err := d.MemsetD32(p, 0, -1); err == nil {
			t.Error("MemsetD32 of -1 words: no error")
		}
	})

	t.Run("free", func(t *testing.T) {
		if err := d.Free(kernels.DevicePtr(0x1234)); err == nil || !strings.Contains(err.Error(), "not an allocation of this driver") {
			t.Errorf("Free(foreign pointer): %v", err)
		}
		p, err := d.Alloc(16)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Free(p); err != nil {
			t.Fatal(err)
		}
		if err := d.Free(p); err == nil {
			t.Error("second Free: no error")
		}
	})

	var open kernels.Recording
	t.Run("record", func(t *testing.T) { open = testRecord(t, d, logPath) })

	t.Run("primary context", func(t *testing.T) {
		// A second Driver shares the process's one retain of the primary
		// context; closing it leaves the first working. The fake fails a
		// release without a retain, and the last release when anything
		// is still allocated.
		d2, err := New(0)
		if err != nil {
			t.Fatal(err)
		}
		if d2.prim != d.prim || d.prim.refs != 2 {
			t.Errorf("second Driver: primary %p (refs %d), first %p", d2.prim, d.prim.refs, d.prim)
		}
		if err := roundTrip(d2, 100); err != nil {
			t.Error(err)
		}
		p, err := d2.Alloc(64) // freed by Close
		if err != nil || p == 0 {
			t.Fatal(err)
		}
		if err := d2.Close(); err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(d, 100); err != nil {
			t.Errorf("first Driver after the second closed: %v", err)
		}
	})

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if len(primaries.m) != 0 {
		t.Errorf("primary contexts still held after the last Close: %v", primaries.m)
	}
	if open != nil {
		checkClosedRecording(t, open)
	}
	// The fake is strict about the primary context: a release without a
	// retain fails, and so does the last release while anything is left
	// allocated (here a pinned buffer taken behind the Driver's back; last,
	// since the fake then counts it as leaked for good).
	if err := releasePrimary(0); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_CONTEXT") {
		t.Errorf("cuDevicePrimaryCtxRelease without a retain: %v", err)
	}
	leaky, err := New(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaky.ctx.hostAlloc(64); err != nil {
		t.Fatal(err)
	}
	if err := leaky.Close(); err == nil || !strings.Contains(err.Error(), "FAKECUDA_ERROR_LEAK") {
		t.Errorf("Close with a pinned buffer left: %v, want the fake's leak error", err)
	}
	if _, err := d.Alloc(4); err == nil || err.Error() != "cudadrv: driver closed" {
		t.Errorf("Alloc after Close: %v", err)
	}
	if err := d.Launch(d1(1), d1(256), &kernels.SumF32Args{N: int32(1), X: kernels.DevicePtr(8), Alpha: float32(1), Out: kernels.DevicePtr(16)}); err == nil {
		t.Error("Launch after Close: no error")
	}
}

// roundTrip copies n float32 to the device and back.
func roundTrip(d *Driver, n int) error {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i) * 0.5
	}
	p, err := d.Alloc(4 * n)
	if err != nil {
		return err
	}
	defer d.Free(p)
	if err := d.CopyHtoD(p, kernels.Float32Bytes(src)); err != nil {
		return err
	}
	dst := make([]float32, n)
	if err := d.CopyDtoH(kernels.Float32Bytes(dst), p); err != nil {
		return err
	}
	for i := range dst {
		if dst[i] != src[i] {
			return fmt.Errorf("round trip of %d floats: [%d] = %v, want %v", n, i, dst[i], src[i])
		}
	}
	return nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

func d1(x int) kernels.Dim3 { return kernels.Dim3{X: x, Y: 1, Z: 1} }

// openGPU returns a Driver on device 0, skipping the test where no driver
// loads; any other failure (e.g. the PTX does not JIT) fails it.
func openGPU(t *testing.T) *Driver {
	t.Helper()
	if os.Getenv(childEnv) != "" {
		t.Skip("fake driver")
	}
	d, err := New(0)
	if errors.Is(err, ErrNoDriver) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// gpuCase is one launch run on the GPU and on a reference driver (the
// emulator or the host kernels) from the same buffers; afterwards every
// buffer must agree within ulps units in the last place (0: bit for bit),
// measured at the reference value or, where scale is set, at
// scale(inputs, buffer, element, reference value).
type gpuCase struct {
	name        string
	grid, block kernels.Dim3
	bufs        [][]float32
	args        func(p []kernels.DevicePtr) kernels.Args // the launch, p[i] the device address of bufs[i]
	ulps        int
	scale       func(in [][]float32, b, i int, ref float32) float32
}

// compare fails t at the first element of the outputs got where they
// differ from the reference outputs ref by more than c allows (withinULPs).
func (c gpuCase) compare(t *testing.T, what string, got, ref [][]float32) {
	t.Helper()
	for b := range got {
		for i := range got[b] {
			g, r := got[b][i], ref[b][i]
			scale := r
			if c.scale != nil {
				scale = c.scale(c.bufs, b, i, r)
			}
			if !withinULPs(g, r, scale, c.ulps) {
				t.Fatalf("buffer %d [%d]: %s %v (%#08x), reference %v (%#08x), want within %d ulp of %v",
					b, i, what, g, math.Float32bits(g), r, math.Float32bits(r), c.ulps, scale)
			}
		}
	}
}

// withinULPs reports whether got is within ulps units in the last place of
// want: ulpDiff(got, want) ≤ ulps, or |got − want| ≤ ulps·ulp(scale), the
// spacing of float32 at |scale|. A scale larger than |want| bounds the error
// of a result that cancels: Out = Mean + σ·n is near 0 when Mean ≈ −σ·n, and
// a last-bit difference of σ·n is then many ulps of Out but a fraction of an
// ulp of |Mean| + |σ·n|. NaN is within nothing but its own bits.
func withinULPs(got, want, scale float32, ulps int) bool {
	if ulpDiff(got, want) <= int64(ulps) {
		return true
	}
	if got != got || want != want {
		return false
	}
	s := float32(math.Abs(float64(scale)))
	ulp := float64(math.Nextafter32(s, float32(math.Inf(1))) - s)
	return math.Abs(float64(got)-float64(want)) <= float64(ulps)*ulp
}

// kernel returns the name of c's kernel.
func (c gpuCase) kernel() string { return c.args(make([]kernels.DevicePtr, len(c.bufs))).Kernel() }

// run launches c on d and returns the buffers afterwards.
func (c gpuCase) run(t *testing.T, d kernels.Driver) [][]float32 {
	t.Helper()
	ptrs := make([]kernels.DevicePtr, len(c.bufs))
	for i, b := range c.bufs {
		p, err := d.Alloc(4 * len(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free(p)
		if err := d.CopyHtoD(p, kernels.Float32Bytes(b)); err != nil {
			t.Fatal(err)
		}
		ptrs[i] = p
	}
	if err := d.Launch(c.grid, c.block, c.args(ptrs)); err != nil {
		t.Fatal(err)
	}
	if err := d.Synchronize(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(c.bufs))
	for i, p := range ptrs {
		out[i] = make([]float32, len(c.bufs[i]))
		if err := d.CopyDtoH(kernels.Float32Bytes(out[i]), p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// ulpDiff is the distance of a and b in units in the last place (NaNs and
// sign changes count as far apart unless bitwise equal).
func ulpDiff(a, b float32) int64 {
	x, y := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if x == y {
		return 0
	}
	if (x < 0) != (y < 0) || a != a || b != b {
		return math.MaxInt64
	}
	if x > y {
		return x - y
	}
	return y - x
}

// gpuCases returns one launch of every kernel in the launch table, on
// random inputs (NaN-poisoned outputs), with the ulps GPU and emulator may
// differ by: 0 except where expf/log1pf (sigmoid, softplus) are involved.
func gpuCases() []gpuCase {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int, lo, hi float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = lo + (hi-lo)*r.Float32()
		}
		return s
	}
	poison := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(math.NaN())
		}
		return s
	}
	M, N, K := 67, 129, 45
	g16 := kernels.Dim3{X: 16, Y: 16, Z: 1}
	n := 10007
	return append([]gpuCase{
		{"gemm plain NN", kernels.GemmGrid(M, N), g16, [][]float32{rnd(M*K, -1, 1), rnd(K*N, -1, 1), rnd(M*N, -1, 1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(0.7), A: p[0], B: p[1], Beta: float32(0.3), C: p[2], TransA: int32(0), TransB: int32(0), Flags: int32(0), Seed: uint64(0), Op: uint32(0), Step: uint64(0)}
		}, 0, nil},
		{"gemm plain TT", kernels.GemmGrid(M, N), g16, [][]float32{rnd(M*K, -1, 1), rnd(K*N, -1, 1), rnd(M*N, -1, 1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: p[0], B: p[1], Beta: float32(0), C: p[2], TransA: int32(1), TransB: int32(1), Flags: int32(0), Seed: uint64(0), Op: uint32(0), Step: uint64(0)}
		}, 0, nil},
		// transB = 1 reads the K x N buffer as N x K: only the indexing changes.
		{"gemm fused bias sigmoid sample", kernels.GemmGrid(M, N), g16, [][]float32{rnd(M*K, -1, 1), rnd(K*N, -1, 1), rnd(N, -1, 1), poison(M * N), poison(M * N), poison(M * N)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: p[0], B: p[1], Beta: float32(0), C: p[3], TransA: int32(0), TransB: int32(1), Flags: gemmFull, Bias: p[2], P: p[4], S: p[5], Seed: uint64(3), Op: uint32(4), Step: uint64(5)}
		}, 8, nil}, // a ±2-ulp expf through 1/(1+e) reaches 4 ulps here: twice that for margin
		// The blocked GEMM kernels: their float4 path (row lengths multiples
		// of 4, several blocks), their scalar path (ragged), the fused
		// epilogue; the GPU must equal the emulator, which equals gemm_f32.
		blockedGemm(kernels.GemmF32x128, "NN float4", 260, 136, 100, 0, 0, 0, rnd),
		blockedGemm(kernels.GemmF32x128, "TT ragged", M, N, K, 1, 1, 0, rnd),
		blockedGemm(kernels.GemmF32x128, "NT fused", 130, N, 44, 0, 1, gemmFull, rnd),
		blockedGemm(kernels.GemmF32x64, "NN float4", 140, 136, 100, 0, 0, 0, rnd),
		blockedGemm(kernels.GemmF32x64, "TN ragged", M, N, K, 1, 0, 0, rnd),
		blockedGemm(kernels.GemmF32x64, "NT fused", M, N, 44, 0, 1, gemmFull, rnd),
		{"col_sum", kernels.ColSumGrid(N), kernels.Dim3{X: 32, Y: 8, Z: 1}, [][]float32{rnd(M*N, -1, 1), rnd(N, -1, 1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.ColSumF32Args{M: int32(M), N: int32(N), Alpha: float32(0.5), X: p[0], Beta: float32(2), Out: p[1]}
		}, 0, nil},
		{"sq_diff_partial", kernels.SqDiffGrid(n), d1(kernels.ReduceMaxThreads), [][]float32{rnd(n, -1, 1), rnd(n, -1, 1), poison(kernels.SqDiffGrid(n).X)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.SqDiffPartialF32Args{N: int32(n), A: p[0], B: p[1], Partial: p[2]}
		}, 0, nil},
		{"sum", d1(1), d1(kernels.ReduceMaxThreads), [][]float32{rnd(n, -1, 1), poison(1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.SumF32Args{N: int32(n), X: p[0], Alpha: float32(0.25), Out: p[1]}
		}, 0, nil},
		{"free_energy", kernels.FreeEnergyGrid(M), d1(kernels.ReduceMaxThreads), [][]float32{rnd(M*K, 0, 1), rnd(K, -1, 1), rnd(M*N, -8, 8), poison(M)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.FreeEnergyF32Args{M: int32(M), Nv: int32(K), Nh: int32(N), V: p[0], Vbias: p[1], X: p[2], F: p[3]}
		}, 8, nil},
		{"sgd_update", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{rnd(n, -1, 1), rnd(n, -0.1, 0.1), rnd(n, -0.5, 0.5)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.SGDUpdateF32Args{N: int32(n), Param: p[0], Vel: p[1], Grad: p[2], Lr: float32(0.037), Momentum: float32(0.9), WeightDecay: float32(2e-4)}
		}, 0, nil},
		{"bernoulli", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{rnd(n, 0, 1), poison(n)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.BernoulliF32Args{N: int32(n), P: p[0], S: p[1], Seed: uint64(9), Op: uint32(3), Step: uint64(11)}
		}, 0, nil},
		// W holds uint32 words; compared as bits like the floats.
		{"philox_fill", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{poison(n), poison(n)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PhiloxFillF32Args{N: int32(n), U: p[0], W: p[1], Seed: philoxStream.Seed, Op: philoxStream.Op, Step: philoxStream.Step}
		}, 0, nil},
		// A mini-batch of 50 rows of 37 gathered from 20 resident rows; the
		// order's uint32 indices ride in a float32 buffer as their bits.
		{"gather_rows", kernels.ElementwiseGrid(50 * 37), d1(kernels.ElementwiseBlock), [][]float32{rnd(20*37, -1, 1), rowIndices(r, 50, 20), poison(50 * 37)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GatherRowsF32Args{Rows: 50, Cols: 37, Src: p[0], Idx: p[1], Dst: p[2]}
		}, 0, nil},
		// The compact forms: 20 rows of 37 uint8 codes (740 bytes, four to
		// a word) through a 256-entry table, and 20 rows of 37 bits in two
		// words each.
		{"gather_rows_u8", kernels.ElementwiseGrid(50 * 37), d1(kernels.ElementwiseBlock), [][]float32{words(r, 20*37/4+1), rowIndices(r, 50, 20), rnd(256, 0, 1), poison(50 * 37)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GatherRowsU8Args{Rows: 50, Cols: 37, Src: p[0], Idx: p[1], Lut: p[2], Dst: p[3]}
		}, 0, nil},
		{"gather_rows_bits", kernels.ElementwiseGrid(50 * 37), d1(kernels.ElementwiseBlock), [][]float32{words(r, 20*2), rowIndices(r, 50, 20), poison(50 * 37)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GatherRowsBitsArgs{Rows: 50, Cols: 37, WordsPerRow: 2, Src: p[0], Idx: p[1], Dst: p[2]}
		}, 0, nil},
		// General Boltzmann machine: R chains of 141 units (not a multiple
		// of the 128-thread block), the first 60 clamped, 2 sweeps.
		{"bm_gibbs sample", kernels.BMGibbsGrid(bmR), d1(kernels.BMBlock), [][]float32{bits(rnd(bmR*bmIn, 0, 1)), symmetric(rnd(bmN*bmN, -0.4, 0.4), bmN), rnd(bmN, -1, 1), poison(bmR * bmN)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.BMGibbsF32Args{R: int32(bmR), N: int32(bmN), Nin: int32(bmIn), First: int32(bmIn), Sweeps: int32(2), MeanField: int32(0), X: p[0], W: p[1], B: p[2], S: p[3], Seed: uint64(5), Op: uint32(0xB302), Step: uint64(9)}
		}, 4, nil},
		// Mean-field: each unit's probability feeds the next, so expf's
		// last-bit differences can compound along the sweep.
		{"bm_gibbs mean-field", kernels.BMGibbsGrid(bmR), d1(kernels.BMBlock), [][]float32{bits(rnd(bmR*bmIn, 0, 1)), symmetric(rnd(bmN*bmN, -0.4, 0.4), bmN), rnd(bmN, -1, 1), poison(bmR * bmN)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.BMGibbsF32Args{R: int32(bmR), N: int32(bmN), Nin: int32(bmIn), First: int32(bmIn), Sweeps: int32(3), MeanField: int32(1), X: p[0], W: p[1], B: p[2], S: p[3], Seed: uint64(5), Op: uint32(0xB301), Step: uint64(9)}
		}, 64, nil},
		{"bm_mask", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{rnd(n, -1, 1), bits(rnd(n, 0, 1)), poison(n)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.BMMaskF32Args{N: int32(n), G: p[0], M: p[1], Out: p[2]}
		}, 0, nil},
		// Gaussian–Bernoulli RBM kernels (expf, logf, sqrtf, cosf: a few ulps).
		{"scale_exp_neg", kernels.ElementwiseGrid(M * N), d1(kernels.ElementwiseBlock), [][]float32{rnd(M*N, -3, 3), rnd(N, -2, 2), poison(M * N)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.ScaleExpNegF32Args{M: int32(M), N: int32(N), X: p[0], Z: p[1], Out: p[2]}
		}, 4, nil},
		{"gaussian_sample", kernels.ElementwiseGrid(M * N), d1(kernels.ElementwiseBlock), [][]float32{rnd(M*N, -3, 3), rnd(N, -2, 1), poison(M * N)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.GaussianSampleF32Args{M: int32(M), N: int32(N), Mean: p[0], Z: p[1], Out: p[2], Seed: uint64(21), Op: uint32(0x47560001), Step: uint64(4)}
		}, 16, gaussianScale},
		{"logvar_grad", kernels.ElementwiseGrid(N), d1(kernels.ElementwiseBlock), [][]float32{rnd(M*N, -2, 2), rnd(M*N, -1, 1), rnd(K*N, -2, 2), rnd(K*N, -1, 1), rnd(N, -1, 1), rnd(N, -1, 1), poison(N)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.LogVarGradF32Args{B: int32(M), C: int32(K), N: int32(N), V0: p[0], WP0: p[1], VK: p[2], WPK: p[3], VBias: p[4], Z: p[5], Out: p[6]}
		}, 16, nil},
		{"clamp_min", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{rnd(n, -3, 1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.ClampMinF32Args{N: int32(n), X: p[0], Lo: float32(-1.5)}
		}, 0, nil},
		{"l1_grad", kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock), [][]float32{rnd(n, -1, 1), rnd(n, -1, 1)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.L1GradF32Args{N: int32(n), G: p[0], X: p[1], L1: float32(0.03)}
		}, 0, nil},
	}, append(append(pottsCases(rnd, r, poison), prbmCases(rnd, poison)...), ptCases(rnd, poison)...)...)
}

// Parallel tempering (pt.cu): ptR replicas of ptC chains, ptV visible and
// ptH hidden units; samples and swaps are exact unless expf's last bit
// decides a draw (then the GPU comparison reports it).
const ptR, ptC, ptV, ptH = 5, 37, 29, 23

var ptBetas = []float32{1, 0.7, 0.5, 0.3, 0.1}

func ptCases(rnd func(int, float32, float32) []float32, poison func(int) []float32) []gpuCase {
	M := ptR * ptC
	d1 := func(x int) kernels.Dim3 { return kernels.Dim3{X: x, Y: 1, Z: 1} }
	blk := d1(kernels.ElementwiseBlock)
	counts := make([]float32, 2*(ptR-1))
	for i := range counts {
		counts[i] = float32(3 * i)
	}
	return []gpuCase{
		{"pt_sample", kernels.ElementwiseGrid(M * ptH), blk, [][]float32{rnd(M*ptH, -4, 4), ptBetas, poison(M * ptH)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PTSampleF32Args{M: int32(M), N: int32(ptH), C: int32(ptC), A: p[0], Beta: p[1], S: p[2], Seed: uint64(7), Op: uint32(0x50540002), Step: uint64(3)}
		}, 0, nil},
		{"pt_energy", kernels.ElementwiseGrid(M), blk, [][]float32{bits(rnd(M*ptV, 0, 1)), rnd(M*ptH, -4, 4), bits(rnd(M*ptH, 0, 1)), rnd(ptV, -2, 2), poison(M)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PTEnergyF32Args{M: int32(M), V: int32(ptV), H: int32(ptH), X: p[0], A: p[1], Hs: p[2], B: p[3], E: p[4]}
		}, 0, nil},
		{"pt_swap", kernels.ElementwiseGrid(M * ptV), blk, [][]float32{bits(rnd(M*ptV, 0, 1)), rnd(M, -20, 20), ptBetas, poison(M * ptV)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PTSwapF32Args{R: int32(ptR), C: int32(ptC), V: int32(ptV), X: p[0], E: p[1], Beta: p[2], Y: p[3], Seed: uint64(7), Op: uint32(0x5054FFFF), Step: uint64(4)}
		}, 0, nil},
		{"pt_accept", kernels.ElementwiseGrid(ptR - 1), blk, [][]float32{rnd(M, -20, 20), ptBetas, counts, poison(len(counts))}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PTAcceptF32Args{R: int32(ptR), C: int32(ptC), E: p[0], Beta: p[1], In: p[2], Out: p[3], Seed: uint64(7), Op: uint32(0x5054FFFF), Step: uint64(5)}
		}, 0, nil},
		{"pt_rows", kernels.ElementwiseGrid(ptC * ptV), blk, [][]float32{rnd(M*ptV, -1, 1), poison(ptC * ptV)}, func(p []kernels.DevicePtr) kernels.Args {
			return &kernels.PTRowsF32Args{N: int32(ptC * ptV), X: p[0], Out: p[1]}
		}, 0, nil},
	}
}

// checkPTTwins compares a pt.cu case's outputs with the Go twins run on its
// inputs, bit for bit.
func checkPTTwins(t *testing.T, c gpuCase, out [][]float32) {
	t.Helper()
	in, M := c.bufs, ptR*ptC
	var want []float32
	got := out[len(out)-1]
	switch c.kernel() {
	case kernels.PTSampleF32:
		want = make([]float32, M*ptH)
		kernels.PTSample(M, ptH, ptC, in[0], in[1], want, kernels.Stream{Seed: 7, Op: 0x50540002, Step: 3})
	case kernels.PTEnergyF32:
		want = make([]float32, M)
		kernels.PTEnergy(M, ptV, ptH, in[0], in[1], in[2], in[3], want)
	case kernels.PTSwapF32:
		want = make([]float32, M*ptV)
		kernels.PTSwap(ptR, ptC, ptV, in[0], in[1], in[2], want, kernels.Stream{Seed: 7, Op: 0x5054FFFF, Step: 4})
	case kernels.PTAcceptF32:
		want = make([]float32, 2*(ptR-1))
		kernels.PTAccept(ptR, ptC, in[0], in[1], in[2], want, kernels.Stream{Seed: 7, Op: 0x5054FFFF, Step: 5})
	case kernels.PTRowsF32:
		want = in[0][:ptC*ptV]
	default:
		return
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s [%d] = %v, Go twin %v", c.kernel(), i, got[i], want[i])
		}
	}
}

// gaussianScale is the magnitude the error of gaussian_sample's Out =
// Mean + σ·n is measured at: |Mean| + |σ·n|, with σ·n = ref − Mean (CUDA's
// expf, logf and cosf are within 1–2 ulps, so σ·n is, not Out, which
// cancels towards 0 when Mean ≈ −σ·n).
func gaussianScale(in [][]float32, b, i int, ref float32) float32 {
	if b != 2 {
		return ref
	}
	mean := in[0][i]
	return float32(math.Abs(float64(mean)) + math.Abs(float64(ref)-float64(mean)))
}

// Shape of the bm_gibbs cases: chains, units, clamped inputs.
const bmR, bmN, bmIn = 5, 141, 60

// bits maps values in [0,1) to 0/1 (data, masks).
func bits(x []float32) []float32 {
	for i, v := range x {
		x[i] = float32(int(v + 0.5))
	}
	return x
}

// symmetric makes the n×n matrix w symmetric with a zero diagonal, as a
// Boltzmann machine's weights are.
// words returns n random 32-bit words as the bits of float32 values
// (packed codes or bits for the GPU cases' float32 plumbing).
func words(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(r.Uint32())
	}
	return s
}

// rowIndices returns n random row indices below rows as the bits of
// float32 values (a uint32 buffer for the GPU cases' float32 plumbing).
func rowIndices(r *rand.Rand, n, rows int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(uint32(r.IntN(rows)))
	}
	return s
}

func symmetric(w []float32, n int) []float32 {
	for i := 0; i < n; i++ {
		w[i*n+i] = 0
		for j := 0; j < i; j++ {
			w[j*n+i] = w[i*n+j]
		}
	}
	return w
}

const gemmFull = int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample)

// blockedGemm is a gpuCase of GEMM kernel on an M x N x K product with the
// given transposes and epilogue flags (gemmFull: bias, sigmoid, P, sample;
// else alpha 0.7, beta 0.3 into C), as the buffers of the gemm_f32 cases.
func blockedGemm(kernel, what string, M, N, K int, tA, tB, flags int32, rnd func(int, float32, float32) []float32) gpuCase {
	grid, _ := kernels.GemmGridOf(kernel, M, N)
	k, _ := kernels.Lookup(kernel)
	if flags == gemmFull {
		nan := make([]float32, M*N)
		for i := range nan {
			nan[i] = float32(math.NaN())
		}
		return gpuCase{kernel + " " + what, grid, k.Block,
			[][]float32{rnd(M*K, -1, 1), rnd(K*N, -1, 1), rnd(N, -1, 1), nan, append([]float32(nil), nan...), append([]float32(nil), nan...)},
			func(p []kernels.DevicePtr) kernels.Args {
				a, _ := kernels.GemmAs(kernel, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: 1, A: p[0], B: p[1], C: p[3], TransA: tA, TransB: tB, Flags: flags, Bias: p[2], P: p[4], S: p[5], Seed: 3, Op: 4, Step: 5})
				return a
			}, 8, nil} // as gemm_f32 fused: a ±2-ulp expf reaches 4 ulps, twice that for margin
	}
	return gpuCase{kernel + " " + what, grid, k.Block, [][]float32{rnd(M*K, -1, 1), rnd(K*N, -1, 1), rnd(M*N, -1, 1)},
		func(p []kernels.DevicePtr) kernels.Args {
			a, _ := kernels.GemmAs(kernel, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: 0.7, A: p[0], B: p[1], Beta: 0.3, C: p[2], TransA: tA, TransB: tB, Flags: flags})
			return a
		}, 0, nil}
}

var philoxStream = kernels.Stream{Seed: 0x1234_5678_9abc_def0, Op: 7, Step: 1<<32 + 3}

// checkGoTwins checks the outputs out of case c against the Go twins where
// they are exact: Philox words and uniforms, and Bernoulli samples of the
// kernel's own probabilities.
func checkGoTwins(t *testing.T, c gpuCase, out [][]float32) {
	t.Helper()
	for b := range out {
		if c.kernel() == kernels.PhiloxFillF32 && b == 1 {
			continue // uint32 words: NaN patterns are valid; checked below
		}
		for i, v := range out[b] {
			if v != v {
				t.Fatalf("buffer %d [%d] is NaN: not written", b, i)
			}
		}
	}
	checkPTTwins(t, c, out)
	checkPrbmTwins(t, c, out)
	switch c.kernel() {
	case kernels.PhiloxFillF32:
		for i := range out[0] {
			if math.Float32bits(out[1][i]) != philoxStream.Word(uint64(i)) || out[0][i] != philoxStream.Uniform(uint64(i)) {
				t.Fatalf("philox %d: %v %08x, Go %v %08x", i, out[0][i], math.Float32bits(out[1][i]),
					philoxStream.Uniform(uint64(i)), philoxStream.Word(uint64(i)))
			}
		}
	case kernels.BernoulliF32:
		s := kernels.Stream{Seed: 9, Op: 3, Step: 11}
		for i, p := range out[0] {
			if want := kernels.Bernoulli(s.Uniform(uint64(i)), p); out[1][i] != want {
				t.Fatalf("S[%d] = %v, want %v (p=%v)", i, out[1][i], want, p)
			}
		}
	case kernels.GemmF32, kernels.GemmF32x128, kernels.GemmF32x64:
		if a, _ := kernels.GemmArgsOf(c.args(make([]kernels.DevicePtr, len(c.bufs)))); a.Flags == gemmFull {
			P, S := out[4], out[5]
			s := kernels.Stream{Seed: 3, Op: 4, Step: 5}
			for i := range P {
				if u := s.Uniform(uint64(i)); S[i] != kernels.Bernoulli(u, P[i]) {
					t.Fatalf("S[%d] = %v, u=%v p=%v", i, S[i], u, P[i])
				}
			}
		}
	}
}

// The GPU cases on the emulator alone, so the harness itself is checked on
// every machine: arguments accepted, every output written, Go twins agree.
func TestGPUCasesOnEmulator(t *testing.T) {
	cpu := emu.NewDriver()
	defer cpu.Close()
	// The GPU comparison covers every kernel of the launch table.
	covered := map[string]bool{}
	for _, c := range gpuCases() {
		covered[c.kernel()] = true
	}
	for _, k := range kernels.Kernels {
		if !covered[k.Name] {
			t.Errorf("kernel %s has no case in gpuCases: a GPU run would not check it", k.Name)
		}
	}
	for _, c := range gpuCases() {
		t.Run(c.name, func(t *testing.T) { checkGoTwins(t, c, c.run(t, cpu)) })
	}
}

// On a GPU: every kernel of the launch table, through the CUDA driver and
// through the emulator on the same inputs, gives the same bits — except
// where expf/log1pf (sigmoid, softplus) may differ by a few ulps — and the
// GPU's Philox and Bernoulli outputs equal the Go twins.
func TestGPUMatchesEmulator(t *testing.T) {
	gpu := openGPU(t)
	t.Logf("device %+v", gpu.Device())
	cpu := emu.NewDriver()
	defer cpu.Close()
	for _, c := range gpuCases() {
		t.Run(c.name, func(t *testing.T) {
			g, e := c.run(t, gpu), c.run(t, cpu)
			c.compare(t, "gpu", g, e)
			checkGoTwins(t, c, g)
		})
	}
}

// On a GPU: a request beyond the device's memory is a one-line error naming
// the size; a JIT failure carries the JIT log; launches from many
// goroutines work; Close twice is fine.
func TestGPUErrorsAndConcurrency(t *testing.T) {
	d := openGPU(t)
	huge := 2 * d.Device().Memory
	if _, err := d.Alloc(int(huge)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("Alloc(%d bytes)", huge)) ||
		!strings.Contains(err.Error(), "out of device memory") {
		t.Errorf("Alloc(%d): %v", huge, err)
	} else {
		t.Log(err)
	}
	if m, err := d.ctx.loadModule([]byte(".version 7.8\n.target sm_60\n.address_size 64\nthis is not ptx;\n")); err == nil ||
		!strings.Contains(err.Error(), "JIT log: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("loadModule(garbage): %v, want a one-line error with the JIT log", err)
		if err == nil {
			d.ctx.unload(m)
		}
	} else {
		t.Log(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() { errs <- roundTrip(d, 1<<16+g) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := d.Synchronize(); err != nil {
		t.Fatal(err)
	}
}

// withinULPs measures at a scale: near 0 a result that cancels passes by
// the ulps of its terms, a real error does not.
func TestWithinULPs(t *testing.T) {
	next := func(x float32, n int) float32 {
		for range n {
			x = math.Nextafter32(x, float32(math.Inf(1)))
		}
		return x
	}
	mean := float32(1.2345)
	sn := float32(-1.2344) // σ·n: Out = Mean + σ·n ≈ 1e-4
	out := mean + sn
	outOff := mean + next(sn, 2) // σ·n 2 ulps off (CUDA's cosf): thousands of ulps of Out
	scale := float32(math.Abs(float64(mean)) + math.Abs(float64(sn)))
	for _, c := range []struct {
		name             string
		got, want, scale float32
		ulps             int
		ok               bool
	}{
		{"equal", 1.5, 1.5, 1.5, 0, true},
		{"1 ulp, bound 0", next(1.5, 1), 1.5, 1.5, 0, false},
		{"3 ulps, bound 4", next(1.5, 3), 1.5, 1.5, 4, true},
		{"5 ulps, bound 4", next(1.5, 5), 1.5, 1.5, 4, false},
		{"near zero, Out's own ulps", outOff, out, out, 16, false},
		{"near zero, ulps of |Mean|+|σ·n|", outOff, out, scale, 16, true},
		{"near zero, a real error", out + 1e-4, out, scale, 16, false},
		{"sign change within the scale", -1e-30, 1e-30, 1, 1, true},
		{"NaN", float32(math.NaN()), 1, 1, 1 << 20, false},
		{"NaN bits equal", float32(math.NaN()), float32(math.NaN()), 1, 0, true},
	} {
		if got := withinULPs(c.got, c.want, c.scale, c.ulps); got != c.ok {
			t.Errorf("%s: withinULPs(%v, %v, %v, %d) = %v, want %v", c.name, c.got, c.want, c.scale, c.ulps, got, c.ok)
		}
	}
}

// The host kernels (kernels/host) compute every GPU case like the emulator,
// within the same tolerances, so they can stand in as the GPU's reference
// where the emulator is too slow (the GPU kit on the device machine).
func TestHostMatchesEmulator(t *testing.T) {
	cpu := emu.NewDriver()
	defer cpu.Close()
	h := host.NewDriver()
	defer h.Close()
	for _, c := range gpuCases() {
		t.Run(c.name, func(t *testing.T) {
			got, ref := c.run(t, h), c.run(t, cpu)
			c.compare(t, "host", got, ref)
			checkGoTwins(t, c, got)
		})
	}
}

// On a GPU: every kernel of the launch table, through the CUDA driver and
// through the host kernels on the same inputs, agrees within the cases'
// tolerances (the GPU kit runs this one; the host kernels need no emulator
// fibers, which are slow under a sandboxed kernel).
func TestGPUMatchesHost(t *testing.T) {
	gpu := openGPU(t)
	t.Logf("device %+v (compute mode %v)", gpu.Device(), gpu.Device().ComputeMode)
	h := host.NewDriver()
	defer h.Close()
	for _, c := range gpuCases() {
		t.Run(c.name, func(t *testing.T) {
			g, r := c.run(t, gpu), c.run(t, h)
			c.compare(t, "gpu", g, r)
			checkGoTwins(t, c, g)
		})
	}
}

// On a GPU: a CUDA graph of three launches replayed with new RNG steps and
// data pointers gives, replay after replay, what the host kernels give for
// the same launches; MemsetD32 fills; two Drivers share the primary
// context and closing one leaves the other working.
func TestGPURecordMemsetPrimary(t *testing.T) {
	gpu := openGPU(t)
	h := host.NewDriver()
	t.Cleanup(func() { h.Close() }) // after the buffers' Free (cleanups run last first)
	const n = 5000
	r := rand.New(rand.NewPCG(7, 8))
	probs := make([]float32, 2*n)
	for i := range probs {
		probs[i] = r.Float32()
	}
	// run records philox_fill → bernoulli → clamp_min on d, replays it 3
	// times (step 1, 2, 3; P alternating between the two halves of probs)
	// and returns the samples after each replay.
	run := func(d kernels.Driver) [][]float32 {
		buf := func(x []float32) kernels.DevicePtr {
			p, err := d.Alloc(4 * len(x))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Free(p) })
			if err := d.CopyHtoD(p, kernels.Float32Bytes(x)); err != nil {
				t.Fatal(err)
			}
			return p
		}
		P, U, W, S := buf(probs), buf(make([]float32, n)), buf(make([]float32, n)), buf(make([]float32, n))
		if err := kernels.ZeroD32(d, S, math.Float32bits(-7), n); err != nil {
			t.Fatal(err)
		}
		fill := &kernels.PhiloxFillF32Args{N: n, U: U, W: W, Seed: 1, Op: 2}
		bern := &kernels.BernoulliF32Args{N: n, P: P, S: S, Seed: 3, Op: 4}
		clamp := &kernels.ClampMinF32Args{N: n, X: S, Lo: 0.5}
		eg, eb := kernels.ElementwiseGrid(n), d1(kernels.ElementwiseBlock)
		rec, err := kernels.Record(d, []kernels.LaunchSpec{{Grid: eg, Block: eb, Args: fill}, {Grid: eg, Block: eb, Args: bern}, {Grid: eg, Block: eb, Args: clamp}})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		var out [][]float32
		for step := uint64(1); step <= 3; step++ {
			fill.Step, bern.Step = step, step
			bern.P = P + kernels.DevicePtr(4*n*int(step%2))
			if err := rec.Replay(); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n)
			if err := d.CopyDtoH(kernels.Float32Bytes(got), S); err != nil {
				t.Fatal(err)
			}
			out = append(out, got)
		}
		return out
	}
	g, want := run(gpu), run(h)
	for step := range want {
		for i := range want[step] {
			if g[step][i] != want[step][i] {
				t.Fatalf("replay %d: S[%d] = %v on the GPU, %v on the host", step+1, i, g[step][i], want[step][i])
			}
		}
	}
	d2, err := New(gpu.Device().Ordinal)
	if err != nil {
		t.Fatal(err)
	}
	if d2.prim != gpu.prim {
		t.Error("a second Driver of the device has its own primary context")
	}
	if err := roundTrip(d2, 1<<20); err != nil {
		t.Error(err)
	}
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(gpu, 1<<20); err != nil {
		t.Errorf("after the second Driver closed: %v", err)
	}
}
