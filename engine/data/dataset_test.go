package data

import (
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/kernels"
)

func TestScaleTo01(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"uint8 span", []float32{0, 255, 51, 127.5}, []float32{0, 1, 0.2, 0.5}},
		{"negative", []float32{-2, 0, 2}, []float32{0, 0.5, 1}},
		{"constant", []float32{7, 7, 7}, []float32{0, 0, 0}},
		{"single", []float32{3}, []float32{0}},
		{"empty", []float32{}, []float32{}},
	}
	for _, tc := range tests {
		ds := &Dataset{Name: tc.name, N: 1, D: len(tc.in), X: append([]float32(nil), tc.in...)}
		ds.ScaleTo01()
		if !equalF32(ds.Values(), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ds.Values(), tc.want)
		}
	}
	// x/255 for a full 0..255 range, exactly as float32(x/255.0)
	x := make([]float32, 256)
	for i := range x {
		x[i] = float32(i)
	}
	ds := &Dataset{N: 1, D: 256, X: x}
	ds.ScaleTo01()
	for i, v := range ds.Values() {
		if v != float32(float64(i)/255) {
			t.Fatalf("x=%d: got %v, want %v", i, v, float32(float64(i)/255))
		}
	}
}

func TestBinarize(t *testing.T) {
	ds := &Dataset{N: 1, D: 5, X: []float32{0, 0.49, 0.5, 0.51, 1}}
	ds.Binarize(0.5)
	if want := []float32{0, 0, 1, 1, 1}; !equalF32(ds.Values(), want) {
		t.Errorf("got %v, want %v", ds.Values(), want)
	}
}

func TestBinarizeStochastic(t *testing.T) {
	const n = 200000
	make1 := func() *Dataset {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%5) / 4 // 0, .25, .5, .75, 1
		}
		return &Dataset{Name: "p", N: n / 10, D: 10, X: x}
	}
	a, b, c := make1(), make1(), make1()
	for _, d := range []*Dataset{a, b} {
		if err := d.BinarizeStochastic(42); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.BinarizeStochastic(43); err != nil {
		t.Fatal(err)
	}
	if !equalF32(a.Values(), b.Values()) {
		t.Error("same seed gave different samples")
	}
	if equalF32(a.Values(), c.Values()) {
		t.Error("different seeds gave identical samples")
	}
	// exact contract with the Philox stream
	s := kernels.Stream{Seed: 42, Op: 0xB1A5}
	orig, got := make1(), a.Values()
	for i := range n {
		want := float32(0)
		if s.Uniform(uint64(i)) < orig.X[i] {
			want = 1
		}
		if got[i] != want {
			t.Fatalf("element %d: got %v, want %v", i, got[i], want)
		}
	}
	// per-probability mean close to p (n/5 = 40000 draws each: sd ≤ 0.0025)
	var sum [5]float64
	for i, v := range a.Values() {
		if v != 0 && v != 1 {
			t.Fatalf("element %d = %v, not binary", i, v)
		}
		sum[i%5] += float64(v)
	}
	for k := range sum {
		mean, p := sum[k]/(n/5), float64(k)/4
		if math.Abs(mean-p) > 0.015 {
			t.Errorf("p=%v: mean %v", p, mean)
		}
	}
	if sum[0] != 0 || sum[4] != n/5 {
		t.Errorf("p=0 gave %v ones, p=1 gave %v ones of %d", sum[0], sum[4], n/5)
	}
	// out-of-range input is an error and leaves the data unchanged
	bad := &Dataset{Name: "img.idx", N: 2, D: 2, X: []float32{0, 1, 255, 0.5}}
	err := bad.BinarizeStochastic(1)
	wantErr(t, err, "img.idx: element 2 (sample 1, feature 0): value 255 is outside [0, 1]", "ScaleTo01")
	if !equalF32(bad.Values(), []float32{0, 1, 255, 0.5}) {
		t.Errorf("data changed on error: %v", bad.Values())
	}
	nan := &Dataset{Name: "n", N: 1, D: 1, X: []float32{float32(math.NaN())}}
	wantErr(t, nan.BinarizeStochastic(1), "n: element 0 (sample 0, feature 0): value NaN is outside [0, 1]")
}

func TestSplit(t *testing.T) {
	const n, d = 101, 3
	ds := &Dataset{Name: "d", N: n, D: d, X: make([]float32, n*d), Labels: make([]int, n), Shape: []int{3}}
	for i := range n {
		for j := range d {
			ds.X[i*d+j] = float32(i*10 + j)
		}
		ds.Labels[i] = i
	}
	tr, va, err := ds.Split(0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 81 || va.N != 20 || len(tr.Values()) != 81*d || len(va.Values()) != 20*d || tr.Name != "d[train]" || va.Name != "d[val]" || !equalInts(tr.Shape, []int{3}) {
		t.Fatalf("sizes: train %d val %d", tr.N, va.N)
	}
	seen := map[int]bool{}
	for _, part := range []*Dataset{tr, va} {
		for k := range part.N {
			i := part.Labels[k]
			if seen[i] {
				t.Fatalf("sample %d appears twice", i)
			}
			seen[i] = true
			for j := range d {
				if part.Row(k)[j] != float32(i*10+j) { // labels follow their rows
					t.Fatalf("row %d does not match label %d", k, i)
				}
			}
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct samples, want %d", len(seen), n)
	}
	tr2, va2, _ := ds.Split(0.2, 7)
	if !equalInts(tr.Labels, tr2.Labels) || !equalInts(va.Labels, va2.Labels) {
		t.Error("same seed gave different splits")
	}
	tr3, _, _ := ds.Split(0.2, 8)
	if equalInts(tr.Labels, tr3.Labels) {
		t.Error("different seeds gave the same split")
	}
	// reference: the permutation is pinned by the Philox stream
	perm := []int{0, 1, 2, 3, 4}
	s := kernels.Stream{Seed: 7, Op: 0x5917}
	for i := 4; i > 0; i-- {
		j := int(s.Uint64(uint64(i)) % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	small := &Dataset{Name: "s", N: 5, D: 1, X: []float32{0, 1, 2, 3, 4}}
	a, b, _ := small.Split(0.4, 7)
	if !equalF32(append(a.Values(), b.Values()...), []float32{float32(perm[0]), float32(perm[1]), float32(perm[2]), float32(perm[3]), float32(perm[4])}) {
		t.Errorf("split order %v %v, want perm %v", a.Values(), b.Values(), perm)
	}
	// zero fraction: everything in train, empty val; labels nil stay nil
	a, b, err = small.Split(0, 1)
	if err != nil || a.N != 5 || b.N != 0 || a.Labels != nil {
		t.Errorf("fraction 0: %v %v %v", a, b, err)
	}
	for _, f := range []float64{-0.1, 1, 1.5, math.NaN()} {
		_, _, err := small.Split(f, 1)
		wantErr(t, err, "s: split: validation fraction", "want a value in [0, 1)")
	}
	one := &Dataset{Name: "one", N: 1, D: 1, X: []float32{1}}
	_, _, err = one.Split(0.9, 1)
	wantErr(t, err, "one: split: validation fraction 0.9 of 1 samples leaves no training samples")
}

func TestFingerprint(t *testing.T) {
	ds, _ := BarsAndStripes(4, 4)
	f := ds.Fingerprint()
	if len(f) != 16 {
		t.Fatalf("fingerprint %q, want 16 hex digits", f)
	}
	ds2, _ := BarsAndStripes(4, 4)
	ds2.Name = "other"
	if ds2.Fingerprint() != f {
		t.Error("fingerprint depends on the name")
	}
	ds2.X[5] = 0.5
	if ds2.Fingerprint() == f {
		t.Error("fingerprint ignores a value change")
	}
	// same bytes, different N×D
	a := &Dataset{N: 2, D: 3, X: make([]float32, 6)}
	b := &Dataset{N: 3, D: 2, X: make([]float32, 6)}
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("fingerprint ignores the shape")
	}
	// reference value: SHA-256 of N=1, D=1 (uint64 LE) and float32 1.0 LE
	// (printf '\1\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\200\77' | sha256sum)
	one := &Dataset{N: 1, D: 1, X: []float32{1}}
	if got, want := one.Fingerprint(), refFingerprint; got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
}

func TestRow(t *testing.T) {
	ds := &Dataset{N: 2, D: 2, X: []float32{1, 2, 3, 4}}
	r := ds.Row(0)
	if !equalF32(r, []float32{1, 2}) || cap(r) != 2 {
		t.Errorf("Row(0) = %v cap %d", r, cap(r))
	}
	_ = append(r, 9)
	if ds.X[2] != 3 {
		t.Error("append to a row overwrote the next sample")
	}
}

// refFingerprint was computed outside Go with sha256sum (see TestFingerprint).
const refFingerprint = "0b00d2111828b845"
