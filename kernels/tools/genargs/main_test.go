package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The committed kernels/args_gen.go is what the generator makes of today's
// launch table (run go generate -run genargs ./kernels after a table edit).
func TestGeneratedUpToDate(t *testing.T) {
	want, err := Generate("../..", kernels.Kernels)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../args_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("kernels/args_gen.go is stale: run go generate -run genargs ./kernels")
	}
}

func TestFieldNameClash(t *testing.T) {
	k := kernels.Kernel{Name: "x", Args: []kernels.Arg{{Name: "a", Type: kernels.Int32}, {Name: "A", Type: kernels.Int32}}}
	if _, err := FieldNames(k); err == nil {
		t.Error("no error for parameters a and A")
	}
}
