package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// addPTFlags adds the parallel-tempering flags of `train`.
func addPTFlags(fl *pflag.FlagSet, f *trainFlags) {
	fl.IntVar(&f.PT, "pt", 0, "parallel tempering: run the --pcd chains as R ≥ 2 replicas at inverse temperatures 1 = β₀ > … > β_min, swapping neighbours after every K sweeps (--model rbm)")
	fl.Float64Var(&f.PTTarget, "pt-target", 0, fmt.Sprintf("swap acceptance the --pt ladder is adapted to after every epoch, in (0, 1) (default %g)", engine.DefaultPTTarget))
	fl.Float64Var(&f.PTBetaMin, "pt-beta-min", 0, fmt.Sprintf("initial inverse temperature of the hottest --pt replica, in [%g, 1) (default %g)", engine.PTBetaFloor, engine.DefaultPTBetaMin))
}

// checkPT rejects parallel-tempering flags that no run can use.
func (f *trainFlags) checkPT() error {
	switch {
	case f.PT == 0 && (f.PTTarget != 0 || f.PTBetaMin != 0):
		return usagef("train: --pt-target and --pt-beta-min need --pt R")
	case f.PT == 0:
		return nil
	case f.PT < 2:
		return usagef("train: --pt %d: parallel tempering needs R ≥ 2 replicas", f.PT)
	case f.PT > engine.MaxPTReplicas:
		return usagef("train: --pt %d: at most %d replicas", f.PT, engine.MaxPTReplicas)
	case f.Model != models.KindRBM:
		return usagef("train: --pt: model %s has no parallel tempering (only --model %s)", f.Model, models.KindRBM)
	case f.CD != 0 || f.PCD == 0:
		return usagef("train: --pt runs persistent chains: use it with --pcd K (K sweeps between swaps; the rbm's default), not --cd")
	case f.PTTarget != 0 && !(f.PTTarget > 0 && f.PTTarget < 1):
		return usagef("train: --pt-target %v: no ladder reaches it, want an acceptance in (0, 1)", f.PTTarget)
	case f.PTBetaMin != 0 && !(f.PTBetaMin >= engine.PTBetaFloor && f.PTBetaMin < 1):
		return usagef("train: --pt-beta-min %v: want an inverse temperature in [%g, 1)", f.PTBetaMin, engine.PTBetaFloor)
	}
	return nil
}

// ptMetrics is the parallel-tempering part of an epoch line: the swap
// acceptance of each replica pair, and a warning when the ladder is at its
// bound (the target would need hotter replicas than β = PTBetaFloor).
func ptMetrics(m engine.EpochMetrics) string {
	if len(m.PTAcceptance) == 0 {
		return ""
	}
	acc := make([]string, len(m.PTAcceptance))
	for i, a := range m.PTAcceptance {
		acc[i] = "-"
		if a >= 0 {
			acc[i] = fmt.Sprintf("%.2f", a)
		}
	}
	s := "  swaps " + strings.Join(acc, " ")
	if n := len(m.PTBetas); n > 0 {
		s += fmt.Sprintf(" (β_min %.3g)", m.PTBetas[n-1])
	}
	if m.PTLadderBound {
		s += fmt.Sprintf(" ladder at its floor β = %g (fewer replicas would do)", engine.PTBetaFloor)
	}
	return s
}
