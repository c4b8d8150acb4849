// Package lower turns a step graph (package graph) into a Plan: a fixed
// list of kernel launches from the launch table in package kernels over a
// fixed set of buffers. It is the scheduler of the CUDA backend (and of any
// other executor of the launch table): graph in, fused kernels out.
//
// The walk is symbolic. Every gorgonia node gets a value that is either a
// materialised buffer or a lazy expression that has not been given a kernel
// yet:
//
//	lin    Σ αₜ·termₜ: matrix products, column sums, sums of squared
//	       differences; scaling (⊙ c, ÷ c) folds into the α's and a
//	       difference concatenates the terms; materialising writes all
//	       terms into one buffer (first with β = 0, then β = 1)
//	act    a product plus a row-broadcast bias: the pre-activation
//	       (materialised alone, e.g. a Gaussian mean, by one gemm_f32 with
//	       the bias in its epilogue)
//	prob   σ(act): materialised by one gemm_f32 with the bias, sigmoid,
//	       probability write and — when a sampling node reads it — the
//	       Bernoulli sample fused into the epilogue
//
// so that matmul → bias → sigmoid → sample is one launch and a gradient
// v0ᵀp0/B − vkᵀpk/C is two launches into the same buffer. Ops the walk does
// not know are an error that names them.
//
// "gemm_f32" above stands for any of the GEMM kernels (kernels.GemmKernels:
// the same parameters and bits, different tilings); each product launches
// the one its shape and the GemmMode choose (gemm.go).
package lower

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// BufferKind says who writes a buffer.
type BufferKind int

// Buffer kinds.
const (
	Input BufferKind = iota // written by the host before a run (data, parameters, chains)
	Temp                    // written by a launch of the plan
)

// Buffer is one float32 array of the plan, Rows×Cols, row-major.
type Buffer struct {
	ID         int
	Name       string
	Rows, Cols int
	Kind       BufferKind
}

// Len returns the number of float32 elements.
func (b *Buffer) Len() int { return b.Rows * b.Cols }

// Bind ties a pointer parameter of a launch to a plan buffer: Field is the
// address of the parameter's field in the launch's Args, Buf the buffer
// (nil: NULL).
type Bind struct {
	Field *kernels.DevicePtr
	Buf   *Buffer
}

// Launch is one kernel launch of the plan: typed arguments whose scalars
// are filled in, the bindings of all their pointer parameters, and the
// field of the RNG step counter when the kernel samples.
//
// An executor writes the device address of each bound buffer through
// Bind.Field once it has allocated them (and may redirect a binding later,
// e.g. v0 to a slot of a data chunk), sets *Step before every run, then
// launches Args: nothing is boxed or allocated per step. Plans are not
// shared: each program lowers its own.
type Launch struct {
	Kernel      string // Args.Kernel(), for dumps and errors
	Grid, Block kernels.Dim3
	Args        kernels.Args
	Bind        []Bind
	Step        *uint64 // the graph's RNG step (known only at run time); nil when the kernel does not sample
	Note        string  // what it computes, for plan dumps
}

// Buffer returns the buffer bound to the pointer field f of l's arguments
// (nil for NULL) and whether f is bound at all.
func (l *Launch) Buffer(f *kernels.DevicePtr) (*Buffer, bool) {
	for _, b := range l.Bind {
		if b.Field == f {
			return b.Buf, true
		}
	}
	return nil, false
}

// Validate checks that every pointer parameter of l's kernel is bound
// exactly once, that nothing else is, and that Step, when set, is the
// kernel's step parameter.
func (l *Launch) Validate() error {
	k, err := kernels.LookupArgs(l.Args)
	if err != nil {
		return err
	}
	if l.Kernel != k.Name {
		return fmt.Errorf("launch of %s with arguments of %s", l.Kernel, k.Name)
	}
	bound, stepFound := 0, l.Step == nil
	for i, p := range k.Args {
		addr := l.Args.Addr(i)
		n := 0
		for _, b := range l.Bind {
			if unsafe.Pointer(b.Field) == addr {
				n++
			}
		}
		if p.Type.IsPtr() && n != 1 {
			return fmt.Errorf("%s: pointer parameter %s bound %d times", k.Name, p.Name, n)
		}
		bound += n
		if l.Step != nil && unsafe.Pointer(l.Step) == addr {
			if p.Name != "step" || p.Type != kernels.Uint64 {
				return fmt.Errorf("%s: the RNG step goes to parameter %s", k.Name, p.Name)
			}
			stepFound = true
		}
	}
	if bound != len(l.Bind) {
		return fmt.Errorf("%s: %d bindings, %d of them to its pointer parameters", k.Name, len(l.Bind), bound)
	}
	if !stepFound {
		return fmt.Errorf("%s: the RNG step field is not a parameter", k.Name)
	}
	return nil
}

// Plan is the lowered step: its buffers, its launches in order, and where
// the graph's inputs and outputs live.
type Plan struct {
	Buffers  []*Buffer
	Launches []Launch
	Inputs   map[string]*Buffer // by input node name: "v0", "W", "vbias", "hbias", "chain"
	Outputs  map[string]*Buffer // "GradW", "GradVBias", "GradHBias", "HMean", "ReconErr", "NewChain"
}

// String lists the launches, one per line.
func (p *Plan) String() string {
	var b strings.Builder
	for i, l := range p.Launches {
		fmt.Fprintf(&b, "%2d %-20s %s\n", i, l.Kernel, l.Note)
	}
	return b.String()
}

type bufVal struct {
	b     *Buffer
	trans bool // the node is the transpose of b
}

type constVal float64

type biasVal struct{ b *Buffer } // a vector repeated along rows

type termKind int

const (
	gemmTerm termKind = iota
	colSumTerm
	sqDiffTerm
)

type term struct {
	kind  termKind
	alpha float64
	a, b  bufVal // gemm operands; colsum input in a; sq-diff operands
}

// lin is Σ α·term; all terms produce the same shape.
type lin struct {
	terms      []term
	rows, cols int
}

type act struct {
	t    term // a gemm term
	bias *Buffer
	node *G.Node
}

type prob struct {
	act
	node *G.Node // the sigmoid node
}

type lowerer struct {
	g        *G.ExprGraph
	rng      *graph.RNG
	plan     *Plan
	vals     map[int64]any
	nodes    map[int64]*G.Node
	users    map[int64][]*G.Node
	sampled  map[int64]*Buffer // sampling node id → its fused sample buffer
	nextName int
	gemm     GemmMode // resolved: never GemmFromEnv
}

// Options are choices of Lower that change how a plan runs, not what it
// computes.
type Options struct {
	// Gemm chooses the GEMM kernel of every matrix product (the zero
	// value: $RBMGPU_GEMM, else by shape).
	Gemm GemmMode
}

// Lower builds the plan of s with the default Options: its leaf nodes
// become Input buffers (by node name), its named outputs the plan's
// Outputs.
func Lower(s graph.Step) (*Plan, error) { return LowerWith(s, Options{}) }

// LowerWith is Lower with options o.
func LowerWith(s graph.Step, o Options) (*Plan, error) {
	gemm, err := o.Gemm.resolve()
	if err != nil {
		return nil, fmt.Errorf("lower: %w", err)
	}
	g := s.ExprGraph()
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("lower: %w", err)
	}
	l := &lowerer{
		gemm:    gemm,
		g:       g,
		rng:     s.Rand(),
		plan:    &Plan{Inputs: map[string]*Buffer{}, Outputs: map[string]*Buffer{}},
		vals:    map[int64]any{},
		nodes:   map[int64]*G.Node{},
		users:   map[int64][]*G.Node{},
		sampled: map[int64]*Buffer{},
	}
	if l.rng == nil {
		return nil, errors.New("lower: step graph without an RNG")
	}
	for _, n := range sorted {
		l.nodes[n.ID()] = n
		for _, c := range l.children(n) {
			l.users[c.ID()] = append(l.users[c.ID()], n)
		}
	}
	for i := len(sorted) - 1; i >= 0; i-- { // G.Sort puts roots first
		n := sorted[i]
		v, err := l.lowerNode(n)
		if err != nil {
			return nil, fmt.Errorf("lower: node %s: %w", n.Name(), err)
		}
		l.vals[n.ID()] = v
	}
	for _, o := range s.NamedOutputs() {
		b, err := l.buffer(o.Node)
		if err != nil {
			return nil, fmt.Errorf("lower: output %s: %w", o.Name, err)
		}
		if b.trans {
			return nil, fmt.Errorf("lower: output %s is a transposed view", o.Name)
		}
		l.plan.Outputs[o.Name] = b.b
	}
	return l.plan, nil
}

func (l *lowerer) children(n *G.Node) []*G.Node {
	var out []*G.Node
	it := l.g.From(n.ID())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

func (l *lowerer) newBuffer(name string, rows, cols int, kind BufferKind) *Buffer {
	b := &Buffer{ID: len(l.plan.Buffers), Name: name, Rows: rows, Cols: cols, Kind: kind}
	l.plan.Buffers = append(l.plan.Buffers, b)
	return b
}

// shape2 returns a node's shape as rows×cols (vectors are one row, scalars 1×1).
func shape2(n *G.Node) (int, int, error) {
	s := n.Shape()
	switch len(s) {
	case 0:
		return 1, 1, nil
	case 1:
		return 1, s[0], nil
	case 2:
		return s[0], s[1], nil
	}
	return 0, 0, fmt.Errorf("shape %v: only scalars, vectors and matrices are supported", s)
}

func (l *lowerer) lowerNode(n *G.Node) (any, error) {
	ch := l.children(n)
	op := n.Op()
	if op == nil { // an input
		if n.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("input of type %v, want float32", n.Dtype())
		}
		r, c, err := shape2(n)
		if err != nil {
			return nil, err
		}
		b := l.newBuffer(n.Name(), r, c, Input)
		l.plan.Inputs[n.Name()] = b
		return bufVal{b: b}, nil
	}
	if sop, ok := op.(*graph.SampleOp); ok {
		return l.lowerSample(n, sop, ch)
	}
	if kop, ok := op.(graph.KernelOp); ok {
		return l.lowerKernelOp(n, kop, ch)
	}
	name := op.String()
	typ := fmt.Sprintf("%T", op)
	switch {
	case strings.HasSuffix(typ, "constantScalar"):
		v, err := scalarValue(n.Value())
		return constVal(v), err
	case strings.HasPrefix(name, "SizeOf="):
		v, err := strconv.Atoi(strings.TrimPrefix(name, "SizeOf="))
		return constVal(v), err
	case strings.HasPrefix(name, "Reshape("):
		if v, ok := l.vals[ch[0].ID()].(lin); ok {
			// A lazy sum keeps its terms under the new shape, so that the
			// input stays lazy for its other readers (a materialised
			// buffer in a difference would read as a squared difference).
			r, c, err := shape2(n)
			if err != nil || r*c != v.rows*v.cols {
				return nil, fmt.Errorf("reshape %v → %v of a sum", ch[0].Shape(), n.Shape())
			}
			return lin{terms: v.terms, rows: r, cols: c}, nil
		}
		b, err := l.buffer(ch[0])
		if err != nil {
			return nil, err
		}
		if b.trans || (b.b.Rows != 1 && n.Shape()[0] != 1) {
			return nil, fmt.Errorf("reshape %v → %v is not a row view", ch[0].Shape(), n.Shape())
		}
		return b, nil
	case strings.HasPrefix(name, "Repeat0"):
		b, err := l.buffer(ch[0])
		if err != nil || b.b.Rows != 1 {
			return nil, fmt.Errorf("repeat of something other than a row vector")
		}
		return biasVal{b.b}, nil
	case strings.HasPrefix(name, "Aᵀ"):
		b, err := l.buffer(ch[0])
		if err != nil {
			return nil, err
		}
		b.trans = !b.trans
		return b, nil
	case name == "A × B":
		a, err := l.buffer(ch[0])
		if err != nil {
			return nil, err
		}
		b, err := l.buffer(ch[1])
		if err != nil {
			return nil, err
		}
		r, c, _ := shape2(n)
		return lin{terms: []term{{kind: gemmTerm, alpha: 1, a: a, b: b}}, rows: r, cols: c}, nil
	case name == "sigmoid":
		a, ok := l.vals[ch[0].ID()].(act)
		if !ok {
			return nil, errors.New("sigmoid of something other than a product plus bias (no standalone sigmoid kernel)")
		}
		return prob{act: a, node: n}, nil
	case name == "square":
		return l.vals[ch[0].ID()], nil // kept lazy; Σ of it is checked below
	case strings.HasPrefix(name, "Σ["):
		return l.lowerSum(n, name, ch[0])
	case strings.HasPrefix(name, "+ "), strings.HasPrefix(name, "- "), strings.HasPrefix(name, "⊙ "), strings.HasPrefix(name, "÷ "):
		return l.lowerBinary(n, name[:strings.IndexByte(name, ' ')], ch[0], ch[1])
	}
	return nil, fmt.Errorf("unsupported op %q (%s)", name, typ)
}

func scalarValue(v G.Value) (float64, error) {
	switch x := v.(type) {
	case *G.F32:
		return float64(*x), nil
	case *G.F64:
		return float64(*x), nil
	}
	return 0, fmt.Errorf("constant of type %T", v)
}

func (l *lowerer) lowerBinary(n *G.Node, sym string, x, y *G.Node) (any, error) {
	a, b := l.vals[x.ID()], l.vals[y.ID()]
	switch sym {
	case "⊙":
		if c, ok := a.(constVal); ok {
			return scale(b, float64(c))
		}
		if c, ok := b.(constVal); ok {
			return scale(a, float64(c))
		}
		return nil, errors.New("elementwise product of two tensors is not supported (no kernel)")
	case "÷":
		if c, ok := b.(constVal); ok && c != 0 {
			return scale(a, 1/float64(c))
		}
		return nil, errors.New("division by a tensor is not supported (no kernel)")
	case "+":
		if bias, ok := b.(biasVal); ok {
			p, ok := a.(lin)
			if !ok || len(p.terms) != 1 || p.terms[0].kind != gemmTerm || p.terms[0].alpha != 1 {
				return nil, errors.New("bias added to something other than a matrix product")
			}
			return act{t: p.terms[0], bias: bias.b, node: n}, nil
		}
		return combine(a, b, 1)
	case "-":
		// The difference of two materialised buffers only feeds square → Σ.
		ab, aok := a.(bufVal)
		bb, bok := b.(bufVal)
		if aok || bok {
			if !aok {
				m, err := l.buffer(x)
				if err != nil {
					return nil, err
				}
				ab = m
			}
			if !bok {
				m, err := l.buffer(y)
				if err != nil {
					return nil, err
				}
				bb = m
			}
			if ab.trans || bb.trans {
				return nil, errors.New("difference of transposed tensors")
			}
			r, c, _ := shape2(n)
			return lin{terms: []term{{kind: sqDiffTerm, alpha: 1, a: ab, b: bb}}, rows: r, cols: c}, nil
		}
		return combine(a, b, -1)
	}
	return nil, fmt.Errorf("unsupported binary op %s", sym)
}

// scale multiplies a lazy linear combination by c.
func scale(v any, c float64) (any, error) {
	switch x := v.(type) {
	case constVal:
		return constVal(float64(x) * c), nil
	case lin:
		out := lin{rows: x.rows, cols: x.cols, terms: append([]term(nil), x.terms...)}
		for i := range out.terms {
			out.terms[i].alpha *= c
		}
		return out, nil
	}
	return nil, fmt.Errorf("scaling %T is not supported (no kernel)", v)
}

func combine(a, b any, sign float64) (any, error) {
	x, ok1 := a.(lin)
	y, ok2 := b.(lin)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("sum/difference of %T and %T is not supported", a, b)
	}
	if x.rows*x.cols != y.rows*y.cols {
		return nil, errors.New("sum/difference of different shapes")
	}
	out := lin{rows: x.rows, cols: x.cols, terms: append([]term(nil), x.terms...)}
	for _, t := range y.terms {
		t.alpha *= sign
		out.terms = append(out.terms, t)
	}
	return out, nil
}

func (l *lowerer) lowerSum(n *G.Node, name string, x *G.Node) (any, error) {
	switch name {
	case "Σ[0]":
		b, err := l.buffer(x)
		if err != nil {
			return nil, err
		}
		if b.trans {
			return nil, errors.New("column sums of a transposed tensor")
		}
		return lin{terms: []term{{kind: colSumTerm, alpha: 1, a: b}}, rows: 1, cols: b.b.Cols}, nil
	case "Σ[0 1]":
		v, ok := l.vals[x.ID()].(lin)
		if !ok || len(v.terms) != 1 || v.terms[0].kind != sqDiffTerm || !strings.HasPrefix(x.Op().String(), "square") {
			return nil, errors.New("a full sum is supported only of a squared difference")
		}
		return lin{terms: v.terms, rows: 1, cols: 1}, nil
	}
	return nil, fmt.Errorf("unsupported reduction %s", name)
}

// buffer returns the materialised value of node n, emitting its launches
// the first time.
func (l *lowerer) buffer(n *G.Node) (bufVal, error) {
	switch v := l.vals[n.ID()].(type) {
	case bufVal:
		return v, nil
	case lin:
		b, err := l.materialiseLin(n, v)
		if err != nil {
			return bufVal{}, err
		}
		l.vals[n.ID()] = bufVal{b: b}
		return bufVal{b: b}, nil
	case prob:
		b, err := l.materialiseProb(v)
		if err != nil {
			return bufVal{}, err
		}
		return bufVal{b: b}, nil
	case act:
		b, err := l.materialiseAct(v)
		if err != nil {
			return bufVal{}, err
		}
		l.vals[n.ID()] = bufVal{b: b}
		return bufVal{b: b}, nil
	case nil:
		return bufVal{}, fmt.Errorf("node %s has no value yet", n.Name())
	}
	return bufVal{}, fmt.Errorf("node %s (%T) cannot be materialised", n.Name(), l.vals[n.ID()])
}

func (l *lowerer) name(prefix string) string {
	l.nextName++
	return fmt.Sprintf("%s%d", prefix, l.nextName)
}

// gemmDims returns M, N, K of op(A)·op(B) and checks they fit.
func gemmDims(t term) (M, N, K int, err error) {
	ar, ac := t.a.b.Rows, t.a.b.Cols
	if t.a.trans {
		ar, ac = ac, ar
	}
	br, bc := t.b.b.Rows, t.b.b.Cols
	if t.b.trans {
		br, bc = bc, br
	}
	if ac != br {
		return 0, 0, 0, fmt.Errorf("matrix product %d×%d · %d×%d", ar, ac, br, bc)
	}
	return ar, bc, ac, nil
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// emit appends a launch of a to the plan; bind lists every pointer
// parameter's buffer, step is a's step field when the kernel samples.
func (l *lowerer) emit(grid, block kernels.Dim3, a kernels.Args, bind []Bind, step *uint64, note string) error {
	ln := Launch{Kernel: a.Kernel(), Grid: grid, Block: block, Args: a, Bind: bind, Step: step, Note: note}
	if err := ln.Validate(); err != nil {
		return err
	}
	l.plan.Launches = append(l.plan.Launches, ln)
	return nil
}

// gemmLaunch emits the product of term t, with the GEMM kernel of the
// lowering's mode for its shape (every one computes the same bits).
func (l *lowerer) gemmLaunch(t term, beta float64, C *Buffer, flags int32, bias, P, S *Buffer, op uint32, note string) error {
	M, N, K, err := gemmDims(t)
	if err != nil {
		return err
	}
	kernel := gemmKernel(l.gemm, M, N)
	a := &kernels.GemmF32Args{Alpha: float32(t.alpha), Beta: float32(beta),
		TransA: b2i(t.a.trans), TransB: b2i(t.b.trans), Flags: flags, Op: op}
	for _, d := range []struct {
		f    *int32
		name string
		n    int
	}{{&a.M, "M", M}, {&a.N, "N", N}, {&a.K, "K", K}} {
		if *d.f, err = i32(kernel, d.name, d.n); err != nil {
			return err
		}
	}
	grid, err := kernels.GemmGridOf(kernel, M, N)
	if err != nil {
		return err
	}
	args, err := kernels.GemmAs(kernel, a) // the same memory: a's fields are args' parameters
	if err != nil {
		return err
	}
	k, _ := kernels.Lookup(kernel)
	var step *uint64
	if flags&kernels.GemmSample != 0 {
		a.Seed, step = l.rng.Seed, &a.Step
	}
	bind := []Bind{{&a.A, t.a.b}, {&a.B, t.b.b}, {&a.C, C}, {&a.Bias, bias}, {&a.P, P}, {&a.S, S}}
	return l.emit(grid, k.Block, args, bind, step, note)
}

func (l *lowerer) materialiseLin(n *G.Node, v lin) (*Buffer, error) {
	out := l.newBuffer(l.name("t"), v.rows, v.cols, Temp)
	for i, t := range v.terms {
		beta := 0.0
		if i > 0 {
			beta = 1
		}
		switch t.kind {
		case gemmTerm:
			M, N, _, err := gemmDims(t)
			if err != nil {
				return nil, err
			}
			if M*N != out.Len() {
				return nil, errors.New("product shape differs from its sum's")
			}
			if err := l.gemmLaunch(t, beta, out, 0, nil, nil, nil, 0,
				fmt.Sprintf("%s %s= %g·%s%s·%s%s", out.Name, plusEq(beta), t.alpha, t.a.b.Name, tick(t.a.trans), t.b.b.Name, tick(t.b.trans))); err != nil {
				return nil, err
			}
		case colSumTerm:
			x := t.a.b
			if x.Cols != out.Len() {
				return nil, errors.New("column sum width differs from its output's")
			}
			m, err := i32(kernels.ColSumF32, "M", x.Rows)
			if err != nil {
				return nil, err
			}
			n, err := i32(kernels.ColSumF32, "N", x.Cols)
			if err != nil {
				return nil, err
			}
			a := &kernels.ColSumF32Args{M: m, N: n, Alpha: float32(t.alpha), Beta: float32(beta)}
			if err := l.emit(kernels.ColSumGrid(x.Cols), kernels.Dim3{X: 32, Y: 8, Z: 1}, a, []Bind{{&a.X, x}, {&a.Out, out}}, nil,
				fmt.Sprintf("%s %s= %g·colsum(%s)", out.Name, plusEq(beta), t.alpha, x.Name)); err != nil {
				return nil, err
			}
		case sqDiffTerm:
			if len(v.terms) != 1 || out.Len() != 1 {
				return nil, errors.New("a squared difference must be summed on its own")
			}
			nel := t.a.b.Len()
			if t.b.b.Len() != nel {
				return nil, errors.New("squared difference of different sizes")
			}
			n, err := i32(kernels.SqDiffPartialF32, "n", nel)
			if err != nil {
				return nil, err
			}
			grid := kernels.SqDiffGrid(nel)
			partial := l.newBuffer(l.name("partial"), 1, grid.X, Temp)
			block := kernels.Dim3{X: kernels.ReduceMaxThreads, Y: 1, Z: 1}
			sq := &kernels.SqDiffPartialF32Args{N: n}
			if err := l.emit(grid, block, sq, []Bind{{&sq.A, t.a.b}, {&sq.B, t.b.b}, {&sq.Partial, partial}}, nil,
				fmt.Sprintf("%s = blocksums (%s − %s)²", partial.Name, t.a.b.Name, t.b.b.Name)); err != nil {
				return nil, err
			}
			nPartial, err := i32(kernels.SumF32, "n", grid.X)
			if err != nil {
				return nil, err
			}
			sum := &kernels.SumF32Args{N: nPartial, Alpha: float32(t.alpha)}
			if err := l.emit(kernels.Dim3{X: 1, Y: 1, Z: 1}, block, sum, []Bind{{&sum.X, partial}, {&sum.Out, out}}, nil,
				fmt.Sprintf("%s = %g·Σ %s", out.Name, t.alpha, partial.Name)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func plusEq(beta float64) string {
	if beta == 0 {
		return ""
	}
	return "+"
}

func tick(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}

// materialiseProb emits the fused gemm of σ(A·B + bias), writing the
// probabilities and, for every sampling node reading them, the sample.
func (l *lowerer) materialiseProb(p prob) (*Buffer, error) {
	if v, ok := l.vals[p.node.ID()].(bufVal); ok {
		return v.b, nil
	}
	M, N, _, err := gemmDims(p.t)
	if err != nil {
		return nil, err
	}
	P := l.newBuffer(l.name("p"), M, N, Temp)
	flags := int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmNoC)
	var S *Buffer
	var op uint32
	var samplers []*G.Node
	for _, u := range l.users[p.node.ID()] {
		if _, ok := u.Op().(*graph.SampleOp); ok {
			samplers = append(samplers, u)
		}
	}
	if len(samplers) > 1 {
		return nil, errors.New("more than one sample of the same probabilities")
	}
	note := fmt.Sprintf("%s = σ(%s%s·%s%s + %s)", P.Name, p.t.a.b.Name, tick(p.t.a.trans), p.t.b.b.Name, tick(p.t.b.trans), p.bias.Name)
	if len(samplers) == 1 {
		sop := samplers[0].Op().(*graph.SampleOp)
		S = l.newBuffer(l.name("s"), M, N, Temp)
		op = sop.ID
		flags |= kernels.GemmSample
		l.sampled[samplers[0].ID()] = S
		note += fmt.Sprintf("; %s ~ Bernoulli (sampler %d)", S.Name, op)
	}
	if p.bias.Len() != N {
		return nil, fmt.Errorf("bias of %d values for %d columns", p.bias.Len(), N)
	}
	if err := l.gemmLaunch(p.t, 0, nil, flags, p.bias, P, S, op, note); err != nil {
		return nil, err
	}
	l.vals[p.node.ID()] = bufVal{b: P}
	return P, nil
}

// materialiseAct emits the gemm of A·B + bias without an activation (the
// mean of a Gaussian visible layer): one gemm_f32 writing C.
func (l *lowerer) materialiseAct(a act) (*Buffer, error) {
	M, N, _, err := gemmDims(a.t)
	if err != nil {
		return nil, err
	}
	if a.bias.Len() != N {
		return nil, fmt.Errorf("bias of %d values for %d columns", a.bias.Len(), N)
	}
	out := l.newBuffer(l.name("t"), M, N, Temp)
	note := fmt.Sprintf("%s = %s%s·%s%s + %s", out.Name, a.t.a.b.Name, tick(a.t.a.trans), a.t.b.b.Name, tick(a.t.b.trans), a.bias.Name)
	if err := l.gemmLaunch(a.t, 0, out, kernels.GemmBias, a.bias, nil, nil, 0, note); err != nil {
		return nil, err
	}
	return out, nil
}

func (l *lowerer) lowerSample(n *G.Node, sop *graph.SampleOp, ch []*G.Node) (any, error) {
	if len(ch) != 1 {
		return nil, errors.New("sampling needs one input")
	}
	if p, ok := l.vals[ch[0].ID()].(prob); ok {
		if _, err := l.materialiseProb(p); err != nil {
			return nil, err
		}
	}
	if S, ok := l.sampled[n.ID()]; ok {
		return bufVal{b: S}, nil
	}
	// Not fused: a standalone Bernoulli launch.
	in, err := l.buffer(ch[0])
	if err != nil {
		return nil, err
	}
	S := l.newBuffer(l.name("s"), in.b.Rows, in.b.Cols, Temp)
	nel := in.b.Len()
	n32, err := i32(kernels.BernoulliF32, "n", nel)
	if err != nil {
		return nil, err
	}
	a := &kernels.BernoulliF32Args{N: n32, Seed: l.rng.Seed, Op: sop.ID}
	if err := l.emit(kernels.ElementwiseGrid(nel), kernels.Dim3{X: kernels.ElementwiseBlock, Y: 1, Z: 1}, a,
		[]Bind{{&a.P, in.b}, {&a.S, S}}, &a.Step,
		fmt.Sprintf("%s ~ Bernoulli(%s) (sampler %d)", S.Name, in.b.Name, sop.ID)); err != nil {
		return nil, err
	}
	return bufVal{b: S}, nil
}

// lowerKernelOp materialises the inputs of a custom op and emits the one
// launch the op asks for, writing a fresh buffer of the node's shape.
func (l *lowerer) lowerKernelOp(n *G.Node, op graph.KernelOp, ch []*G.Node) (any, error) {
	in := make([]*Buffer, len(ch))
	shapes := make([][2]int, len(ch))
	for i, c := range ch {
		b, err := l.buffer(c)
		if err != nil {
			return nil, err
		}
		if b.trans {
			return nil, fmt.Errorf("%s: input %d is a transposed view (no kernel)", op, i)
		}
		in[i], shapes[i] = b.b, [2]int{b.b.Rows, b.b.Cols}
	}
	r, c, err := shape2(n)
	if err != nil {
		return nil, err
	}
	// The op converts these sizes to its kernel's int parameters.
	if err := fitInt32(op.String(), append(shapes, [2]int{r, c})); err != nil {
		return nil, err
	}
	kl, err := op.KernelLaunch(shapes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := l.newBuffer(l.name("k"), r, c, Temp)
	if kl.Args == nil || kl.Output == nil {
		return nil, fmt.Errorf("%s: launch without arguments or output", op)
	}
	if len(kl.Inputs) > len(in) {
		return nil, fmt.Errorf("%s: %d input fields for %d inputs", op, len(kl.Inputs), len(in))
	}
	names := make([]string, len(in))
	for i, b := range in {
		names[i] = b.Name
	}
	bind := []Bind{{kl.Output, out}}
	for i, f := range kl.Inputs {
		if f != nil {
			bind = append(bind, Bind{f, in[i]})
		}
	}
	if kl.Seed != nil {
		*kl.Seed = l.rng.Seed
	}
	if err := l.emit(kl.Grid, kl.Block, kl.Args, bind, kl.Step,
		fmt.Sprintf("%s = %s(%s)", out.Name, op, strings.Join(names, ", "))); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return bufVal{b: out}, nil
}
