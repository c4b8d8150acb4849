package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeTB records what requireCUDA asks of a test.
type fakeTB struct{ skipped, failed string }

func (*fakeTB) Helper()                             {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

// The one rule of the GPU tests and --device auto: skip (or fall back) only
// while no CUDA device is listed; a listed device whose backend does not
// open is a failure (and auto's reason names the error).
func TestCUDARule(t *testing.T) {
	h100 := []DeviceInfo{{Ordinal: 0, Name: "Fake H100"}}
	lists := func(devs []DeviceInfo, err error) func() ([]DeviceInfo, error) {
		return func() ([]DeviceInfo, error) { return devs, err }
	}
	okBackend := Host()
	opens := func(err error) func(int) (Backend, error) {
		return func(int) (Backend, error) {
			if err != nil {
				return nil, err
			}
			return okBackend, nil
		}
	}
	jit := errors.New("cudadrv: loading PTX module gemm: cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX\nJIT log: line 2")
	for _, c := range []struct {
		name         string
		probe        cudaProbe
		skip, fail   string // substrings; "" means none
		autoFallback string
		autoGetsOurs bool
	}{
		{"no cgo", cudaProbe{}, "built without cgo", "", "built without cgo", false},
		{"no driver", cudaProbe{lists(nil, errors.New("CUDA driver not available: libcuda.so.1: cannot open shared object file")), opens(nil)},
			"no CUDA driver: CUDA driver not available", "", "no CUDA driver: CUDA driver not available: libcuda.so.1", false},
		{"no device", cudaProbe{lists(nil, nil), opens(nil)}, "lists no device", "", "the CUDA driver lists no device", false},
		{"device listed, backend fails", cudaProbe{lists(h100, nil), opens(jit)}, "", "cuda:0 (Fake H100) is listed but its backend did not open: cudadrv: loading PTX module gemm",
			"cuda:0 (Fake H100) is listed but its backend did not open", false},
		{"device listed, backend opens", cudaProbe{lists(h100, nil), opens(nil)}, "", "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := &fakeTB{}
			b := requireCUDA(tb, c.probe, 0)
			if c.skip == "" && tb.skipped != "" || !strings.Contains(tb.skipped, c.skip) {
				t.Errorf("skipped %q, want %q", tb.skipped, c.skip)
			}
			if c.fail == "" && tb.failed != "" || !strings.Contains(tb.failed, c.fail) {
				t.Errorf("failed %q, want %q", tb.failed, c.fail)
			}
			if (b != nil) != (c.skip == "" && c.fail == "") {
				t.Errorf("backend %v after skip %q, fail %q", b, tb.skipped, tb.failed)
			}
			ab, why, err := openBackend("auto", c.probe)
			if err != nil {
				t.Fatalf("auto: %v", err)
			}
			if c.autoGetsOurs {
				if ab != okBackend || why != "" {
					t.Errorf("auto: %v, %q; want the CUDA backend", ab, why)
				}
				return
			}
			if ab.Name() != "cpu" || !strings.Contains(why, c.autoFallback) || strings.Contains(why, "\n") {
				t.Errorf("auto: %s, %q; want the CPU and one line mentioning %q", ab.Name(), why, c.autoFallback)
			}
		})
	}
}
