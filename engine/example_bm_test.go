package engine_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// Train a general Boltzmann machine — 9 visible and 4 hidden units, every
// pair connected — on bars-and-stripes 3×3 and compare its exact
// log-likelihood with the optimum, −log 14.
func ExampleTrainer_Fit_boltzmannMachine() {
	train, err := data.Load("bas:3x3", data.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tr := &engine.Trainer{Config: engine.Config{
		Hidden: 4, K: 1, Chains: 50, Epochs: 1000, Batch: 14, LR: 0.1, Momentum: 0.5, Seed: 1,
		EvalEvery: 1000, Schedule: engine.LinearSchedule{Final: 0},
		Model: "bm", Options: &engine.BMOptions{Lateral: models.LateralBoth, Sweeps: 3},
	}}
	res, err := tr.Fit(context.Background(), train, nil)
	if err != nil {
		log.Fatal(err)
	}
	last := res.Metrics[len(res.Metrics)-1]
	fmt.Printf("BM %d+%d units, within 0.5 nats of the optimum: %v\n",
		res.Snapshot.BM().V, res.Snapshot.BM().H, last.LogLikelihood > -math.Log(14)-0.5)
	// Output: BM 9+4 units, within 0.5 nats of the optimum: true
}
