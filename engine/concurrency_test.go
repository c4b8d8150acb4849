package engine

import (
	"context"
	"sync"
	"testing"
)

// The engine may be used from several goroutines at once on different
// models: each Fit owns its program (and, on the CPU, its own host driver),
// so concurrent runs produce exactly what the same runs produce one after
// another. Run with -race in CI.
func TestConcurrentTrainers(t *testing.T) {
	d := bas(t, 3, 4)
	cfgs := []Config{
		{Hidden: 8, K: 1, Epochs: 4, Batch: 5, Seed: 1},
		{Hidden: 12, K: 2, Persistent: true, Chains: 6, Epochs: 4, Batch: 4, Seed: 2},
		{Hidden: 5, K: 1, Epochs: 4, Batch: 11, Seed: 3, SparsityTarget: 0.1, SparsityCost: 0.1},
		{Hidden: 8, K: 3, Epochs: 4, Batch: 7, Seed: 4},
	}
	want := make([][]float32, len(cfgs))
	for i, c := range cfgs {
		res, err := (&Trainer{Config: c}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Snapshot.RBM().W
	}
	got := make([][]float32, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, c := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			backend := Backend(nil)
			if i%2 == 1 {
				backend = CPU{} // the reference backend concurrently too
			}
			res, err := (&Trainer{Config: c, Backend: backend}).Fit(context.Background(), d, nil)
			if err != nil {
				errs[i] = err
				return
			}
			got[i] = res.Snapshot.RBM().W
		}()
	}
	wg.Wait()
	for i := range cfgs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if i%2 == 1 {
			continue // other backend: compared for equality only with itself below
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("config %d: concurrent W[%d] = %v, sequential %v", i, j, got[i][j], want[i][j])
			}
		}
	}
	// The reference backend, run concurrently, against itself sequentially.
	for i := 1; i < len(cfgs); i += 2 {
		res, err := (&Trainer{Config: cfgs[i], Backend: CPU{}}).Fit(context.Background(), d, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range res.Snapshot.RBM().W {
			if got[i][j] != res.Snapshot.RBM().W[j] {
				t.Fatalf("config %d (cpu-tape): concurrent W[%d] = %v, sequential %v", i, j, got[i][j], res.Snapshot.RBM().W[j])
			}
		}
	}
}
