package lower

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
)

// Layout is a pure function of the buffers' sizes and order: each starts
// at a multiple of Align bytes.
func TestLayout(t *testing.T) {
	bufs := []*Buffer{{Name: "a", Rows: 1, Cols: 1}, {Name: "b", Rows: 8, Cols: 8}, {Name: "c", Rows: 1, Cols: 65}, {Name: "d", Rows: 0, Cols: 3}}
	offsets, total := Layout(bufs)
	for i, want := range []int{0, 256, 512, 512 + 512} {
		if offsets[bufs[i]] != want {
			t.Errorf("%s at %d, want %d", bufs[i].Name, offsets[bufs[i]], want)
		}
	}
	if total != 1024 {
		t.Errorf("total %d, want 1024", total)
	}
}

// UpdateLaunches emits one typed launch per non-Fill op, bound to the
// buffers the op names, and refuses unknown names and mismatched sizes.
func TestUpdateLaunches(t *testing.T) {
	bufs := map[string]*Buffer{}
	for _, b := range []*Buffer{{Name: "W", Rows: 4, Cols: 3}, {Name: "velocity.W", Rows: 4, Cols: 3}, {Name: "GradW", Rows: 4, Cols: 3},
		{Name: "chains", Rows: 2, Cols: 4}, {Name: "NewChain", Rows: 2, Cols: 4}, {Name: "short", Rows: 1, Cols: 2}} {
		bufs[b.Name] = b
	}
	buf := func(n string) *Buffer { return bufs[n] }
	ops := []graph.UpdateOp{
		{Kind: graph.Fill, Out: "W", Value: 1},
		{Kind: graph.SGD, Out: "W", Vel: "velocity.W", Grad: "GradW", LR: 0.5, Momentum: 0.25, Decay: 0.125, Note: "update W"},
		{Kind: graph.ClampMin, Out: "W", Value: -1, Note: "floor"},
		{Kind: graph.Axpby, Out: "chains", X: "NewChain", Alpha: 1, Beta: 0, Note: "carry"},
	}
	ls, err := UpdateLaunches(ops, buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Fatalf("%d launches, want 3 (Fill has none)", len(ls))
	}
	sgd := ls[0].Args.(*kernels.SGDUpdateF32Args)
	if sgd.N != 12 || sgd.Lr != 0.5 || sgd.Momentum != 0.25 || sgd.WeightDecay != 0.125 {
		t.Errorf("sgd args %+v", sgd)
	}
	for f, want := range map[*kernels.DevicePtr]string{&sgd.Param: "W", &sgd.Vel: "velocity.W", &sgd.Grad: "GradW"} {
		if b, ok := ls[0].Buffer(f); !ok || b.Name != want {
			t.Errorf("sgd field bound to %v, want %s", b, want)
		}
	}
	if c := ls[1].Args.(*kernels.ClampMinF32Args); c.N != 12 || c.Lo != -1 {
		t.Errorf("clamp args %+v", c)
	}
	ax := ls[2].Args.(*kernels.ColSumF32Args)
	if ax.M != 1 || ax.N != 8 || ax.Alpha != 1 || ax.Beta != 0 || ls[2].Grid != kernels.ColSumGrid(8) {
		t.Errorf("axpby %+v grid %v", ax, ls[2].Grid)
	}
	if b, _ := ls[2].Buffer(&ax.Out); b.Name != "chains" {
		t.Errorf("axpby writes %s, want chains", b.Name)
	}
	for _, bad := range []struct {
		op   graph.UpdateOp
		want string
	}{
		{graph.UpdateOp{Kind: graph.Axpby, Out: "chains", X: "nope", Note: "n"}, `no buffer "nope"`},
		{graph.UpdateOp{Kind: graph.Axpby, Out: "chains", X: "short", Note: "n"}, "short has 2 values, chains 8"},
		{graph.UpdateOp{Kind: 99, Out: "W", Note: "n"}, "unknown update op"},
	} {
		if _, err := UpdateLaunches([]graph.UpdateOp{bad.op}, buf); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.op, err, bad.want)
		}
	}
}

// The Adam update has no kernel: its lowering is refused with an error
// that names it.
func TestUpdateLaunchesRefusesAdam(t *testing.T) {
	ops := []graph.UpdateOp{{Kind: graph.Adam, Out: "W", M: graph.AdamMOf("W"), V: graph.AdamVOf("W"), Grad: "GradW", Note: "adam update W"}}
	buf := func(string) *Buffer { return nil }
	if _, err := UpdateLaunches(ops, buf); err == nil || !strings.Contains(err.Error(), "Adam") || !strings.Contains(err.Error(), "tape") {
		t.Errorf("Adam lowered: error %v", err)
	}
}
