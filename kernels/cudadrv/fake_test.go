//go:build cgo

package cudadrv

import (
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// unknownArgs names a kernel that is not in the launch table.
type unknownArgs struct{ N int32 }

func (*unknownArgs) Kernel() string { return "no_such_kernel" }
func (a *unknownArgs) Addr(i int) unsafe.Pointer {
	if i == 0 {
		return unsafe.Pointer(&a.N)
	}
	return nil
}

// launchLines and setLines split the fake's log: launches as the stream
// ran them, and "#set GRAPH NODE" lines of cuGraphExecKernelNodeSetParams.
func launchLines(t *testing.T, path string) (launches, sets []string) {
	for _, l := range readLines(t, path) {
		if strings.HasPrefix(l, "#set ") {
			sets = append(sets, l)
		} else {
			launches = append(launches, l)
		}
	}
	return launches, sets
}

// testRecord records three launches as a graph, changes their arguments
// between replays and checks, in the fake's log, that every replay runs the
// launches in order with the values the Args hold at the replay, and that
// only the changed nodes were updated. It returns a recording left open,
// for the caller to check after the Driver's Close.
func testRecord(t *testing.T, d *Driver, logPath string) kernels.Recording {
	a := &kernels.SumF32Args{N: 10, X: 8, Alpha: 1, Out: 16}
	b := &kernels.BernoulliF32Args{N: 20, P: 24, S: 32, Seed: 5, Op: 6, Step: 7}
	c := &kernels.SumF32Args{N: 30, X: 40, Alpha: 2, Out: 48}
	specs := []kernels.LaunchSpec{
		{Grid: d1(1), Block: d1(kernels.ReduceMaxThreads), Args: a},
		{Grid: kernels.ElementwiseGrid(20), Block: d1(kernels.ElementwiseBlock), Args: b},
		{Grid: d1(1), Block: d1(kernels.ReduceMaxThreads), Args: c},
	}
	rec, err := kernels.Record(d, specs)
	if err != nil {
		t.Fatal(err)
	}
	open, err := d.Record(specs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.(*recording); !ok {
		t.Fatalf("kernels.Record on a cudadrv.Driver gave a %T, want its own graph recording", rec)
	}
	// The log line of each launch, as Launch would write it.
	line := func(i int) string {
		os.Remove(logPath)
		if err := d.Launch(specs[i].Grid, specs[i].Block, specs[i].Args); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		l := readLines(t, logPath)
		if len(l) != 1 {
			t.Fatalf("launch %d logged %q", i, l)
		}
		return l[0]
	}
	replay := func() (launches, sets []string) {
		t.Helper()
		want := []string{line(0), line(1), line(2)}
		os.Remove(logPath)
		if err := rec.Replay(); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(); err != nil {
			t.Fatal(err)
		}
		launches, sets = launchLines(t, logPath)
		if strings.Join(launches, "\n") != strings.Join(want, "\n") {
			t.Errorf("replay ran\n%s\nwant\n%s", strings.Join(launches, "\n"), strings.Join(want, "\n"))
		}
		return launches, sets
	}
	if _, sets := replay(); len(sets) != 0 {
		t.Errorf("first replay updated nodes: %q", sets)
	}
	// New data pointer and RNG step, as a training step changes them.
	b.Step, b.P = 8, 1024
	c.N = 31
	_, sets := replay()
	if len(sets) != 2 || !strings.HasSuffix(sets[0], " 1") || !strings.HasSuffix(sets[1], " 2") {
		t.Errorf("updates %q, want nodes 1 and 2", sets)
	}
	if _, sets := replay(); len(sets) != 0 {
		t.Errorf("replay without changes updated nodes: %q", sets)
	}
	a.Alpha = 0.5
	if _, sets := replay(); len(sets) != 1 || !strings.HasSuffix(sets[0], " 0") {
		t.Errorf("updates %q, want node 0", sets)
	}

	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := rec.Replay(); err == nil || !strings.Contains(err.Error(), "closed recording") {
		t.Errorf("Replay after Close: %v", err)
	}
	// Errors: an unknown kernel (directly and through kernels.Record), a
	// wrong block, nothing to record.
	bad := []kernels.LaunchSpec{specs[0], {Grid: d1(1), Block: d1(256), Args: &unknownArgs{N: 1}}}
	if _, err := d.Record(bad); err == nil || !strings.Contains(err.Error(), "record launch 1") || !strings.Contains(err.Error(), "no_such_kernel") {
		t.Errorf("Record(unknown kernel): %v", err)
	}
	if _, err := kernels.Record(d, bad); err == nil || !strings.Contains(err.Error(), "no_such_kernel") {
		t.Errorf("kernels.Record(unknown kernel): %v", err)
	}
	if _, err := d.Record([]kernels.LaunchSpec{{Grid: d1(1), Block: d1(128), Args: a}}); err == nil || !strings.Contains(err.Error(), "block") {
		t.Errorf("Record(wrong block): %v", err)
	}
	if _, err := d.Record(nil); err == nil {
		t.Error("Record(nil): no error")
	}
	return open
}

// checkClosedRecording checks a recording left open at the Driver's Close:
// Close destroyed it (the fake fails the last release of the primary
// context if a graph is left), Replay fails and Close is a no-op.
func checkClosedRecording(t *testing.T, open kernels.Recording) {
	if err := open.Replay(); err == nil || err.Error() != "cudadrv: driver closed" {
		t.Errorf("Replay after the Driver's Close: %v", err)
	}
	if err := open.Close(); err != nil {
		t.Errorf("Close after the Driver's Close: %v", err)
	}
}

// TestFakeDriverAsync runs only as a child of TestFakeDriver, with the fake
// stream taking 30 ms per operation: copies return as soon as their source
// may be reused, staging buffers are not refilled while in flight, and
// device-to-host copies wait for the stream.
func TestFakeDriverAsync(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestFakeDriver")
	}
	const delay = 30 * time.Millisecond
	defer func(n int) { stagePiece = n }(stagePiece)
	stagePiece = 4096 // a 40 kB copy takes 10 pieces through 4 buffers
	d, err := New(0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}()
	if m := d.Device().ComputeMode; m != ComputeExclusiveProcess || m.String() != "Exclusive_Process" {
		t.Errorf("compute mode %v (%d), want Exclusive_Process", m, int(m))
	}
	// Pieces through reused buffers: any buffer refilled in flight, or
	// read before its copy, corrupts the data.
	if err := roundTrip(d, 10000); err != nil {
		t.Fatal(err)
	}

	p, err := d.Alloc(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	src := make([]byte, 1000)
	for i := range src {
		src[i] = byte(i)
	}
	sum := &kernels.SumF32Args{N: 1, X: p, Alpha: 1, Out: p}
	launches := func(n int) {
		for range n {
			if err := d.Launch(d1(1), d1(kernels.ReduceMaxThreads), sum); err != nil {
				t.Fatal(err)
			}
		}
	}
	// CopyHtoD behind 5 launches (150 ms of fake GPU work) returns at once.
	start := time.Now()
	launches(5)
	if err := d.CopyHtoD(p, src); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*delay/2 {
		t.Errorf("CopyHtoD behind 5 launches took %v: it waited for the stream", el)
	}
	for i := range src {
		src[i] = 0 // src is the caller's again
	}
	got := make([]byte, 1000)
	if err := d.CopyDtoH(got, p); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 6*delay {
		t.Errorf("CopyDtoH returned after %v, before the launches and the copy ahead of it (%v)", el, 7*delay)
	}
	for i := range got {
		if got[i] != byte(i) {
			t.Fatalf("byte %d = %d after the round trip, want %d", i, got[i], byte(i))
		}
	}
	// Five one-piece copies behind 3 launches: the fifth waits for the
	// staging buffer of the first, whose copy runs after the launches.
	start = time.Now()
	launches(3)
	for i := range stageBuffers + 1 {
		if err := d.CopyHtoD(p+kernels.DevicePtr(4096*i), src[:100]); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 4*delay {
		t.Errorf("%d copies through %d staging buffers returned after %v: a buffer was refilled in flight", stageBuffers+1, stageBuffers, el)
	}
	// Free waits for the launches that may use the memory.
	launches(2)
	start = time.Now()
	if err := d.Free(p); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 2*delay {
		t.Errorf("Free behind 2 launches returned after %v", el)
	}
}
