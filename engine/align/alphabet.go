package align

import (
	"fmt"
	"strings"
)

// Alphabet is the set of q states of an alignment column: code a ∈ [0, q)
// is the letter Letters[a]. The gap, when the alphabet has one, is the
// letter '-' (code Gap); the built-in alphabets put it first, in
// adabmDCA's ordering, so codes and adabmDCA's params.dat files agree.
type Alphabet struct {
	Name      string // "protein", "rna", "dna" or "custom"
	Letters   string // the q letters in code order
	Gap       int    // code of '-', or -1 when the alphabet has no gap
	Ambiguous string // upper-case letters read per Options.Ambiguous
}

// The built-in alphabets (adabmDCA's orderings): 20 amino acids plus gap,
// q = 21; four nucleotides plus gap, q = 5. Do not modify them.
var (
	Protein = &Alphabet{Name: "protein", Letters: "-ACDEFGHIKLMNPQRSTVWY", Gap: 0, Ambiguous: "BJOUXZ"}
	RNA     = &Alphabet{Name: "rna", Letters: "-ACGU", Gap: 0, Ambiguous: "NRYSWKMBDHV"}
	DNA     = &Alphabet{Name: "dna", Letters: "-ACGT", Gap: 0, Ambiguous: "NRYSWKMBDHV"}
)

// Q returns the number of states q = len(Letters).
func (a *Alphabet) Q() int { return len(a.Letters) }

// String returns the name and the letters, e.g. "protein -ACDEFGHIKLMNPQRSTVWY".
func (a *Alphabet) String() string { return a.Name + " " + a.Letters }

// ParseAlphabet returns the alphabet named protein, rna or dna, or a
// custom one whose letters, in code order, are s: 2 to 256 distinct
// printable ASCII characters other than space, '.' and '~' (those read as
// gaps); '-' in s is the gap. A custom alphabet has no ambiguity letters.
func ParseAlphabet(s string) (*Alphabet, error) {
	switch strings.ToLower(s) {
	case "protein":
		return Protein, nil
	case "rna":
		return RNA, nil
	case "dna":
		return DNA, nil
	}
	if len(s) < 2 || len(s) > 256 {
		return nil, fmt.Errorf("alphabet %q: want protein, rna, dna or 2 to 256 letters", s)
	}
	var seen [256]bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c > '~' || c == '.' || c == '~':
			return nil, fmt.Errorf("alphabet %q: character %q at position %d: want printable ASCII other than space, '.' and '~'", s, c, i+1)
		case seen[c]:
			return nil, fmt.Errorf("alphabet %q: letter %q given twice", s, c)
		}
		seen[c] = true
	}
	return &Alphabet{Name: "custom", Letters: s, Gap: strings.IndexByte(s, '-')}, nil
}

// validate reports an alphabet that ParseAlphabet would not return:
// letters it refuses, or Gap not the index of '-'.
func (a *Alphabet) validate() error {
	p, err := ParseAlphabet(a.Letters)
	if err != nil {
		return err
	}
	if a.Gap != p.Gap {
		return fmt.Errorf("alphabet %q: gap code %d, but '-' is at %d", a.Letters, a.Gap, p.Gap)
	}
	for _, c := range []byte(a.Ambiguous) {
		if !isUpper(c) || strings.IndexByte(a.Letters, c) >= 0 {
			return fmt.Errorf("alphabet %q: ambiguity letter %q: want upper-case letters outside the alphabet", a.Letters, c)
		}
	}
	return nil
}

// Decode returns the letters of codes (each < q).
func (a *Alphabet) Decode(codes []uint8) string {
	b := make([]byte, len(codes))
	for i, c := range codes {
		b[i] = a.Letters[c]
	}
	return string(b)
}

// Character classes of a coder's table, besides codes ≥ 0.
const (
	classInvalid   = -1
	classAmbiguous = -2
)

// coder maps a file's characters to codes: its table holds the code of
// every letter of the alphabet, of the gap characters '-', '.', '~' (when
// the alphabet has a gap), of the lower-case forms of letters whose
// lower-case form is not itself a letter, classAmbiguous for ambiguity
// letters (either case) and classInvalid for the rest.
type coder struct {
	a     *Alphabet
	table [256]int16
}

func newCoder(a *Alphabet) *coder {
	c := &coder{a: a}
	for i := range c.table {
		c.table[i] = classInvalid
	}
	for _, l := range []byte(a.Ambiguous) {
		c.table[l] = classAmbiguous
		c.table[lower(l)] = classAmbiguous
	}
	for i := 0; i < len(a.Letters); i++ {
		c.table[a.Letters[i]] = int16(i)
	}
	for i := 0; i < len(a.Letters); i++ {
		if l := lower(a.Letters[i]); c.table[l] == classInvalid || c.table[l] == classAmbiguous {
			c.table[l] = int16(i)
		}
	}
	if a.Gap >= 0 {
		for _, g := range []byte("-.~") {
			if c.table[g] == classInvalid {
				c.table[g] = int16(a.Gap)
			}
		}
	}
	return c
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// check returns an error for the character c found at line, column col of
// the file when it has no code (or is ambiguous and opt refuses those).
func (c *coder) check(file string, line, col int, ch byte, amb Ambiguity) error {
	switch c.table[ch] {
	case classInvalid:
		what := fmt.Sprintf("letter %q", ch)
		if ch < ' ' || ch > '~' {
			what = fmt.Sprintf("byte 0x%02x", ch)
		}
		if strings.IndexByte("-.~", ch) >= 0 {
			return errorAt(file, line, "column %d: gap %q, but the %s alphabet %s has no gap '-'", col, ch, c.a.Name, c.a.Letters)
		}
		return errorAt(file, line, "column %d: %s is not in the %s alphabet %s", col, what, c.a.Name, c.a.Letters)
	case classAmbiguous:
		if amb == AmbiguousError {
			return errorAt(file, line, "column %d: ambiguous letter %q is refused (the %s alphabet is %s; map it to the gap or drop the sequence instead)", col, ch, c.a.Name, c.a.Letters)
		}
	}
	return nil
}
