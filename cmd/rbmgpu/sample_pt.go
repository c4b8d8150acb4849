package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// checkSamplePT rejects --pt settings that cannot sample.
func checkSamplePT(f *sampleFlags) error {
	switch {
	case f.PT == 0 && f.PTBetaMin != 0:
		return usagef("sample: --pt-beta-min needs --pt R")
	case f.PT == 0:
		return nil
	case f.PT < 2 || f.PT > engine.MaxPTReplicas:
		return usagef("sample: --pt %d: parallel tempering needs 2 … %d replicas", f.PT, engine.MaxPTReplicas)
	case f.Steps < 2:
		return usagef("sample: --pt needs --steps ≥ 2 (half of them are the ladder's burn-in)")
	case f.PTBetaMin != 0 && !(f.PTBetaMin >= engine.PTBetaFloor && f.PTBetaMin < 1):
		return usagef("sample: --pt-beta-min %v: want an inverse temperature in [%g, 1)", f.PTBetaMin, engine.PTBetaFloor)
	}
	return nil
}

// sampleRBM runs the chains of an RBM sample — plain block Gibbs
// (sampleChains' draws, bit for bit) or, with --pt, parallel tempering —
// prints the mixing diagnostics of the chains' free energies over the
// second half of the sweeps, and returns the final visible probabilities.
func sampleRBM(w io.Writer, f *sampleFlags, m *models.RBM) ([]float32, error) {
	var (
		v      []float32
		traces [][]float64
		extra  string
	)
	if f.PT > 0 {
		res, err := engine.SamplePT(m, engine.PTSampleOptions{Chains: f.N, Replicas: f.PT, Sweeps: f.Steps,
			BetaMin: f.PTBetaMin, Seed: f.Seed})
		if err != nil {
			return nil, err
		}
		v, traces = res.Chains, res.Traces
		acc := make([]string, len(res.Acceptance))
		for i, a := range res.Acceptance {
			acc[i] = fmt.Sprintf("%.2f", a)
			if math.IsNaN(a) {
				acc[i] = "-"
			}
		}
		extra = fmt.Sprintf("parallel tempering: %d replicas, β_min %.3g, swap acceptance per pair %s\n", f.PT,
			res.Betas[len(res.Betas)-1], strings.Join(acc, " "))
	} else {
		var err error
		if v, traces, err = gibbsTraced(m, f.N, f.Steps, f.Seed); err != nil {
			return nil, err
		}
	}
	fmt.Fprint(w, extra)
	fmt.Fprintln(w, mixingLine(traces, f.Steps))
	return finalProbs(m, v, f.N, f.Steps, f.Seed), nil
}

// gibbsTraced is sampleChains' chain before its last half-step (random
// binary starts, steps−1 sweeps, the same draws), recording each chain's
// free energy after every sweep of the second half of the steps.
func gibbsTraced(m *models.RBM, n, steps int, seed uint64) ([]float32, [][]float64, error) {
	v, err := sampleChains(m, n, 0, seed)
	if err != nil {
		return nil, nil, err
	}
	traces := make([][]float64, n)
	fe := make([]float64, n)
	burn := steps / 2
	for t := 0; t < steps-1; t++ {
		if err := m.Gibbs(v, n, 1, seed, uint64(t)); err != nil {
			return nil, nil, err
		}
		if t+1 > burn {
			m.FreeEnergies(fe, v, n)
			for c := range traces {
				traces[c] = append(traces[c], fe[c])
			}
		}
	}
	return v, traces, nil
}

// finalProbs is sampleChains' last half-step from the chains v: sample h
// given v on stream (seed, OpGibbsHidden, steps−1), return p(v|h).
func finalProbs(m *models.RBM, v []float32, n, steps int, seed uint64) []float32 {
	h := m.HiddenProbs(nil, v, n)
	u := make([]float32, len(h))
	kernels.Stream{Seed: seed, Op: models.OpGibbsHidden, Step: uint64(steps - 1)}.Fill(u)
	for k, p := range h {
		h[k] = kernels.Bernoulli(u[k], p)
	}
	return m.VisibleProbs(nil, h, n)
}

// mixingLine summarises the chains' free-energy traces: integrated
// autocorrelation time τ, effective sample size and Gelman–Rubin R̂, with a
// verdict (R̂ > 1.1 or a window that did not converge: not mixed).
func mixingLine(traces [][]float64, steps int) string {
	if len(traces) == 0 || len(traces[0]) < 4 {
		return fmt.Sprintf("mixing: %d sweeps are too few for diagnostics (need ≥ 9: the second half is measured)", steps)
	}
	mx, err := models.ChainMixing(traces)
	if err != nil {
		return "mixing: " + err.Error()
	}
	n := len(traces[0])
	verdict := "the chains look mixed"
	switch {
	case !mx.Converged:
		verdict = fmt.Sprintf("NOT mixed: τ exceeds a fifth of the %d measured sweeps (a lower bound); run more --steps or use --pt", n)
	case mx.RHat > 1.1:
		verdict = "NOT mixed: the chains disagree (R̂ > 1.1); run more --steps or use --pt"
	}
	rhat := "n/a (one chain)"
	if !math.IsNaN(mx.RHat) {
		rhat = fmt.Sprintf("%.3f", mx.RHat)
	}
	return fmt.Sprintf("mixing (free energy, last %d of %d sweeps, %d chains): τ = %.1f sweeps, ESS = %.0f of %d, R̂ = %s: %s",
		n, steps, len(traces), mx.Tau, mx.ESS, n*len(traces), rhat, verdict)
}
