package models_test

import (
	"fmt"
	"log"
	"math"

	"github.com/rbmgpu/rbmgpu/models"
)

// A restricted Boltzmann machine written as a general BM (no lateral
// weights) defines the same distribution: the same exact log-likelihood.
// Adding a lateral weight changes it.
func ExampleFromRBM() {
	r, err := models.NewRBM(4, 3, 1)
	if err != nil {
		log.Fatal(err)
	}
	for i := range r.W {
		r.W[i] *= 100 // weights of order 1
	}
	x := []float32{1, 0, 1, 1, 0, 1, 1, 0}
	llRBM, _ := r.LogLikelihood(x, 2)
	bm := models.FromRBM(r)
	llBM, _ := bm.LogLikelihood(x, 2)
	fmt.Printf("RBM and restricted BM agree: %v\n", math.Abs(llRBM-llBM) < 1e-9)

	n := bm.N()
	bm.Mask[0*n+1], bm.Mask[1*n+0] = 1, 1 // connect visible units 0 and 1
	bm.W[0*n+1], bm.W[1*n+0] = -2, -2
	llLateral, _ := bm.LogLikelihood(x, 2)
	fmt.Printf("a lateral weight changes the model: %v\n", llLateral != llBM)
	// Output:
	// RBM and restricted BM agree: true
	// a lateral weight changes the model: true
}
