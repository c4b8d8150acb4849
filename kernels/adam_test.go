package kernels

import (
	"math"
	"testing"
)

// AdamUpdate follows Kingma & Ba's algorithm: the first step moves every
// parameter by about lr in the direction of grad − decay·θ (m̂ = d, v̂ = d²),
// and two steps match a float64 evaluation of the bias-corrected moments.
func TestAdamUpdate(t *testing.T) {
	param := []float32{1, -2, 0.5, 3}
	grad := []float32{0.3, -0.01, 2, 0}
	m, v := make([]float32, 4), make([]float32, 4)
	const lr, wd = 0.01, 0.1
	want := make([]float64, 4)
	mw, vw := make([]float64, 4), make([]float64, 4)
	for i := range want {
		want[i] = float64(param[i])
	}
	for step := uint64(1); step <= 2; step++ {
		before := append([]float32(nil), param...)
		AdamUpdate(param, m, v, grad, lr, wd, step)
		for i := range want {
			d := float64(grad[i]) - float64(float32(wd))*want[i]
			mw[i] = 0.9*mw[i] + 0.1*d
			vw[i] = 0.999*vw[i] + 0.001*d*d
			mh, vh := mw[i]/(1-math.Pow(0.9, float64(step))), vw[i]/(1-math.Pow(0.999, float64(step)))
			want[i] += float64(float32(lr)) * mh / (math.Sqrt(vh) + 1e-8)
			if math.Abs(float64(param[i])-want[i]) > 1e-6 {
				t.Errorf("step %d: param[%d] = %v, want %v", step, i, param[i], want[i])
			}
			if step == 1 {
				if s := math.Copysign(lr, d); math.Abs(float64(param[i]-before[i])-s) > 1e-6 {
					t.Errorf("first step moved param[%d] by %v, want about %v", i, param[i]-before[i], s)
				}
			}
		}
	}
}
