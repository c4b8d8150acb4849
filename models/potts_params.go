package models

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WritePottsParams writes m in adabmDCA's params.dat text format: first
// one line per coupling of every site pair i < j whose block is not all
// zero,
//
//	J i j a b value
//
// (a, b in increasing order), then one line per field,
//
//	h i a value
//
// with 0-based sites, single spaces and values in the shortest form that
// reads back to the same float32. States are written as letters[a] when
// letters is given (adabmDCA 2.0; len(letters) must be Q), as 0-based
// integers when it is "" (the format of adabmDCA 1.0). Leaving out zero
// blocks loses nothing: readers (ReadPottsParams, adabmDCA's) take absent
// couplings as zero.
func WritePottsParams(w io.Writer, m *Potts, letters string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write params: %w", err)
	}
	L, q := m.L, m.Q
	if letters != "" && len(letters) != q {
		return fmt.Errorf("write params: %d letters %q for q = %d states", len(letters), letters, q)
	}
	state := func(a int) string {
		if letters == "" {
			return strconv.Itoa(a)
		}
		return letters[a : a+1]
	}
	bw := bufio.NewWriter(w)
	val := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			blk := m.J[(i*L+j)*q*q : (i*L+j+1)*q*q]
			if firstNonZero(blk) < 0 {
				continue
			}
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					fmt.Fprintf(bw, "J %d %d %s %s %s\n", i, j, state(a), state(b), val(blk[a*q+b]))
				}
			}
		}
	}
	for i := 0; i < L; i++ {
		for a := 0; a < q; a++ {
			fmt.Fprintf(bw, "h %d %s %s\n", i, state(a), val(m.H[i*q+a]))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write params: %w", err)
	}
	return nil
}

func firstNonZero(x []float32) int {
	for i, v := range x {
		if v != 0 {
			return i
		}
	}
	return -1
}

// maxParamsSites bounds the site index of a params.dat line.
const maxParamsSites = 1 << 16

// paramsPerLine bounds the L²q² parameters a params.dat file of n lines
// may imply (beyond 2^22), so that a few lines naming a huge site index do
// not allocate gigabytes; a full file has about two per line, a sparse
// one at 2% density about a hundred.
const paramsPerLine = 1 << 14

type paramsEntry struct {
	i, j uint16
	a, b uint8
	v    float32
	line int32
}

// ReadPottsParams reads a model in adabmDCA's params.dat format
// (WritePottsParams) from r; name labels the errors. A state token that is
// one of letters is that letter's code; any other must be a 0-based
// integer (below len(letters) when letters is given). Q is len(letters), or
// with letters "" the largest state + 1; L is the largest site + 1. J lines
// may name a pair in either order (J i j a b = J j i b a); absent
// couplings and fields are zero. Blank lines and lines starting with '#'
// are skipped. Bad input — an unknown line type, a wrong field count, a
// bad index or value, a coupling of a site with itself, an entry given
// twice, no h or J line at all — is a one-line error with the line number;
// so is a file whose sizes imply more than paramsPerLine (16,384)
// parameters per line read (beyond 2^22 in all).
func ReadPottsParams(r io.Reader, name, letters string) (*Potts, error) {
	fail := func(line int, format string, args ...any) (*Potts, error) {
		return nil, fmt.Errorf("%s: line %d: %s", name, line, fmt.Sprintf(format, args...))
	}
	maxState := 256
	if letters != "" {
		maxState = len(letters)
	}
	state := func(tok string) (int, bool) {
		if len(tok) == 1 && letters != "" {
			if k := strings.IndexByte(letters, tok[0]); k >= 0 {
				return k, true
			}
		}
		v, err := strconv.Atoi(tok)
		return v, err == nil && v >= 0 && v < maxState
	}
	site := func(tok string) (int, bool) {
		v, err := strconv.Atoi(tok)
		return v, err == nil && v >= 0 && v < maxParamsSites
	}
	value := func(tok string) (float32, bool) {
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsNaN(v) || math.Abs(v) > math.MaxFloat32 {
			return 0, false
		}
		return float32(v), true
	}
	var entries []paramsEntry
	L, q := 0, 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		n, form := 0, ""
		switch f[0] {
		case "J":
			n, form = 2, "J i j a b value"
		case "h":
			n, form = 1, "h i a value"
		default:
			return fail(line, "line type %q: want \"J i j a b value\" or \"h i a value\"", clipToken(f[0]))
		}
		if len(f) != 2*n+2 {
			return fail(line, "%d fields, want %q", len(f), form)
		}
		var ix, st [2]int
		for k := 0; k < n; k++ {
			var ok bool
			if ix[k], ok = site(f[1+k]); !ok {
				return fail(line, "site %q: want an integer from 0 to %d", clipToken(f[1+k]), maxParamsSites-1)
			}
			if st[k], ok = state(f[1+n+k]); !ok {
				return fail(line, "state %q: want a letter of %q or an integer from 0 to %d", clipToken(f[1+n+k]), letters, maxState-1)
			}
		}
		v, ok := value(f[1+2*n])
		if !ok {
			return fail(line, "value %q is not a finite float32", clipToken(f[1+2*n]))
		}
		i, j, a, b := ix[0], ix[0], st[0], 0 // a field: j = i
		if n == 2 {
			j, b = ix[1], st[1]
			if i == j {
				return fail(line, "coupling of site %d with itself: diagonal blocks are zero", i)
			}
			if i > j {
				i, j, a, b = j, i, b, a
			}
		}
		e := paramsEntry{i: uint16(i), j: uint16(j), a: uint8(a), b: uint8(b), v: v, line: int32(line)}
		L, q = max(L, j+1), max(q, a+1, b+1)
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: no parameters: want \"J i j a b value\" and \"h i a value\" lines", name)
	}
	if letters != "" {
		q = len(letters)
	}
	q = max(q, 2)
	if float64(L)*float64(L)*float64(q*q) > math.Max(1<<22, paramsPerLine*float64(len(entries))) {
		return nil, fmt.Errorf("%s: %d sites of %d states from %d lines: more than %d parameters per line is not a params.dat file (a full one has about 2 per line)", name, L, q, len(entries), paramsPerLine)
	}
	m, err := NewPotts(L, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	seen := make([]uint64, (L*L*q*q+L*q+63)/64)
	for _, e := range entries {
		i, j, a, b := int(e.i), int(e.j), int(e.a), int(e.b)
		k := L*L*q*q + i*q + a // fields after the couplings in seen
		if i != j {
			k = m.jAt(i, j, a, b)
		}
		if seen[k/64]>>(k%64)&1 != 0 {
			return fail(int(e.line), "entry given twice")
		}
		seen[k/64] |= 1 << (k % 64)
		if i == j {
			m.H[i*q+a] = e.v
		} else {
			m.SetCoupling(i, j, a, b, e.v)
		}
	}
	return m, nil
}

func clipToken(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}
