package kernels_test

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// uploadBytes copies b, padded with zeros to whole 32-bit words, into a
// new allocation.
func uploadBytes(t *testing.T, d kernels.Driver, b []byte) kernels.DevicePtr {
	t.Helper()
	padded := make([]byte, (len(b)+3)/4*4)
	copy(padded, b)
	p, err := d.Alloc(len(padded))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CopyHtoD(p, padded); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGatherRowsCompact: gather_rows_u8 maps the codes of the rows an
// order names through the table, and gather_rows_bits unpacks their bits,
// on every driver, with the same values the host conversions give; rows
// of a width that is no multiple of 4 codes or 32 bits, and repeated rows.
// A row past the source is an error on the host kernels.
func TestGatherRowsCompact(t *testing.T) {
	const rows, srcRows = 6, 9
	rng := rand.New(rand.NewPCG(3, 4))
	idx := []uint32{8, 0, 3, 3, 6, 1}
	lut := make([]float32, 256)
	for i := range lut {
		lut[i] = float32(i)/255 + 0.25
	}
	for name, mk := range drivers() {
		t.Run(name+"/u8", func(t *testing.T) {
			const cols = 7
			d := mk()
			defer d.Close()
			codes := make([]byte, srcRows*cols)
			for i := range codes {
				codes[i] = byte(rng.IntN(256))
			}
			pSrc, pLut := uploadBytes(t, d, codes), upload(t, d, lut)
			pIdx, pDst := uploadBytes(t, d, kernels.Uint32Bytes(idx)), upload(t, d, make([]float32, rows*cols))
			k, _ := kernels.Lookup(kernels.GatherRowsU8)
			a := &kernels.GatherRowsU8Args{Rows: rows, Cols: cols, Src: pSrc, Idx: pIdx, Lut: pLut, Dst: pDst}
			if err := d.Launch(kernels.ElementwiseGrid(rows*cols), k.Block, a); err != nil {
				t.Fatal(err)
			}
			got := download(t, d, pDst, rows*cols)
			for r, i := range idx {
				for c := 0; c < cols; c++ {
					if want := lut[codes[int(i)*cols+c]]; got[r*cols+c] != want {
						t.Fatalf("dst[%d,%d] = %v, want lut[code of row %d, col %d] = %v", r, c, got[r*cols+c], i, c, want)
					}
				}
			}
			if strings.HasPrefix(name, "host") {
				if err := d.CopyHtoD(pIdx, kernels.Uint32Bytes([]uint32{1, 100000})); err != nil {
					t.Fatal(err)
				}
				a.Rows = 2
				err := d.Launch(kernels.ElementwiseGrid(2*cols), k.Block, a)
				if err == nil || !strings.Contains(err.Error(), "row 1 of the order is 100000") {
					t.Errorf("index past the source: error %v", err)
				}
			}
		})
		t.Run(name+"/bits", func(t *testing.T) {
			const cols, wpr64 = 70, 2 // two 64-bit words per row, as data.Dataset packs them
			d := mk()
			defer d.Close()
			words := make([]uint64, srcRows*wpr64)
			for i := range words {
				words[i] = rng.Uint64()
			}
			raw := make([]byte, 8*len(words))
			for i, w := range words {
				binary.LittleEndian.PutUint64(raw[8*i:], w)
			}
			pSrc := uploadBytes(t, d, raw)
			pIdx, pDst := uploadBytes(t, d, kernels.Uint32Bytes(idx)), upload(t, d, make([]float32, rows*cols))
			k, _ := kernels.Lookup(kernels.GatherRowsBits)
			a := &kernels.GatherRowsBitsArgs{Rows: rows, Cols: cols, WordsPerRow: 2 * wpr64, Src: pSrc, Idx: pIdx, Dst: pDst}
			if err := d.Launch(kernels.ElementwiseGrid(rows*cols), k.Block, a); err != nil {
				t.Fatal(err)
			}
			got := download(t, d, pDst, rows*cols)
			for r, i := range idx {
				for c := 0; c < cols; c++ {
					want := float32(words[int(i)*wpr64+c/64] >> (c % 64) & 1)
					if got[r*cols+c] != want {
						t.Fatalf("dst[%d,%d] = %v, want bit %d of row %d = %v", r, c, got[r*cols+c], c, i, want)
					}
				}
			}
			if strings.HasPrefix(name, "host") {
				a.WordsPerRow = 2
				if err := d.Launch(kernels.ElementwiseGrid(rows*cols), k.Block, a); err == nil {
					t.Error("2 words per row for 70 bits: no error")
				}
			}
		})
	}
}
