package gpu

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// stubTest stands in for a Go test binary in the carry: it logs its name,
// arguments and RBMGPU_GEMM to $KIT_TRACE, refuses to run without
// -test.timeout, fails when named in $STUB_FAIL, and prints benchmark lines
// for -test.bench.
const stubTest = `#!/usr/bin/env bash
name=$(basename "$0")
echo "$name gemm=${RBMGPU_GEMM:-} dev=${RBMGPU_BENCH_DEVICE:-} $*" >>"$KIT_TRACE"
[[ " $* " == *" -test.timeout "* ]] || { echo "$name: no -test.timeout"; exit 3; }
if [[ ,${STUB_FAIL:-}, == *,$name,* ]]; then echo "--- FAIL: TestStub"; echo FAIL; exit 1; fi
case "$*" in
*BenchmarkStep*)
  for k in 1 10; do for vh in 784x500 4096x4096; do for b in 128 1024 4096; do
    echo "BenchmarkStep/cuda:0/CD-$k/$vh/B$b-16   100   1000000 ns/op   $((b * 1000)) samples/s   1000 GFLOP/s"
  done; done; done ;;
*BenchmarkEpoch*)
  echo "BenchmarkEpoch/cuda:0/synthetic-60k/CD-1/784x500/B128-16   1   2500000000 ns/op   24000 samples/s" ;;
*BenchmarkPotts*)
  echo "BenchmarkPottsSweep/cuda:0/L100q21/C10000-16   100   2000000 ns/op   100.0 GFLOP/s   5000000 samples/s   500000000 site-updates/s"
  echo "BenchmarkPottsRBMStep/cuda:0/L100q21/H100/C10000-16   100   1000000 ns/op   100000 rows/s   10000000 samples/s" ;;
*) echo "--- PASS: TestStub (0.00s)" ;;
esac
echo PASS
`

// stubPeer stands in for torch_rbm.py: it logs its arguments and prints
// one line of each kind table.py reads.
const stubPeer = `import json, sys, os
open(os.environ["KIT_TRACE"], "a").write("torch_rbm.py " + " ".join(sys.argv[1:]) + "\n")
print(json.dumps({"peer": "torch-device", "device": "Fake H200", "sms": 132, "memory_gib": 139.8, "torch": "0.0", "cuda": "13.0"}))
print(json.dumps({"peer": "torch-gemm", "M": 128, "K": 784, "N": 500, "tf32": False, "tflop_per_sec": 20.0}))
print(json.dumps({"peer": "torch", "mode": "eager", "alg": "CD-1", "V": 784, "H": 500, "B": 128, "samples_per_sec": 64000.0}))
print(json.dumps({"peer": "torch", "mode": "compiled", "alg": "CD-1", "V": 784, "H": 500, "B": 128, "error": "skipped: 10 s of --budget-s left"}))
print("progress", file=sys.stderr)
`

// fakeSMI stands in for nvidia-smi.
const fakeSMI = `#!/usr/bin/env bash
case "$*" in
-L) echo "GPU 0: Fake H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)" ;;
*--query-gpu*) echo "name, driver_version, compute_mode, memory.total [MiB]"; echo "Fake H200, 580.00, Default, 143771 MiB" ;;
*) echo "| NVIDIA-SMI 580.00   Driver Version: 580.00   CUDA Version: 13.0 |" ;;
esac
`

// kit is a carry, a PATH and a trace file for fake runs of run.sh.
type kit struct {
	root, carry, path, lib, trace string
}

func newKit(t *testing.T) *kit {
	t.Helper()
	for _, tool := range []string{"bash", "cc", "gzip", "timeout", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := &kit{root: root, carry: filepath.Join(dir, "carry"), path: filepath.Join(dir, "path"),
		lib: filepath.Join(dir, "lib"), trace: filepath.Join(dir, "trace")}
	for _, d := range []string{k.carry, filepath.Join(k.carry, "peers"), k.path, k.lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The real CLI (for info: rbmgpu version and devices against the fake
	// driver), stand-ins for the test binaries, gzipped as build.sh leaves them.
	cli := filepath.Join(dir, "rbmgpu")
	if out, err := exec.Command("go", "build", "-o", cli, "../../cmd/rbmgpu").CombinedOutput(); err != nil {
		t.Fatalf("building rbmgpu: %v\n%s", err, out)
	}
	b, err := os.ReadFile(cli)
	if err != nil {
		t.Fatal(err)
	}
	gz(t, filepath.Join(k.carry, "rbmgpu.gz"), b)
	for _, name := range []string{"cudadrv.test", "engine.test", "ais.test", "bench.test"} {
		gz(t, filepath.Join(k.carry, name+".gz"), []byte(stubTest))
	}
	write(t, filepath.Join(k.carry, "peers", "torch_rbm.py"), stubPeer, 0o644)
	write(t, filepath.Join(k.carry, "BUILD-INFO"), "built: fake carry for kit_test.go\n", 0o644)
	write(t, filepath.Join(k.path, "nvidia-smi"), fakeSMI, 0o755)
	src := filepath.Join(root, "kernels", "cudadrv", "testdata", "fakecuda.c")
	if out, err := exec.Command("cc", "-shared", "-fPIC", "-O1", "-o", filepath.Join(k.lib, "libcuda.so.1"), src, "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("building the fake libcuda.so.1: %v\n%s", err, out)
	}
	return k
}

func gz(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	write(t, path, buf.String(), 0o644)
}

func write(t *testing.T, path, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs run.sh with env added and returns its exit status, output,
// the files of $OUT, the trace lines and the wall time.
func (k *kit) run(t *testing.T, env ...string) (code int, output string, out map[string]string, trace []string, wall time.Duration) {
	t.Helper()
	os.Remove(k.trace)
	outDir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(k.root, "bench", "gpu", "run.sh"))
	cmd.Env = append(os.Environ(), "OUT="+outDir, "CARRY="+k.carry, "KIT_TRACE="+k.trace, "PYTHON=python3",
		"PATH="+k.path+string(os.PathListSeparator)+os.Getenv("PATH"),
		"LD_LIBRARY_PATH="+k.lib+string(os.PathListSeparator)+os.Getenv("LD_LIBRARY_PATH"))
	cmd.Env = append(cmd.Env, env...)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	wall = time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out = map[string]string{}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		c, err := os.ReadFile(filepath.Join(outDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(c)
	}
	if c, err := os.ReadFile(k.trace); err == nil {
		trace = strings.Split(strings.TrimSpace(string(c)), "\n")
	}
	return code, string(b), out, trace, wall
}

// stagesOf returns the stage lines of stages.txt as "name STATUS".
func stagesOf(s string) []string {
	var r []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			r = append(r, f[0]+" "+f[2])
		}
	}
	return r
}

// The kit's call sequence, against the fake driver: the stages run in
// order, $OUT gets its seven files, every test binary gets -test.timeout,
// ours runs with the baseline GEMM and the new one, a failing stage makes
// the exit status 1 without stopping the stages after it, and QUICK=1
// runs less.
func TestKitRun(t *testing.T) {
	k := newKit(t)

	code, output, out, trace, wall := k.run(t)
	t.Logf("full fake run: %v", wall)
	if code != 0 {
		t.Fatalf("run.sh: exit %d\n%s", code, output)
	}
	want := []string{"info PASS", "check PASS", "ours PASS", "torch PASS", "epoch PASS", "table PASS"}
	if got := stagesOf(out["stages.txt"]); !slices.Equal(got, want) {
		t.Errorf("stages %q, want %q", got, want)
	}
	files := []string{"check.txt", "info.txt", "ours.txt", "stages.txt", "table.md", "torch.jsonl", "torch.log"}
	var names []string
	for n := range out {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, files) {
		t.Errorf("$OUT holds %q, want %q", names, files)
	}
	for _, w := range []string{"GPU 0: Fake H200", "Default", "CUDA Version: 13.0",
		"cuda:0   Fake CUDA Device, 1.0 GiB, compute capability 9.0, compute mode Default", "built: fake carry"} {
		if !strings.Contains(out["info.txt"], w) {
			t.Errorf("info.txt lacks %q:\n%s", w, out["info.txt"])
		}
	}
	// Order of the calls, and their arguments.
	var seq []string
	for _, l := range trace {
		f := strings.Fields(l)
		what := f[0]
		switch {
		case strings.Contains(l, "BenchmarkStep"):
			what += " step " + f[1]
		case strings.Contains(l, "BenchmarkEpoch"):
			what += " epoch"
		case strings.Contains(l, "BenchmarkPotts"):
			what += " potts"
		}
		seq = append(seq, what)
		if strings.HasSuffix(f[0], ".test") && !strings.Contains(l, " -test.timeout ") {
			t.Errorf("called without -test.timeout: %s", l)
		}
	}
	wantSeq := []string{"cudadrv.test", "engine.test", "ais.test", "bench.test", "bench.test step gemm=baseline",
		"bench.test step gemm=", "torch_rbm.py", "bench.test epoch", "bench.test potts"}
	if !slices.Equal(seq, wantSeq) {
		t.Errorf("calls %q, want %q\n%s", seq, wantSeq, strings.Join(trace, "\n"))
	}
	if !strings.Contains(trace[0], "-test.run ^TestGPU(MatchesHost|ErrorsAndConcurrency|RecordMemsetPrimary)$") || strings.Contains(strings.Join(trace, " "), "Emulat") {
		t.Errorf("correctness ran %q: want the GPU tests against the host kernels, nothing on the emulator", trace[0])
	}
	if !strings.Contains(trace[4], "^CD-(1|10)$/^(784x500|4096x4096)$/^B(128|1024|4096)$") || !strings.Contains(trace[4], "-test.benchtime 0.5s") {
		t.Errorf("ours ran %q: want the 12 configurations at -test.benchtime 0.5s", trace[4])
	}
	if m := regexp.MustCompile(`--budget-s (\d+)`).FindStringSubmatch(trace[6]); m == nil || m[1] != "150" {
		t.Errorf("peer ran %q: want --budget-s 150", trace[6])
	}
	table := out["table.md"]
	for _, w := range []string{"| CD-1 784x500 B128 | 0.5 | 128,000 · 0.50 · 0.7% | 128,000 · 0.50 · 0.7% | 64,000 · 0.25 · 0.4% | n/a | 2.00 | n/a | 1.00 | 20.0 |",
		"| CD-10 4096x4096 B4096 |", "epoch cuda:0/synthetic-60k/CD-1/784x500/B128: 2.50 s (24,000 samples/s)",
		"potts cuda:0/L100q21/C10000: 2.00 ms per sweep (5,000,000 samples/s, 500,000,000 site updates/s, 100.0 GFLOP/s)",
		"potts-rbm cuda:0/L100q21/H100/C10000: 1.00 ms per PCD-1 step (10,000,000 chains moved/s, 100,000 data rows/s)", "torch compiled CD-1 784x500 B128: skipped"} {
		if !strings.Contains(table, w) {
			t.Errorf("table.md lacks %q:\n%s", w, table)
		}
	}
	if !strings.Contains(output, "run: all stages passed") {
		t.Errorf("run.sh did not end with its summary:\n%s", output)
	}

	// A failing check: exit 1, the stages after it still run.
	code, output, out, _, _ = k.run(t, "STUB_FAIL=engine.test")
	want = []string{"info PASS", "check FAIL", "ours PASS", "torch PASS", "epoch PASS", "table PASS"}
	if got := stagesOf(out["stages.txt"]); code != 1 || !slices.Equal(got, want) || !strings.Contains(output, "run: FAILED: check") {
		t.Errorf("with engine.test failing: exit %d, stages %q; want exit 1, stages %q\n%s", code, got, want, output)
	}

	// QUICK=1 and a subset of stages, given out of order: run in the kit's order.
	code, output, out, trace, wall = k.run(t, "QUICK=1", "STAGES=table,ours,torch")
	t.Logf("QUICK=1 fake run of ours, torch, table: %v", wall)
	want = []string{"ours PASS", "torch PASS", "table PASS"}
	if got := stagesOf(out["stages.txt"]); code != 0 || !slices.Equal(got, want) {
		t.Errorf("QUICK=1 STAGES=table,ours,torch: exit %d, stages %q, want %q\n%s", code, got, want, output)
	}
	all := strings.Join(trace, "\n")
	if len(trace) != 3 || !strings.Contains(all, "^CD-1$/^(784x500|4096x4096)$/^B(128|4096)$") || !strings.Contains(all, "-test.benchtime 0.2s") ||
		!strings.Contains(all, "--budget-s 70 --k 1 --batches 128,4096") {
		t.Errorf("QUICK=1 calls:\n%s\nwant two CD-1 step runs at 0.2s and the peer with --budget-s 70 --k 1", all)
	}
	code, _, out, trace, _ = k.run(t, "QUICK=1", "STAGES=check")
	if code != 0 || len(trace) != 2 || !strings.HasPrefix(trace[0], "cudadrv.test") || !strings.HasPrefix(trace[1], "bench.test") {
		t.Errorf("QUICK=1 check: exit %d, calls %q; want cudadrv.test and bench.test only", code, trace)
	}
	if wall > 2*time.Minute {
		t.Errorf("a fake QUICK run took %v", wall)
	}
}
