package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine"
)

// Memory before a run: the estimate of engine.EstimateMemory is printed as
// one line, and a run that needs more than the machine has stops with one
// line naming both, before the model is allocated.

// meminfoPath is where the host's available memory is read
// (MemAvailable, in kB).
const meminfoPath = "/proc/meminfo"

// hostAvailable returns MemAvailable of /proc/meminfo in bytes; ok is
// false where it cannot be read (not Linux).
func hostAvailable() (n int64, ok bool) {
	f, err := os.Open(meminfoPath)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, found := strings.Cut(sc.Text(), ":")
		if !found || name != "MemAvailable" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// deviceMemory returns the memory of the CUDA device a backend runs on
// (its total: the driver's free memory is not known before a context
// exists); ok is false for the CPU backends and when the driver says
// nothing.
func deviceMemory(b engine.Backend) (n int64, ok bool) {
	name := b.Name()
	if !strings.HasPrefix(name, "cuda") {
		return 0, false
	}
	_, ordinal, err := engine.ParseDevice(name)
	if err != nil {
		return 0, false
	}
	devs, err := engine.CUDADevices()
	if err != nil {
		return 0, false
	}
	for _, d := range devs {
		if d.Ordinal == ordinal {
			return int64(d.Memory), true
		}
	}
	return 0, false
}

// memoryLimit is the soft limit a run sets on the Go heap: 90% of the
// available host memory, unless the user set GOMEMLIMIT (goenv non-empty).
// The estimate counts what a run holds; Go's collector lets the heap grow
// to twice the live data between collections (GOGC = 100), so a large
// model whose estimate fits could still run out of memory on garbage. Near
// the limit the collector runs more often instead.
func memoryLimit(avail int64, goenv string) (int64, bool) {
	if goenv != "" || avail <= 0 {
		return 0, false
	}
	return avail / 10 * 9, true
}

// checkMemory prints the memory line of a run of est on b to w, sets the
// heap's soft limit (memoryLimit), and returns a one-line error when it
// cannot fit: on the CPU backends the
// executor's memory is host memory (est.OnHost), on a GPU est.Host stays on
// the host and est.Device goes to the device. An unknown amount available
// is not checked.
func checkMemory(w io.Writer, what string, est engine.MemoryEstimate, b engine.Backend) error {
	parts := fmt.Sprintf("data %s, parameters %s, chains %s, buffers %s",
		engine.FormatBytes(est.Data), engine.FormatBytes(est.Params), engine.FormatBytes(est.Chains), engine.FormatBytes(est.Buffers))
	host := est.Host
	onDevice := strings.HasPrefix(b.Name(), "cuda")
	if !onDevice {
		host = est.OnHost()
	}
	avail, hostKnown := hostAvailable()
	dev, devKnown := deviceMemory(b)
	line := fmt.Sprintf("memory: about %s on the host", engine.FormatBytes(host))
	if onDevice {
		line += fmt.Sprintf(", %s on %s", engine.FormatBytes(est.Device), b.Name())
	}
	line += " (" + parts + ")"
	if hostKnown {
		line += fmt.Sprintf("; %s available", engine.FormatBytes(avail))
	}
	if devKnown {
		line += fmt.Sprintf(", %s on %s", engine.FormatBytes(dev), b.Name())
	}
	fmt.Fprintln(w, line)
	if hostKnown {
		if limit, ok := memoryLimit(avail, os.Getenv("GOMEMLIMIT")); ok {
			debug.SetMemoryLimit(limit)
		}
	}
	switch {
	case hostKnown && host > avail:
		return fmt.Errorf("%s: the run needs about %s of host memory (%s), but %s is available (MemAvailable in %s)",
			what, engine.FormatBytes(host), parts, engine.FormatBytes(avail), meminfoPath)
	case onDevice && devKnown && est.Device > dev:
		return fmt.Errorf("%s: the run needs about %s of device memory (%s), but %s has %s",
			what, engine.FormatBytes(est.Device), parts, b.Name(), engine.FormatBytes(dev))
	}
	return nil
}
