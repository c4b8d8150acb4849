package engine_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// Train a Gaussian–Bernoulli RBM on real-valued data — two clusters in
// four dimensions, in arbitrary units — with learned variances. The trainer
// standardises the data (the scale is kept in the model); the exact
// log-likelihood (hidden units enumerated) ends near the two-cluster
// optimum, about −6.4 nats, far above the best diagonal Gaussian's −12.2;
// samples come back in data units. Learned variances get small (here σ ≈
// 0.2 in standardised units), and the model's mixture weights then swing
// with every noisy update, so the learning rate decays to 0.
func ExampleTrainer_Fit_gaussian() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dims = 1000, 4
	x := make([]float32, n*dims)
	for r := 0; r < n; r++ {
		centre := float64(10 * (r % 2)) // clusters at 0 and 10 in every dimension
		for i := 0; i < dims; i++ {
			x[r*dims+i] = float32(100 + centre + rng.NormFloat64())
		}
	}
	train := &data.Dataset{Name: "two clusters", N: n, D: dims, X: x}
	tr := &engine.Trainer{Config: engine.Config{
		Model: "grbm", Options: &engine.GRBMOptions{LearnVariance: true},
		Hidden: 2, K: 1, Persistent: true, Epochs: 60, Batch: 20, LR: 0.01, Schedule: engine.LinearSchedule{Final: 0},
		Momentum: 0.5, Seed: 1, EvalEvery: 60,
	}}
	res, err := tr.Fit(context.Background(), train, nil)
	if err != nil {
		log.Fatal(err)
	}
	g := res.Snapshot.GRBM() // *models.GRBM: W, b, c, log σ², and the data's mean and scale
	last := res.Metrics[len(res.Metrics)-1]
	fmt.Printf("Gaussian RBM %d×%d, log-likelihood above -7: %v\n", g.V, g.H, last.LogLikelihood > -7)
	v := make([]float32, dims) // one chain, standardised units
	if err := g.Gibbs(v, 1, 100, 7, 0, true); err != nil {
		log.Fatal(err)
	}
	g.Unstandardise(v)
	fmt.Printf("a sample lies near a cluster centre: %v\n", near(v[0], 100) || near(v[0], 110))
	// Output:
	// Gaussian RBM 4×2, log-likelihood above -7: true
	// a sample lies near a cluster centre: true
}

func near(a, b float32) bool { return a > b-3 && a < b+3 }
