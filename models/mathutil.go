package models

import "math"

// Sigmoid returns σ(x) = 1/(1+e^-x) in float64 without overflow: for x < 0
// it evaluates e^x/(1+e^x), so exp never sees a large positive argument.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Sigmoid32 is Sigmoid for float32 arguments, evaluated in float32 after a
// float64 exponential (cheap, and exact to float32 rounding).
func Sigmoid32(x float32) float32 {
	return float32(Sigmoid(float64(x)))
}

// Softplus returns log(1+e^x) in float64 without overflow or loss of
// precision: max(x,0) + log1p(e^-|x|).
func Softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// Softplus32 is Softplus for float32 arguments.
func Softplus32(x float32) float32 {
	return float32(Softplus(float64(x)))
}
