package align

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

func gzipped(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// letters returns the alignment as one string of letters per sequence.
func letters(m *MSA) []string {
	out := make([]string, m.N())
	for n := range out {
		out[n] = m.Alphabet.Decode(m.Seq(n))
	}
	return out
}

const stockholmTwoBlocks = `# STOCKHOLM 1.0
#=GF ID   test
#=GS s1 AC P1

s1   AC-DE
s2   ACFD.
#=GR s1 SS  HHHH-
#=GC SS_cons HHHH-

s1   FG
s2   F-
//
`

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		opt              Options
		names, seqs      []string
		dropped          int
	}{
		{"fasta one line", "a.fa", ">s1 first\nACDE\n>s2\nAC-E\n", Options{}, []string{"s1 first", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta multi-line records", "a.fa", ">s1\nAC\nDE\n\n>s2\nA\nC-E\n", Options{}, []string{"s1", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta CRLF", "a.fa", ">s1\r\nAC\r\nDE\r\n>s2\r\nAC-E\r\n", Options{}, []string{"s1", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta CR only", "a.fa", ">s1\rACDE\r>s2\rAC-E", Options{}, []string{"s1", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta no final newline, BOM, spaces", "a.fa", "\xef\xbb\xbf>s1\nAC DE\t\n>s2\nAC-E", Options{}, []string{"s1", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta lower case and dot gaps", "a.fa", ">s1\nacde\n>s2\nAC.E\n", Options{}, []string{"s1", "s2"}, []string{"ACDE", "AC-E"}, 0},
		{"fasta X to gap", "a.fa", ">s1\nAXDE\n>s2\nACbE\n", Options{}, []string{"s1", "s2"}, []string{"A-DE", "AC-E"}, 0},
		{"fasta X dropped", "a.fa", ">s1\nAXDE\n>s2\nACDE\n", Options{Ambiguous: AmbiguousDrop}, []string{"s2"}, []string{"ACDE"}, 1},
		{"a2m inserts removed", "a.a2m", ">s1\nACdeD.E\n>s2\nA-..DyE\n", Options{}, []string{"s1", "s2"}, []string{"ACDE", "A-DE"}, 0},
		{"a3m inserts removed", "a.a3m", "#A3M#\n>s1\nACkkkDE\n>s2\nA-DE\n", Options{}, []string{"s1", "s2"}, []string{"ACDE", "A-DE"}, 0},
		{"sniffed fasta", "aln", ">s1\nAC\n>s2\nA-\n", Options{}, []string{"s1", "s2"}, []string{"AC", "A-"}, 0},
		{"stockholm multi-block", "a.sto", stockholmTwoBlocks, Options{}, []string{"s1", "s2"}, []string{"AC-DEFG", "ACFD-F-"}, 0},
		{"sniffed stockholm", "aln", stockholmTwoBlocks, Options{}, []string{"s1", "s2"}, []string{"AC-DEFG", "ACFD-F-"}, 0},
		{"stockholm insert columns", "a.sto", "# STOCKHOLM 1.0\ns1 AcD.E\ns2 A.-kE\n//\n", Options{}, []string{"s1", "s2"}, []string{"ADE", "A-E"}, 0},
		{"stockholm insert columns kept", "a.sto", "# STOCKHOLM 1.0\ns1 AcD.E\ns2 A.-kE\n//\n", Options{KeepInserts: true}, []string{"s1", "s2"}, []string{"ACD-E", "A--KE"}, 0},
		{"stockholm all lower case", "a.sto", "# STOCKHOLM 1.0\ns1 ac.e\ns2 a-de\n//\n", Options{}, []string{"s1", "s2"}, []string{"AC-E", "A-DE"}, 0},
		{"stockholm gzip", "a.sto.gz", gzipped(t, stockholmTwoBlocks), Options{}, []string{"s1", "s2"}, []string{"AC-DEFG", "ACFD-F-"}, 0},
		{"fasta gzip", "a.fa.gz", gzipped(t, ">s1\nAC\n>s2\nA-\n"), Options{}, []string{"s1", "s2"}, []string{"AC", "A-"}, 0},
		{"rna", "a.fa", ">s1\nACGU\n>s2\nacgn\n", Options{Alphabet: RNA}, []string{"s1", "s2"}, []string{"ACGU", "ACG-"}, 0},
		{"dna", "a.fa", ">s1\nACGT\n>s2\nA-GT\n", Options{Alphabet: DNA}, []string{"s1", "s2"}, []string{"ACGT", "A-GT"}, 0},
		{"custom", "a.fa", ">s1\n0110\n>s2\n1001\n", Options{Alphabet: mustAlphabet(t, "01")}, []string{"s1", "s2"}, []string{"0110", "1001"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tc.text), tc.file, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := letters(m); strings.Join(got, ",") != strings.Join(tc.seqs, ",") {
				t.Errorf("sequences %q, want %q", got, tc.seqs)
			}
			if strings.Join(m.Names, ",") != strings.Join(tc.names, ",") {
				t.Errorf("names %q, want %q", m.Names, tc.names)
			}
			if len(m.Dropped) != tc.dropped {
				t.Errorf("dropped %q, want %d", m.Dropped, tc.dropped)
			}
			if m.L != len(tc.seqs[0]) || len(m.Seqs) != m.N()*m.L {
				t.Errorf("L = %d, %d codes for %d sequences", m.L, len(m.Seqs), m.N())
			}
		})
	}
}

func mustAlphabet(t *testing.T, s string) *Alphabet {
	a, err := ParseAlphabet(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		opt              Options
		want             string
	}{
		{"empty fasta", "e.fa", "", Options{}, "e.fa: no sequences: empty FASTA alignment"},
		{"blank fasta", "e.fa", "\n\n  \n", Options{}, "e.fa: no sequences"},
		{"unequal", "u.fa", ">a\nACD\n>b\nAC\n", Options{}, `u.fa: line 3: sequence "b" has 2 columns, want 3 as the first sequence "a" (line 1)`},
		{"unknown letter", "x.fa", ">a\nAC\n>b\nA1\n", Options{}, "x.fa: line 4: column 2: letter '1' is not in the protein alphabet -ACDEFGHIKLMNPQRSTVWY"},
		{"ambiguous refused", "x.fa", ">a\nAC\n>b\nAX\n", Options{Ambiguous: AmbiguousError}, "x.fa: line 4: column 2: ambiguous letter 'X' is refused"},
		{"binary", "b.fa", ">a\nA\x00\n", Options{}, "b.fa: line 2: column 2: byte 0x00 is not in the protein alphabet"},
		{"gap without gap", "g.fa", ">a\n0-\n", Options{Alphabet: mustAlphabet(t, "01")}, "g.fa: line 2: column 2: gap '-', but the custom alphabet 01 has no gap '-'"},
		{"data before header", "d.fa", "ACD\n>a\nACD\n", Options{}, "d.fa: line 1: sequence data before the first '>' header line"},
		{"empty record", "r.fa", ">a\n>b\nAC\n", Options{}, `r.fa: line 1: sequence "a" is empty`},
		{"all dropped", "x.fa", ">a\nAX\n", Options{Ambiguous: AmbiguousDrop}, "x.fa: all 1 sequences hold ambiguous letters and were dropped"},
		{"not an alignment", "n", "hello\n", Options{}, "n: not an alignment"},
		{"stockholm no header", "s.sto", "s1 AC\n//\n", Options{}, `s.sto: line 1: want the Stockholm header "# STOCKHOLM 1.0" as the first line`},
		{"stockholm truncated", "s.sto", "# STOCKHOLM 1.0\ns1 AC\ns2 AD\n", Options{}, `s.sto: line 3: no "//" line ending the alignment: the file is truncated`},
		{"stockholm empty", "s.sto", "# STOCKHOLM 1.0\n//\n", Options{}, "s.sto: no sequences: empty Stockholm alignment"},
		{"stockholm two alignments", "s.sto", "# STOCKHOLM 1.0\ns1 AC\n//\n# STOCKHOLM 1.0\ns1 AC\n//\n", Options{}, `s.sto: line 5: a second alignment follows "//"`},
		{"stockholm fields", "s.sto", "# STOCKHOLM 1.0\ns1 AC DE\n//\n", Options{}, `s.sto: line 2: 3 fields, want "name sequence"`},
		{"stockholm unequal blocks", "s.sto", "# STOCKHOLM 1.0\ns1 AC\ns2 AC\n\ns1 D\n//\n", Options{}, `s.sto: line 3: sequence "s2" has 2 columns, want 3`},
		{"stockholm letter", "s.sto", "# STOCKHOLM 1.0\ns1   AC*\n//\n", Options{}, "s.sto: line 2: column 8: letter '*' is not in the protein alphabet"},
		{"bad gzip", "z.fa.gz", "\x1f\x8bxx", Options{}, "z.fa.gz: gzip: "},
		{"bad alphabet", "a.fa", ">a\nA\n", Options{Alphabet: &Alphabet{Letters: "AB", Gap: 3}}, `a.fa: alphabet "AB": gap code 3, but '-' is at -1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.text), tc.file, tc.opt)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %T %q: want a one-line *Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error\n%q\nwant prefix\n%q", err, tc.want)
			}
		})
	}
}

func TestParseAlphabet(t *testing.T) {
	for _, s := range []string{"protein", "RNA", "dna"} {
		if a, err := ParseAlphabet(s); err != nil || a.Q() < 5 || a.Gap != 0 {
			t.Errorf("ParseAlphabet(%q) = %v, %v", s, a, err)
		}
	}
	if Protein.Q() != 21 || Protein.Letters[Protein.Gap] != '-' {
		t.Errorf("protein alphabet %v: want q = 21 with the gap", Protein)
	}
	a, err := ParseAlphabet("AB-")
	if err != nil || a.Gap != 2 || a.Q() != 3 {
		t.Errorf("custom AB-: %v, %v", a, err)
	}
	for _, bad := range []string{"", "A", "AA", "A.", "A B", "A~"} {
		if _, err := ParseAlphabet(bad); err == nil {
			t.Errorf("ParseAlphabet(%q): no error", bad)
		}
	}
}

func TestWriteFASTARoundTrip(t *testing.T) {
	m, err := Read(strings.NewReader(stockholmTwoBlocks), "a.sto", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteFASTA(&b, m); err != nil {
		t.Fatal(err)
	}
	m2, err := ReadFASTA(&b, "b.fa", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Seqs, m2.Seqs) || strings.Join(m.Names, ",") != strings.Join(m2.Names, ",") {
		t.Fatalf("round trip changed the alignment: %q vs %q", letters(m), letters(m2))
	}
}

func TestFormatNames(t *testing.T) {
	for _, s := range []string{"auto", "fasta", "a2m", "a3m", "stockholm", "sto"} {
		if _, err := ParseFormat(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseFormat("clustal"); err == nil {
		t.Error("clustal: no error")
	}
}
