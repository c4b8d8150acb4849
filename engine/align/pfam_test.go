package align

import (
	"os"
	"path/filepath"
	"testing"
)

// hmmerExamples holds Pfam seed alignments from Debian's hmmer-examples
// package (apt-get install hmmer-examples).
const hmmerExamples = "/usr/share/doc/hmmer/examples"

// The Pfam seed alignments shipped with HMMER parse with the sizes their
// "#=GF SQ" lines and widths give (SMC_N, an hmmalign output with
// lower-case inserts, keeps its match columns), and reweight.
func TestPfamSeeds(t *testing.T) {
	for _, tc := range []struct {
		path string
		n, L int
	}{
		{"tutorial/fn3.sto", 98, 117},
		{"tutorial/Pkinase.sto", 38, 419},
		{"tutorial/globins4.sto", 4, 171},
		{"testsuite/RRM_1.sto.gz", 79, 80},
		{"testsuite/SMC_N.sto.gz", 29, 276}, // 1498 columns, 276 of them match columns
	} {
		path := filepath.Join(hmmerExamples, tc.path)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s not found: install Debian's hmmer-examples (apt-get install hmmer-examples) to run this test", path)
		}
		m, err := ReadFile(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := Weights(m, DefaultTheta)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d sequences × %d sites, M_eff = %.2f at θ = 0.8", tc.path, m.N(), m.L, MEff(w))
		want := naiveWeights(m, DefaultTheta)
		for i := range w {
			if w[i] != want[i] {
				t.Fatalf("%s: w[%d] = %v, want %v", tc.path, i, w[i], want[i])
			}
		}
		if m.N() != tc.n || m.L != tc.L {
			t.Errorf("%s: %d × %d, want %d × %d", tc.path, m.N(), m.L, tc.n, tc.L)
		}
	}
}
