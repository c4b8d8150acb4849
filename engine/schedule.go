package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule gives the learning-rate multiplier for epoch e (0-based) of a run
// of n epochs. The learning rate of epoch e is LR·Schedule(e, n).
type Schedule interface {
	Factor(epoch, epochs int) float64
	String() string
}

// ConstantSchedule keeps the learning rate fixed.
type ConstantSchedule struct{}

// Factor implements Schedule: always 1.
func (ConstantSchedule) Factor(int, int) float64 { return 1 }

// String implements Schedule: the --lr-schedule spelling.
func (ConstantSchedule) String() string { return "constant" }

// LinearSchedule decays the learning rate linearly from LR at the first epoch
// to LR·Final at the last one: factor = 1 − (1 − Final)·e/(n−1).
type LinearSchedule struct{ Final float64 }

// Factor implements Schedule.
func (s LinearSchedule) Factor(e, n int) float64 {
	if n <= 1 {
		return 1
	}
	return 1 - (1-s.Final)*float64(e)/float64(n-1)
}

// String implements Schedule: the --lr-schedule spelling.
func (s LinearSchedule) String() string { return fmt.Sprintf("linear:%g", s.Final) }

// ExpSchedule multiplies the learning rate by Gamma every epoch: factor = Gamma^e.
type ExpSchedule struct{ Gamma float64 }

// Factor implements Schedule.
func (s ExpSchedule) Factor(e, _ int) float64 { return math.Pow(s.Gamma, float64(e)) }

// String implements Schedule: the --lr-schedule spelling.
func (s ExpSchedule) String() string { return fmt.Sprintf("exp:%g", s.Gamma) }

// ParseSchedule reads "constant", "linear" (to 0.1·LR), "linear:F" or "exp:G".
func ParseSchedule(s string) (Schedule, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	num := func(def float64, lo, hi float64) (float64, error) {
		if !hasArg {
			return def, nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(v >= lo && v <= hi) {
			return 0, fmt.Errorf("learning-rate schedule %q: %q must be a number in [%g, %g]", s, arg, lo, hi)
		}
		return v, nil
	}
	switch name {
	case "constant", "":
		if hasArg {
			return nil, fmt.Errorf("learning-rate schedule %q: constant takes no argument", s)
		}
		return ConstantSchedule{}, nil
	case "linear":
		f, err := num(0.1, 0, 1)
		return LinearSchedule{Final: f}, err
	case "exp":
		if !hasArg {
			return nil, fmt.Errorf("learning-rate schedule %q: want exp:GAMMA, e.g. exp:0.95", s)
		}
		g, err := num(0, 1e-9, 1)
		return ExpSchedule{Gamma: g}, err
	}
	return nil, fmt.Errorf("learning-rate schedule %q: want constant, linear[:FINAL] or exp:GAMMA", s)
}
