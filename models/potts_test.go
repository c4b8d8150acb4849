package models

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// randomPotts returns a dense Potts model with h, J ~ N(0, scale²).
func randomPotts(t testing.TB, L, q int, scale float64, seed uint64) *Potts {
	t.Helper()
	m, err := NewPotts(L, q)
	if err != nil {
		t.Fatal(err)
	}
	st := kernels.Stream{Seed: seed, Op: 77}
	e := uint64(0)
	g := func() float32 {
		e += 2
		u1, u2 := float64(st.Uniform(e)), float64(st.Uniform(e+1))
		return float32(scale * math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2))
	}
	for k := range m.H {
		m.H[k] = g()
	}
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					m.SetCoupling(i, j, a, b, g())
				}
			}
		}
	}
	return m
}

// allStates returns every state of L sites of q states, site 0 fastest.
func allStates(L, q int) [][]uint8 {
	n := 1
	for i := 0; i < L; i++ {
		n *= q
	}
	out := make([][]uint8, n)
	for k := range out {
		s := make([]uint8, L)
		x := k
		for i := range s {
			s[i] = uint8(x % q)
			x /= q
		}
		out[k] = s
	}
	return out
}

func TestPottsEnergyTable(t *testing.T) {
	m, _ := NewPotts(3, 2)
	m.H = []float32{0.5, -1, 2, 0, 0, 0.25}
	m.SetCoupling(0, 1, 1, 0, 1.5)
	m.SetCoupling(0, 2, 1, 1, -2)
	m.SetCoupling(1, 2, 0, 1, 0.75)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    []uint8
		want float64
	}{
		{[]uint8{0, 0, 0}, -(0.5 + 2 + 0)},
		{[]uint8{1, 0, 1}, -(-1 + 2 + 0.25 + 1.5 - 2 + 0.75)},
		{[]uint8{1, 1, 1}, -(-1 + 0 + 0.25 - 2)},
		{[]uint8{0, 0, 1}, -(0.5 + 2 + 0.25 + 0.75)},
	} {
		if got := m.Energy(tc.s); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("E(%v) = %v, want %v", tc.s, got, tc.want)
		}
	}
	if _, err := m.Energies([]uint8{0, 2, 0}, 1); err == nil || !strings.Contains(err.Error(), "site 1: code 2") {
		t.Errorf("Energies with a bad code: %v", err)
	}
}

func TestPottsValidate(t *testing.T) {
	ok := randomPotts(t, 3, 3, 1, 1)
	for _, tc := range []struct {
		name string
		edit func(m *Potts)
		want string
	}{
		{"nil-safe sizes", func(m *Potts) { m.Q = 1 }, "2 to 256 states"},
		{"short H", func(m *Potts) { m.H = m.H[:2] }, "H has 2 values"},
		{"NaN field", func(m *Potts) { m.H[4] = float32(math.NaN()) }, "h[1][1] = NaN is not finite"},
		{"Inf coupling", func(m *Potts) { m.J[m.jAt(0, 1, 2, 0)] = float32(math.Inf(1)) }, "J[0][1][2][0] = +Inf"},
		{"diagonal", func(m *Potts) { m.J[m.jAt(1, 1, 0, 2)] = 1 }, "J[1][1][0][2] = 1: diagonal blocks must be zero"},
		{"asymmetric", func(m *Potts) { m.J[m.jAt(2, 0, 1, 2)] += 1 }, "couplings must be symmetric"},
	} {
		m := ok.Clone()
		tc.edit(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPotts(50000, 21); err == nil {
		t.Error("NewPotts(50000, 21): no error")
	}
}

// The zero-sum gauge changes every energy by one constant, and its fields
// and coupling blocks sum to zero over each state index.
func TestPottsZeroSumGauge(t *testing.T) {
	m := randomPotts(t, 4, 3, 1, 2)
	g := m.ZeroSumGauge()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	var c0 float64
	for k, s := range allStates(4, 3) {
		d := g.Energy(s) - m.Energy(s)
		if k == 0 {
			c0 = d
		} else if math.Abs(d-c0) > 1e-5 {
			t.Fatalf("state %v: energies differ by %v, first state by %v", s, d, c0)
		}
	}
	for i := 0; i < 4; i++ {
		sh := 0.0
		for a := 0; a < 3; a++ {
			sh += float64(g.H[i*3+a])
			for j := 0; j < 4; j++ {
				sr, sc := 0.0, 0.0
				for b := 0; b < 3; b++ {
					sr += float64(g.J[g.jAt(i, j, a, b)])
					sc += float64(g.J[g.jAt(i, j, b, a)])
				}
				if math.Abs(sr) > 1e-6 || math.Abs(sc) > 1e-6 {
					t.Fatalf("block (%d,%d) row/column %d sums %v, %v", i, j, a, sr, sc)
				}
			}
		}
		if math.Abs(sh) > 1e-6 {
			t.Fatalf("fields of site %d sum to %v", i, sh)
		}
	}
	lz, _ := m.LogZ()
	lzg, _ := g.LogZ()
	if math.Abs((lzg-lz)+c0) > 1e-5 { // log Z' = log Z − c
		t.Errorf("log Z %v → %v, energies shifted by %v", lz, lzg, c0)
	}
}

// Conditional is the ratio of Boltzmann weights of the states differing at
// site i.
func TestPottsConditional(t *testing.T) {
	m := randomPotts(t, 4, 5, 1, 3)
	s := []uint8{1, 4, 0, 2}
	p := make([]float64, 5)
	for i := 0; i < 4; i++ {
		m.Conditional(s, i, p)
		w := make([]float64, 5)
		z := 0.0
		for a := range w {
			x := append([]uint8(nil), s...)
			x[i] = uint8(a)
			w[a] = math.Exp(-m.Energy(x))
			z += w[a]
		}
		for a := range w {
			if math.Abs(p[a]-w[a]/z) > 1e-12 {
				t.Fatalf("site %d state %d: p = %v, want %v", i, a, p[a], w[a]/z)
			}
		}
	}
}

func TestCategoricalDraw(t *testing.T) {
	for _, tc := range []struct {
		u    []float64
		r    float32
		want int
	}{
		{[]float64{0, 0}, 0, 0},
		{[]float64{0, 0}, 0.4999999, 0},
		{[]float64{0, 0}, 0.5, 1},
		{[]float64{0, 0, 0, 0}, 0.75, 3},
		{[]float64{math.Log(1), math.Log(3)}, 0.25, 1},
		{[]float64{math.Log(1), math.Log(3)}, 0.2499, 0},
		{[]float64{-1000, 5, -1000}, 0.999, 1},
		{[]float64{5, math.Inf(-1)}, 0.9999999, 0},
		{[]float64{300, 300}, 0.9, 1},
	} {
		if got := CategoricalDraw(append([]float64(nil), tc.u...), tc.r); got != tc.want {
			t.Errorf("CategoricalDraw(%v, %v) = %d, want %d", tc.u, tc.r, got, tc.want)
		}
	}
}

// Gibbs is a pure function of its arguments (any number of goroutines),
// and its chains reach the exact marginals.
func TestPottsGibbs(t *testing.T) {
	m := randomPotts(t, 3, 3, 0.7, 4)
	const n = 20000
	s := make([]uint8, n*3)
	if err := m.Gibbs(s, n, 30, 9, 0); err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	s1 := make([]uint8, n*3)
	err := m.Gibbs(s1, n, 30, 9, 0)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if string(s) != string(s1) {
		t.Fatal("Gibbs depends on GOMAXPROCS")
	}
	data, err := PottsDataStats(s, n, 3, 3, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	exact, _, err := m.ExactStats()
	if err != nil {
		t.Fatal(err)
	}
	for k := range exact.F2 {
		if d := math.Abs(data.F2[k] - exact.F2[k]); d > 0.015 {
			i, j, a, b := m.jIndex(k)
			t.Errorf("p_%d%d(%d,%d): sampled %.4f, exact %.4f", i, j, a, b, data.F2[k], exact.F2[k])
		}
	}
	if err := m.Gibbs([]uint8{0, 1, 3}, 1, 1, 0, 0); err == nil {
		t.Error("Gibbs with a code ≥ q: no error")
	}
}

func TestPottsLogZ(t *testing.T) {
	zero, _ := NewPotts(5, 4)
	if lz, err := zero.LogZ(); err != nil || math.Abs(lz-5*math.Log(4)) > 1e-12 {
		t.Errorf("uniform model: log Z = %v, %v; want 5 log 4", lz, err)
	}
	ind := randomPotts(t, 4, 3, 1, 5)
	for k := range ind.J {
		ind.J[k] = 0
	}
	want := 0.0
	for i := 0; i < 4; i++ {
		z := 0.0
		for a := 0; a < 3; a++ {
			z += math.Exp(float64(ind.H[i*3+a]))
		}
		want += math.Log(z)
	}
	if lz, _ := ind.LogZ(); math.Abs(lz-want) > 1e-12 {
		t.Errorf("independent sites: log Z = %v, want %v", lz, want)
	}
	m := randomPotts(t, 4, 4, 1, 6)
	st, lz, err := m.ExactStats()
	if err != nil {
		t.Fatal(err)
	}
	ref := newLSE()
	f2 := make([]float64, len(m.J))
	for _, s := range allStates(4, 4) {
		ref.add(-m.Energy(s))
	}
	for _, s := range allStates(4, 4) {
		p := math.Exp(-m.Energy(s) - ref.value())
		for i := range s {
			for j := range s {
				if i != j {
					f2[m.jAt(i, j, int(s[i]), int(s[j]))] += p
				}
			}
		}
	}
	if math.Abs(lz-ref.value()) > 1e-9 {
		t.Errorf("log Z = %v, brute force %v", lz, ref.value())
	}
	for k, v := range f2 {
		if i, j, _, _ := m.jIndex(k); i != j && math.Abs(st.F2[k]-v) > 1e-12 {
			t.Fatalf("p_ij at %d = %v, brute force %v", k, st.F2[k], v)
		}
	}
	big, _ := NewPotts(5, 21)
	if _, err := big.LogZ(); err == nil || !strings.Contains(err.Error(), "L·log₂q ≤ 20") {
		t.Errorf("5 sites of 21 states: %v", err)
	}
}

func TestPottsDataStats(t *testing.T) {
	seqs := []uint8{0, 1, 1, 1, 1, 0} // three sequences of two sites
	w := []float64{1, 2, 1}
	for _, tc := range []struct {
		name   string
		lambda float64
		f1, f2 []float64 // f_0(·), f_01(·,·)
	}{
		{"no pseudocount", 0, []float64{0.25, 0.75}, []float64{0, 0.25, 0.25, 0.5}},
		{"λ = 0.5", 0.5, []float64{0.375, 0.625}, []float64{0.125, 0.25, 0.25, 0.375}},
		{"default 1/M_eff", PseudocountDefault, []float64{0.25*0.75 + 0.125, 0.75*0.75 + 0.125}, []float64{0.0625, 0.25, 0.25, 0.4375}},
	} {
		st, err := PottsDataStats(seqs, 3, 2, 2, w, tc.lambda)
		if err != nil {
			t.Fatal(err)
		}
		for a := 0; a < 2; a++ {
			if math.Abs(st.F1[a]-tc.f1[a]) > 1e-15 {
				t.Errorf("%s: f_0 = %v, want %v", tc.name, st.F1[:2], tc.f1)
			}
			for b := 0; b < 2; b++ {
				got := st.F2[((0*2+1)*2+a)*2+b]
				if math.Abs(got-tc.f2[a*2+b]) > 1e-15 || got != st.F2[((1*2+0)*2+b)*2+a] {
					t.Errorf("%s: f_01(%d,%d) = %v, want %v (and symmetric)", tc.name, a, b, got, tc.f2[a*2+b])
				}
			}
		}
		if st.F2[0] != st.F1[0] || st.F2[1] != 0 {
			t.Errorf("%s: diagonal block %v, want diag(f_0)", tc.name, st.F2[:4])
		}
	}
	for _, bad := range []struct {
		seqs []uint8
		n    int
		w    []float64
		l    float64
		want string
	}{
		{seqs, 3, []float64{1, 2}, 0, "2 weights for 3 sequences"},
		{seqs, 3, []float64{1, -1, 1}, 0, "weight 1 = -1"},
		{seqs, 3, []float64{0, 0, 0}, 0, "sum to 0"},
		{seqs, 3, w, 2, "pseudocount 2"},
		{[]uint8{0, 2}, 1, nil, 0, "code 2 is not below q = 2"},
		{seqs, 4, nil, 0, "6 codes for 4 sequences"},
	} {
		if _, err := PottsDataStats(bad.seqs, bad.n, 2, 2, bad.w, bad.l); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want %q", bad, err, bad.want)
		}
	}
}

// The exact gradient is the derivative of the exact average
// log-likelihood (central differences).
func TestPottsExactGradient(t *testing.T) {
	m := randomPotts(t, 3, 4, 0.5, 7)
	data, _ := m.Sample(40, 5, 11)
	w := make([]float64, 40)
	for i := range w {
		w[i] = 0.5 + float64(i%3)
	}
	st, err := PottsDataStats(data, 40, 3, 4, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	dH, dJ, err := m.ExactGradient(st)
	if err != nil {
		t.Fatal(err)
	}
	ll := func(p *Potts) float64 {
		v, err := p.LogLikelihood(data, 40, w)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const eps = 1e-2
	check := func(what string, got float64, set func(p *Potts, d float32) float64) {
		p, q := m.Clone(), m.Clone()
		h := set(p, eps) - set(q, -eps) // the actual float32 step
		fd := (ll(p) - ll(q)) / h
		if math.Abs(fd-got) > 2e-5 {
			t.Errorf("%s: gradient %v, finite difference %v", what, got, fd)
		}
	}
	for k := range m.H {
		check("h", dH[k], func(p *Potts, d float32) float64 { p.H[k] += d; return float64(p.H[k]) })
	}
	for _, e := range [][4]int{{0, 1, 2, 3}, {2, 0, 1, 1}, {1, 2, 0, 3}, {0, 2, 3, 0}} {
		i, j, a, b := e[0], e[1], e[2], e[3]
		k := m.jAt(i, j, a, b)
		if dJ[k] != dJ[m.jAt(j, i, b, a)] {
			t.Errorf("dJ not symmetric at %v", e)
		}
		check("J", dJ[k], func(p *Potts, d float32) float64 {
			v := p.J[k] + d
			p.SetCoupling(i, j, a, b, v)
			return float64(v)
		})
	}
	if dJ[m.jAt(1, 1, 2, 2)] != 0 {
		t.Error("dJ has a diagonal block")
	}
}

func TestFrobeniusAPC(t *testing.T) {
	// Three sites of three states, the gap (state 0) excluded: only (0, 1)
	// is coupled, by a block whose zero-sum form is known.
	m, _ := NewPotts(3, 3)
	m.SetCoupling(0, 1, 1, 1, 3) // zero-sum: 3·(δ_a1 − 1/3)(δ_b1 − 1/3)
	f, err := m.FrobeniusAPC(0)
	if err != nil {
		t.Fatal(err)
	}
	// J' restricted to a, b ∈ {1, 2}: 3·[(2/3)², (2/3)(−1/3); …]
	F := 3 * math.Sqrt(math.Pow(4./9, 2)+2*math.Pow(2./9, 2)+math.Pow(1./9, 2))
	// F_0· = F_1· = F, F_2· = 0, F_·· = 2F.
	want := []float64{0, F - F*F/(2*F), 0, F - F*F/(2*F), 0, 0, 0, 0, 0}
	for k := range want {
		if math.Abs(f[k]-want[k]) > 1e-6 {
			t.Fatalf("scores %v, want %v", f, want)
		}
	}
	// Scores do not depend on the gauge.
	r := randomPotts(t, 6, 4, 1, 8)
	a, _ := r.FrobeniusAPC(0)
	b, _ := r.ZeroSumGauge().FrobeniusAPC(0)
	for k := range a {
		if math.Abs(a[k]-b[k]) > 1e-5 {
			t.Fatalf("score %d: %v before the gauge, %v after", k, a[k], b[k])
		}
	}
	cs := RankContacts(a, 6, 1)
	if len(cs) != 15 || cs[0].Score < cs[14].Score {
		t.Fatalf("RankContacts: %v", cs)
	}
	if cs5 := RankContacts(a, 6, 5); len(cs5) != 1 || cs5[0].I != 0 || cs5[0].J != 5 {
		t.Errorf("min separation 5: %v", cs5)
	}
	if p := TopPrecision(cs, 2, func(i, j int) bool { return i == cs[0].I && j == cs[0].J }); p != 0.5 {
		t.Errorf("precision %v, want 0.5", p)
	}
	if _, err := r.FrobeniusAPC(4); err == nil {
		t.Error("excluded state 4 of 4: no error")
	}
	zero, _ := NewPotts(4, 2)
	if z, _ := zero.FrobeniusAPC(-1); z[1] != 0 {
		t.Errorf("no couplings: scores %v", z)
	}
}

func TestComparePottsStats(t *testing.T) {
	m := randomPotts(t, 3, 3, 1, 9)
	ex, _, _ := m.ExactStats()
	fit, err := ComparePottsStats(ex, ex)
	if err != nil || math.Abs(fit.PearsonC-1) > 1e-12 || math.Abs(fit.SlopeC-1) > 1e-12 || math.Abs(fit.PearsonF-1) > 1e-12 {
		t.Errorf("self comparison %+v, %v", fit, err)
	}
	s, _ := m.Sample(2000, 20, 3)
	emp, _ := PottsDataStats(s, 2000, 3, 3, nil, 0)
	fit, _ = ComparePottsStats(ex, emp)
	if fit.PearsonC < 0.9 || fit.PearsonF < 0.95 || math.Abs(fit.SlopeC-1) > 0.2 {
		t.Errorf("samples vs exact: %+v", fit)
	}
	other, _ := NewPotts(4, 3)
	if _, err := ComparePottsStats(ex, &PottsStats{L: other.L, Q: 3}); err == nil {
		t.Error("sizes differ: no error")
	}
}

// One reference Gibbs sweep of 1,000 chains of a dense L = 100, q = 21
// model (the Go oracle, not the host kernel that training will use).
func BenchmarkPottsGibbs(b *testing.B) {
	const L, q, n = 100, 21, 1000
	m := randomPotts(b, L, q, 0.1, 12)
	s := make([]uint8, n*L)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Gibbs(s, n, 1, 1, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*n*L/b.Elapsed().Seconds(), "sites/s")
}
