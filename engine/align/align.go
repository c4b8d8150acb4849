// Package align reads multiple sequence alignments (MSAs) into
// integer-coded sequences for Potts models and direct-coupling analysis:
// FASTA, A2M/A3M and Stockholm files, plain or gzip-compressed, over the
// protein, RNA or DNA alphabet or a custom one. Weights computes the
// identity-threshold sequence weights and M_eff.
//
// Formats (Options.Format, or FormatAuto: by file extension, then by the
// first line):
//
//   - FASTA (.fa .fasta .fas .afa .faa .fna, or a first line starting with
//     '>'): records of a '>' header line and any number of sequence lines,
//     joined; every character of a sequence line except white space is one
//     alignment column. Lower-case letters read as their upper-case forms.
//   - A2M / A3M (.a2m .a3m): FASTA whose lower-case letters and '.' are
//     insertions relative to the match columns (A2M pads insert columns
//     with '.', A3M leaves them out); both are removed from every sequence,
//     so only the upper-case letters and '-' remain as columns.
//   - Stockholm (.sto .stk .sth .stockholm, or a first line "# STOCKHOLM"):
//     Pfam/HMMER's format: "name sequence" lines, in one or more blocks
//     (a name's pieces are joined in order), "#=GF", "#=GS", "#=GR", "#=GC"
//     annotation and other '#' lines skipped, "//" ending the alignment (a
//     file without it is refused as truncated; only one alignment per file).
//     When the alignment has both upper- and lower-case letters (HMMER's
//     match/insert convention), columns where no sequence has an upper-case
//     letter or '-' are insert columns and are removed unless
//     Options.KeepInserts; the other letters read as their upper-case forms.
//
// Gaps: '-', '.' and '~' read as the alphabet's gap code ('-'); an alphabet
// without '-' refuses them. Letters outside the alphabet are an error
// naming the file, line, column and letter, except the alphabet's
// ambiguity letters (protein: B J O U X Z; DNA and RNA: N R Y S W K M B D H
// V), which Options.Ambiguous maps to the gap (the default), drops the
// sequence, or refuses. An empty alignment and sequences of unequal length
// are errors too, each one line (type *Error).
package align

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// MSA is an integer-coded multiple sequence alignment of N = len(Names)
// sequences of L columns: Seqs[n·L+i] ∈ [0, q) is the code of sequence n at
// column i, q = Alphabet.Q(), the letter Alphabet.Letters[code].
type MSA struct {
	Name     string    // file name or label, as given to the reader
	Alphabet *Alphabet // the alphabet of the codes
	Names    []string  // sequence names: FASTA header text after '>', Stockholm name
	L        int       // columns (sites)
	Seqs     []uint8   // N×L codes, row-major
	Dropped  []string  // names of sequences dropped (AmbiguousDrop), in file order
}

// N returns the number of sequences.
func (m *MSA) N() int { return len(m.Names) }

// Seq returns the L codes of sequence n (a view into Seqs).
func (m *MSA) Seq(n int) []uint8 { return m.Seqs[n*m.L : (n+1)*m.L] }

// String returns a one-line summary: name, N, L and alphabet.
func (m *MSA) String() string {
	return fmt.Sprintf("%s: %d sequences × %d sites (%s, q = %d)", m.Name, m.N(), m.L, m.Alphabet.Name, m.Alphabet.Q())
}

// Format is an alignment file format.
type Format int

// Formats. FormatAuto picks one from the file extension, then from the
// first non-blank line ("# STOCKHOLM" → Stockholm, '>' → FASTA).
const (
	FormatAuto Format = iota
	FormatFASTA
	FormatA2M // also A3M
	FormatStockholm
)

var formatNames = []string{"auto", "fasta", "a2m", "stockholm"}

// String returns auto, fasta, a2m or stockholm.
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// ParseFormat parses auto, fasta, a2m, a3m or stockholm (also sto).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "a3m":
		return FormatA2M, nil
	case "sto":
		return FormatStockholm, nil
	}
	for i, n := range formatNames {
		if strings.EqualFold(s, n) {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("alignment format %q: want auto, fasta, a2m, a3m or stockholm", s)
}

// formatOfPath returns the format its extension names (a trailing .gz
// ignored), FormatAuto when it names none.
func formatOfPath(path string) Format {
	p := strings.ToLower(strings.TrimSuffix(path, ".gz"))
	switch filepath.Ext(p) {
	case ".fa", ".fasta", ".fas", ".afa", ".faa", ".fna", ".mfa":
		return FormatFASTA
	case ".a2m", ".a3m":
		return FormatA2M
	case ".sto", ".stk", ".sth", ".stockholm":
		return FormatStockholm
	}
	return FormatAuto
}

// Ambiguity says what a reader does with an alphabet's ambiguity letters
// (Alphabet.Ambiguous, either case).
type Ambiguity int

// Ambiguity rules; the zero value maps them to the gap.
const (
	AmbiguousGap   Ambiguity = iota // read as the gap code (an unknown residue)
	AmbiguousDrop                   // drop the sequence (listed in MSA.Dropped)
	AmbiguousError                  // refuse, naming file, line and letter
)

// Options control a reader. The zero value reads the protein alphabet,
// picks the format automatically, maps ambiguity letters to the gap and
// removes Stockholm insert columns.
type Options struct {
	Alphabet    *Alphabet // nil: Protein
	Format      Format    // FormatAuto: from the extension, then the content
	Ambiguous   Ambiguity // what B/J/O/U/X/Z (protein) or N… (nucleotides) become
	KeepInserts bool      // Stockholm: keep insert columns (lower case, '.')
}

func (o Options) alphabet() *Alphabet {
	if o.Alphabet == nil {
		return Protein
	}
	return o.Alphabet
}

// Error is the error of every bad input: the file, the 1-based line (0
// when the problem is not on one line) and a one-line message saying what
// was found and what was expected, e.g.
//
//	fn3.sto: line 45: column 31: letter '1' is not in the protein alphabet -ACDEFGHIKLMNPQRSTVWY
type Error struct {
	File string
	Line int
	Msg  string
	Err  error // underlying cause (I/O, gzip), or nil
}

// Error returns "File: line N: Msg", or "File: Msg" when Line is 0.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

func errorAt(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Msg: oneLine(fmt.Sprintf(format, args...))}
}

func wrapErr(file string, line int, err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{File: file, Line: line, Msg: oneLine(err.Error()), Err: err}
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// ReadFile reads the alignment at path (gzip-compressed or not) with
// Read; errors name path.
func ReadFile(path string, opt Options) (*MSA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, wrapErr(path, 0, err)
	}
	defer f.Close()
	if opt.Format == FormatAuto {
		opt.Format = formatOfPath(path)
	}
	return Read(f, path, opt)
}

// Read reads one alignment from r in opt.Format (FormatAuto: from name's
// extension, then the first non-blank line); gzip-compressed input is
// recognised by its magic bytes and decompressed. name labels the MSA and
// the errors.
func Read(r io.Reader, name string, opt Options) (*MSA, error) {
	if err := opt.alphabet().validate(); err != nil {
		return nil, errorAt(name, 0, "%v", err)
	}
	br, err := input(r, name)
	if err != nil {
		return nil, err
	}
	f := opt.Format
	if f == FormatAuto {
		f = formatOfPath(name)
	}
	if f == FormatAuto {
		f = sniff(br)
	}
	switch f {
	case FormatFASTA, FormatA2M:
		return readFASTA(br, name, opt, f == FormatA2M)
	case FormatStockholm:
		return readStockholm(br, name, opt)
	case FormatAuto:
		return nil, errorAt(name, 0, "not an alignment: want FASTA or A2M ('>' header lines) or Stockholm (\"# STOCKHOLM 1.0\")")
	}
	return nil, errorAt(name, 0, "unknown alignment format %v", f)
}

// input returns a buffered reader of r's content, through gzip when r
// starts with the gzip magic bytes 1f 8b.
func input(r io.Reader, name string) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, wrapErr(name, 0, fmt.Errorf("gzip: %w", err))
		}
		zr.Multistream(true)
		return bufio.NewReaderSize(zr, 1<<16), nil
	}
	return br, nil
}

// sniff guesses the format from the first non-blank bytes of br (up to
// 4 KiB, not consumed).
func sniff(br *bufio.Reader) Format {
	p, _ := br.Peek(4096)
	s := strings.TrimLeft(strings.TrimPrefix(string(p), "\xef\xbb\xbf"), " \t\r\n")
	switch {
	case strings.HasPrefix(s, "# STOCKHOLM"):
		return FormatStockholm
	case strings.HasPrefix(s, ">"):
		return FormatFASTA
	}
	return FormatAuto
}

// lineReader yields the lines of a text file, ending at "\n", "\r\n" or
// a lone "\r" (old Mac files), without the line break, with a leading
// UTF-8 byte-order mark removed, and counts them from 1.
type lineReader struct {
	br   *bufio.Reader
	name string
	line int
	buf  []byte
	err  error
}

// maxLine bounds one line, so a binary file does not fill memory.
const maxLine = 1 << 28

// next returns the next line (valid until the following call) and false
// at the end of the input or on an error (then lr.err is set).
func (lr *lineReader) next() ([]byte, bool) {
	lr.buf = lr.buf[:0]
	for {
		c, err := lr.br.ReadByte()
		if err != nil {
			if err != io.EOF {
				lr.err = wrapErr(lr.name, lr.line+1, err)
				return nil, false
			}
			if len(lr.buf) == 0 {
				return nil, false
			}
			break
		}
		if c == '\n' {
			break
		}
		if c == '\r' {
			if n, err := lr.br.Peek(1); err == nil && n[0] == '\n' {
				lr.br.ReadByte()
			}
			break
		}
		if len(lr.buf) >= maxLine {
			lr.err = errorAt(lr.name, lr.line+1, "line longer than %d bytes: not a text alignment", maxLine)
			return nil, false
		}
		lr.buf = append(lr.buf, c)
	}
	lr.line++
	if lr.line == 1 {
		lr.buf = []byte(strings.TrimPrefix(string(lr.buf), "\xef\xbb\xbf"))
	}
	return lr.buf, true
}
