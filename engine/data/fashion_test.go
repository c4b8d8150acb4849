package data

import (
	"os"
	"path/filepath"
	"testing"
)

// fashionDir is where Debian's dataset-fashion-mnist package installs the
// gzipped IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).
const fashionDir = "/usr/share/datasets/fashion-mnist"

func TestFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 26 MB Fashion-MNIST load in -short mode")
	}
	for _, tc := range []struct {
		prefix string
		n      int
	}{{"train", 60000}, {"t10k", 10000}} {
		img := filepath.Join(fashionDir, tc.prefix+"-images-idx3-ubyte.gz")
		lab := filepath.Join(fashionDir, tc.prefix+"-labels-idx1-ubyte.gz")
		if _, err := os.Stat(img); err != nil {
			t.Skipf("Fashion-MNIST not installed (%s missing; apt-get install dataset-fashion-mnist)", img)
		}
		ds, err := Load(img, LoadOptions{Labels: lab})
		if err != nil {
			t.Fatal(err)
		}
		if ds.N != tc.n || ds.D != 784 || !equalInts(ds.Shape, []int{28, 28}) || len(ds.Values()) != tc.n*784 || len(ds.Labels) != tc.n {
			t.Fatalf("%s: got N=%d D=%d Shape=%v", img, ds.N, ds.D, ds.Shape)
		}
		var count [10]int
		for i, l := range ds.Labels {
			if l < 0 || l > 9 {
				t.Fatalf("label %d = %d, want 0..9", i, l)
			}
			count[l]++
		}
		for c, k := range count {
			if k != tc.n/10 { // Fashion-MNIST is balanced
				t.Errorf("%s: class %d has %d samples, want %d", lab, c, k, tc.n/10)
			}
		}
		lo, hi := ds.Range()
		if lo != 0 || hi != 255 {
			t.Errorf("pixel range [%v, %v], want [0, 255]", lo, hi)
		}
		ds.ScaleTo01()
		if err := ds.BinarizeStochastic(1); err != nil {
			t.Fatal(err)
		}
	}
}
