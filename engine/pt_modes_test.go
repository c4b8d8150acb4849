package engine

import (
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// twoModes is a planted RBM with V visible units and one hidden unit whose
// distribution has two far-apart modes of equal weight: W_i = w, b_i = −w/2,
// c = −V·w/2, so h = 0 gives v ≈ 0…0 and h = 1 gives v ≈ 1…1 (each unit
// right with probability σ(w/2)), while p(h = 1 | v) = σ(w(|v| − V/2)):
// from either mode, block Gibbs needs about V/2 units to flip against
// σ(−w/2) odds to cross, i.e. never at w = 6.
func twoModes(V int, w float32) map[string][]float32 {
	W, b := make([]float32, V), make([]float32, V)
	for i := range W {
		W[i], b[i] = w, -w/2
	}
	return map[string][]float32{graph.NameW: W, graph.NameVBias: b, graph.NameHBias: {-float32(V) * w / 2},
		graph.VelocityOf(graph.NameW): zeros(V), graph.VelocityOf(graph.NameVBias): zeros(V),
		graph.VelocityOf(graph.NameHBias): zeros(1)}
}

// modeSwitches runs steps steps of s with learning off from every chain in
// the all-zeros mode and counts, over the first C rows of the chains (the
// β = 1 replica), how often a chain's mode (more than half its units on)
// changes, and how many chains ever reach the all-ones mode.
func modeSwitches(t *testing.T, s graph.Declared, tensors map[string][]float32, V, C, steps int) (switches, visited int) {
	t.Helper()
	p, err := Host().Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, x := range p.Tensors() {
		if err := p.Set(x.Name, tensors[x.Name]); err != nil {
			t.Fatal(err)
		}
	}
	chains := make([]float32, len(tensors[graph.NameChains]))
	batch := make([]float32, 2*V)
	mode := make([]bool, C)
	seen := make([]bool, C)
	for step := 0; step < steps; step++ {
		if err := p.Step(batch, 1, graph.Hyper{}); err != nil { // LR 0: the model stays planted
			t.Fatal(err)
		}
		if _, err := p.Get(graph.NameChains, chains); err != nil {
			t.Fatal(err)
		}
		for c := 0; c < C; c++ {
			on := 0
			for _, x := range chains[c*V : (c+1)*V] {
				if x == 1 {
					on++
				}
			}
			m := 2*on > V
			if m != mode[c] {
				switches++
			}
			mode[c], seen[c] = m, seen[c] || m
		}
	}
	for _, s := range seen {
		if s {
			visited++
		}
	}
	return switches, visited
}

// On a planted RBM with two distant modes, plain PCD chains started in one
// mode stay there for 400 steps, while the β = 1 chains of parallel
// tempering (8 replicas down to β = 0.05, where the modes merge) switch
// modes again and again and every chain visits both.
func TestPTSwitchesModesWherePCDStays(t *testing.T) {
	const V, C, steps = 20, 10, 400
	base := modeStepConfig(V, C)
	pcd, err := graph.BuildCDStep(base, &graph.RNG{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tensors := twoModes(V, 6)
	tensors[graph.NameChains] = zeros(C * V)
	pcdSwitches, pcdVisited := modeSwitches(t, pcd, tensors, V, C, steps)

	const R = 8
	pt, err := graph.BuildPTStep(base, R, &graph.RNG{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tensors = twoModes(V, 6)
	tensors[graph.NameChains] = zeros(R * C * V)
	tensors[graph.NamePTBetas] = GeometricLadder(R, 0.05)
	tensors[graph.NamePTSwaps] = zeros(2 * (R - 1))
	ptSwitches, ptVisited := modeSwitches(t, pt, tensors, V, C, steps)
	t.Logf("mode switches of %d β=1 chains over %d steps: PCD %d (%d chains saw both modes), PT %d (%d chains)",
		C, steps, pcdSwitches, pcdVisited, ptSwitches, ptVisited)
	if pcdSwitches != 0 {
		t.Errorf("PCD switched modes %d times: the toy's modes are not separated", pcdSwitches)
	}
	if ptSwitches < 5*C || ptVisited != C {
		t.Errorf("PT: %d switches, %d of %d chains visited both modes; want ≥ %d and all", ptSwitches, ptVisited, C, 5*C)
	}
}

// modeStepConfig is the PCD-1 step shape of the mode test: V visible units, one
// hidden unit, C chains, a batch of 2 (the data plays no part at LR 0).
func modeStepConfig(V, C int) graph.StepConfig {
	return graph.StepConfig{Visible: V, Hidden: 1, Batch: 2, K: 1, Persistent: true, Chains: C}
}

// The β = 1 chains of parallel tempering sample the model's distribution:
// on a random 6×4 RBM (weights N(0, 1.5²)) held fixed, the mean of each
// visible unit over 600 steps of 40 chains (after 100) is the exact E[v_i] from
// enumerating the 64 states, within 0.03 — as it is for plain PCD, which
// mixes fine on so small a model (a check of the test itself).
func TestPTSamplesTheModel(t *testing.T) {
	const V, H, C, R, steps = 6, 4, 40, 4, 700
	m, err := models.NewRBM(V, H, 3)
	if err != nil {
		t.Fatal(err)
	}
	s := kernels.Stream{Seed: 9, Op: 77}
	for i := range m.W {
		m.W[i] = 1.5 * kernels.Normal(s, uint64(i))
	}
	for i := range m.VBias {
		m.VBias[i] = kernels.Normal(s, uint64(100+i))
	}
	for i := range m.HBias {
		m.HBias[i] = kernels.Normal(s, uint64(200+i))
	}
	fe := m.FreeEnergyFunc()
	exact := make([]float64, V)
	var z float64
	v := make([]float32, V)
	for code := 0; code < 1<<V; code++ {
		for i := range v {
			v[i] = float32(code >> i & 1)
		}
		p := math.Exp(-fe(v))
		z += p
		for i := range v {
			exact[i] += p * float64(v[i])
		}
	}
	for i := range exact {
		exact[i] /= z
	}
	tensors := func(rows int) map[string][]float32 {
		return map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias,
			graph.VelocityOf(graph.NameW): zeros(V * H), graph.VelocityOf(graph.NameVBias): zeros(V),
			graph.VelocityOf(graph.NameHBias): zeros(H), graph.NameChains: zeros(rows * V),
			graph.NamePTBetas: GeometricLadder(R, 0.2), graph.NamePTSwaps: zeros(2 * (R - 1))}
	}
	cfg := graph.StepConfig{Visible: V, Hidden: H, Batch: 2, K: 1, Persistent: true, Chains: C}
	pt, err := graph.BuildPTStep(cfg, R, &graph.RNG{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	pcd, err := graph.BuildCDStep(cfg, &graph.RNG{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    graph.Declared
		rows int
	}{{"PT", pt, R * C}, {"PCD", pcd, C}} {
		p, err := Host().Compile(c.s)
		if err != nil {
			t.Fatal(err)
		}
		tt := tensors(c.rows)
		for _, x := range p.Tensors() {
			if err := p.Set(x.Name, tt[x.Name]); err != nil {
				t.Fatal(err)
			}
		}
		chains := make([]float32, c.rows*V)
		mean := make([]float64, V)
		n := 0
		for step := 0; step < steps; step++ {
			if err := p.Step(make([]float32, 2*V), 1, graph.Hyper{}); err != nil {
				t.Fatal(err)
			}
			if step < 100 {
				continue
			}
			if _, err := p.Get(graph.NameChains, chains); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < C; r++ {
				for i := 0; i < V; i++ {
					mean[i] += float64(chains[r*V+i])
				}
			}
			n += C
		}
		p.Close()
		for i := range mean {
			mean[i] /= float64(n)
			if math.Abs(mean[i]-exact[i]) > 0.03 {
				t.Errorf("%s: E[v_%d] = %.4f, exact %.4f", c.name, i, mean[i], exact[i])
			}
		}
		t.Logf("%s means %.3f, exact %.3f", c.name, mean, exact)
	}
}

// SamplePT (rbmgpu sample --pt) on the planted two-mode RBM: started all in
// one mode, its β = 1 chains end in both (plain Gibbs from the same start
// keeps every chain in the first), with every pair of the adapted ladder
// swapping (neither never nor always) and the traces of the second half recorded.
func TestSamplePTVisitsBothModes(t *testing.T) {
	const V, C = 20, 24
	tt := twoModes(V, 6)
	m := &models.RBM{V: V, H: 1, W: tt[graph.NameW], VBias: tt[graph.NameVBias], HBias: tt[graph.NameHBias]}
	res, err := SamplePT(m, PTSampleOptions{Chains: C, Replicas: 8, Sweeps: 400, BetaMin: 0.05, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	modes := func(x []float32) (ones int) {
		for c := 0; c < C; c++ {
			on := 0
			for _, u := range x[c*V : (c+1)*V] {
				on += int(u)
			}
			if 2*on > V {
				ones++
			}
		}
		return ones
	}
	if n := modes(res.Chains); n == 0 || n == C {
		t.Errorf("PT: %d of %d chains in the all-ones mode, want both modes", n, C)
	}
	plain := zeros(C * V)
	if err := m.Gibbs(plain, C, 400, 3, 0); err != nil {
		t.Fatal(err)
	}
	if n := modes(plain); n != 0 {
		t.Errorf("plain Gibbs: %d chains left the all-zeros mode", n)
	}
	if len(res.Traces) != C || len(res.Traces[0]) != 200 || len(res.Acceptance) != 7 || res.Betas[0] != 1 {
		t.Fatalf("result shapes: %d traces of %d, %d acceptances, ladder %v", len(res.Traces), len(res.Traces[0]), len(res.Acceptance), res.Betas)
	}
	for q, a := range res.Acceptance {
		if !(a > 0.05 && a < 1) {
			t.Errorf("pair %d acceptance %.2f after adaptation to 0.3", q, a)
		}
	}
	t.Logf("acceptance %.2f, ladder %v", res.Acceptance, res.Betas)
}
