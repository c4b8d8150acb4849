package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine/data"
)

// prepareData loads a data set and applies the preprocessing shared by
// train and eval: for models of binary data (real = false), min–max scaling
// into [0,1] when values fall outside it; then the --binarize mode ("none",
// "threshold[:T]" or "stochastic"). Real-valued data (real = true) are kept
// as they are: a Gaussian model standardises them with the statistics of
// its training data, which must map test data the same way.
func prepareData(spec, labels, binarize string, seed uint64, real bool) (*data.Dataset, error) {
	d, err := data.Load(spec, data.LoadOptions{Labels: labels, CSVHeader: data.CSVHeaderAuto})
	if err != nil {
		return nil, err
	}
	if d.N == 0 || d.D == 0 {
		return nil, fmt.Errorf("%s: no data", spec)
	}
	if lo, hi := d.Range(); (lo < 0 || hi > 1) && !real {
		d.ScaleTo01()
	}
	mode, arg, hasArg := strings.Cut(binarize, ":")
	switch mode {
	case "none":
		if hasArg {
			return nil, usagef("--binarize none takes no argument")
		}
	case "threshold":
		t := 0.5
		if hasArg {
			if t, err = strconv.ParseFloat(arg, 64); err != nil || !(t > 0 && t <= 1) {
				return nil, usagef("--binarize threshold:%s: want a threshold in (0, 1]", arg)
			}
		}
		d.Binarize(float32(t))
	case "stochastic":
		if hasArg {
			return nil, usagef("--binarize stochastic takes no argument")
		}
		if err := d.BinarizeStochastic(seed); err != nil {
			return nil, err
		}
	default:
		return nil, usagef("--binarize %q: want none, threshold[:T] or stochastic", binarize)
	}
	return d, nil
}
