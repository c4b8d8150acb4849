package lower

import (
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
)

// The Adam update has no kernel: its lowering is refused with an error
// that names it.
func TestUpdateLaunchesRefusesAdam(t *testing.T) {
	ops := []graph.UpdateOp{{Kind: graph.Adam, Out: "W", M: graph.AdamMOf("W"), V: graph.AdamVOf("W"), Grad: "GradW", Note: "adam update W"}}
	buf := func(string) *Buffer { return nil }
	if _, err := UpdateLaunches(ops, buf); err == nil || !strings.Contains(err.Error(), "Adam") || !strings.Contains(err.Error(), "tape") {
		t.Errorf("Adam lowered: error %v", err)
	}
}
