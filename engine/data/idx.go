package data

import (
	"encoding/binary"
	"errors"
	"io"
)

// IDX is the format of the MNIST and Fashion-MNIST files: a big-endian
// header
//
//	magic  uint32  0x0000TTNN: TT the element type, NN the rank
//	dims   NN × uint32
//
// followed by the elements in C order, big-endian. Type codes: 0x08 uint8,
// 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. MNIST
// images are 0x00000803 (uint8, [N rows cols]) and labels 0x00000801
// (uint8, [N]).

// idxTypes maps IDX type codes to element types.
var idxTypes = map[byte]dtype{
	0x08: {kind: 'u', size: 1, big: true},
	0x09: {kind: 'i', size: 1, big: true},
	0x0B: {kind: 'i', size: 2, big: true},
	0x0C: {kind: 'i', size: 4, big: true},
	0x0D: {kind: 'f', size: 4, big: true},
	0x0E: {kind: 'f', size: 8, big: true},
}

// maxIDXRank bounds the rank byte; real files have rank 1 to 4.
const maxIDXRank = 16

// ReadIDX reads one IDX array from r: its shape (the header dims) and its
// elements converted to float32 in C order, len(Data) = product of Shape.
// name is used in error messages. When r is an in-memory reader or a regular
// *os.File the byte count in the header is checked against what r holds
// before anything is allocated. Float elements must be finite.
func ReadIDX(r io.Reader, name string) (Array, error) {
	return readIDX(r, name, sizeHint(r), false)
}

func readIDX(r io.Reader, name string, b bound, compact bool) (Array, error) {
	var hdr [4]byte
	if m, err := io.ReadFull(r, hdr[:]); err != nil {
		if m == 0 && errors.Is(err, io.EOF) {
			return Array{}, errorf(name, "empty file, want an IDX header")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Array{}, errorf(name, "truncated header: %d bytes, want at least 4 for the magic number", m)
		}
		return Array{}, wrapErr(name, err)
	}
	magic := binary.BigEndian.Uint32(hdr[:])
	t, ok := idxTypes[hdr[2]]
	rank := int(hdr[3])
	if hdr[0] != 0 || hdr[1] != 0 || !ok || rank == 0 || rank > maxIDXRank {
		return Array{}, errorf(name, "bad magic 0x%08x, want 0x00000801 or 0x00000803 (IDX 0x0000TTNN: type TT one of 08 09 0B 0C 0D 0E, rank NN 1..%d)", magic, maxIDXRank)
	}
	dimBytes := make([]byte, 4*rank)
	if m, err := io.ReadFull(r, dimBytes); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Array{}, errorf(name, "truncated header: magic 0x%08x announces %d dimensions (%d bytes), file has %d bytes after the magic", magic, rank, 4*rank, m)
		}
		return Array{}, wrapErr(name, err)
	}
	shape := make([]int, rank)
	for i := range shape {
		shape[i] = int(binary.BigEndian.Uint32(dimBytes[4*i:]))
	}
	n, ok := numel(shape)
	if !ok {
		return Array{}, errorf(name, "header: dimensions %v describe more than %d elements", shape, int64(maxElements))
	}
	if b.n >= 0 {
		b.n -= int64(4 + 4*rank)
	}
	rowLen := 0
	if rank >= 2 {
		rowLen = int(n / max(int64(shape[0]), 1))
	}
	return readArray(r, name, shape, n, t, b, rowLen, compact)
}

// LoadIDXImages loads an IDX file of rank ≥ 2, raw or gzip-compressed
// (detected by its magic bytes), as a Dataset: N = dims[0] samples of
// D = dims[1]·…·dims[rank-1] features, Shape = dims[1:] (e.g. [28 28] for
// MNIST), values as stored (0..255 for uint8 images; see ScaleTo01).
func LoadIDXImages(path string) (*Dataset, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return idxDataset(in, path)
}

func idxDataset(in *input, path string) (*Dataset, error) {
	a, err := readIDX(in.r, path, in.bound, true)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) < 2 {
		return nil, errorf(path, "IDX rank 1 (shape %v) is a label file; want images of rank ≥ 2 (samples × ...)", a.Shape)
	}
	return arrayDataset(a, path)
}

// LoadIDXLabels loads a rank-1 IDX file (magic 0x00000801 for MNIST labels),
// raw or gzip-compressed, as N integer labels.
func LoadIDXLabels(path string) ([]int, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	a, err := readIDX(in.r, path, in.bound, false)
	if err != nil {
		return nil, err
	}
	return arrayLabels(a, path)
}
