package engine_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// fitBAS trains a 16×16 RBM on the 30 bars-and-stripes 4×4 patterns.
func fitBAS() (*engine.Snapshot, *data.Dataset) {
	train, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tr := &engine.Trainer{Config: engine.Config{Hidden: 16, Epochs: 100, Batch: 5, LR: 0.3, Momentum: 0.5, Seed: 1, ExactLLMaxUnits: -1}}
	res, err := tr.Fit(context.Background(), train, nil)
	if err != nil {
		log.Fatal(err)
	}
	return res.Snapshot, train
}

// Hidden features p(h = 1 | v) of every pattern, for a classifier: an
// N×H matrix, here computed by the CPU kernels (nil backend).
func ExampleSnapshot_Transform() {
	snap, train := fitBAS()
	h, err := snap.Transform(context.Background(), nil, nil, train.X, train.N)
	if err != nil {
		log.Fatal(err)
	}
	inRange := true
	for _, p := range h {
		inRange = inRange && p > 0 && p < 1
	}
	fmt.Printf("%d×%d features, all in (0, 1): %v\n", train.N, len(h)/train.N, inRange)
	// Output: 30×16 features, all in (0, 1): true
}

// scikit-learn's pseudo-likelihood per sample: averaged over a few seeds
// (each picks other units to flip), the training patterns score higher
// than images that are neither bars nor stripes.
func ExampleSnapshot_ScoreSamples() {
	snap, train := fitBAS()
	noise := []float32{
		1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1,
		0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0,
		1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1,
	}
	mean := func(x []float32, n int) float64 {
		var sum float64
		for seed := uint64(1); seed <= 20; seed++ {
			scores, err := snap.ScoreSamples(nil, x, n, seed)
			if err != nil {
				log.Fatal(err)
			}
			for _, s := range scores {
				sum += s / float64(20*n)
			}
		}
		return sum
	}
	fmt.Printf("data above noise: %v\n", mean(train.X, train.N) > mean(noise, 3))
	// Output: data above noise: true
}

// One Gibbs step v → h → v' per row; successive steps continue the chains.
func ExampleSnapshot_Gibbs() {
	snap, train := fitBAS()
	v := append([]float32(nil), train.X...)
	for step := uint64(0); step < 10; step++ {
		if _, err := snap.Gibbs(v, v, train.N, 7, step); err != nil {
			log.Fatal(err)
		}
	}
	binary := true
	for _, x := range v {
		binary = binary && (x == 0 || x == 1)
	}
	fmt.Printf("%d chains of %d units after 10 steps, binary: %v\n", train.N, train.D, binary)
	// Output: 30 chains of 16 units after 10 steps, binary: true
}

// Continue a trained model on new rows, one pass at a time.
func ExampleSnapshot_PartialFit() {
	snap, train := fitBAS()
	for range 3 {
		var err error
		if snap, err = snap.PartialFit(context.Background(), nil, train); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("epochs trained:", snap.Epoch)
	// Output: epochs trained: 103
}
