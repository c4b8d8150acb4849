package data

import (
	"runtime"
	"testing"
)

// TestLoadMemory checks that loading decodes straight into the final
// storage: the bytes allocated are the data (1 byte per value for unsigned
// bytes, held as codes; 4 per value for anything converted to float32) plus
// fixed-size buffers, never a second whole-file copy.
func TestLoadMemory(t *testing.T) {
	const n, d = 2000, 784
	pix := make([]byte, n*d)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	i16 := make([]byte, 2*n*d)
	for i := range pix {
		i16[2*i] = pix[i]
	}
	dir := t.TempDir()
	raw := writeFile(t, dir, "m-idx3-ubyte", idxFile(0x08, []int{n, 28, 28}, pix))
	gzipped := writeFile(t, dir, "m-idx3-ubyte.gz", gz(t, idxFile(0x08, []int{n, 28, 28}, pix)))
	npy := writeFile(t, dir, "m.npy", npyFile(npyDict("|u1", "(2000, 784)"), pix))
	npy16 := writeFile(t, dir, "m16.npy", npyFile(npyDict("<i2", "(2000, 784)"), i16))
	for _, tc := range []struct {
		path    string
		perElem uint64
		storage string
	}{{raw, 1, "uint8"}, {gzipped, 1, "uint8"}, {npy, 1, "uint8"}, {npy16, 4, "float32"}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ds, err := Load(tc.path, LoadOptions{})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		data := tc.perElem * n * d
		if extra := int64(after.TotalAlloc-before.TotalAlloc) - int64(data); extra > 512<<10 {
			t.Errorf("%s: allocated %d bytes beyond the %d of data", tc.path, extra, data)
		}
		if ds.N != n || ds.Storage() != tc.storage || ds.Row(n - 1)[d-1] != float32(pix[n*d-1]) {
			t.Errorf("%s: wrong data (storage %s)", tc.path, ds.Storage())
		}
	}
}
