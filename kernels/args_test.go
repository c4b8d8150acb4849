package kernels

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// Every launch-table entry has a generated Args struct whose fields are its
// parameters in table order, of the Go types that pass them, and whose
// Addr(i) is the address of field i.
func TestArgsMatchTable(t *testing.T) {
	ptr := reflect.TypeFor[DevicePtr]()
	goTypes := map[ArgType]reflect.Type{
		Int32: reflect.TypeFor[int32](), Uint32: reflect.TypeFor[uint32](), Uint64: reflect.TypeFor[uint64](),
		Float32: reflect.TypeFor[float32](), PtrFloat32: ptr, PtrUint32: ptr,
	}
	for _, k := range Kernels {
		a := NewArgs(k.Name)
		if a == nil {
			t.Errorf("%s: NewArgs returns nil", k.Name)
			continue
		}
		if a.Kernel() != k.Name {
			t.Errorf("%s: Kernel() = %q", k.Name, a.Kernel())
		}
		v := reflect.ValueOf(a).Elem()
		typ := v.Type()
		if typ.NumField() != len(k.Args) {
			t.Errorf("%s: %s has %d fields, the table %d parameters", k.Name, typ.Name(), typ.NumField(), len(k.Args))
			continue
		}
		for i, p := range k.Args {
			f := typ.Field(i)
			if f.Type != goTypes[p.Type] {
				t.Errorf("%s: field %d (%s) is %v, parameter %s is %v", k.Name, i, f.Name, f.Type, p.Name, p.Type)
			}
			if !strings.EqualFold(f.Name, p.Name) && !(k.Name == LogVarGradF32 && p.Name == "b" && f.Name == "VBias") {
				t.Errorf("%s: field %d is %s, parameter %s", k.Name, i, f.Name, p.Name)
			}
			if got, want := a.Addr(i), unsafe.Pointer(v.Field(i).Addr().Pointer()); got != want {
				t.Errorf("%s: Addr(%d) = %p, want the address of %s (%p)", k.Name, i, got, f.Name, want)
			}
		}
		if a.Addr(len(k.Args)) != nil || a.Addr(-1) != nil {
			t.Errorf("%s: Addr out of range is not nil", k.Name)
		}
	}
	if NewArgs("nope") != nil {
		t.Error("NewArgs of an unknown kernel is not nil")
	}
}

func TestSlot(t *testing.T) {
	a := &GemmF32Args{M: -1, Alpha: 1.5, A: 0x1234_5678_9abc, Seed: 1 << 60, Op: 7}
	for _, c := range []struct {
		i    int
		want uint64
	}{{0, 0xffff_ffff}, {3, 0x3fc0_0000}, {4, 0x1234_5678_9abc}, {14, 1 << 60}, {15, 7}} {
		if got := Slot(Kernels[0].Args[c.i].Type, a.Addr(c.i)); got != c.want {
			t.Errorf("Slot of parameter %d = %#x, want %#x", c.i, got, c.want)
		}
	}
}

func TestCheckLaunch(t *testing.T) {
	blk := Dim3{ReduceMaxThreads, 1, 1}
	one := Dim3{1, 1, 1}
	if _, err := CheckLaunch(one, blk, &SumF32Args{N: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		grid, block Dim3
		a           Args
		want        string
	}{
		{"nil", one, blk, nil, "without arguments"},
		{"unknown", one, blk, unknownArgs{}, `unknown kernel "nope"`},
		{"block", one, Dim3{32, 1, 1}, &SumF32Args{}, "block"},
		{"grid", Dim3{0, 1, 1}, blk, &SumF32Args{}, "invalid grid"},
	} {
		if _, err := CheckLaunch(c.grid, c.block, c.a); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

type unknownArgs struct{}

func (unknownArgs) Kernel() string          { return "nope" }
func (unknownArgs) Addr(int) unsafe.Pointer { return nil }
