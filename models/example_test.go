package models_test

import (
	"fmt"
	"log"

	"github.com/rbmgpu/rbmgpu/models"
)

// A freshly initialised RBM (tiny weights, zero biases) gives every binary
// vector probability ≈ 2^-V, so its log-likelihood is ≈ -V log 2.
func ExampleRBM_LogLikelihood() {
	m, err := models.NewRBM(16, 8, 42)
	if err != nil {
		log.Fatal(err)
	}
	// Two 4×4 images: a vertical bar and a horizontal bar.
	data := []float32{
		1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
		1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	ll, err := m.LogLikelihood(data, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("log-likelihood %.4f nats (-16 log 2 = %.4f)\n", ll, -16*0.6931471805599453)
	// Output:
	// log-likelihood -11.0788 nats (-16 log 2 = -11.0904)
}
