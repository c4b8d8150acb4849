package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// LoadOptions tunes Load. The zero value loads a file with no labels, reads
// CSV without a header row and takes the first array of an NPZ archive.
type LoadOptions struct {
	// Labels is an optional labels file: an IDX label file (magic
	// 0x00000801, raw or gzip), an NPY array of shape (N,) or (N, 1), or a
	// CSV file with a single column. Its count must equal the data's N.
	Labels string
	// CSVHeader says whether a CSV file starts with a header row:
	// CSVHeaderAuto (-1), CSVNoHeader (0) or CSVHasHeader (1).
	CSVHeader int
	// Key names the array to load from an NPZ archive; "" takes the first.
	Key string
}

// Load loads a data set named by spec:
//
//	bas:RxC          the built-in bars-and-stripes patterns (BarsAndStripes)
//	fashion-mnist, mnist (":test" for the test split)
//	                 a named data set with its labels, found locally or
//	                 downloaded and verified (see named.go, Fetch)
//	path             a file, format found from its first bytes, then its name:
//	                   IDX  (*-ubyte, *.idx*; MNIST magic 0x803 images)
//	                   NPY  (.npy, "\x93NUMPY")
//	                   NPZ  (.npz, a zip archive; opts.Key or the first array)
//	                   CSV  (.csv, .txt; .tsv is tab-separated)
//	                 IDX, NPY and CSV may be gzip-compressed (recognised by the
//	                 gzip magic bytes whatever the file is called).
//
// The result has N ≥ 1 samples of D ≥ 1 features holding the file's values
// unscaled (see ScaleTo01); an array of rank ≥ 3 gives N = dims[0] and
// Shape = dims[1:]. With opts.Labels the labels are read and their count
// checked against N.
func Load(spec string, opts LoadOptions) (*Dataset, error) {
	var (
		ds  *Dataset
		err error
	)
	if rest, ok := strings.CutPrefix(spec, "bas:"); ok {
		ds, err = loadBAS(spec, rest)
	} else if ns, split, ok := lookupNamed(spec); ok {
		ds, err = loadNamed(spec, ns, split, opts) // fashion-mnist[:test], mnist[:test]: see named.go
	} else {
		ds, err = loadFile(spec, opts)
	}
	if err != nil {
		return nil, err
	}
	if opts.Labels != "" {
		labels, err := LoadLabels(opts.Labels)
		if err != nil {
			return nil, err
		}
		if len(labels) != ds.N {
			return nil, errorf(opts.Labels, "%d labels, but data %s has %d samples", len(labels), ds.Name, ds.N)
		}
		ds.Labels = labels
	}
	return ds, nil
}

// loadBAS parses "RxC" of a bas: spec.
func loadBAS(spec, size string) (*Dataset, error) {
	rs, cs, ok := strings.Cut(strings.ToLower(size), "x")
	r, err1 := strconv.Atoi(rs)
	c, err2 := strconv.Atoi(cs)
	if !ok || err1 != nil || err2 != nil || r < 1 || c < 1 {
		return nil, errorf(spec, "want bas:RxC with integers R, C ≥ 1, e.g. bas:4x4")
	}
	return BarsAndStripes(r, c)
}

// format is a file format recognised by sniff.
type format int

const (
	fmtUnknown format = iota
	fmtIDX
	fmtNPY
	fmtNPZ
	fmtCSV
	fmtTSV
)

// sniff picks the format of a (decompressed) input from its first bytes,
// then from its name (less any .gz suffix), so a misnamed file still loads
// and a file with the wrong magic gets that format's specific error.
func sniff(head []byte, path string) format {
	switch {
	case bytes.HasPrefix(head, []byte(npyMagic)):
		return fmtNPY
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return fmtNPZ
	case len(head) >= 4 && head[0] == 0 && head[1] == 0:
		return fmtIDX
	}
	base := strings.ToLower(filepath.Base(path))
	base = strings.TrimSuffix(base, ".gz")
	switch ext := filepath.Ext(base); {
	case ext == ".npy":
		return fmtNPY
	case ext == ".npz":
		return fmtNPZ
	case strings.HasPrefix(ext, ".idx"), strings.HasSuffix(base, "-ubyte"), strings.Contains(base, "-idx"):
		return fmtIDX
	case ext == ".csv" || ext == ".txt":
		return fmtCSV
	case ext == ".tsv":
		return fmtTSV
	}
	return fmtUnknown
}

func loadFile(path string, opts LoadOptions) (*Dataset, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	switch sniff(in.head, path) {
	case fmtIDX:
		return idxDataset(in, path)
	case fmtNPY:
		a, err := readNPY(in.r, path, in.bound, true)
		if err != nil {
			return nil, err
		}
		return arrayDataset(a, path)
	case fmtNPZ:
		if in.gz {
			return nil, errorf(path, "gzip-compressed NPZ is not supported; NPZ is already compressed (np.savez_compressed)")
		}
		in.Close()
		a, key, err := ReadNPZArray(path, opts.Key)
		if err != nil {
			return nil, err
		}
		return arrayDataset(a, path+":"+key)
	case fmtCSV:
		return readCSV(in.r, path, opts.CSVHeader, ',')
	case fmtTSV:
		return readCSV(in.r, path, opts.CSVHeader, '\t')
	}
	return nil, errorf(path, "unknown data format: want bas:RxC, an IDX file (*-ubyte, *.idx), .npy, .npz or .csv (optionally .gz)")
}

// LoadLabels reads a labels file: an IDX label file (magic 0x00000801, raw
// or gzip), an NPY array of shape (N,) or (N, 1), or a single-column CSV
// (header auto-detected). Values must be integers.
func LoadLabels(path string) ([]int, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var a Array
	switch sniff(in.head, path) {
	case fmtIDX:
		a, err = readIDX(in.r, path, in.bound, false)
	case fmtNPY:
		a, err = readNPY(in.r, path, in.bound, false)
	case fmtCSV, fmtTSV, fmtUnknown:
		var ds *Dataset
		ds, err = readCSV(in.r, path, CSVHeaderAuto, ',')
		if err == nil {
			if ds.D != 1 {
				return nil, errorf(path, "labels CSV has %d columns, want 1", ds.D)
			}
			a = Array{Shape: []int{ds.N}, Data: ds.X}
		}
	default:
		return nil, errorf(path, "labels must be an IDX label file, an NPY array or a one-column CSV")
	}
	if err != nil {
		return nil, err
	}
	return arrayLabels(a, path)
}

// input is an opened data file, transparently gunzipped.
type input struct {
	f     *os.File
	r     io.Reader // the (decompressed) byte stream
	bound bound     // what r can deliver: exact for raw files, a bound for gzip
	gz    bool
	head  []byte // up to 8 first bytes of r, for sniff
}

// openInput opens path and, when it starts with the gzip magic 1f 8b,
// decompresses it on the fly whatever its name.
func openInput(path string) (*input, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	in := &input{f: f}
	br := bufio.NewReaderSize(f, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, errorf(path, "gzip header: %v", err)
		}
		zr.Multistream(true)
		in.gz = true
		in.bound = compressedBound(size)
		br = bufio.NewReaderSize(gzipErrs{zr}, 64<<10)
	} else {
		in.bound = bound{n: size, exact: true}
	}
	in.r = br
	head, perr := br.Peek(8)
	in.head = head
	if len(in.head) == 0 {
		f.Close()
		if perr != nil && perr != io.EOF {
			return nil, errorf(path, "gzip: %v", perr)
		}
		if in.gz {
			return nil, errorf(path, "empty file (gzip stream decompresses to nothing)")
		}
		return nil, errorf(path, "empty file")
	}
	in.head = append([]byte(nil), in.head...)
	return in, nil
}

// Close closes the underlying file; it is safe to call twice.
func (in *input) Close() error {
	return in.f.Close()
}

// gzipErrs labels errors from a gzip stream. A compressed stream that ends
// early (or trailing bytes that are not another gzip member) surface from
// compress/gzip as a bare io.ErrUnexpectedEOF, which would read as "the data
// is shorter than the header says"; say what is really wrong instead.
type gzipErrs struct{ r io.Reader }

var errGzipCut = errors.New("gzip: compressed stream is cut short or followed by bytes that are not gzip")

func (g gzipErrs) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = errGzipCut
	case !strings.HasPrefix(err.Error(), "gzip: "):
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}
