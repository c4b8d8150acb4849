package align

import (
	"math"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// naiveWeights is the definition of Weights, one pair at a time.
func naiveWeights(m *MSA, theta float64) []float64 {
	w := make([]float64, m.N())
	for s := range w {
		c := 0
		for t := 0; t < m.N(); t++ {
			same := 0
			for i, a := range m.Seq(s) {
				if a == m.Seq(t)[i] {
					same++
				}
			}
			if float64(same)/float64(m.L) >= theta {
				c++
			}
		}
		w[s] = 1 / float64(c)
	}
	return w
}

// randomFamily returns n sequences of length L over q letters: mutants of
// `ancestors` random ancestors, each site replaced with probability mut.
func randomFamily(n, L, q, ancestors int, mut float64, seed uint64) *MSA {
	st := kernels.Stream{Seed: seed, Op: 1}
	e := uint64(0)
	u := func() float64 { e++; return float64(st.Uniform(e)) }
	anc := make([]uint8, ancestors*L)
	for i := range anc {
		anc[i] = uint8(u() * float64(q))
	}
	a := Protein
	if q != 21 {
		a = &Alphabet{Name: "custom", Letters: strings.Repeat("x", q), Gap: -1}
	}
	m := &MSA{Name: "family", Alphabet: a, L: L, Names: make([]string, n), Seqs: make([]uint8, n*L)}
	for s := 0; s < n; s++ {
		k := int(u() * float64(ancestors))
		for i := 0; i < L; i++ {
			c := anc[k*L+i]
			if u() < mut {
				c = uint8(u() * float64(q))
			}
			m.Seqs[s*L+i] = c
		}
	}
	return m
}

func TestWeightsMatchDefinition(t *testing.T) {
	for _, tc := range []struct {
		n, L, q int
		mut     float64
	}{
		{60, 37, 21, 0.2}, {50, 64, 21, 0.15}, {40, 130, 21, 0.1}, {45, 70, 5, 0.2}, {30, 65, 2, 0.1}, {35, 90, 200, 0.2},
	} {
		m := randomFamily(tc.n, tc.L, tc.q, 4, tc.mut, uint64(tc.L))
		for _, theta := range []float64{0.5, 0.8, 0.9, 1} {
			got, err := Weights(m, theta)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveWeights(m, theta)
			for s := range want {
				if got[s] != want[s] {
					t.Fatalf("n=%d L=%d q=%d θ=%v: w[%d] = %v, want %v", tc.n, tc.L, tc.q, theta, s, got[s], want[s])
				}
			}
		}
	}
}

func TestWeightsTable(t *testing.T) {
	m, err := ReadFASTA(strings.NewReader(">a\nACDEFGHIKL\n>b\nACDEFGHIKL\n>c\nACDEFGHIKY\n>d\nWWWWWWWWWW\n"), "t.fa", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		theta float64
		want  []float64
	}{
		{0, []float64{1, 1, 1, 1}},
		{0.8, []float64{1. / 3, 1. / 3, 1. / 3, 1}},
		{0.9, []float64{1. / 3, 1. / 3, 1. / 3, 1}},
		{0.95, []float64{0.5, 0.5, 1, 1}},
		{1, []float64{0.5, 0.5, 1, 1}},
	} {
		w, err := Weights(m, tc.theta)
		if err != nil {
			t.Fatal(err)
		}
		for i := range w {
			if math.Abs(w[i]-tc.want[i]) > 1e-15 {
				t.Errorf("θ = %v: weights %v, want %v", tc.theta, w, tc.want)
				break
			}
		}
	}
	if got := MEff([]float64{0.5, 0.5, 1}); got != 2 {
		t.Errorf("MEff = %v, want 2", got)
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := Weights(m, bad); err == nil {
			t.Errorf("θ = %v: no error", bad)
		}
	}
}

// At M = 10,000 sequences × L = 300 sites (q = 21): "distant" is a family
// of 100 clusters 40% mutated (most pairs stop after a word or two),
// "close" one cluster 5% mutated (every pair runs all five words).
func BenchmarkWeights(b *testing.B) {
	for _, bc := range []struct {
		name string
		anc  int
		mut  float64
	}{{"distant", 100, 0.4}, {"close", 1, 0.05}} {
		m := randomFamily(10000, 300, 21, bc.anc, bc.mut, 7)
		b.Run(bc.name, func(b *testing.B) {
			var meff float64
			for i := 0; i < b.N; i++ {
				w, err := Weights(m, DefaultTheta)
				if err != nil {
					b.Fatal(err)
				}
				meff = MEff(w)
			}
			b.ReportMetric(meff, "M_eff")
			b.ReportMetric(float64(m.N())*float64(m.N()-1)/2*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}
