package models

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomLayer(rng *rand.Rand, v, h int, std float64) *RBM {
	m, _ := NewRBM(v, h, 1)
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * std)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(rng.NormFloat64() * 0.5)
	}
	for j := range m.HBias {
		m.HBias[j] = float32(rng.NormFloat64() * 0.5)
	}
	return m
}

// On a tiny two-layer DBN everything can be enumerated: the exact
// log p(v) = log Σ_h p(v|h) p_top(h), and the exact value of the bound,
// E_q[log p(v|h) + log p_top(h) − log q(h|v)]. The Monte-Carlo estimate
// must match the exact bound within its sampling error, and the bound
// must not exceed log p(v).
func TestDBNLowerBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	l0, l1 := randomLayer(rng, 5, 3, 1), randomLayer(rng, 3, 4, 1)
	d, err := NewDBN([]*RBM{l0, l1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	logZ, _ := l1.LogZ()
	x := []float32{1, 0, 1, 1, 0, 0, 1, 0, 0, 1}
	const n = 2
	var exactLogP, exactBound float64
	for r := 0; r < n; r++ {
		v := x[r*5 : (r+1)*5]
		q := l0.HiddenProbs(nil, v, 1)
		var ps []float64
		for code := 0; code < 8; code++ {
			h := []float32{float32(code & 1), float32(code >> 1 & 1), float32(code >> 2 & 1)}
			pv := l0.VisibleProbs(nil, h, 1)
			var logPvh, logQ float64
			for i := range v {
				logPvh += bernoulliLog(v[i], float64(pv[i]))
			}
			for j := range h {
				logQ += bernoulliLog(h[j], float64(q[j]))
			}
			logPtop := -l1.FreeEnergy(h) - logZ
			ps = append(ps, logPvh+logPtop)
			exactBound += math.Exp(logQ) * (logPvh + logPtop - logQ)
		}
		top := math.Inf(-1)
		for _, p := range ps {
			top = math.Max(top, p)
		}
		s := 0.0
		for _, p := range ps {
			s += math.Exp(p - top)
		}
		exactLogP += top + math.Log(s)
	}
	exactLogP /= n
	exactBound /= n
	est, err := d.LowerBound(x, n, logZ, 20000, 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log p(v) %.4f, exact bound %.4f, estimated bound %.4f", exactLogP, exactBound, est)
	if exactBound > exactLogP+1e-9 {
		t.Errorf("bound %.4f exceeds log p %.4f", exactBound, exactLogP)
	}
	if math.Abs(est-exactBound) > 0.05 {
		t.Errorf("estimated bound %.4f, exact %.4f", est, exactBound)
	}
	// One layer: the bound is the exact log-likelihood.
	single, _ := NewDBN([]*RBM{l0}, 0)
	z0, _ := l0.LogZ()
	b, err := single.LowerBound(x, n, z0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	ll, _ := l0.LogLikelihood(x, n)
	if math.Abs(b-ll) > 1e-9 {
		t.Errorf("one-layer bound %v, log-likelihood %v", b, ll)
	}
	if _, err := d.LowerBound(x, n, math.NaN(), 1, 1); err == nil {
		t.Error("NaN log Z: no error")
	}
	if _, err := d.LowerBound(x, n, logZ, 0, 1); err == nil {
		t.Error("0 samples: no error")
	}
}
