package align

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The fuzz targets feed arbitrary bytes to each reader and check that it
// never panics, that a success is a consistent MSA (N ≥ 1, L ≥ 1, N×L
// codes below q) and that a failure is a one-line *Error naming the file.

func checkFuzz(t *testing.T, m *MSA, err error, name string) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), name+": ") || strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("bad error %T %q", err, err)
		}
		return
	}
	if m.N() < 1 || m.L < 1 || len(m.Seqs) != m.N()*m.L {
		t.Fatalf("N = %d, L = %d, %d codes", m.N(), m.L, len(m.Seqs))
	}
	for i, c := range m.Seqs {
		if int(c) >= m.Alphabet.Q() {
			t.Fatalf("code %d at %d ≥ q = %d", c, i, m.Alphabet.Q())
		}
	}
}

func fuzzOptions(mode uint8) Options {
	return Options{Ambiguous: Ambiguity(mode % 3), KeepInserts: mode&4 != 0}
}

func FuzzReadFASTA(f *testing.F) {
	f.Add([]byte(">a\nACDE\n>b\nAC-E\n"), uint8(0))
	f.Add([]byte(">a x\r\nAC\r\nDE\r\n>b\r\nAXDE"), uint8(1))
	f.Add([]byte(">a\nac.e\n\n>b\nACBE\n"), uint8(2))
	f.Add([]byte(gzipped(f, ">a\nAC\n>b\nA-\n")), uint8(0))
	f.Fuzz(func(t *testing.T, p []byte, mode uint8) {
		m, err := ReadFASTA(bytes.NewReader(p), "f.fa", fuzzOptions(mode))
		checkFuzz(t, m, err, "f.fa")
		if err == nil { // a written alignment reads back the same
			var b bytes.Buffer
			if err := WriteFASTA(&b, m); err != nil {
				t.Fatal(err)
			}
			m2, err := ReadFASTA(&b, "g.fa", Options{})
			if err != nil || !bytes.Equal(m.Seqs, m2.Seqs) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

func FuzzReadA2M(f *testing.F) {
	f.Add([]byte(">a\nACdeD.E\n>b\nA-..DyE\n"), uint8(0))
	f.Add([]byte(">a\nACkkkDE\n>b\nA-DE\n"), uint8(1))
	f.Add([]byte(">a\n....\n"), uint8(2))
	f.Fuzz(func(t *testing.T, p []byte, mode uint8) {
		m, err := ReadA2M(bytes.NewReader(p), "f.a2m", fuzzOptions(mode))
		checkFuzz(t, m, err, "f.a2m")
	})
}

func FuzzReadStockholm(f *testing.F) {
	f.Add([]byte(stockholmTwoBlocks), uint8(0))
	f.Add([]byte("# STOCKHOLM 1.0\ns1 AcD.E\ns2 A.-kE\n//\n"), uint8(4))
	f.Add([]byte("# STOCKHOLM 1.0\n#=GC RF xx.x\ns1 AX\n//\n# c\n"), uint8(2))
	f.Add([]byte(gzipped(f, stockholmTwoBlocks)), uint8(1))
	f.Fuzz(func(t *testing.T, p []byte, mode uint8) {
		m, err := ReadStockholm(bytes.NewReader(p), "f.sto", fuzzOptions(mode))
		checkFuzz(t, m, err, "f.sto")
	})
}
