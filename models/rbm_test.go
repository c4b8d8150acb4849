package models

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// randomRBM returns an RBM with weights and biases uniform in [-scale,
// scale), deterministic in seed (test stream op 0xBEEF).
func randomRBM(v, h int, scale float32, seed uint64) *RBM {
	m := &RBM{V: v, H: h, W: make([]float32, v*h), VBias: make([]float32, v), HBias: make([]float32, h)}
	s := kernels.Stream{Seed: seed, Op: 0xBEEF}
	e := uint64(0)
	for _, p := range [][]float32{m.W, m.VBias, m.HBias} {
		for i := range p {
			p[i] = scale * (2*s.Uniform(e) - 1)
			e++
		}
	}
	return m
}

// energy returns E(v,h) for binary states given as bitmasks, in float64.
func energy(m *RBM, v, h uint64) float64 {
	e := 0.0
	for i := 0; i < m.V; i++ {
		if v&(1<<i) == 0 {
			continue
		}
		e -= float64(m.VBias[i])
		for j := 0; j < m.H; j++ {
			if h&(1<<j) != 0 {
				e -= float64(m.W[i*m.H+j])
			}
		}
	}
	for j := 0; j < m.H; j++ {
		if h&(1<<j) != 0 {
			e -= float64(m.HBias[j])
		}
	}
	return e
}

func bitsToVec(x uint64, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		if x&(1<<i) != 0 {
			v[i] = 1
		}
	}
	return v
}

// bruteLogZ sums e^{-E} over every (v, h) pair.
func bruteLogZ(m *RBM) float64 {
	l := newLSE()
	for v := uint64(0); v < 1<<m.V; v++ {
		for h := uint64(0); h < 1<<m.H; h++ {
			l.add(-energy(m, v, h))
		}
	}
	return l.value()
}

func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestNewRBM(t *testing.T) {
	m, err := NewRBM(784, 500, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// Moments of N(0, 0.01²) over 392000 draws.
	var s, s2 float64
	for _, w := range m.W {
		s += float64(w)
		s2 += float64(w) * float64(w)
	}
	n := float64(len(m.W))
	mean, std := s/n, math.Sqrt(s2/n-(s/n)*(s/n))
	if math.Abs(mean) > 1e-4 || math.Abs(std-InitStd) > 1e-4 {
		t.Errorf("weights mean %g std %g, want 0 and %g", mean, std, InitStd)
	}
	for i, b := range append(append([]float32{}, m.VBias...), m.HBias...) {
		if b != 0 {
			t.Fatalf("bias %d = %g, want 0", i, b)
		}
	}
	again, _ := NewRBM(784, 500, 42)
	if !reflect.DeepEqual(m, again) {
		t.Error("same seed gave different weights")
	}
	other, _ := NewRBM(784, 500, 43)
	if reflect.DeepEqual(m.W, other.W) {
		t.Error("different seeds gave the same weights")
	}
	// Element k is the documented Box–Muller draw, whichever goroutine
	// drew it (the large model is drawn in two halves), for an odd count
	// too, whose last weight uses only the cosine half of its pair.
	st := kernels.Stream{Seed: 42, Op: OpInitW}
	for _, sz := range [][2]int{{784, 500}, {3, 3}, {333, 333}} {
		m, _ := NewRBM(sz[0], sz[1], 42)
		for k, w := range m.W {
			u1, u2 := float64(st.Uniform(uint64(k&^1))), float64(st.Uniform(uint64(k|1)))
			r := math.Sqrt(-2 * math.Log(1-u1))
			want := float32(InitStd * r * math.Cos(2*math.Pi*u2))
			if k%2 == 1 {
				want = float32(InitStd * r * math.Sin(2*math.Pi*u2))
			}
			if w != want {
				t.Fatalf("%d×%d: W[%d] = %v, want %v", sz[0], sz[1], k, w, want)
			}
		}
	}
	if odd, err := NewRBM(3, 3, 42); err != nil || odd.Validate() != nil {
		t.Errorf("3×3: %v", err)
	}
	for _, sz := range [][2]int{{0, 5}, {5, 0}, {-1, 3}, {1 << 20, 1 << 20}} {
		if _, err := NewRBM(sz[0], sz[1], 1); err == nil {
			t.Errorf("NewRBM(%d, %d) succeeded", sz[0], sz[1])
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(m *RBM)
		want string
	}{
		{"ok", func(m *RBM) {}, ""},
		{"short W", func(m *RBM) { m.W = m.W[:5] }, "W has 5 elements, want 12"},
		{"long vbias", func(m *RBM) { m.VBias = append(m.VBias, 0) }, "vbias has 4"},
		{"short hbias", func(m *RBM) { m.HBias = nil }, "hbias has 0"},
		{"zero V", func(m *RBM) { m.V = 0 }, "at least one"},
		{"NaN weight", func(m *RBM) { m.W[7] = float32(math.NaN()) }, "W[7] = NaN"},
		{"Inf bias", func(m *RBM) { m.HBias[2] = float32(math.Inf(1)) }, "hbias[2] = +Inf"},
	}
	for _, tc := range tests {
		m := randomRBM(3, 4, 1, 1)
		tc.mod(m)
		err := m.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	var nilRBM *RBM
	if nilRBM.Validate() == nil {
		t.Error("nil RBM validated")
	}
}

func TestClone(t *testing.T) {
	m := randomRBM(3, 2, 1, 3)
	c := m.Clone()
	if !reflect.DeepEqual(m, c) {
		t.Fatal("clone differs")
	}
	c.W[0]++
	c.VBias[0]++
	c.HBias[0]++
	if m.W[0] == c.W[0] || m.VBias[0] == c.VBias[0] || m.HBias[0] == c.HBias[0] {
		t.Error("clone shares memory")
	}
}

func TestFreeEnergyBruteForce(t *testing.T) {
	for _, tc := range []struct {
		v, h  int
		scale float32
	}{{1, 1, 1}, {3, 2, 1}, {4, 5, 2}, {6, 3, 8}, {2, 7, 30}} {
		m := randomRBM(tc.v, tc.h, tc.scale, uint64(tc.v*10+tc.h))
		var rows []float32
		var want []float64
		for v := uint64(0); v < 1<<tc.v; v++ {
			l := newLSE()
			for h := uint64(0); h < 1<<tc.h; h++ {
				l.add(-energy(m, v, h))
			}
			want = append(want, -l.value())
			rows = append(rows, bitsToVec(v, tc.v)...)
			if got := m.FreeEnergy(bitsToVec(v, tc.v)); !closeTo(got, want[len(want)-1], 1e-12) {
				t.Errorf("%d×%d v=%b: F = %.15g, want %.15g", tc.v, tc.h, v, got, want[len(want)-1])
			}
		}
		got := m.FreeEnergies(make([]float64, 1), rows, len(want))
		for r := range want {
			if !closeTo(got[r], want[r], 1e-12) {
				t.Errorf("%d×%d FreeEnergies[%d] = %.15g, want %.15g", tc.v, tc.h, r, got[r], want[r])
			}
		}
	}
	// Huge activations must not overflow.
	m := &RBM{V: 1, H: 1, W: []float32{1e30}, VBias: []float32{0}, HBias: []float32{0}}
	if f, want := m.FreeEnergy([]float32{1}), -float64(float32(1e30)); f != want {
		t.Errorf("F = %g, want %g", f, want)
	}
}

// TestConditionalsMatchJoint checks p(h_j=1|v) and p(v_i=1|h) against ratios
// of the unnormalised joint e^{-E(v,h)}.
func TestConditionalsMatchJoint(t *testing.T) {
	m := randomRBM(4, 3, 1.5, 9)
	for v := uint64(0); v < 1<<m.V; v++ {
		hp := m.HiddenProbs(nil, bitsToVec(v, m.V), 1)
		for j := 0; j < m.H; j++ {
			var on, all float64
			for h := uint64(0); h < 1<<m.H; h++ {
				p := math.Exp(-energy(m, v, h))
				all += p
				if h&(1<<j) != 0 {
					on += p
				}
			}
			if !closeTo(float64(hp[j]), on/all, 1e-6) {
				t.Errorf("p(h_%d=1|v=%b) = %g, want %g", j, v, hp[j], on/all)
			}
		}
	}
	for h := uint64(0); h < 1<<m.H; h++ {
		vp := m.VisibleProbs(nil, bitsToVec(h, m.H), 1)
		for i := 0; i < m.V; i++ {
			var on, all float64
			for v := uint64(0); v < 1<<m.V; v++ {
				p := math.Exp(-energy(m, v, h))
				all += p
				if v&(1<<i) != 0 {
					on += p
				}
			}
			if !closeTo(float64(vp[i]), on/all, 1e-6) {
				t.Errorf("p(v_%d=1|h=%b) = %g, want %g", i, h, vp[i], on/all)
			}
		}
	}
	// Batched calls equal row-by-row calls and reuse dst.
	x := []float32{1, 0, 1, 1, 0, 0, 0, 1, 0.5, 1, 0, 0.25}
	dst := make([]float32, 9)
	got := m.HiddenProbs(dst, x, 3)
	if &got[0] != &dst[0] {
		t.Error("HiddenProbs did not reuse dst")
	}
	for r := 0; r < 3; r++ {
		row := m.HiddenProbs(nil, x[r*4:], 1)
		if !reflect.DeepEqual(row, got[r*3:r*3+3]) {
			t.Errorf("row %d: batched %v, single %v", r, got[r*3:r*3+3], row)
		}
	}
}

func TestGibbs(t *testing.T) {
	m := randomRBM(6, 4, 2, 5)
	init := []float32{1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	run := func(seed, step0 uint64, steps int) []float32 {
		v := append([]float32(nil), init...)
		if err := m.Gibbs(v, 3, steps, seed, step0); err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := run(7, 0, 5)
	if !reflect.DeepEqual(a, run(7, 0, 5)) {
		t.Error("same seed, different samples")
	}
	for _, x := range a {
		if x != 0 && x != 1 {
			t.Fatalf("sample %v is not binary", a)
		}
	}
	// Continuing: 2 sweeps then 3 more from step 2 equal 5 sweeps.
	v := run(7, 0, 2)
	if err := m.Gibbs(v, 3, 3, 7, 2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, v) {
		t.Error("split run differs from one run")
	}
	if reflect.DeepEqual(a, run(8, 0, 5)) && reflect.DeepEqual(a, run(7, 100, 5)) {
		t.Error("samples ignore seed and step")
	}
	if !reflect.DeepEqual(run(7, 0, 0), init) {
		t.Error("zero steps changed v")
	}
	if err := m.Gibbs(make([]float32, 5), 1, 1, 0, 0); err == nil {
		t.Error("short v accepted")
	}
	if err := m.Gibbs(init, 1, -1, 0, 0); err == nil {
		t.Error("negative steps accepted")
	}

	// Distribution: with many chains the visible marginals approach the
	// exact ones (computed by enumeration).
	small := randomRBM(3, 2, 1, 11)
	const chains = 20000
	vs := make([]float32, chains*3)
	if err := small.Gibbs(vs, chains, 30, 1, 0); err != nil {
		t.Fatal(err)
	}
	logZ := bruteLogZ(small)
	for i := 0; i < 3; i++ {
		exact := 0.0
		for v := uint64(0); v < 8; v++ {
			if v&(1<<i) != 0 {
				exact += math.Exp(-small.FreeEnergy(bitsToVec(v, 3)) - logZ)
			}
		}
		got := 0.0
		for r := 0; r < chains; r++ {
			got += float64(vs[r*3+i])
		}
		got /= chains
		if math.Abs(got-exact) > 0.015 {
			t.Errorf("p(v_%d=1): sampled %g, exact %g", i, got, exact)
		}
	}
}

func TestStableHelpers(t *testing.T) {
	tests := []struct{ x, sig, sp float64 }{
		{0, 0.5, math.Ln2},
		{800, 1, 800},
		{-800, 0, 0},
		{-40, 4.248354255291589e-18, 4.248354255291589e-18},
		{40, 1, 40},
		{1, 0.7310585786300049, 1.3132616875182228},
	}
	for _, tc := range tests {
		if got := Sigmoid(tc.x); !closeTo(got, tc.sig, 1e-15) && math.Abs(got-tc.sig) > 1e-300 {
			t.Errorf("Sigmoid(%g) = %g, want %g", tc.x, got, tc.sig)
		}
		if got := Softplus(tc.x); math.Abs(got-tc.sp) > 1e-15*math.Max(math.Abs(tc.sp), 1e-300) && got != tc.sp {
			t.Errorf("Softplus(%g) = %g, want %g", tc.x, got, tc.sp)
		}
		if got := Sigmoid32(float32(tc.x)); math.Abs(float64(got)-tc.sig) > 1e-7 {
			t.Errorf("Sigmoid32(%g) = %g", tc.x, got)
		}
		if got := Softplus32(float32(tc.x)); math.Abs(float64(got)-tc.sp) > 1e-6*math.Max(1, tc.sp) {
			t.Errorf("Softplus32(%g) = %g", tc.x, got)
		}
	}
}
