package graph

import "fmt"

// Hyper holds the hyperparameters of one parameter update, fixed for an
// epoch by the trainer (schedules, momentum warm-up).
type Hyper struct {
	LR, Momentum, WeightDecay    float32
	L1                           float32 // L1 penalty on the parameters with Decay (0: none)
	SparsityTarget, SparsityCost float32
}

// UpdateKind is the primitive of one UpdateOp. Each has a kernel of the
// launch table and a Go twin in package kernels, so that every executor
// runs the same update.
type UpdateKind uint8

// Update primitives.
const (
	// Axpby: Out ← Alpha·X + Beta·Out (col_sum_f32 over one row;
	// kernels.ColSumRef). Beta = 0 ignores Out's old value.
	Axpby UpdateKind = iota + 1
	// SGD: Vel ← Momentum·Vel + LR·(Grad − Decay·Out); Out ← Out + Vel
	// (sgd_update_f32; kernels.SGDUpdate).
	SGD
	// ClampMin: Out ← max(Out, Value) (clamp_min_f32; kernels.ClampMin).
	ClampMin
	// Fill: every element of Out ← Value, before the step's launches (an
	// upload on a device, only when the value changes).
	Fill
	// Adam (Kingma & Ba 2015): with d = Grad − Decay·Out the ascent
	// direction and t the program's step counter (RNGStep after the
	// graph's run: 1 on the first update),
	//
	//	M ← β₁·M + (1−β₁)·d,  V ← β₂·V + (1−β₂)·d²,
	//	Out ← Out + LR·(M/(1−β₁ᵗ)) / (√(V/(1−β₂ᵗ)) + ε),
	//
	// β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (kernels.AdamUpdate; no kernel of
	// the launch table yet, so only the tape executor runs it).
	Adam
	// L1: Grad ← Grad − Value·sign(Out), sign(0) = 0: the subgradient of
	// the penalty −Value·Σ|Out|, added before Out's update (l1_grad_f32;
	// kernels.L1Grad).
	L1
)

// UpdateRule is the optimizer of one parameter (Param.Rule).
type UpdateRule uint8

// Update rules.
const (
	// RuleMomentum is SGD with momentum and weight decay (the SGD
	// primitive): the zero value, the rule of every sampling step.
	RuleMomentum UpdateRule = iota
	// RuleAdam is Adam with weight decay (the Adam primitive); Hyper's
	// Momentum does not apply.
	RuleAdam
)

// String returns "momentum" or "adam".
func (r UpdateRule) String() string {
	switch r {
	case RuleMomentum:
		return "momentum"
	case RuleAdam:
		return "adam"
	}
	return fmt.Sprintf("UpdateRule(%d)", uint8(r))
}

// UpdateOp is one operation of a step's update, on tensors named as in
// Inputs, NamedOutputs and UpdateState.
type UpdateOp struct {
	Kind        UpdateKind
	Out         string // the tensor written
	X           string // Axpby's input
	Vel, Grad   string // SGD's velocity and the gradient (SGD, Adam)
	M, V        string // Adam's first and second moments
	Alpha, Beta float32
	LR          float32
	Momentum    float32
	Decay       float32
	Value       float32 // ClampMin's floor, Fill's value, L1's penalty
	Note        string  // what it does, for plan dumps and errors
}

// State is a tensor of the update's own: a velocity, Adam's moments, the
// sparsity running mean or a scratch vector.
type State struct {
	Name string
	Len  int
	// Optional state is absent until an update first writes it (the
	// sparsity running mean): checkpoints store it only once present.
	Optional bool
	// Scratch state is rebuilt by Fill ops and never saved.
	Scratch bool
}

// UpdateState lists the state that the update of s needs beside the
// graph's inputs, per parameter in declaration order: its velocity
// (RuleMomentum) or its two Adam moments (RuleAdam), then the sparsity
// running mean and target when it has a sparsity term.
func UpdateState(s Declared) ([]State, error) {
	inputs := map[string]int{}
	for _, in := range s.Inputs() {
		inputs[in.Name] = in.Node.Shape().TotalSize()
	}
	var st []State
	for _, p := range s.Params() {
		n, ok := inputs[p.Name]
		if !ok {
			return nil, fmt.Errorf("update: parameter %q is not an input of the step", p.Name)
		}
		switch p.Rule {
		case RuleMomentum:
			st = append(st, State{Name: VelocityOf(p.Name), Len: n})
		case RuleAdam:
			st = append(st, State{Name: AdamMOf(p.Name), Len: n}, State{Name: AdamVOf(p.Name), Len: n})
		default:
			return nil, fmt.Errorf("update: parameter %q has unknown rule %v", p.Name, p.Rule)
		}
		if p.Sparsity {
			st = append(st, State{Name: NameHiddenMean, Len: n, Optional: true},
				State{Name: NameSparsityTarget, Len: n, Scratch: true})
		}
	}
	return st, nil
}

// Updates expands the declared update of s for hyperparameters h into the
// operations that follow a run of the graph, in order:
//
//  1. the sparsity term (cost > 0), for a parameter with Sparsity:
//     q ← 0.9·q + 0.1·HMean (q ← HMean on the first update, first true);
//     grad ← grad − cost·q + cost·target;
//  2. for each parameter, when it has Decay and h.L1 > 0, the L1
//     subgradient grad ← grad − L1·sign(θ); then by its Rule: vel ← momentum·vel + lr·(grad −
//     decay·θ), θ ← θ + vel (RuleMomentum), or the Adam step on grad −
//     decay·θ (RuleAdam), with decay = h.WeightDecay where Decay, else 0;
//     then the clamp θ ← max(θ, Min) where Clamp;
//  3. the carries: To ← From.
//
// The Fill ops come first; executors may run them ahead of the graph.
func Updates(s Declared, h Hyper, first bool) []UpdateOp {
	var fills, ops []UpdateOp
	for _, p := range s.Params() {
		if !p.Sparsity || h.SparsityCost == 0 {
			continue
		}
		alpha, beta := float32(0.1), float32(0.9)
		if first {
			alpha, beta = 1, 0
		}
		fills = append(fills, UpdateOp{Kind: Fill, Out: NameSparsityTarget, Value: h.SparsityTarget, Note: "sparsity: target"})
		ops = append(ops,
			UpdateOp{Kind: Axpby, Out: NameHiddenMean, X: OutHMean, Alpha: alpha, Beta: beta, Note: "sparsity: running mean"},
			UpdateOp{Kind: Axpby, Out: p.Grad, X: NameHiddenMean, Alpha: -h.SparsityCost, Beta: 1, Note: "sparsity: −cost·q"},
			UpdateOp{Kind: Axpby, Out: p.Grad, X: NameSparsityTarget, Alpha: h.SparsityCost, Beta: 1, Note: "sparsity: +cost·target"})
	}
	for _, p := range s.Params() {
		decay := float32(0)
		if p.Decay {
			decay = h.WeightDecay
		}
		if p.Decay && h.L1 != 0 {
			ops = append(ops, UpdateOp{Kind: L1, Out: p.Name, Grad: p.Grad, Value: h.L1, Note: "L1 penalty on " + p.Name})
		}
		if p.Rule == RuleAdam {
			ops = append(ops, UpdateOp{Kind: Adam, Out: p.Name, M: AdamMOf(p.Name), V: AdamVOf(p.Name), Grad: p.Grad,
				LR: h.LR, Decay: decay, Note: "adam update " + p.Name})
		} else {
			ops = append(ops, UpdateOp{Kind: SGD, Out: p.Name, Vel: VelocityOf(p.Name), Grad: p.Grad,
				LR: h.LR, Momentum: h.Momentum, Decay: decay, Note: "update " + p.Name})
		}
		if p.Clamp {
			ops = append(ops, UpdateOp{Kind: ClampMin, Out: p.Name, Value: p.Min, Note: "floor on " + p.Name})
		}
	}
	for _, c := range s.Carries() {
		ops = append(ops, UpdateOp{Kind: Axpby, Out: c.To, X: c.From, Alpha: 1, Beta: 0, Note: "carry " + c.To})
	}
	return append(fills, ops...)
}

// HasSparsity reports whether a parameter of s has a sparsity term: its
// update writes the optional running mean NameHiddenMean whenever the
// sparsity cost is non-zero.
func HasSparsity(s Declared) bool {
	for _, p := range s.Params() {
		if p.Sparsity {
			return true
		}
	}
	return false
}
