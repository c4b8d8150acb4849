package models

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// randomPottsRBM returns a Potts RBM with N(0, scale²) weights and fields
// and N(0, 0.5²) hidden biases.
func randomPottsRBM(t testing.TB, L, q, H int, scale float64, seed uint64) *PottsRBM {
	t.Helper()
	m, err := NewPottsRBM(L, q, H, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	for k := range m.W {
		m.W[k] = float32(scale * r.NormFloat64())
	}
	for k := range m.VBias {
		m.VBias[k] = float32(scale * r.NormFloat64())
	}
	for k := range m.HBias {
		m.HBias[k] = float32(0.5 * r.NormFloat64())
	}
	return m
}

// brutePottsLogZ sums e^{−E(v,h)} over every (v, h) straight from the energy
// E = −Σ_i b_i(v_i) − cᵀh − Σ_ij W_{i v_i, j} h_j: the reference of LogZ.
func brutePottsLogZ(m *PottsRBM) float64 {
	L, q, H := m.L, m.Q, m.H
	codes := make([]int, L)
	l := newLSE()
	for {
		for g := 0; g < 1<<H; g++ {
			e := 0.0
			for i, a := range codes {
				e -= float64(m.VBias[i*q+a])
			}
			for j := 0; j < H; j++ {
				if g>>j&1 == 0 {
					continue
				}
				e -= float64(m.HBias[j])
				for i, a := range codes {
					e -= float64(m.W[(i*q+a)*H+j])
				}
			}
			l.add(-e)
		}
		i := 0
		for ; i < L; i++ {
			if codes[i]++; codes[i] < q {
				break
			}
			codes[i] = 0
		}
		if i == L {
			return l.value()
		}
	}
}

// oneHot returns n random one-hot rows of L sites of q states.
func oneHot(r *rand.Rand, n, L, q int) []float32 {
	x := make([]float32, n*L*q)
	for s := 0; s < n; s++ {
		for i := 0; i < L; i++ {
			x[(s*L+i)*q+r.IntN(q)] = 1
		}
	}
	return x
}

// Exact log Z by enumerating the hidden layer and by enumerating the
// visible states both equal the brute-force sum over (v, h) from the
// energy, for shapes where either layer is the smaller one.
func TestPottsRBMLogZMatchesBruteForce(t *testing.T) {
	for _, c := range []struct {
		L, q, H int
		scale   float64
	}{{3, 3, 4, 1}, {2, 4, 6, 0.7}, {4, 2, 3, 1.5}, {1, 5, 2, 2}, {3, 21, 2, 0.5}} {
		m := randomPottsRBM(t, c.L, c.q, c.H, c.scale, uint64(c.L*100+c.q*10+c.H))
		want := brutePottsLogZ(m)
		got, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		hid, vis := m.logZHidden(nil), m.LogZVisible()
		for name, v := range map[string]float64{"LogZ": got, "hidden enumeration": hid, "visible enumeration": vis} {
			if math.Abs(v-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%+v: %s = %.12f, brute force %.12f", c, name, v, want)
			}
		}
	}
	big := randomPottsRBM(t, 30, 21, 30, 0.1, 1)
	if _, err := big.LogZ(); err == nil {
		t.Error("30 sites of 21 states, 30 hidden units: LogZ gave no error")
	}
}

// ExactGradient equals central differences of the exact average
// log-likelihood in every parameter of a tiny model (L=3, q=3, H=4).
func TestPottsRBMExactGradientMatchesFiniteDifferences(t *testing.T) {
	m := randomPottsRBM(t, 3, 3, 4, 0.8, 7)
	r := rand.New(rand.NewPCG(3, 4))
	x := oneHot(r, 25, 3, 3)
	dW, db, dc, err := m.ExactGradient(x, 25)
	if err != nil {
		t.Fatal(err)
	}
	ll := func() float64 {
		v, err := m.LogLikelihood(x, 25)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, p := range []struct {
		name string
		x    []float32
		g    []float64
	}{{"W", m.W, dW}, {"vbias", m.VBias, db}, {"hbias", m.HBias, dc}} {
		for k := range p.x {
			orig := p.x[k]
			p.x[k] = orig + 1e-2
			up, hu := ll(), float64(p.x[k]-orig)
			p.x[k] = orig - 1e-2
			down, hd := ll(), float64(orig-p.x[k])
			p.x[k] = orig
			fd := (up - down) / (hu + hd)
			if math.Abs(fd-p.g[k]) > 2e-4 {
				t.Errorf("%s[%d]: exact gradient %.6f, finite differences %.6f", p.name, k, p.g[k], fd)
			}
		}
	}
}

// The zero-sum gauge changes no likelihood: log p(v) of every row is the
// same, log Z moves by Σ_i mean_a b_i(a), and the sums over a of b and W
// are zero.
func TestPottsRBMZeroSumGauge(t *testing.T) {
	m := randomPottsRBM(t, 3, 4, 3, 1, 11)
	for k := range m.VBias {
		m.VBias[k] += 2 // a gauge offset the transform must remove
	}
	z := m.ZeroSumGauge()
	x := oneHot(rand.New(rand.NewPCG(1, 2)), 30, 3, 4)
	a, err := m.LogLikelihood(x, 30)
	if err != nil {
		t.Fatal(err)
	}
	b, err := z.LogLikelihood(x, 30)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a-b) > 1e-5 {
		t.Errorf("log-likelihood %v before the gauge, %v after", a, b)
	}
	for i := 0; i < 3; i++ {
		s := 0.0
		for a := 0; a < 4; a++ {
			s += float64(z.VBias[i*4+a])
		}
		if math.Abs(s) > 1e-5 {
			t.Errorf("Σ_a b_%d(a) = %v", i, s)
		}
		for j := 0; j < 3; j++ {
			s := 0.0
			for a := 0; a < 4; a++ {
				s += float64(z.W[(i*4+a)*3+j])
			}
			if math.Abs(s) > 1e-5 {
				t.Errorf("Σ_a W_{%d a, %d} = %v", i, j, s)
			}
		}
	}
}

// AIS from the independent-site model agrees with the exact log Z within
// its ±3σ interval (widened by 0.02 nats for the bias of a finite
// schedule) on tiny models, with uniform and data-fitted bases.
func TestPottsRBMAISMatchesExactLogZ(t *testing.T) {
	for _, c := range []struct {
		L, q, H int
		scale   float64
		fitted  bool
	}{{3, 3, 4, 1, false}, {5, 4, 6, 0.6, true}, {8, 3, 5, 0.8, true}} {
		m := randomPottsRBM(t, c.L, c.q, c.H, c.scale, uint64(c.L+c.H))
		exact, err := m.LogZ()
		if err != nil {
			t.Fatal(err)
		}
		cfg := PottsAISConfig{Runs: 200, Betas: Betas(2000), Seed: 5}
		if c.fitted {
			v := make([]float32, 500*c.L*c.q)
			copy(v, oneHot(rand.New(rand.NewPCG(8, 9)), 500, c.L, c.q))
			if err := m.Gibbs(v, 500, 50, 3, 0); err != nil {
				t.Fatal(err)
			}
			cfg.BaseFields = PottsSiteFields(v, 500, c.L, c.q, 1)
		}
		res, err := m.AIS(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if exact < res.LogZLo-0.02 || exact > res.LogZHi+0.02 {
			t.Errorf("%+v: AIS log Z %.4f [%.4f, %.4f], exact %.4f", c, res.LogZ, res.LogZLo, res.LogZHi, exact)
		}
		t.Logf("%+v: AIS %.4f [%.4f, %.4f], exact %.4f", c, res.LogZ, res.LogZLo, res.LogZHi, exact)
	}
}

// Block Gibbs sampling converges to the model: the site frequencies of
// 4,000 chains after 30 sweeps match the exact marginals E_model[v_ia]
// within Monte Carlo error, and the chains stay one-hot.
func TestPottsRBMGibbsMatchesExactMarginals(t *testing.T) {
	m := randomPottsRBM(t, 3, 3, 4, 0.8, 21)
	var st pottsRBMStats
	m.logZHidden(&st)
	const n = 4000
	v := oneHot(rand.New(rand.NewPCG(5, 6)), n, 3, 3)
	if err := m.Gibbs(v, n, 30, 17, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Codes(v, n); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 9; k++ {
		f := 0.0
		for r := 0; r < n; r++ {
			f += float64(v[r*9+k]) / n
		}
		if sd := math.Sqrt(st.v[k] * (1 - st.v[k]) / n); math.Abs(f-st.v[k]) > 4*sd+1e-3 {
			t.Errorf("unit %d: Gibbs frequency %.4f, exact %.4f (σ %.4f)", k, f, st.v[k], sd)
		}
	}
}

// A checkpoint round-trips the model bit for bit with its metadata; a
// file of another kind is refused.
func TestPottsRBMCheckpointRoundTrip(t *testing.T) {
	m := randomPottsRBM(t, 4, 3, 5, 1, 2)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := SavePottsRBM(path, m, Meta{Epoch: 3}, nil); err != nil {
		t.Fatal(err)
	}
	got, meta, extra, err := LoadPottsRBM(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Kind != KindPottsRBM || meta.Visible != 12 || meta.Hidden != 5 || meta.Epoch != 3 || len(extra) != 0 {
		t.Errorf("meta %+v, %d extra tensors", meta, len(extra))
	}
	if got.L != 4 || got.Q != 3 || got.H != 5 {
		t.Fatalf("loaded %d×%d×%d", got.L, got.Q, got.H)
	}
	for k := range m.W {
		if got.W[k] != m.W[k] {
			t.Fatalf("W[%d] = %v, saved %v", k, got.W[k], m.W[k])
		}
	}
	if _, _, _, err := LoadRBM(path); err == nil {
		t.Error("LoadRBM read a Potts RBM checkpoint")
	}
}
