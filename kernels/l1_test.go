package kernels

import "testing"

// L1Grad subtracts l1·sign(θ): a positive parameter's gradient falls by
// l1, a negative one's rises, a zero one's stays.
func TestL1Grad(t *testing.T) {
	for _, c := range []struct {
		name          string
		param, grad   float32
		l1, wantAfter float32
	}{
		{"positive", 0.7, 0.25, 0.125, 0.125},
		{"negative", -2, 0.25, 0.125, 0.375},
		{"zero", 0, 0.25, 0.125, 0.25},
		{"no penalty", 3, -1, 0, -1},
	} {
		g := []float32{c.grad}
		L1Grad(g, []float32{c.param}, c.l1)
		if g[0] != c.wantAfter {
			t.Errorf("%s: grad %v, want %v", c.name, g[0], c.wantAfter)
		}
	}
}
