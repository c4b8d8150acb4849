package exec

import (
	"strings"
	"testing"
)

// The tensor table accepts what both executors accept: a tensor of the
// right size, nil for an optional tensor (absent), and refuses unknown
// names and wrong sizes with errors naming the program and the tensor.
func TestTable(t *testing.T) {
	tb := NewTable("prog", []Tensor{{Name: "W", Len: 4}, {Name: "q", Len: 2, Optional: true}})
	for _, c := range []struct {
		name  string
		x     []float32
		write bool
		err   string
	}{
		{"W", make([]float32, 4), true, ""},
		{"W", make([]float32, 3), false, "prog: W has 3 values, want 4"},
		{"W", nil, false, "prog: W has 0 values, want 4"},
		{"nope", nil, false, `prog: the program has no tensor "nope"`},
		{"q", nil, false, ""},
		{"q", make([]float32, 2), true, ""},
	} {
		write, err := tb.Set(c.name, c.x)
		if write != c.write || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Set(%s, %d values) = %v, %v; want %v, %q", c.name, len(c.x), write, err, c.write, c.err)
		}
	}
	if !tb.Present("q") {
		t.Error("q absent after a write")
	}
	if _, err := tb.Set("q", nil); err != nil || tb.Present("q") {
		t.Errorf("q present after Set(nil): %v", err)
	}
	if read, err := tb.Get("q", make([]float32, 2)); read || err != nil {
		t.Errorf("Get of absent q = %v, %v", read, err)
	}
	tb.MarkPresent("q")
	if read, err := tb.Get("q", make([]float32, 2)); !read || err != nil {
		t.Errorf("Get of present q = %v, %v", read, err)
	}
	if _, err := tb.Get("W", make([]float32, 5)); err == nil || !strings.Contains(err.Error(), "destination 5") {
		t.Errorf("Get into 5 values: %v", err)
	}
}
