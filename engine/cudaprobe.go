package engine

import (
	"fmt"
	"strings"
	"sync"
)

// cudaProbe finds the CUDA backend of a device: list lists the devices the
// driver reports, open opens one. realCUDA has the real ones; tests pass
// fakes.
type cudaProbe struct {
	list func() ([]DeviceInfo, error)
	open func(ordinal int) (Backend, error)
}

func realCUDA() cudaProbe { return cudaProbe{list: cudaDevices, open: cudaBackend} }

// backend is FindCUDA with p's lister and constructor.
func (p cudaProbe) backend(ordinal int) (b Backend, absent string, err error) {
	if p.list == nil || p.open == nil {
		return nil, "this binary was built without cgo, so without the CUDA backend", nil
	}
	devs, err := p.list()
	switch {
	case err != nil:
		return nil, "no CUDA driver: " + oneLine(err.Error()), nil
	case len(devs) == 0:
		return nil, "the CUDA driver lists no device", nil
	case ordinal < 0 || ordinal >= len(devs):
		return nil, fmt.Sprintf("no CUDA device %d: the driver lists %d", ordinal, len(devs)), nil
	}
	b, err = p.open(ordinal)
	if err != nil {
		return nil, "", fmt.Errorf("cuda:%d (%s) is listed but its backend did not open: %w", ordinal, devs[ordinal].Name, err)
	}
	return b, "", nil
}

// FindCUDA returns the CUDA backend of device ordinal by the one rule of
// finding a CUDA device: when the driver lists no such device (a build
// without cgo, no driver or one that cannot initialise, no devices, or
// fewer) absent says why and err is nil; once the device is listed, a
// backend that does not open (context, stream, PTX JIT) is err, never
// absent. RequireCUDA, the benchmarks and --device auto all decide by it.
func FindCUDA(ordinal int) (b Backend, absent string, err error) { return realCUDA().backend(ordinal) }

// TB is the part of testing.TB that RequireCUDA uses.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// RequireCUDA returns the CUDA backend of device ordinal for a test or
// benchmark that needs a GPU, by FindCUDA's rule: it skips tb when the
// driver lists no such device (no cgo, no driver, no device), and once the
// device is listed it fails tb if the backend does not open, so a broken
// context or PTX JIT reads as a failure, never as a skip. It returns nil
// after Skipf or Fatalf (which stop a real test). A backend that opens is
// kept and returned to every later call for the device, so a test binary
// holds one Driver per device.
func RequireCUDA(tb TB, ordinal int) Backend {
	tb.Helper()
	testBackends.mu.Lock()
	defer testBackends.mu.Unlock()
	if b := testBackends.m[ordinal]; b != nil {
		return b
	}
	b := requireCUDA(tb, realCUDA(), ordinal)
	if b != nil {
		testBackends.m[ordinal] = b
	}
	return b
}

// testBackends are the backends RequireCUDA opened, by device ordinal.
var testBackends = struct {
	mu sync.Mutex
	m  map[int]Backend
}{m: map[int]Backend{}}

func requireCUDA(tb TB, p cudaProbe, ordinal int) Backend {
	tb.Helper()
	b, absent, err := p.backend(ordinal)
	switch {
	case absent != "":
		tb.Skipf("cuda:%d: %s", ordinal, absent)
		return nil
	case err != nil:
		tb.Fatalf("%v", err)
		return nil
	}
	return b
}

// oneLine joins the non-empty lines of s with "; ".
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
