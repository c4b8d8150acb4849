package models

import (
	"bytes"
	"strings"
	"testing"
)

func TestPottsParamsRoundTrip(t *testing.T) {
	m := randomPotts(t, 5, 4, 1, 10)
	m.SetCoupling(1, 3, 0, 0, 0) // keep one block sparse-but-written
	for k := 0; k < 16; k++ {    // and one block all zero (left out)
		m.SetCoupling(2, 4, k/4, k%4, 0)
	}
	for _, letters := range []string{"-ACG", ""} {
		var b bytes.Buffer
		if err := WritePottsParams(&b, m, letters); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		if strings.Contains(text, "J 2 4 ") {
			t.Errorf("letters %q: the all-zero block (2, 4) was written", letters)
		}
		first := strings.SplitN(text, "\n", 2)[0]
		if letters != "" && !strings.HasPrefix(first, "J 0 1 - - ") || letters == "" && !strings.HasPrefix(first, "J 0 1 0 0 ") {
			t.Errorf("letters %q: first line %q", letters, first)
		}
		got, err := ReadPottsParams(strings.NewReader(text), "params.dat", letters)
		if err != nil {
			t.Fatal(err)
		}
		if got.L != m.L || got.Q != m.Q || !equalSlices(got.H, m.H) || !equalSlices(got.J, m.J) {
			t.Fatalf("letters %q: round trip changed the model", letters)
		}
	}
}

// A hand-written file in both spellings, a pair given as (j, i), and
// adabmDCA's float64 values rounded to float32.
func TestReadPottsParamsTable(t *testing.T) {
	const text = "J 0 2 A C 0.5\nJ 2 1 - A -1.25\n\n# comment\nh 0 A 0.30000001192092896\nh 2 1 2\n"
	m, err := ReadPottsParams(strings.NewReader(text), "p.dat", "-AC")
	if err != nil {
		t.Fatal(err)
	}
	if m.L != 3 || m.Q != 3 {
		t.Fatalf("L, q = %d, %d, want 3, 3", m.L, m.Q)
	}
	for _, c := range []struct {
		i, j, a, b int
		v          float32
	}{{0, 2, 1, 2, 0.5}, {2, 0, 2, 1, 0.5}, {1, 2, 1, 0, -1.25}, {2, 1, 0, 1, -1.25}, {0, 1, 1, 1, 0}} {
		if got := m.J[m.jAt(c.i, c.j, c.a, c.b)]; got != c.v {
			t.Errorf("J[%d][%d][%d][%d] = %v, want %v", c.i, c.j, c.a, c.b, got, c.v)
		}
	}
	if m.H[0*3+1] != 0.3 || m.H[2*3+1] != 2 {
		t.Errorf("fields %v", m.H)
	}
	num, err := ReadPottsParams(strings.NewReader("J 0 1 0 4 1\nh 1 2 1\n"), "n.dat", "")
	if err != nil || num.L != 2 || num.Q != 5 {
		t.Errorf("numeric file: %v, %v", num, err)
	}
	for _, tc := range []struct{ text, want string }{
		{"", "p.dat: no parameters"},
		{"h 0 A 1\nX 1 2\n", `p.dat: line 2: line type "X"`},
		{"J 0 1 A C\n", `p.dat: line 1: 5 fields, want "J i j a b value"`},
		{"h 0 A 1 2\n", `p.dat: line 1: 5 fields, want "h i a value"`},
		{"h x A 1\n", `p.dat: line 1: site "x": want an integer from 0 to 65535`},
		{"J 0 0 A C 1\n", "p.dat: line 1: coupling of site 0 with itself"},
		{"J 0 -1 A C 1\n", `p.dat: line 1: site "-1"`},
		{"J 0 1 A W 1\n", `p.dat: line 1: state "W": want a letter of "-AC" or an integer from 0 to 2`},
		{"J 0 1 A 3 1\n", `p.dat: line 1: state "3"`},
		{"h 0 A nan\n", `p.dat: line 1: value "nan" is not a finite float32`},
		{"h 0 A 1e39\n", `p.dat: line 1: value "1e39"`},
		{"h 0 A 1\nh 0 A 2\n", "p.dat: line 2: entry given twice"},
		{"J 0 1 A C 1\nJ 1 0 C A 1\n", "p.dat: line 2: entry given twice"},
		{"h 60000 A 1\n", "p.dat: 60001 sites of 3 states from 1 lines"},
	} {
		if _, err := ReadPottsParams(strings.NewReader(tc.text), "p.dat", "-AC"); err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	if err := WritePottsParams(&bytes.Buffer{}, m, "-A"); err == nil {
		t.Error("2 letters for q = 3: no error")
	}
}

func FuzzReadPottsParams(f *testing.F) {
	f.Add("J 0 1 - A 0.5\nJ 0 1 A A -1\nh 0 - 1\nh 1 A 2\n", true)
	f.Add("J 0 2 0 1 1e-3\nh 2 1 0\n", false)
	f.Add("J 1 0 C A 1\n\nh 0 C 1\n", true)
	f.Fuzz(func(t *testing.T, text string, letters bool) {
		alpha := ""
		if letters {
			alpha = "-AC"
		}
		m, err := ReadPottsParams(strings.NewReader(text), "f.dat", alpha)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.dat: ") || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WritePottsParams(&b, m, alpha); err != nil {
			t.Fatal(err)
		}
		m2, err := ReadPottsParams(&b, "g.dat", alpha)
		if err != nil {
			t.Fatal(err)
		}
		if !equalSlices(m.H, m2.H) || !equalSlices(m.J, m2.J) {
			t.Fatal("round trip changed the model")
		}
	})
}
