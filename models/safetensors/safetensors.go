// Package safetensors reads and writes the safetensors tensor file format
// (the format of Hugging Face's safetensors library), so that rbmgpu
// checkpoints open as is in Python (safetensors.numpy.load_file,
// safetensors.torch.load_file) and Python-made files open here.
//
// Layout of a file:
//
//	bytes [0, 8)        N, the header length, little-endian uint64
//	bytes [8, 8+N)      header: a UTF-8 JSON object, optionally padded with
//	                    trailing spaces (we pad to a multiple of 8 so the data
//	                    section starts 8-byte aligned, like the reference writer)
//	bytes [8+N, end)    data section: raw little-endian tensor bytes
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets"},
// data_offsets being [begin, end) relative to the start of the data section,
// plus an optional "__metadata__" object whose values are all strings.
// Tensors are stored contiguously without gaps or overlaps and together cover
// the whole data section.
//
// Writes are deterministic: tensors are laid out in sorted name order, the
// header lists "__metadata__" first (keys sorted) and then the tensors in
// sorted name order, each entry's fields in the spec's order (dtype, shape,
// data_offsets), with no insignificant whitespace. The same input always
// gives the identical file.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header Read accepts (100 MB, the limit of the
// reference implementation); it bounds the memory a corrupt length can claim.
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding the string-to-string
// metadata map.
const metadataKey = "__metadata__"

// Tensor is one named tensor. Data holds the elements in row-major order as
// float32 whatever the stored dtype: len(Data) = Π Shape (1 for a scalar,
// Shape = []).
//
// On Write, DType must be "F32" or empty (meaning F32). On Read, DType is the
// dtype stored in the file (see DTypeSize for the accepted ones) and Data is
// its conversion to float32 (exact for F32, F16, BF16, U8, I8, U16, I16 and
// BOOL; rounded to nearest for F64, I32, U32, I64 and U64).
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []float32
}

// dtypeSizes maps every dtype Read converts to its element size in bytes.
// The 8-bit float dtypes (F8_E4M3, F8_E5M2) are known to the format but
// not converted here.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1,
	"U16": 2, "I16": 2, "F16": 2, "BF16": 2,
	"U32": 4, "I32": 4, "F32": 4,
	"U64": 8, "I64": 8, "F64": 8,
}

// DTypeSize returns the element size in bytes of a dtype Read accepts, and
// false for any other dtype.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Write stores tensors and metadata at path atomically: it writes a
// temporary file in the same directory, syncs and closes it, renames it over
// path and syncs the directory. On any error the temporary file is removed
// and a previous file at path is left untouched. See Encode for the bytes
// written.
func Write(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Encode fully in memory first: a bad tensor then fails before the
	// filesystem is touched at all.
	var buf bytes.Buffer
	size := 1 << 12 // the header, roughly
	for _, t := range tensors {
		size += 4 * len(t.Data)
	}
	buf.Grow(size) // one allocation instead of a doubling series
	if err := Encode(&buf, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("%s: write: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// The rename is durable only once the directory entry is on disk.
	// Windows cannot open a directory for syncing; there the rename is as
	// durable as the platform makes it.
	if runtime.GOOS != "windows" {
		d, err := os.Open(dir)
		if err == nil {
			err = d.Sync()
			d.Close()
		}
		if err != nil {
			return fmt.Errorf("%s: sync directory: %w", path, err)
		}
	}
	return nil
}

// Encode writes tensors and metadata to w in safetensors format. Tensor
// names must be non-empty, unique and not "__metadata__"; shapes must have
// non-negative dimensions whose product is len(Data). Nil or empty metadata
// writes no "__metadata__" entry.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := make([]*Tensor, len(tensors))
	for i := range tensors {
		sorted[i] = &tensors[i]
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		writeJSONString(&h, metadataKey)
		h.WriteString(":{")
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return fmt.Errorf("metadata %q: not valid UTF-8", k)
			}
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	var off uint64
	for i, t := range sorted {
		if t.Name == "" {
			return errors.New("tensor with empty name")
		}
		if t.Name == metadataKey {
			return fmt.Errorf("tensor %q: name is reserved", t.Name)
		}
		if !utf8.ValidString(t.Name) {
			return fmt.Errorf("tensor %q: name is not valid UTF-8", t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("tensor %q: duplicate name", t.Name)
		}
		if t.DType != "" && t.DType != "F32" {
			return fmt.Errorf("tensor %q: dtype %s: only F32 can be written", t.Name, t.DType)
		}
		n, ok := numElements(t.Shape)
		if !ok {
			return fmt.Errorf("tensor %q: shape %v: dimensions must be non-negative and their product small enough", t.Name, t.Shape)
		}
		if n != uint64(len(t.Data)) {
			return fmt.Errorf("tensor %q: shape %v holds %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		if len(metadata) > 0 || i > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":"F32","shape":[`)
		for k, d := range t.Shape {
			if k > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := off + 4*n
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	h.WriteByte('}')
	// Pad with spaces so the data section starts 8-byte aligned.
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	bw.Write(lenBuf[:])
	bw.Write(h.Bytes())
	var b [4]byte
	for _, t := range sorted {
		for _, x := range t.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// writeJSONString appends s as a JSON string. HTML characters are not
// escaped, so names like "a<b" appear in the header as written.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	b.Truncate(b.Len() - 1)
}

// numElements returns Π shape, false when a dimension is negative or the
// product would not fit in memory-sized arithmetic (≥ 2^40 elements).
func numElements(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > (1<<40)/uint64(d) {
			return 0, false
		}
		n *= uint64(d)
	}
	if n > 1<<40 {
		return 0, false
	}
	return n, true
}

// Read loads every tensor of the safetensors file at path, converted to
// float32, and its metadata (nil when the file has none). The file is fully
// validated (see Decode); errors are one line starting with the path.
func Read(path string) (map[string]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size < 8 {
		return nil, nil, fmt.Errorf("%s: file is %d bytes, shorter than the 8-byte header length", path, size)
	}
	// Check the declared header length before reading the rest, so a corrupt
	// length cannot make us allocate more than the file holds.
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkHeaderLen(binary.LittleEndian.Uint64(lenBuf[:]), uint64(size)); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	buf := make([]byte, size)
	copy(buf, lenBuf[:])
	if _, err := io.ReadFull(f, buf[8:]); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	tensors, meta, err := Decode(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, meta, nil
}

func checkHeaderLen(n, size uint64) error {
	if n > MaxHeaderSize {
		return fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if n > size-8 {
		return fmt.Errorf("header length %d exceeds the %d bytes after the length field", n, size-8)
	}
	if n < 2 {
		return fmt.Errorf("header length %d is too short for a JSON object", n)
	}
	return nil
}

// entry is one tensor's header record, before conversion.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Decode parses a whole safetensors file held in b. It checks that the
// header length fits the input and MaxHeaderSize, the header is a JSON
// object without duplicate keys, "__metadata__" (if present) maps strings to
// strings, every tensor has a known dtype, a shape of non-negative integers
// and data_offsets [begin, end] with end - begin = Π shape × dtype size, and
// that the tensors, sorted by offset, tile the data section exactly (no gap,
// no overlap, nothing left over). Errors name the tensor and field.
func Decode(b []byte) (map[string]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("input is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if err := checkHeaderLen(n, uint64(len(b))); err != nil {
		return nil, nil, err
	}
	header := b[8 : 8+n]
	data := b[8+n:]
	if header[0] != '{' {
		return nil, nil, fmt.Errorf("header does not start with '{' (byte 0x%02x)", header[0])
	}
	if !utf8.Valid(header) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}

	// Tiling check: sorted by begin, each tensor must start where the
	// previous one ended, and the last must end at the end of the data.
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		return entries[i].end < entries[j].end
	})
	var pos uint64
	for i, e := range entries {
		if e.begin != pos {
			if e.begin < pos {
				return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d %d] overlap tensor %q ending at %d", e.name, e.begin, e.end, entries[i-1].name, pos)
			}
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d %d] leave a gap: previous data ends at %d", e.name, e.begin, e.end, pos)
		}
		if e.end > uint64(len(data)) {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d %d] run past the %d-byte data section", e.name, e.begin, e.end, len(data))
		}
		pos = e.end
	}
	if pos != uint64(len(data)) {
		return nil, nil, fmt.Errorf("data section is %d bytes, tensors cover %d", len(data), pos)
	}

	tensors := make(map[string]Tensor, len(entries))
	for _, e := range entries {
		tensors[e.name] = Tensor{Name: e.name, DType: e.dtype, Shape: e.shape, Data: convert(e.dtype, data[e.begin:e.end])}
	}
	return tensors, meta, nil
}

// parseHeader walks the header's JSON tokens itself (rather than decoding
// into a map) so that duplicate keys, which a map would silently merge, are
// rejected.
func parseHeader(header []byte) ([]entry, map[string]string, error) {
	// Errors about the JSON as a whole say "header"; errors about one
	// tensor start with the tensor's name instead.
	hdr := func(err error) ([]entry, map[string]string, error) {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return hdr(err)
	}
	var entries []entry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return hdr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return hdr(fmt.Errorf("unexpected %v", tok))
		}
		if seen[key] {
			return hdr(fmt.Errorf("key %q appears twice", key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return hdr(fmt.Errorf("key %q: %w", key, err))
		}
		if key == metadataKey {
			m, err := parseMetadata(raw)
			if err != nil {
				return hdr(fmt.Errorf("%s: %w", metadataKey, err))
			}
			meta = m
			continue
		}
		e, err := parseEntry(key, raw)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return hdr(err)
	}
	// Only the space padding may follow the object.
	rest := header[dec.InputOffset():]
	if len(bytes.Trim(rest, " ")) != 0 {
		return hdr(errors.New("unexpected bytes after the JSON object (only space padding is allowed)"))
	}
	return entries, meta, nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("key %q appears twice", k)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("key %q: value is not a string", k)
		}
		m[k] = v
	}
	return m, nil
}

func parseEntry(name string, raw json.RawMessage) (entry, error) {
	var rec struct {
		DType       *string           `json:"dtype"`
		Shape       []json.RawMessage `json:"shape"`
		DataOffsets []json.RawMessage `json:"data_offsets"`
	}
	if len(raw) == 0 || raw[0] != '{' {
		return entry{}, fmt.Errorf("tensor %q: entry is not a JSON object", name)
	}
	// Unknown fields are ignored, as the reference reader does.
	if err := json.Unmarshal(raw, &rec); err != nil {
		return entry{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	e := entry{name: name}
	if rec.DType == nil {
		return e, fmt.Errorf("tensor %q: dtype missing", name)
	}
	e.dtype = *rec.DType
	size, ok := dtypeSizes[e.dtype]
	if !ok {
		return e, fmt.Errorf("tensor %q: dtype %q is not one of BOOL U8 I8 U16 I16 F16 BF16 U32 I32 F32 U64 I64 F64", name, e.dtype)
	}
	if rec.Shape == nil {
		return e, fmt.Errorf("tensor %q: shape missing", name)
	}
	e.shape = make([]int, len(rec.Shape))
	for i, s := range rec.Shape {
		d, err := strconv.ParseUint(string(s), 10, 40)
		if err != nil {
			return e, fmt.Errorf("tensor %q: shape %v: dimension %d is not an integer in [0, 2^40)", name, rec.Shape, i)
		}
		e.shape[i] = int(d)
	}
	if len(rec.DataOffsets) != 2 {
		return e, fmt.Errorf("tensor %q: data_offsets must be [begin, end]", name)
	}
	var off [2]uint64
	for i, s := range rec.DataOffsets {
		v, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return e, fmt.Errorf("tensor %q: data_offsets %v: not non-negative integers", name, rec.DataOffsets)
		}
		off[i] = v
	}
	e.begin, e.end = off[0], off[1]
	if e.end < e.begin {
		return e, fmt.Errorf("tensor %q: data_offsets [%d %d] end before they begin", name, e.begin, e.end)
	}
	n, ok := numElements(e.shape)
	if !ok {
		return e, fmt.Errorf("tensor %q: shape %v is too large", name, e.shape)
	}
	if need := n * uint64(size); e.end-e.begin != need {
		return e, fmt.Errorf("tensor %q: data_offsets [%d %d] hold %d bytes, shape %v %s needs %d", name, e.begin, e.end, e.end-e.begin, e.shape, e.dtype, need)
	}
	return e, nil
}

// convert turns little-endian elements of dtype into float32.
func convert(dtype string, b []byte) []float32 {
	le := binary.LittleEndian
	size := dtypeSizes[dtype]
	out := make([]float32, len(b)/size)
	for i := range out {
		p := b[i*size:]
		var x float32
		switch dtype {
		case "F32":
			x = math.Float32frombits(le.Uint32(p))
		case "F64":
			x = float32(math.Float64frombits(le.Uint64(p)))
		case "F16":
			x = halfToFloat(le.Uint16(p))
		case "BF16":
			x = math.Float32frombits(uint32(le.Uint16(p)) << 16)
		case "BOOL":
			if p[0] != 0 {
				x = 1
			}
		case "U8":
			x = float32(p[0])
		case "I8":
			x = float32(int8(p[0]))
		case "U16":
			x = float32(le.Uint16(p))
		case "I16":
			x = float32(int16(le.Uint16(p)))
		case "U32":
			x = float32(le.Uint32(p))
		case "I32":
			x = float32(int32(le.Uint32(p)))
		case "U64":
			x = float32(le.Uint64(p))
		case "I64":
			x = float32(int64(le.Uint64(p)))
		}
		out[i] = x
	}
	return out
}

// halfToFloat converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp == 0: // zero or subnormal: man × 2^-24
		x := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			x = -x
		}
		return x
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
