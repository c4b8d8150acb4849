//go:build !amd64.v3 && !amd64.v4

// (With GOAMD64=v3 the compiler may fuse FreeEnergy's multiply-add into
// one FMA, which rounds once; FreeEnergyFunc's SIMD axpy rounds twice.)

package models

import (
	"math"
	"testing"
)

// TestFreeEnergyFuncMatchesFreeEnergy requires FreeEnergyFunc to give
// FreeEnergy's bits on binary, grey-level and zero rows.
func TestFreeEnergyFuncMatchesFreeEnergy(t *testing.T) {
	m, err := NewRBM(37, 19, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.VBias {
		m.VBias[i] = float32(i%5) * 0.1
	}
	for j := range m.HBias {
		m.HBias[j] = -float32(j%3) * 0.2
	}
	fe := m.FreeEnergyFunc()
	rows := map[string]func(i int) float32{
		"binary": func(i int) float32 { return float32(i * 7 % 3 % 2) },
		"grey":   func(i int) float32 { return float32(i*40503%256) / 255 },
		"zero":   func(int) float32 { return 0 },
	}
	for name, val := range rows {
		v := make([]float32, m.V)
		for i := range v {
			v[i] = val(i)
		}
		if got, want := fe(v), m.FreeEnergy(v); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s row: FreeEnergyFunc %v, FreeEnergy %v", name, got, want)
		}
	}
}
