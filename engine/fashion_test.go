package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

const fashionDir = "/usr/share/datasets/fashion-mnist"

// reconError is the mean over rows of Σ_i (v_i − p(v_i|h))² with h the
// mean-field hidden probabilities: a deterministic yardstick for a model.
func reconError(m *models.RBM, x []float32, n int) float64 {
	h := m.HiddenProbs(nil, x, n)
	pv := m.VisibleProbs(nil, h, n)
	var s float64
	for i := range pv {
		d := float64(x[i]) - float64(pv[i])
		s += d * d
	}
	return s / float64(n)
}

// Real data: a 784×500 RBM trained for one epoch of CD-1 on binarized
// Fashion-MNIST (60,000 images) on the CPU. The reconstruction error must
// fall below 50 per image (the untrained model, which already knows the
// pixel marginals through its visible biases, scores ≈ 129; one epoch gave ≈ 40), and the model
// must survive a save/load round trip unchanged.
func TestFashionMNISTOneEpoch(t *testing.T) {
	path := filepath.Join(fashionDir, "train-images-idx3-ubyte.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Fashion-MNIST not installed (%v); apt-get install dataset-fashion-mnist to run this test", err)
	}
	if testing.Short() {
		t.Skip("one epoch of 784×500 CD-1 takes about a minute; skipped with -short")
	}
	d, err := data.Load(path, data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.ScaleTo01()
	d.Binarize(0.5)
	cfg := Config{Hidden: 500, K: 1, Epochs: 1, Batch: 100, LR: 0.05, Momentum: 0.5, Seed: 3}
	before, _ := models.NewRBM(d.D, cfg.Hidden, cfg.Seed)
	MarginalLogits(before.VBias, d)
	const evalRows = 2000
	start := time.Now()
	res, err := (&Trainer{Config: cfg}).Fit(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	r0 := reconError(before, d.Rows(0, evalRows), evalRows)
	r1 := reconError(res.Snapshot.RBM(), d.Rows(0, evalRows), evalRows)
	m := res.Metrics[0]
	t.Logf("Fashion-MNIST 784×500 CD-1, 1 epoch: %v (%.0f samples/s); recon error (mean-field, %d images) %.2f → %.2f; training recon %.2f",
		elapsed.Round(time.Millisecond), m.SamplesPerSec, evalRows, r0, r1, m.ReconError)
	if !(r1 < 50) || !(r1 < 0.4*r0) {
		t.Errorf("reconstruction error %.2f after one epoch, want < 50 and < 0.4 × the untrained %.2f", r1, r0)
	}
	file := filepath.Join(t.TempDir(), "model.safetensors")
	if err := SaveSnapshot(file, res.Snapshot, d.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	snap, meta, err := LoadSnapshot(file)
	if err != nil {
		t.Fatal(err)
	}
	if meta.DataFingerprint != d.Fingerprint() || snap.Epoch != 1 {
		t.Errorf("metadata: fingerprint %q epoch %d", meta.DataFingerprint, snap.Epoch)
	}
	for _, p := range [][2][]float32{{snap.RBM().W, res.Snapshot.RBM().W}, {snap.RBM().VBias, res.Snapshot.RBM().VBias}, {snap.RBM().HBias, res.Snapshot.RBM().HBias}} {
		for i := range p[0] {
			if p[0][i] != p[1][i] {
				t.Fatalf("loaded parameter %d differs: %v vs %v", i, p[0][i], p[1][i])
			}
		}
	}
}
