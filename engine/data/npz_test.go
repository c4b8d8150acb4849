package data

import (
	"bytes"
	"testing"
)

// sklearnNPZ mimics np.savez of a scikit-learn BernoulliRBM with 2 hidden
// and 3 visible units.
func sklearnNPZ(t testing.TB, deflate bool) []byte {
	return zipFile(t,
		member{"components_.npy", npyFile(npyDict("<f8", "(2, 3)"), f64le(0.5, -1, 2, 0, 0.25, -0.125)), deflate},
		member{"intercept_hidden_.npy", npyFile(npyDict("<f8", "(2,)"), f64le(-0.5, 1.5)), deflate},
		member{"intercept_visible_.npy", npyFile(npyDict("<f8", "(3,)"), f64le(0.1, 0.2, 0.3)), deflate},
	)
}

func TestReadNPZ(t *testing.T) {
	dir := t.TempDir()
	for _, deflate := range []bool{false, true} {
		p := writeFile(t, dir, "rbm.npz", sklearnNPZ(t, deflate))
		m, err := ReadNPZ(p)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Array{
			"components_":        {Shape: []int{2, 3}, Data: []float32{0.5, -1, 2, 0, 0.25, -0.125}},
			"intercept_hidden_":  {Shape: []int{2}, Data: []float32{-0.5, 1.5}},
			"intercept_visible_": {Shape: []int{3}, Data: []float32{float32(0.1), float32(0.2), float32(0.3)}},
		}
		if len(m) != len(want) {
			t.Fatalf("deflate=%v: got keys %v", deflate, m)
		}
		for k, w := range want {
			if g := m[k]; !equalInts(g.Shape, w.Shape) || !equalF32(g.Data, w.Data) {
				t.Errorf("deflate=%v %s: got %v, want %v", deflate, k, g, w)
			}
		}
		keys, err := NPZKeys(p)
		if err != nil || !equalStrings(keys, []string{"components_", "intercept_hidden_", "intercept_visible_"}) {
			t.Errorf("NPZKeys = %v, %v", keys, err)
		}
		// Load takes the first array, or the one named by Key
		ds, err := Load(p, LoadOptions{})
		if err != nil || ds.N != 2 || ds.D != 3 || ds.Name != p+":components_" {
			t.Errorf("Load first: %+v, %v", ds, err)
		}
		_, err = Load(p, LoadOptions{Key: "intercept_hidden_"})
		wantErr(t, err, p+":intercept_hidden_: array shape [2] has rank 1")
		_, err = Load(p, LoadOptions{Key: "W"})
		wantErr(t, err, p+`: no array named "W", have [components_ intercept_hidden_ intercept_visible_]`)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadNPZErrors(t *testing.T) {
	good := npyFile(npyDict("<f4", "(1, 2)"), f32le(1, 2))
	tests := []struct {
		name  string
		file  []byte
		parts []string
	}{
		{"not zip", []byte("hello world, definitely not a zip file"), []string{"w.npz: not a valid NPZ (zip) archive"}},
		{"bad member", zipFile(t, member{"a.npy", []byte("garbage"), true}), []string{"w.npz: a.npy: bad magic"}},
		{"fortran member", zipFile(t, member{"a.npy", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", f32le(1)), false}),
			[]string{"w.npz: a.npy: header: fortran_order arrays are not supported"}},
		{"lying shape", zipFile(t, member{"a.npy", npyFile(npyDict("<f4", "(100000, 100000)"), nil), true}),
			[]string{"w.npz: a.npy: truncated: header says 40000000000 bytes of data"}},
		{"duplicate", zipFile(t, member{"a.npy", good, false}, member{"a.npy", good, false}), []string{"w.npz: a.npy: duplicate member"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPZFrom(bytes.NewReader(tc.file), int64(len(tc.file)), "w.npz")
			wantErr(t, err, tc.parts...)
		})
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "empty.npz", zipFile(t, member{"readme.txt", []byte("hi"), false}))
	_, err := Load(p, LoadOptions{})
	wantErr(t, err, p+": no arrays (no .npy members) in the archive")
	_, err = ReadNPZ(dir + "/missing.npz")
	wantErr(t, err, dir+"/missing.npz: open: no such file")
}
