package lower

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Validate accepts a launch whose pointer fields are each bound once and
// whose step field is the kernel's step, and names what is wrong otherwise.
func TestLaunchValidate(t *testing.T) {
	buf := &Buffer{Name: "x", Rows: 1, Cols: 4}
	mk := func(edit func(a *kernels.BernoulliF32Args, l *Launch)) error {
		a := &kernels.BernoulliF32Args{N: 4}
		l := &Launch{Kernel: kernels.BernoulliF32, Args: a, Bind: []Bind{{&a.P, buf}, {&a.S, nil}}, Step: &a.Step}
		if edit != nil {
			edit(a, l)
		}
		return l.Validate()
	}
	if err := mk(nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(a *kernels.BernoulliF32Args, l *Launch)
		want string
	}{
		{"unbound", func(a *kernels.BernoulliF32Args, l *Launch) { l.Bind = l.Bind[:1] }, "parameter S bound 0 times"},
		{"twice", func(a *kernels.BernoulliF32Args, l *Launch) { l.Bind = append(l.Bind, Bind{&a.P, buf}) }, "parameter P bound 2 times"},
		{"foreign field", func(a *kernels.BernoulliF32Args, l *Launch) {
			l.Bind = append(l.Bind, Bind{new(kernels.DevicePtr), buf})
		}, "3 bindings"},
		{"step field", func(a *kernels.BernoulliF32Args, l *Launch) { l.Step = &a.Seed }, "RNG step goes to parameter seed"},
		{"foreign step", func(a *kernels.BernoulliF32Args, l *Launch) { l.Step = new(uint64) }, "not a parameter"},
		{"kernel name", func(a *kernels.BernoulliF32Args, l *Launch) { l.Kernel = kernels.SumF32 }, "with arguments of"},
		{"no args", func(a *kernels.BernoulliF32Args, l *Launch) { l.Args = nil }, "without arguments"},
	} {
		if err := mk(c.edit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	a := &kernels.BernoulliF32Args{}
	l := Launch{Args: a, Bind: []Bind{{&a.P, buf}}}
	if b, ok := l.Buffer(&a.P); !ok || b != buf {
		t.Errorf("Buffer(&P) = %v, %v", b, ok)
	}
	if _, ok := l.Buffer(&a.S); ok {
		t.Error("Buffer(&S): bound")
	}
}
