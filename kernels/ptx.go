package kernels

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// The PTX is generated from the .cu sources by nvcc and committed, so
// building the Go module never needs CUDA. kernels/tools/check-ptx.sh (CI)
// fails when it is stale.
//go:generate bash tools/gen-ptx.sh

//go:embed ptx/*.ptx
var ptxFS embed.FS

// PTX returns the PTX text of module name ("gemm", "reduce", "elementwise":
// the .cu file name without extension), compiled for compute_60 so that the
// driver can JIT it for any GPU from Pascal on. The returned slice is a copy.
func PTX(module string) ([]byte, error) {
	b, err := ptxFS.ReadFile("ptx/" + module + ".ptx")
	if err != nil {
		return nil, fmt.Errorf("kernels: no PTX module %q (have %s)", module, strings.Join(PTXModules(), ", "))
	}
	return b, nil
}

// PTXModules returns the names of the embedded PTX modules, sorted.
func PTXModules() []string {
	ents, _ := ptxFS.ReadDir("ptx")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".ptx"))
	}
	sort.Strings(names)
	return names
}
