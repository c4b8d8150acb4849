//go:build !amd64

package host

// useAsm is false off amd64: the portable Go micro-kernel runs.
var useAsm = false

func microKernel(k int, a, b []float32, out []float32, ldo int, alpha, beta float32, cin []float32, ldcin int, bias []float32) {
	kernGo(k, a, b, out, ldo, alpha, beta, cin, ldcin, bias)
}

// sigmoidVec writes sigmoidf(x[i]) to p[i] (len(p) >= len(x)).
func sigmoidVec(x, p []float32) {
	for i, v := range x {
		p[i] = sigmoidf(v)
	}
}
