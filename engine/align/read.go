package align

import (
	"bufio"
	"bytes"
	"io"
)

// builder collects the rows of an alignment as raw characters, each
// checked against the alphabet when read (so an error names its line),
// and encodes them once all are read.
type builder struct {
	file  string
	opt   Options
	c     *coder
	names []string
	rows  [][]byte
	lines []int  // line where each row starts
	drop  []bool // row holds an ambiguity letter and opt drops those
}

func newBuilder(file string, opt Options) *builder {
	return &builder{file: file, opt: opt, c: newCoder(opt.alphabet())}
}

func (b *builder) add(name string, line int) int {
	b.names = append(b.names, name)
	b.rows = append(b.rows, nil)
	b.lines = append(b.lines, line)
	b.drop = append(b.drop, false)
	return len(b.rows) - 1
}

// appendChars appends the alignment characters of p (found at line; col0
// is the 1-based column of p[0]) to row r: white space is skipped, and
// with inserts removed (A2M) so are lower-case letters and '.'.
func (b *builder) appendChars(r int, p []byte, line, col0 int, a2m bool) error {
	row := b.rows[r]
	for k, ch := range p {
		if ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f' {
			continue
		}
		if a2m && (isLower(ch) || ch == '.') {
			continue
		}
		if err := b.c.check(b.file, line, col0+k, ch, b.opt.Ambiguous); err != nil {
			return err
		}
		if b.c.table[ch] == classAmbiguous && b.opt.Ambiguous == AmbiguousDrop {
			b.drop[r] = true
		}
		row = append(row, ch)
	}
	b.rows[r] = row
	return nil
}

// finish checks that there are rows of one length, removes Stockholm
// insert columns when asked, drops rows per opt and encodes the rest.
func (b *builder) finish(what string, inserts bool) (*MSA, error) {
	if len(b.rows) == 0 {
		return nil, errorAt(b.file, 0, "no sequences: empty %s alignment", what)
	}
	L := len(b.rows[0])
	for r, row := range b.rows {
		if len(row) == 0 {
			return nil, errorAt(b.file, b.lines[r], "sequence %q is empty", b.names[r])
		}
		if len(row) != L {
			return nil, errorAt(b.file, b.lines[r], "sequence %q has %d columns, want %d as the first sequence %q (line %d): sequences of an alignment have equal length",
				b.names[r], len(row), L, b.names[0], b.lines[0])
		}
	}
	keep := allColumns(L)
	if inserts && !b.opt.KeepInserts {
		keep = b.matchColumns(L)
		if len(keep) == 0 {
			return nil, errorAt(b.file, 0, "every one of the %d columns is an insert column (lower case or '.'); no match columns to read", L)
		}
	}
	a := b.opt.alphabet()
	m := &MSA{Name: b.file, Alphabet: a, L: len(keep)}
	n := 0
	for r := range b.rows {
		if !b.drop[r] {
			n++
		}
	}
	m.Seqs = make([]uint8, 0, n*m.L)
	m.Names = make([]string, 0, n)
	for r, row := range b.rows {
		if b.drop[r] {
			m.Dropped = append(m.Dropped, b.names[r])
			continue
		}
		m.Names = append(m.Names, b.names[r])
		for _, i := range keep {
			code := b.c.table[row[i]]
			if code < 0 { // ambiguous: read as the gap
				code = int16(a.Gap)
			}
			m.Seqs = append(m.Seqs, uint8(code))
		}
	}
	if m.N() == 0 {
		return nil, errorAt(b.file, 0, "all %d sequences hold ambiguous letters and were dropped", len(b.rows))
	}
	return m, nil
}

func allColumns(L int) []int {
	k := make([]int, L)
	for i := range k {
		k[i] = i
	}
	return k
}

// matchColumns returns the columns that are not insert columns: all of
// them when the rows lack either upper- or lower-case letters, else those
// where some row has an upper-case letter or '-'.
func (b *builder) matchColumns(L int) []int {
	var up, low bool
	for _, row := range b.rows {
		for _, ch := range row {
			up = up || isUpper(ch)
			low = low || isLower(ch)
		}
	}
	if !up || !low {
		return allColumns(L)
	}
	var keep []int
	for i := 0; i < L; i++ {
		for _, row := range b.rows {
			if ch := row[i]; isUpper(ch) || ch == '-' {
				keep = append(keep, i)
				break
			}
		}
	}
	return keep
}

// readFASTA reads FASTA (a2m false) or A2M/A3M (a2m true) records.
func readFASTA(br *bufio.Reader, name string, opt Options, a2m bool) (*MSA, error) {
	b := newBuilder(name, opt)
	lr := &lineReader{br: br, name: name}
	cur := -1
	for {
		p, ok := lr.next()
		if !ok {
			break
		}
		if len(p) > 0 && p[0] == '>' {
			cur = b.add(string(bytes.TrimSpace(p[1:])), lr.line)
			continue
		}
		t := bytes.TrimSpace(p)
		if len(t) == 0 || (cur < 0 && (t[0] == ';' || a2m && t[0] == '#')) { // blank, or a comment (';'; A3M's "#A3M#") before the first record
			continue
		}
		if cur < 0 {
			return nil, errorAt(name, lr.line, "sequence data before the first '>' header line: want FASTA records (\">name\" then the sequence)")
		}
		if err := b.appendChars(cur, p, lr.line, 1, a2m); err != nil {
			return nil, err
		}
	}
	if lr.err != nil {
		return nil, lr.err
	}
	what := "FASTA"
	if a2m {
		what = "A2M"
	}
	return b.finish(what, false)
}

// readStockholm reads one Stockholm alignment.
func readStockholm(br *bufio.Reader, name string, opt Options) (*MSA, error) {
	b := newBuilder(name, opt)
	lr := &lineReader{br: br, name: name}
	index := map[string]int{}
	header, ended := false, false
	for {
		p, ok := lr.next()
		if !ok {
			break
		}
		t := bytes.TrimSpace(p)
		if len(t) == 0 {
			continue
		}
		if !header {
			if !bytes.HasPrefix(t, []byte("# STOCKHOLM")) {
				return nil, errorAt(name, lr.line, "want the Stockholm header \"# STOCKHOLM 1.0\" as the first line")
			}
			header = true
			continue
		}
		if ended {
			if t[0] == '#' {
				continue
			}
			return nil, errorAt(name, lr.line, "a second alignment follows \"//\": only one alignment per file is read")
		}
		if bytes.Equal(t, []byte("//")) {
			ended = true
			continue
		}
		if t[0] == '#' { // #=GF, #=GS, #=GR, #=GC annotation, or a comment
			continue
		}
		f := bytes.Fields(t)
		if len(f) != 2 {
			return nil, errorAt(name, lr.line, "%d fields, want \"name sequence\"", len(f))
		}
		seqName := string(f[0])
		r, seen := index[seqName]
		if !seen {
			r = b.add(seqName, lr.line)
			index[seqName] = r
		}
		col := bytes.Index(p, f[1]) + 1
		if err := b.appendChars(r, f[1], lr.line, col, false); err != nil {
			return nil, err
		}
	}
	if lr.err != nil {
		return nil, lr.err
	}
	switch {
	case !header:
		return nil, errorAt(name, 0, "empty file: want a Stockholm alignment starting \"# STOCKHOLM 1.0\"")
	case !ended:
		return nil, errorAt(name, lr.line, "no \"//\" line ending the alignment: the file is truncated")
	}
	return b.finish("Stockholm", true)
}

// ReadFASTA reads a FASTA alignment (multi-line records; see the package
// documentation) from r, plain or gzip-compressed; name labels the MSA and
// its errors.
func ReadFASTA(r io.Reader, name string, opt Options) (*MSA, error) {
	opt.Format = FormatFASTA
	return Read(r, name, opt)
}

// ReadA2M reads an A2M or A3M alignment from r, plain or gzip-compressed:
// FASTA with the lower-case letters and '.' (insertions) removed from every
// sequence.
func ReadA2M(r io.Reader, name string, opt Options) (*MSA, error) {
	opt.Format = FormatA2M
	return Read(r, name, opt)
}

// ReadStockholm reads one Stockholm alignment from r, plain or
// gzip-compressed (see the package documentation for blocks, annotation
// lines, "//" and insert columns).
func ReadStockholm(r io.Reader, name string, opt Options) (*MSA, error) {
	opt.Format = FormatStockholm
	return Read(r, name, opt)
}
