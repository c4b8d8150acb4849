package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tinyMLP binds the inputs of a 4-3-2 MLP step with batch 3 to fixed values.
func tinyMLP(t *testing.T) (*MLPStep, map[string][]float32) {
	t.Helper()
	s, err := BuildMLPStep(MLPConfig{Sizes: []int{4, 3, 2}, Batch: 3, Names: []string{"l0.W", "l0.b", "out.W", "out.b"}})
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string][]float32{}
	for i, in := range s.Inputs() {
		n := in.Node.Shape().TotalSize()
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(math.Sin(float64(7*i+3*j+1))) * 0.8
		}
		vals[in.Name] = x
	}
	// Rows: features then one-hot labels (classes 0, 1, 1).
	vals[NameData] = []float32{1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1}
	vals[NameHits] = []float32{5}
	return s, vals
}

func runMLP(t *testing.T, s *MLPStep, vals map[string][]float32) map[string][]float32 {
	t.Helper()
	for _, in := range s.Inputs() {
		x := append([]float32(nil), vals[in.Name]...)
		if err := G.Let(in.Node, tensor.New(tensor.WithShape(in.Node.Shape().Clone()...), tensor.WithBacking(x))); err != nil {
			t.Fatal(err)
		}
	}
	vm := G.NewTapeMachine(s.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, o := range s.NamedOutputs() {
		switch v := o.Node.Value().(type) {
		case *tensor.Dense:
			out[o.Name] = append([]float32(nil), v.Data().([]float32)...)
		case *G.F32:
			out[o.Name] = []float32{float32(*v)}
		default:
			t.Fatalf("%s: value %T", o.Name, v)
		}
	}
	return out
}

// mlpLoss is the step's loss in float64, straight from its definition.
func mlpLoss(vals map[string][]float32) (loss float64, hits int) {
	x, B := vals[NameData], 3
	for r := 0; r < B; r++ {
		h := make([]float64, 3)
		for j := range h {
			a := float64(vals["l0.b"][j])
			for i := 0; i < 4; i++ {
				a += float64(x[r*6+i]) * float64(vals["l0.W"][i*3+j])
			}
			h[j] = 1 / (1 + math.Exp(-a))
		}
		z := make([]float64, 2)
		for k := range z {
			z[k] = float64(vals["out.b"][k])
			for j := range h {
				z[k] += h[j] * float64(vals["out.W"][j*2+k])
			}
		}
		m := math.Max(z[0], z[1])
		lse := m + math.Log(math.Exp(z[0]-m)+math.Exp(z[1]-m))
		y := 0
		if x[r*6+5] == 1 {
			y = 1
		}
		loss += lse - z[y]
		best := 0
		if z[1] > z[0] {
			best = 1
		}
		if best == y {
			hits++
		}
	}
	return loss / float64(B), hits
}

// The step's loss, hit count and gradients agree with the maths: the loss
// and hits with a float64 evaluation, every gradient output with central
// finite differences of that loss (descent negated).
func TestMLPStep(t *testing.T) {
	s, vals := tinyMLP(t)
	out := runMLP(t, s, vals)
	loss, hits := mlpLoss(vals)
	if got := float64(out[OutReconErr][0]); math.Abs(got-loss) > 1e-6 {
		t.Errorf("loss %v, want %v", got, loss)
	}
	if got := out[OutHits][0]; got != float32(5+hits) {
		t.Errorf("hits %v, want 5 + %d", got, hits)
	}
	for _, p := range s.Params() {
		g := out[p.Grad]
		if len(g) != len(vals[p.Name]) {
			t.Fatalf("%s: %d gradient values for %d", p.Grad, len(g), len(vals[p.Name]))
		}
		for j := range g {
			const eps = 1e-3
			x := vals[p.Name]
			old := x[j]
			x[j] = old + eps
			lp, _ := mlpLoss(vals)
			x[j] = old - eps
			lm, _ := mlpLoss(vals)
			x[j] = old
			want := -(lp - lm) / (2 * eps)
			if math.Abs(float64(g[j])-want) > 1e-4+1e-3*math.Abs(want) {
				t.Errorf("%s[%d] = %v, finite difference %v", p.Grad, j, g[j], want)
			}
		}
	}
}

func TestMLPStepDeclared(t *testing.T) {
	s, _ := tinyMLP(t)
	st, err := UpdateState(s)
	if err != nil || len(st) != 4 || st[0].Name != VelocityOf("l0.W") {
		t.Errorf("momentum state %v, %v", st, err)
	}
	s.Config.Rule, s.Config.Decay = RuleAdam, true
	st, err = UpdateState(s)
	if err != nil || len(st) != 8 || st[0].Name != AdamMOf("l0.W") || st[1].Name != AdamVOf("l0.W") || st[0].Len != 12 {
		t.Errorf("adam state %v, %v", st, err)
	}
	ops := Updates(s, Hyper{LR: 0.5, WeightDecay: 0.25}, true)
	if len(ops) != 5 || ops[0].Kind != Adam || ops[0].Grad != GradOf("l0.W") || ops[0].Decay != 0.25 || ops[0].LR != 0.5 ||
		ops[4].Kind != Axpby || ops[4].Out != NameHits || ops[4].X != OutHits {
		t.Errorf("updates %+v", ops)
	}
	if _, err := BuildMLPStep(MLPConfig{Sizes: []int{4, 2}, Batch: 1, Names: []string{"W"}}); err == nil {
		t.Error("one name for one layer: no error")
	}
}
