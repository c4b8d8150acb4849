package dbn_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/models"
)

// Greedy pretraining interrupted anywhere — inside the first, a middle or
// the top layer, at an epoch boundary, with CD or PCD, with or without
// label units — and resumed from checkpoint files (SaveSnapshot for every
// layer, then LoadSnapshot) gives a DBN bit-identical to an uninterrupted
// run.
func TestPretrainDBNResumeIsBitIdentical(t *testing.T) {
	train, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	train.Labels = make([]int, train.N)
	for i := range train.Labels {
		train.Labels[i] = i % 3
	}
	sizes := []int{16, 12, 10, 8}
	for _, tc := range []struct {
		name       string
		cfg        engine.Config
		labels     bool
		layer, at  int // interrupt after epoch `at` of this layer
		backend    engine.Backend
		backendTag string
	}{
		{"CD layer0", engine.Config{Epochs: 5, Batch: 8, LR: 0.1, Momentum: 0.5, Seed: 3, ExactLLMaxUnits: -1}, false, 0, 2, nil, "tape"},
		{"CD layer1 host", engine.Config{Epochs: 5, Batch: 8, LR: 0.1, Momentum: 0.5, Seed: 3, ExactLLMaxUnits: -1}, false, 1, 4, engine.Host(), "host"},
		{"PCD top labels", engine.Config{Epochs: 4, Batch: 6, K: 2, Persistent: true, Chains: 5, LR: 0.05, Momentum: 0.9, Seed: 7, ExactLLMaxUnits: -1}, true, 2, 1, nil, "tape"},
		{"PCD layer0 last epoch", engine.Config{Epochs: 4, Batch: 6, Persistent: true, LR: 0.05, Seed: 9, ExactLLMaxUnits: -1}, false, 0, 4, engine.Host(), "host"},
		{"Gaussian bottom layer0", engine.Config{Epochs: 4, Batch: 6, LR: 0.01, Seed: 5, ExactLLMaxUnits: -1,
			Model: "grbm", Options: &engine.GRBMOptions{LearnVariance: true}}, false, 0, 2, nil, "tape"},
		{"Gaussian bottom layer1 host", engine.Config{Epochs: 4, Batch: 6, LR: 0.01, Seed: 5, ExactLLMaxUnits: -1,
			Model: "grbm", Options: &engine.GRBMOptions{LearnVariance: true}}, false, 1, 3, engine.Host(), "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := &dbn.Pretrainer{Sizes: sizes, Configs: []engine.Config{tc.cfg}, Labels: tc.labels, Backend: tc.backend}
			want, _, err := full.Fit(context.Background(), train)
			if err != nil {
				t.Fatal(err)
			}
			if (want.Gaussian != nil) != (tc.cfg.Model == "grbm") {
				t.Fatalf("Gaussian bottom: %v, config %q", want.Gaussian != nil, tc.cfg.Model)
			}
			dir := t.TempDir()
			file := func(l int) string { return filepath.Join(dir, fmt.Sprintf("layer%d.safetensors", l)) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := &dbn.Pretrainer{Sizes: sizes, Configs: []engine.Config{tc.cfg}, Labels: tc.labels, Backend: tc.backend,
				Checkpoint: func(p *dbn.Progress) error {
					if err := engine.SaveSnapshot(file(p.Layer()), p.Current, "fp"); err != nil {
						return err
					}
					if p.Layer() == tc.layer && p.Current.Epoch == tc.at {
						cancel()
					}
					return nil
				}}
			_, prog, err := first.Fit(ctx, train)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			if prog.Layer() != tc.layer && !(tc.at == tc.cfg.Epochs && prog.Layer() == tc.layer+1) {
				t.Fatalf("stopped in layer %d, want %d", prog.Layer(), tc.layer)
			}
			// Rebuild the progress from the files alone.
			resume := &dbn.Progress{}
			for l := 0; l < len(sizes)-1; l++ {
				s, _, err := engine.LoadSnapshot(file(l))
				if err != nil {
					break
				}
				if s.Epoch == tc.cfg.Epochs && s.Batch == 0 {
					m := s.RBM()
					if g := s.GRBM(); g != nil {
						if resume.Bottom, m, err = models.NewGaussianBottom(g); err != nil {
							t.Fatal(err)
						}
					}
					resume.Done = append(resume.Done, m)
					continue
				}
				resume.Current = s
				break
			}
			epochs := 0
			count := func(int, engine.EpochMetrics) error { epochs++; return nil }
			second := &dbn.Pretrainer{Sizes: sizes, Configs: []engine.Config{tc.cfg}, Labels: tc.labels, Backend: tc.backend,
				Resume: resume, Callbacks: []dbn.LayerCallback{count}}
			got, _, err := second.Fit(context.Background(), train)
			if err != nil {
				t.Fatal(err)
			}
			// The resumed run trains only what was left, so the
			// snapshot was used, not a fresh start of the layer.
			if left := (len(sizes)-1-tc.layer)*tc.cfg.Epochs - tc.at; epochs != left {
				t.Errorf("resumed run trained %d epochs, want %d", epochs, left)
			}
			for l := range want.Layers {
				w, g := want.Layers[l], got.Layers[l]
				if !slices.Equal(w.W, g.W) || !slices.Equal(w.VBias, g.VBias) || !slices.Equal(w.HBias, g.HBias) {
					t.Errorf("layer %d differs after resume (%s)", l, tc.backendTag)
				}
			}
			if (want.Gaussian == nil) != (got.Gaussian == nil) || (want.Gaussian != nil &&
				(!slices.Equal(want.Gaussian.LogVar, got.Gaussian.LogVar) || !slices.Equal(want.Gaussian.DataStd, got.Gaussian.DataStd))) {
				t.Errorf("Gaussian bottom differs after resume (%s)", tc.backendTag)
			}
			if got.LabelUnits != want.LabelUnits {
				t.Errorf("label units %d, want %d", got.LabelUnits, want.LabelUnits)
			}
		})
	}
}

// Resume progress that does not fit the sizes is an error, not a panic.
func TestPretrainDBNResumeMismatch(t *testing.T) {
	train, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.NewRBM(16, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{Epochs: 2, Batch: 10, ExactLLMaxUnits: -1}
	for _, r := range []*dbn.Progress{
		{Done: []*models.RBM{m}},         // wrong H
		{Done: []*models.RBM{nil}},       // missing layer
		{Current: engine.RBMSnapshot(m)}, // wrong current layer
		{Done: []*models.RBM{m, m, m}},   // too many layers
	} {
		p := &dbn.Pretrainer{Sizes: []int{16, 8, 4}, Configs: []engine.Config{cfg}, Resume: r}
		if _, _, err := p.Fit(context.Background(), train); err == nil {
			t.Errorf("resume %+v: no error", r)
		}
	}
}
