package ais_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/ais"
	"github.com/rbmgpu/rbmgpu/models"
)

// Estimate log Z of a 12×8 RBM by AIS on the default CPU backend (kernel
// launches on the host driver) and compare it with the exact value.
func ExampleEstimate() {
	m := randomRBM(12, 8, 0.5, 2)
	exact, err := m.LogZ()
	if err != nil {
		log.Fatal(err)
	}
	r, err := ais.Estimate(context.Background(), engine.Host(), m, models.AISConfig{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d runs × %d steps; within 0.05 nats of the exact log Z: %v\n", r.Runs, r.Steps, math.Abs(r.LogZ-exact) < 0.05)
	// Output: 100 runs × 14500 steps; within 0.05 nats of the exact log Z: true
}
