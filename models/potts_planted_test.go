package models

import (
	"math"
	"testing"
	"time"
)

// connectedNorms returns ‖C_ij‖ (Frobenius over a, b) of the samples for
// each pair i < j, as contacts.
func connectedNorms(t *testing.T, s []uint8, n, L, q int) []Contact {
	st, err := PottsDataStats(s, n, L, q, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Connected()
	norms := make([]float64, L*L)
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			x := 0.0
			for k := 0; k < q*q; k++ {
				v := c[(i*L+j)*q*q+k]
				x += v * v
			}
			norms[i*L+j] = math.Sqrt(x)
		}
	}
	return RankContacts(norms, L, 1)
}

// Samples of a planted model, from many long independent chains, have
// their largest connected correlations on the planted contacts.
func TestPlantedPotts(t *testing.T) {
	cfg := PlantedConfig{L: 30, Q: 6, Chords: 10, Coupling: 0.7, Field: 0.5, Seed: 1}
	chains, sweeps := 1500, 50
	m, contacts, err := NewPlantedPotts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(contacts) != cfg.L+cfg.Chords {
		t.Fatalf("%d contacts, want %d", len(contacts), cfg.L+cfg.Chords)
	}
	isContact := ContactSet(contacts)
	for i := 0; i < cfg.L; i++ {
		for j := i + 1; j < cfg.L; j++ {
			blk := m.J[m.jAt(i, j, 0, 0):m.jAt(i, j+1, 0, 0)]
			if (firstNonZero(blk) >= 0) != isContact(i, j) {
				t.Fatalf("pair (%d, %d): couplings %v, contact %v", i, j, firstNonZero(blk) >= 0, isContact(i, j))
			}
		}
	}
	start := time.Now()
	s, err := m.Sample(chains, sweeps, 2)
	if err != nil {
		t.Fatal(err)
	}
	ranked := connectedNorms(t, s, chains, cfg.L, cfg.Q)
	p := TopPrecision(ranked, len(contacts), isContact)
	t.Logf("L = %d, q = %d, %d contacts; %d chains × %d sweeps in %v; precision of the top %d ‖C_ij‖: %.3f",
		cfg.L, cfg.Q, len(contacts), chains, sweeps, time.Since(start).Round(time.Millisecond), len(contacts), p)
	if p < 0.9 {
		t.Errorf("precision %.3f of the largest connected correlations on the planted contacts, want ≥ 0.9", p)
	}
	if _, _, err := NewPlantedPotts(PlantedConfig{L: 30, Q: 4, Chords: 1000, Coupling: 1}); err == nil {
		t.Error("1000 chords on 30 sites: no error")
	}
}
