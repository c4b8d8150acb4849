package models

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// randomBM returns a BM of connectivity l with connected weights and biases
// uniform in [-scale, scale].
func randomBM(v, h int, l Lateral, scale float32, seed uint64) *BM {
	m, _ := NewBM(v, h, l, seed)
	n := m.N()
	s := kernels.Stream{Seed: seed, Op: 0xB0B}
	for i := 0; i < n; i++ {
		m.Bias[i] = scale * (2*s.Uniform(uint64(n*n+i)) - 1)
		for j := i + 1; j < n; j++ {
			if m.Mask[i*n+j] != 0 {
				w := scale * (2*s.Uniform(uint64(i*n+j)) - 1)
				m.W[i*n+j], m.W[j*n+i] = w, w
			}
		}
	}
	return m
}

// bruteBMLogZ sums e^{-Energy(s)} over all states, directly.
func bruteBMLogZ(m *BM, first int, fixed []float32) float64 {
	n := m.N()
	s := make([]float32, n)
	copy(s, fixed)
	l := newLSE()
	for g := 0; g < 1<<(n-first); g++ {
		for i := first; i < n; i++ {
			s[i] = float32(g >> (i - first) & 1)
		}
		l.add(-m.Energy(s))
	}
	return l.value()
}

func TestBMMaskAndValidate(t *testing.T) {
	for _, l := range []Lateral{LateralNone, LateralVisible, LateralHidden, LateralBoth} {
		m, err := NewBM(3, 2, l, 1)
		if err != nil || m.Validate() != nil {
			t.Fatalf("%v: %v %v", l, err, m.Validate())
		}
		if got, ok := m.Lateral(); !ok || got != l {
			t.Errorf("Lateral() = %v %v, want %v", got, ok, l)
		}
		if p, err := ParseLateral(l.String()); err != nil || p != l {
			t.Errorf("ParseLateral(%q) = %v, %v", l.String(), p, err)
		}
		vv, hh := m.Mask[0*5+1], m.Mask[3*5+4]
		if m.Mask[0*5+3] != 1 || m.Mask[2*5+2] != 0 ||
			(vv == 1) != (l == LateralVisible || l == LateralBoth) || (hh == 1) != (l == LateralHidden || l == LateralBoth) {
			t.Errorf("%v: mask %v", l, m.Mask)
		}
	}
	if _, err := ParseLateral("some"); err == nil {
		t.Error("ParseLateral(some) accepted")
	}
	good := randomBM(3, 2, LateralBoth, 1, 2)
	for name, tc := range map[string]struct {
		edit func(m *BM)
		want string
	}{
		"asymmetric W":    {func(m *BM) { m.W[1] += 1 }, "W is not symmetric at [0,1]"},
		"diagonal mask":   {func(m *BM) { m.Mask[6] = 1 }, "mask[1,1] = 1 on the diagonal"},
		"mask not 0/1":    {func(m *BM) { m.Mask[1], m.Mask[5] = 2, 2 }, "mask[0,1] = 2, want 0 or 1"},
		"asymmetric mask": {func(m *BM) { m.Mask[1] = 0 }, "mask is not symmetric at [0,1]"},
		"masked weight":   {func(m *BM) { m.Mask[1], m.Mask[5] = 0, 0 }, "W[0,1] = "},
		"NaN bias":        {func(m *BM) { m.Bias[4] = float32(math.NaN()) }, "bias[4] = NaN is not finite"},
		"short W":         {func(m *BM) { m.W = m.W[:3] }, "W has 3 elements, want 25"},
		"no visible":      {func(m *BM) { m.V = 0 }, "invalid"},
	} {
		m := good.Clone()
		tc.edit(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := NewBM(0, 3, LateralNone, 1); err == nil {
		t.Error("NewBM(0, 3) accepted")
	}
}

// Gray-code enumeration agrees with summing Energy directly, and
// log-likelihood is log Σ_h e^{-E} − log Z.
func TestBMLogZ(t *testing.T) {
	m := randomBM(4, 4, LateralBoth, 1.5, 3)
	lz, err := m.LogZ()
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteBMLogZ(m, 0, nil); math.Abs(lz-want) > 1e-9 {
		t.Errorf("LogZ %v, brute force %v", lz, want)
	}
	v := []float32{1, 0, 1, 1}
	if got, want := m.LogUnnormalized(v), bruteBMLogZ(m, 4, v); math.Abs(got-want) > 1e-9 {
		t.Errorf("LogUnnormalized %v, brute force %v", got, want)
	}
	// p(v) sums to one over the 2^V visible vectors.
	l := newLSE()
	for g := 0; g < 16; g++ {
		x := []float32{float32(g & 1), float32(g >> 1 & 1), float32(g >> 2 & 1), float32(g >> 3 & 1)}
		ll, err := m.LogLikelihood(x, 1)
		if err != nil {
			t.Fatal(err)
		}
		l.add(ll)
	}
	if math.Abs(l.value()) > 1e-9 {
		t.Errorf("log Σ_v p(v) = %v, want 0", l.value())
	}
	big := randomBM(15, 6, LateralNone, 1, 1)
	if _, err := big.LogZ(); err == nil || !strings.Contains(err.Error(), "21 units: enumeration is limited to 20") {
		t.Errorf("LogZ of 21 units: %v", err)
	}
}

// A restricted BM is its RBM: the same log Z, log-likelihood and exact
// gradient (W block, biases), and zero lateral gradient.
func TestBMRestrictedIsRBM(t *testing.T) {
	r := randomRBM(5, 4, 1, 7)
	m := FromRBM(r)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	x := []float32{1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1}
	lr, _ := r.LogLikelihood(x, 3)
	lb, err := m.LogLikelihood(x, 3)
	if err != nil || math.Abs(lr-lb) > 1e-9 {
		t.Fatalf("log-likelihood: RBM %v, BM %v (%v)", lr, lb, err)
	}
	gW, gVB, gHB, _ := r.ExactGradient(x, 3)
	dW, dB, err := m.ExactGradient(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := m.N()
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var want float64
			switch {
			case i < 5 && j >= 5:
				want = gW[i*4+j-5]
			case i >= 5 && j < 5:
				want = gW[j*4+i-5]
			}
			if math.Abs(dW[i*n+j]-want) > 1e-9 {
				t.Errorf("dW[%d,%d] = %v, RBM %v", i, j, dW[i*n+j], want)
			}
		}
	}
	for i := 0; i < n; i++ {
		want := 0.0
		if i < 5 {
			want = gVB[i]
		} else {
			want = gHB[i-5]
		}
		if math.Abs(dB[i]-want) > 1e-9 {
			t.Errorf("dBias[%d] = %v, RBM %v", i, dB[i], want)
		}
	}
}

// The exact gradient of a general BM is the derivative of the exact
// log-likelihood (central differences, W_ij and W_ji moved together).
func TestBMExactGradientFiniteDifferences(t *testing.T) {
	m := randomBM(4, 3, LateralBoth, 1, 11)
	x := []float32{1, 0, 1, 1, 0, 1, 1, 0}
	dW, dB, err := m.ExactGradient(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	n := m.N()
	const h = 1e-3
	ll := func(m *BM) float64 { l, _ := m.LogLikelihood(x, 2); return l }
	for _, ij := range [][2]int{{0, 1}, {0, 5}, {4, 6}, {2, 3}} {
		i, j := ij[0], ij[1]
		p, q := m.Clone(), m.Clone()
		p.W[i*n+j] += h
		p.W[j*n+i] += h
		q.W[i*n+j] -= h
		q.W[j*n+i] -= h
		fd := (ll(p) - ll(q)) / (2 * h)
		if math.Abs(fd-dW[i*n+j]) > 1e-3 || dW[i*n+j] != dW[j*n+i] {
			t.Errorf("dW[%d,%d] = %v (transposed %v), finite difference %v", i, j, dW[i*n+j], dW[j*n+i], fd)
		}
	}
	for _, i := range []int{0, 6} {
		p, q := m.Clone(), m.Clone()
		p.Bias[i] += h
		q.Bias[i] -= h
		if fd := (ll(p) - ll(q)) / (2 * h); math.Abs(fd-dB[i]) > 1e-3 {
			t.Errorf("dBias[%d] = %v, finite difference %v", i, dB[i], fd)
		}
	}
	for i := 0; i < n; i++ {
		if dW[i*n+i] != 0 {
			t.Errorf("dW[%d,%d] = %v on the diagonal", i, i, dW[i*n+i])
		}
	}
}

// Sequential Gibbs sampling has the model as its stationary distribution:
// unit means and pair moments of 4000 chains after 40 sweeps match the
// exact ones within 4 standard errors.
func TestBMGibbsStationary(t *testing.T) {
	m := randomBM(3, 3, LateralBoth, 1, 5)
	n := m.N()
	const chains = 4000
	s := make([]float32, chains*n)
	if err := m.Gibbs(s, chains, 40, 0, 9, 0); err != nil {
		t.Fatal(err)
	}
	ss, s1 := make([]float64, n*n), make([]float64, n)
	m.secondMoments(make([]float64, n), 0, 1, ss, s1)
	check := func(name string, got, p float64) {
		se := math.Sqrt(p * (1 - p) / chains)
		if math.Abs(got-p) > 4*se+1e-9 {
			t.Errorf("%s: sampled %.4f, exact %.4f (SE %.4f)", name, got, p, se)
		}
	}
	for i := 0; i < n; i++ {
		mean := 0.0
		for r := 0; r < chains; r++ {
			mean += float64(s[r*n+i]) / chains
		}
		check("E[s_"+string(rune('0'+i))+"]", mean, s1[i])
	}
	pair := 0.0
	for r := 0; r < chains; r++ {
		pair += float64(s[r*n+0]*s[r*n+4]) / chains
	}
	check("E[s_0 s_4]", pair, ss[0*n+4])
	// Clamped units stay put.
	c := []float32{1, 0, 1, 0, 0, 0}
	if err := m.Gibbs(c, 1, 3, 3, 1, 0); err != nil || c[0] != 1 || c[1] != 0 || c[2] != 1 {
		t.Errorf("clamped Gibbs changed the visibles: %v %v", c, err)
	}
	v, err := m.Generate(5, 10, 1)
	if err != nil || len(v) != 15 {
		t.Errorf("Generate: %d values, %v", len(v), err)
	}
}

func TestBMSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bm.safetensors")
	m := randomBM(4, 3, LateralVisible, 1, 2)
	extra := []safetensors.Tensor{{Name: "chains", Shape: []int{2, 7}, Data: make([]float32, 14)}}
	if err := SaveBM(path, m, testMeta(), extra); err != nil {
		t.Fatal(err)
	}
	got, meta, ex, err := LoadBM(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) || meta.Kind != KindBM || meta.Visible != 4 || meta.Hidden != 3 || meta.RNGStep != 1234 || len(ex["chains"].Data) != 14 {
		t.Errorf("round trip: %+v %+v %v", got, meta, ex)
	}
	if k, err := CheckpointKind(path); k != KindBM || err != nil {
		t.Errorf("CheckpointKind = %q, %v", k, err)
	}
	if _, _, _, err := LoadRBM(path); err == nil || !strings.Contains(err.Error(), `kind "bm": want "rbm"`) {
		t.Errorf("LoadRBM of a BM: %v", err)
	}
	if err := SaveBM(path, m, testMeta(), []safetensors.Tensor{{Name: "mask", Shape: []int{1}, Data: []float32{0}}}); err == nil {
		t.Error("extra tensor named mask accepted")
	}
	bad := m.Clone()
	bad.W[1] = 5
	if err := SaveBM(path, bad, testMeta(), nil); err == nil || !strings.Contains(err.Error(), "not symmetric") {
		t.Errorf("SaveBM of an asymmetric W: %v", err)
	}
}

func TestLoadBMRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.safetensors")
	goodMeta := `{"format_version":1,"kind":"bm","visible":2,"hidden":1,"epoch":0,"seed":1,"rng_step":0}`
	params := func() []safetensors.Tensor {
		return []safetensors.Tensor{
			{Name: "W", Shape: []int{3, 3}, Data: []float32{0, .5, .25, .5, 0, -1, .25, -1, 0}},
			{Name: "bias", Shape: []int{3}, Data: []float32{0, 1, 2}},
			{Name: "mask", Shape: []int{3, 3}, Data: []float32{0, 1, 1, 1, 0, 1, 1, 1, 0}},
		}
	}
	writeRaw(t, path, params(), map[string]string{MetaKey: goodMeta})
	if _, _, _, err := LoadBM(path); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(ts []safetensors.Tensor) []safetensors.Tensor
		meta string
		want string
	}{
		"asymmetric W":  {func(ts []safetensors.Tensor) []safetensors.Tensor { ts[0].Data[1] = 3; return ts }, goodMeta, "W is not symmetric at [0,1]"},
		"diagonal W":    {func(ts []safetensors.Tensor) []safetensors.Tensor { ts[0].Data[4] = 3; return ts }, goodMeta, "W[1,1] = 3 where the mask is 0"},
		"mask 0.5":      {func(ts []safetensors.Tensor) []safetensors.Tensor { ts[2].Data[1], ts[2].Data[3] = .5, .5; return ts }, goodMeta, "mask[0,1] = 0.5, want 0 or 1"},
		"NaN":           {func(ts []safetensors.Tensor) []safetensors.Tensor { ts[1].Data[2] = float32(math.NaN()); return ts }, goodMeta, `tensor "bias": element 2 is NaN`},
		"shape":         {func(ts []safetensors.Tensor) []safetensors.Tensor { ts[1].Shape = []int{1, 3}; return ts }, goodMeta, `tensor "bias": shape [1 3], metadata says [3]`},
		"missing mask":  {func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[:2] }, goodMeta, `tensor "mask" missing`},
		"kind":          {nil, strings.Replace(goodMeta, `"bm"`, `"rbm"`, 1), `kind "rbm": want "bm"`},
		"sizes":         {nil, strings.Replace(goodMeta, `"hidden":1`, `"hidden":2`, 1), "shape [3 3], metadata says [4 4]"},
		"newer version": {nil, strings.Replace(goodMeta, `"format_version":1`, `"format_version":9`, 1), "newer than this build reads"},
	} {
		ts := params()
		if tc.edit != nil {
			ts = tc.edit(ts)
		}
		writeRaw(t, path, ts, map[string]string{MetaKey: tc.meta})
		if _, _, _, err := LoadBM(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// A truncated file.
	writeRaw(t, path, params(), map[string]string{MetaKey: goodMeta})
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-5], 0o644)
	if _, _, _, err := LoadBM(path); err == nil || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("truncated file: %v", err)
	}
}
