package main

import (
	"fmt"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// runClock splits the wall time of one `train` run into the parts its
// last line reports: loading the data (reading, preprocessing, the split),
// the epochs' mini-batches, the evaluations (the trainer's and the CLI's
// after each epoch: Pearson statistics, pictures), the checkpoint writes, and
// the rest (setting up the model and the step, metrics, progress).
type runClock struct {
	start                   time.Time
	load, train, eval, save time.Duration
	epochs                  int
	storage                 string // how the training data are held, e.g. "uint8, 47.0 MB"
}

// loaded records the load, which began at c.start, as finished now.
func (c *runClock) loaded(train *data.Dataset) {
	c.load = time.Since(c.start)
	if train != nil {
		c.storage = fmt.Sprintf("%s, %.1f MB", train.Storage(), float64(train.StorageBytes())/1e6)
	}
}

// epoch adds an epoch's mini-batch and evaluation times.
func (c *runClock) epoch(m engine.EpochMetrics) {
	c.epochs++
	c.train += time.Duration(m.Seconds * float64(time.Second))
	c.eval += time.Duration(m.EvalSeconds * float64(time.Second))
}

// evaluated times eval, the CLI's own work after an epoch (a Potts run's
// Pearson statistics, --png pictures), as evaluation, and returns its error.
func (c *runClock) evaluated(eval func() error) error {
	t := time.Now()
	err := eval()
	c.eval += time.Since(t)
	return err
}

// saved times write, a checkpoint write, and returns its error.
func (c *runClock) saved(write func() error) error {
	t := time.Now()
	err := write()
	c.save += time.Since(t)
	return err
}

// summary is the run's last line, e.g. "time: load 0.31 s (uint8, 47.0 MB),
// 1 epoch 1.72 s, evaluation 0.05 s, checkpoints 0.02 s, other 0.12 s,
// total 2.22 s".
func (c *runClock) summary() string {
	total := time.Since(c.start)
	other := total - c.load - c.train - c.eval - c.save
	epochs := "epochs"
	if c.epochs == 1 {
		epochs = "epoch"
	}
	s := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	return fmt.Sprintf("time: load %s (%s), %d %s %s, evaluation %s, checkpoints %s, other %s, total %s",
		s(c.load), c.storage, c.epochs, epochs, s(c.train), s(c.eval), s(c.save), s(other), s(total))
}
