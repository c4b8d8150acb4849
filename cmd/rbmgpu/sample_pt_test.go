package main

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// sample's traced chains are sampleChains' draws bit for bit: measuring
// the mixing does not change the samples.
func TestGibbsTracedKeepsSamples(t *testing.T) {
	m, err := models.NewRBM(12, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, steps := range []int{1, 2, 7, 40} {
		want, err := sampleChains(m, 6, steps, 9)
		if err != nil {
			t.Fatal(err)
		}
		v, traces, err := gibbsTraced(m, 6, steps, 9)
		if err != nil {
			t.Fatal(err)
		}
		if got := finalProbs(m, v, 6, steps, 9); !reflect.DeepEqual(got, want) {
			t.Errorf("%d steps: traced samples differ from sampleChains'", steps)
		}
		if n := len(traces[0]); n != steps-1-steps/2 && !(steps == 1 && n == 0) {
			t.Errorf("%d steps: %d trace values", steps, n)
		}
	}
}

// The mixing line tells independent draws (τ ≈ 1, R̂ ≈ 1: mixed) from
// chains stuck at different levels (R̂ ≫ 1: not mixed) and from a slow
// random walk (window not converged: not mixed), and says when the traces
// are too short.
func TestMixingLineVerdicts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const C, n = 8, 400
	iid, stuck, walk := make([][]float64, C), make([][]float64, C), make([][]float64, C)
	for c := range iid {
		x := 0.0
		for i := 0; i < n; i++ {
			iid[c] = append(iid[c], r.NormFloat64())
			stuck[c] = append(stuck[c], 10*float64(c)+r.NormFloat64())
			x += r.NormFloat64()
			walk[c] = append(walk[c], x)
		}
	}
	if s := mixingLine(iid, 2*n); !strings.Contains(s, "look mixed") || !strings.Contains(s, "τ = 1.0") {
		t.Errorf("independent draws: %s", s)
	}
	if s := mixingLine(stuck, 2*n); !strings.Contains(s, "NOT mixed") {
		t.Errorf("stuck chains: %s", s)
	}
	if s := mixingLine(walk, 2*n); !strings.Contains(s, "NOT mixed") {
		t.Errorf("random walk: %s", s)
	}
	if s := mixingLine([][]float64{{1, 2}}, 4); !strings.Contains(s, "too few") {
		t.Errorf("short traces: %s", s)
	}
}
