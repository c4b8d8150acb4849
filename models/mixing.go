package models

import (
	"errors"
	"fmt"
	"math"
)

// Mixing summarises how well a set of Markov chains has mixed, from a
// scalar trace per chain (e.g. each chain's free energy after every Gibbs
// sweep).
type Mixing struct {
	// Tau is the integrated autocorrelation time of the traces, in sweeps:
	//
	//	τ = 1 + 2 Σ_{t=1}^{W} ρ(t),
	//
	// with ρ the autocorrelation averaged over chains (each chain centred
	// on the mean of all chains) and W the smallest window with W ≥ 5τ(W)
	// (Sokal's automatic window). τ = 1 for independent draws.
	Tau float64
	// ESS is the effective sample size of all traces together,
	// chains·length/τ: how many independent draws they are worth.
	ESS float64
	// RHat is the Gelman–Rubin potential scale reduction
	// √(((n−1)/n·W + B/n)/W) from the within-chain variance W and the
	// between-chain variance B of the chain means (n values per chain); it
	// approaches 1 as the chains forget their starts, and values above
	// about 1.1 say they have not. NaN for a single chain.
	RHat float64
	// Window is W, and Converged reports whether the window condition was
	// met before W reached a quarter of the trace length; when it is false
	// the traces are too short for their correlation and τ is a lower bound.
	Window    int
	Converged bool
}

// ChainMixing returns the mixing summary of traces (one per chain, all of
// the same length n ≥ 4). Constant traces (no variance) have τ = 1.
func ChainMixing(traces [][]float64) (Mixing, error) {
	if len(traces) == 0 {
		return Mixing{}, errors.New("mixing: no chains")
	}
	n := len(traces[0])
	if n < 4 {
		return Mixing{}, fmt.Errorf("mixing: traces of %d values: need at least 4", n)
	}
	var mean float64
	for c, tr := range traces {
		if len(tr) != n {
			return Mixing{}, fmt.Errorf("mixing: chain %d has %d values, chain 0 has %d", c, len(tr), n)
		}
		for i, x := range tr {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return Mixing{}, fmt.Errorf("mixing: chain %d, value %d is %v", c, i, x)
			}
			mean += x
		}
	}
	C := len(traces)
	mean /= float64(C * n)
	maxLag := n / 4
	// acov(t): the autocovariance at lag t summed over chains, computed
	// only up to the window (O(chains·n·W), not O(chains·n²)).
	acov := func(t int) float64 {
		var s float64
		for _, tr := range traces {
			for i := 0; i+t < n; i++ {
				s += (tr[i] - mean) * (tr[i+t] - mean)
			}
		}
		return s / float64(n)
	}
	m := Mixing{Tau: 1, RHat: gelmanRubin(traces)}
	a0 := acov(0)
	if a0 <= 0 {
		m.ESS, m.Converged = float64(C*n), true
		return m, nil
	}
	tau := 1.0
	for w := 1; w <= maxLag; w++ {
		tau += 2 * acov(w) / a0
		m.Window = w
		if float64(w) >= 5*tau {
			m.Converged = true
			break
		}
	}
	m.Tau = max(tau, 1/float64(C*n)) // a strongly anticorrelated trace can give τ < 1; never ≤ 0
	m.ESS = float64(C*n) / m.Tau
	return m, nil
}

// gelmanRubin returns R̂ of traces (NaN for one chain or no variance).
func gelmanRubin(traces [][]float64) float64 {
	C, n := len(traces), len(traces[0])
	if C < 2 {
		return math.NaN()
	}
	means := make([]float64, C)
	var grand, within float64
	for c, tr := range traces {
		for _, x := range tr {
			means[c] += x
		}
		means[c] /= float64(n)
		grand += means[c]
		var ss float64
		for _, x := range tr {
			ss += (x - means[c]) * (x - means[c])
		}
		within += ss / float64(n-1)
	}
	grand /= float64(C)
	within /= float64(C)
	var between float64
	for _, mu := range means {
		between += (mu - grand) * (mu - grand)
	}
	between *= float64(n) / float64(C-1)
	if within == 0 {
		return math.NaN()
	}
	v := float64(n-1)/float64(n)*within + between/float64(n)
	return math.Sqrt(v / within)
}
