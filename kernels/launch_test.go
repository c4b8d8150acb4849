package kernels

import (
	"regexp"
	"strings"
	"testing"
)

var (
	entryRE = regexp.MustCompile(`(?s)\.visible \.entry (\w+)\(\s*(.*?)\)`)
	paramRE = regexp.MustCompile(`\.param (\.\w+) (\w+)_param_(\d+)`)
)

// The committed PTX and the launch table must agree: every entry is in the
// table under its module, and every table kernel's parameters have the PTX
// types nvcc gave them, in order. (The emulator tests check the same table
// against the C++ signatures; check-ptx.sh checks the PTX against the .cu.)
func TestLaunchTableMatchesPTX(t *testing.T) {
	seen := map[string]bool{}
	for _, mod := range PTXModules() {
		src, err := PTX(mod)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), ".target sm_60") {
			t.Errorf("%s.ptx: not compiled for compute_60", mod)
		}
		for _, m := range entryRE.FindAllStringSubmatch(string(src), -1) {
			name := m[1]
			seen[name] = true
			k, ok := Lookup(name)
			if !ok {
				t.Errorf("%s.ptx: entry %s is not in the launch table", mod, name)
				continue
			}
			if k.Module != mod {
				t.Errorf("%s: table module %q, PTX module %q", name, k.Module, mod)
			}
			params := paramRE.FindAllStringSubmatch(m[2], -1)
			if len(params) != len(k.Args) {
				t.Errorf("%s: PTX has %d parameters, table %d", name, len(params), len(k.Args))
				continue
			}
			for i, p := range params {
				if want := k.Args[i].Type.PTXType(); p[1] != want {
					t.Errorf("%s: parameter %d (%s) is %s in PTX, table says %v (%s)",
						name, i, k.Args[i].Name, p[1], k.Args[i].Type, want)
				}
			}
		}
	}
	for _, k := range Kernels {
		if !seen[k.Name] {
			t.Errorf("table kernel %s has no PTX entry", k.Name)
		}
		if n := k.Block.Threads(); n < 1 || n > 1024 {
			t.Errorf("%s: block %v", k.Name, k.Block)
		}
	}
	if _, err := PTX("nope"); err == nil {
		t.Error("PTX(nope) succeeded")
	}
}

func TestGrids(t *testing.T) {
	tests := []struct {
		got, want Dim3
	}{
		{GemmGrid(1, 1), Dim3{1, 1, 1}},
		{GemmGrid(33, 16), Dim3{1, 3, 1}},
		{GemmGrid(0, 0), Dim3{1, 1, 1}},
		{ColSumGrid(70), Dim3{3, 1, 1}},
		{SqDiffGrid(257), Dim3{2, 1, 1}},
		{SqDiffGrid(1 << 30), Dim3{256, 1, 1}},
		{FreeEnergyGrid(70), Dim3{70, 1, 1}},
		{ElementwiseGrid(1 << 30), Dim3{4096, 1, 1}},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %v, want %v", i, tc.got, tc.want)
		}
	}
}

// Parameter counts and types are checked by the compiler (typed Args);
// block and grid are checked at run time.
func TestCheckBlockGrid(t *testing.T) {
	k, _ := Lookup(GemmF32)
	if CheckBlock(k, Dim3{16, 16, 1}) != nil || CheckBlock(k, Dim3{8, 8, 1}) == nil {
		t.Error("CheckBlock")
	}
	if CheckGrid(GemmF32, Dim3{1, 0, 1}) == nil || CheckGrid(GemmF32, Dim3{1, 1, 1}) != nil {
		t.Error("CheckGrid")
	}
}
