package models

import (
	"fmt"
	"math"
	"sort"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// PlantedConfig describes a sparse Potts model with a known contact graph
// (NewPlantedPotts), for measuring how well training recovers contacts.
type PlantedConfig struct {
	L, Q     int     // sites and states (e.g. 40 and 21)
	Chords   int     // random chords added to the ring (each closes more loops)
	Coupling float64 // standard deviation of J_ij(a,b) on a contact (e.g. 1)
	Field    float64 // standard deviation of h_i(a) (e.g. 0.5)
	Seed     uint64
}

// NewPlantedPotts returns a Potts model whose couplings are non-zero on a
// known contact graph only, and the contacts (I < J, Score the Frobenius
// norm of the block, best first). The graph is a ring through the sites in
// a random order (a Fisher–Yates shuffle, so ring neighbours are rarely
// sequence neighbours) plus c.Chords distinct random chords: loops of all
// lengths. On each contact J_ij(a,b) ~ N(0, Coupling²) independently, the
// fields h_i(a) ~ N(0, Field²), and the model is returned in the zero-sum
// gauge (ZeroSumGauge). Everything is drawn from Philox streams
// (Seed, OpPottsPlanted, step): step 0 the shuffle, 1 the chords, 2 the
// couplings, 3 the fields.
func NewPlantedPotts(c PlantedConfig) (*Potts, []Contact, error) {
	m, err := NewPotts(c.L, c.Q)
	if err != nil {
		return nil, nil, fmt.Errorf("planted Potts model: %w", err)
	}
	L, q := c.L, c.Q
	maxChords := L*(L-1)/2 - L
	switch {
	case L < 4:
		return nil, nil, fmt.Errorf("planted Potts model: %d sites: need at least 4 for a ring with chords", L)
	case c.Chords < 0 || c.Chords > maxChords:
		return nil, nil, fmt.Errorf("planted Potts model: %d chords: want 0 to %d for %d sites", c.Chords, maxChords, L)
	case !(c.Coupling > 0) || !(c.Field >= 0) || math.IsInf(c.Coupling, 0) || math.IsInf(c.Field, 0):
		return nil, nil, fmt.Errorf("planted Potts model: coupling %v, field %v: want a finite coupling > 0 and field ≥ 0", c.Coupling, c.Field)
	}
	stream := func(step uint64) kernels.Stream { return kernels.Stream{Seed: c.Seed, Op: OpPottsPlanted, Step: step} }
	perm := make([]int, L)
	for i := range perm {
		perm[i] = i
	}
	shuffle := stream(0)
	for i := L - 1; i > 0; i-- {
		k := int(shuffle.Uint64(uint64(i)) % uint64(i+1))
		perm[i], perm[k] = perm[k], perm[i]
	}
	edge := make(map[[2]int]bool)
	add := func(i, j int) bool {
		if i > j {
			i, j = j, i
		}
		if i == j || edge[[2]int{i, j}] {
			return false
		}
		edge[[2]int{i, j}] = true
		return true
	}
	for k := 0; k < L; k++ {
		add(perm[k], perm[(k+1)%L])
	}
	chords := stream(1)
	for e, added := uint64(0), 0; added < c.Chords; e++ {
		if add(int(chords.Uint64(2*e)%uint64(L)), int(chords.Uint64(2*e+1)%uint64(L))) {
			added++
		}
	}
	pairs := make([][2]int, 0, len(edge))
	for p := range edge {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(a, b int) bool {
		return pairs[a][0] < pairs[b][0] || pairs[a][0] == pairs[b][0] && pairs[a][1] < pairs[b][1]
	})
	gauss := func(s kernels.Stream, e uint64) float64 {
		u1, u2 := float64(s.Uniform(2*e)), float64(s.Uniform(2*e+1))
		return math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
	}
	cs := stream(2)
	for _, p := range pairs {
		i, j := p[0], p[1]
		for a := 0; a < q; a++ {
			for b := 0; b < q; b++ {
				m.SetCoupling(i, j, a, b, float32(c.Coupling*gauss(cs, uint64(m.jAt(i, j, a, b)))))
			}
		}
	}
	fs := stream(3)
	for k := range m.H {
		m.H[k] = float32(c.Field * gauss(fs, uint64(k)))
	}
	m = m.ZeroSumGauge()
	scores, err := m.frobenius(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("planted Potts model: %w", err)
	}
	contacts := make([]Contact, len(pairs))
	for k, p := range pairs {
		contacts[k] = Contact{I: p[0], J: p[1], Score: scores[p[0]*L+p[1]]}
	}
	sort.SliceStable(contacts, func(a, b int) bool { return contacts[a].Score > contacts[b].Score })
	return m, contacts, nil
}

// ContactSet returns a membership test for the pairs of cs, in either
// order, for TopPrecision.
func ContactSet(cs []Contact) func(i, j int) bool {
	set := make(map[[2]int]bool, len(cs))
	for _, c := range cs {
		set[[2]int{min(c.I, c.J), max(c.I, c.J)}] = true
	}
	return func(i, j int) bool { return set[[2]int{min(i, j), max(i, j)}] }
}
