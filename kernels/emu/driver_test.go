package emu

import (
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// The emulated Driver runs the launch table's geometry on device buffers:
// a hidden-layer conditional through gemm_f32, compared with the same launch
// through Launch on host slices (bitwise: same code, same geometry).
func TestDriverGemm(t *testing.T) {
	var st Slices
	var drv kernels.Driver = NewDriver()
	defer drv.Close()
	r := rand.New(rand.NewPCG(21, 22))
	M, N, K := 9, 40, 17
	A, B, bias := randSlice(r, M*K, 0, 1), randSlice(r, K*N, -1, 1), randSlice(r, N, -1, 1)

	up := func(s []float32) kernels.DevicePtr {
		p, err := drv.Alloc(4 * len(s))
		if err != nil {
			t.Fatal(err)
		}
		if err := drv.CopyHtoD(p, kernels.Float32Bytes(s)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dA, dB, dBias := up(A), up(B), up(bias)
	dC, dP, dS := up(poison(M*N)), up(poison(M*N)), up(poison(M*N))
	flags := int32(kernels.GemmBias | kernels.GemmSigmoid | kernels.GemmWriteP | kernels.GemmSample)
	k, _ := kernels.Lookup(kernels.GemmF32)
	if err := drv.Launch(kernels.GemmGrid(M, N), k.Block, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: dA, B: dB, Beta: float32(0), C: dC, TransA: int32(0), TransB: int32(0), Flags: flags, Bias: dBias, P: dP, S: dS, Seed: uint64(5), Op: uint32(6), Step: uint64(7)}); err != nil {
		t.Fatal(err)
	}
	if err := drv.Synchronize(); err != nil {
		t.Fatal(err)
	}
	gotC, gotP, gotS := make([]float32, M*N), make([]float32, M*N), make([]float32, M*N)
	for _, c := range []struct {
		dst []float32
		src kernels.DevicePtr
	}{{gotC, dC}, {gotP, dP}, {gotS, dS}} {
		if err := drv.CopyDtoH(kernels.Float32Bytes(c.dst), c.src); err != nil {
			t.Fatal(err)
		}
	}
	C, P, S := poison(M*N), poison(M*N), poison(M*N)
	mustLaunch(t, kernels.GemmGrid(M, N), k.Block, &kernels.GemmF32Args{M: int32(M), N: int32(N), K: int32(K), Alpha: float32(1), A: st.F32(A), B: st.F32(B), Beta: float32(0), C: st.F32(C), TransA: int32(0), TransB: int32(0), Flags: flags, Bias: st.F32(bias), P: st.F32(P), S: st.F32(S), Seed: uint64(5), Op: uint32(6), Step: uint64(7)}, &st)
	for i := range C {
		if gotC[i] != C[i] || gotP[i] != P[i] || gotS[i] != S[i] {
			t.Fatalf("element %d: driver (%v %v %v), Launch (%v %v %v)", i, gotC[i], gotP[i], gotS[i], C[i], P[i], S[i])
		}
	}
	if err := drv.Free(dA); err != nil {
		t.Fatal(err)
	}
}

func TestDriverChecks(t *testing.T) {
	drv := NewDriver()
	defer drv.Close()
	p, err := drv.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.CopyHtoD(p+8, make([]byte, 12)); err == nil {
		t.Error("copy past the end of an allocation accepted")
	}
	if err := drv.CopyHtoD(p+8, make([]byte, 8)); err != nil {
		t.Errorf("copy into an allocation's tail: %v", err)
	}
	if err := drv.Free(p + 4); err == nil {
		t.Error("Free of an interior pointer accepted")
	}
	if err := drv.Launch(d1(1), d1(32), &kernels.SumF32Args{N: int32(1), X: p, Alpha: float32(1), Out: p}); err == nil {
		t.Error("non-table block accepted")
	}
	var st Slices
	if err := drv.Launch(d1(1), d1(256), &kernels.SumF32Args{N: int32(1), X: st.F32([]float32{1}), Alpha: float32(1), Out: p}); err == nil {
		t.Error("staged host slice accepted as a device pointer")
	}
	st.release()
	if err := drv.Launch(d1(1), d1(256), &kernels.SumF32Args{N: int32(1), X: kernels.DevicePtr(8), Alpha: float32(1), Out: p}); err == nil {
		t.Error("wild pointer accepted")
	}
	if err := drv.Launch(d1(1), d1(256), &kernels.SumF32Args{N: int32(4), X: p, Alpha: float32(1), Out: p}); err != nil {
		t.Error(err)
	}
}
