package data

import (
	"runtime"
	"testing"
)

// TestLoadMemory checks that loading decodes straight into the final
// []float32: the bytes allocated are the float32 data (4 bytes per value)
// plus fixed-size buffers, never a second whole-file copy.
func TestLoadMemory(t *testing.T) {
	const n, d = 2000, 784
	pix := make([]byte, n*d)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	dir := t.TempDir()
	raw := writeFile(t, dir, "m-idx3-ubyte", idxFile(0x08, []int{n, 28, 28}, pix))
	npy := writeFile(t, dir, "m.npy", npyFile(npyDict("|u1", "(2000, 784)"), pix))
	for _, p := range []string{raw, raw + ".gz", npy} {
		if p == raw+".gz" {
			writeFile(t, dir, "m-idx3-ubyte.gz", gz(t, idxFile(0x08, []int{n, 28, 28}, pix)))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ds, err := Load(p, LoadOptions{})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		data := uint64(4 * n * d)
		extra := after.TotalAlloc - before.TotalAlloc - data
		if extra > 512<<10 {
			t.Errorf("%s: allocated %d bytes beyond the %d of data", p, extra, data)
		}
		if ds.N != n || ds.X[n*d-1] != float32(pix[n*d-1]) {
			t.Errorf("%s: wrong data", p)
		}
	}
}
