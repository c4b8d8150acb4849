package engine_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// Train a 16×32 RBM on bars-and-stripes with CD-1 and read the exact
// log-likelihood of the last epoch.
func ExampleTrainer_Fit() {
	train, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tr := &engine.Trainer{Config: engine.Config{
		Hidden: 32, K: 1, Epochs: 50, Batch: 10, LR: 0.1, Momentum: 0.5, Seed: 1,
	}}
	res, err := tr.Fit(context.Background(), train, nil)
	if err != nil {
		log.Fatal(err)
	}
	last := res.Metrics[len(res.Metrics)-1]
	fmt.Printf("%d epochs, model %d×%d, log-likelihood above -11: %v\n",
		last.Epoch, res.Snapshot.RBM().V, res.Snapshot.RBM().H, last.LogLikelihood > -11)
	// Output: 50 epochs, model 16×32, log-likelihood above -11: true
}

// Interrupt a run, save it, and continue it later: the result is the model
// an uninterrupted run would have produced.
func ExampleSaveSnapshot() {
	train, _ := data.Load("bas:3x3", data.LoadOptions{})
	cfg := engine.Config{Hidden: 8, Epochs: 4, Batch: 7, Seed: 2}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &engine.Trainer{Config: cfg, OnBatch: func(epoch, done, total int) {
		if epoch == 2 {
			cancel() // e.g. Ctrl-C
		}
	}}
	res, err := tr.Fit(ctx, train, nil)
	fmt.Println("stopped:", err)
	dir, path := tempDir(), ""
	path = dir + "/model.safetensors"
	if err := engine.SaveSnapshot(path, res.Snapshot, train.Fingerprint()); err != nil {
		log.Fatal(err)
	}
	snap, _, err := engine.LoadSnapshot(path)
	if err != nil {
		log.Fatal(err)
	}
	res, err = (&engine.Trainer{Config: snap.Config, Resume: snap}).Fit(context.Background(), train, nil)
	fmt.Println("resumed:", err, "epochs done:", res.Snapshot.Epoch)
	// Output:
	// stopped: context canceled
	// resumed: <nil> epochs done: 4
}

func tempDir() string {
	d, err := os.MkdirTemp("", "rbmgpu-example")
	if err != nil {
		log.Fatal(err)
	}
	return d
}
