// Package dbn trains deep belief networks (models.DBN): greedy layer-wise
// pretraining, each layer an engine.Trainer run of an "rbm" (or, at the
// bottom, "grbm") kind, with checkpoints and bit-identical resume; then
// discriminative fine-tuning of the stack as a classifier by
// backpropagation (finetune.go: the declared step graph.MLPStep, run through
// exec.Program on the tape executor by default).
package dbn

import (
	"context"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// LayerCallback is called after every epoch of greedy pretraining with the
// 0-based index of the layer being trained and the epoch's metrics.
// Returning engine.ErrStop ends that layer's training early (the next layer then
// starts); any other error aborts pretraining.
type LayerCallback func(layer int, m engine.EpochMetrics) error

// Pretrain trains a deep belief network greedily, layer by layer
// (Hinton, Osindero & Teh 2006): sizes = [V, H_0, …, H_{L−1}] with
// V = train.D gives L RBMs; layer 0 is fitted by a engine.Trainer to train, layer
// l+1 to the hidden probabilities p(hˡ | hˡ⁻¹) of layer l on every training
// row (a new Dataset of probabilities in [0, 1]; no held-out data).
//
// cfgs holds one engine.Config for every layer, or a single engine.Config shared by all;
// engine.Config.Hidden is replaced by sizes[l+1], and layer l trains with seed
// engine.Config.Seed + l so that equally shaped layers do not start alike. backend
// nil means the engine.CPU. Each epoch's metrics go to callbacks with the layer
// index. On error (including ctx cancellation) no DBN is returned.
func Pretrain(ctx context.Context, sizes []int, cfgs []engine.Config, train *data.Dataset, backend engine.Backend, callbacks ...LayerCallback) (*models.DBN, error) {
	p := &Pretrainer{Sizes: sizes, Configs: cfgs, Backend: backend, Callbacks: callbacks}
	dbn, _, err := p.Fit(ctx, train)
	return dbn, err
}

// PretrainWithLabels is Pretrain with label units in the top RBM: the
// top layer is trained on [h^{L−2}, onehot(y)] with K = max label + 1
// one-hot label units (train.Labels required, at least 2 layers), so that
// DBN.Generate can clamp a class. The label units are ordinary Bernoulli
// visible units of the top RBM (a softmax label group, as in Hinton et al.
// 2006, is not implemented).
func PretrainWithLabels(ctx context.Context, sizes []int, cfgs []engine.Config, train *data.Dataset, backend engine.Backend, callbacks ...LayerCallback) (*models.DBN, error) {
	p := &Pretrainer{Sizes: sizes, Configs: cfgs, Labels: true, Backend: backend, Callbacks: callbacks}
	dbn, _, err := p.Fit(ctx, train)
	return dbn, err
}

// Progress is where greedy pretraining stands between two mini-batches:
// the layers finished so far, bottom first, and the snapshot of the layer
// in training (nil when the next layer has not started). It is all that a
// resumed pretraining needs besides the data and the configuration: the
// input of layer l is recomputed deterministically from the finished layers.
type Progress struct {
	Done    []*models.RBM
	Current *engine.Snapshot
	// Bottom is the Gaussian part of a finished Gaussian bottom layer
	// (Done[0] holds its weights and biases); nil otherwise.
	Bottom *models.GaussianBottom
}

// Layer returns the index of the layer in training (or to train next).
func (p *Progress) Layer() int { return len(p.Done) }

// Pretrainer is greedy layer-wise pretraining with checkpoints and
// resume; Pretrain and PretrainWithLabels are its one-call forms.
type Pretrainer struct {
	Sizes []int // [V, H_0, …, H_{L−1}], V = train.D
	// Configs holds one engine.Config per layer, or one shared by all (see
	// Pretrain). Model = "grbm" in layer 0's config makes the
	// bottom layer a Gaussian–Bernoulli RBM on the (standardised)
	// real-valued data; the layers above are Bernoulli RBMs whatever their
	// config says, since their inputs are probabilities.
	Configs []engine.Config
	Labels  bool           // label units in the top RBM (see PretrainWithLabels)
	Backend engine.Backend // nil means the engine.CPU reference backend
	// Callbacks receive every epoch's metrics with the layer index.
	Callbacks []LayerCallback
	// Checkpoint, when set, is called after every epoch of every layer
	// with the progress at that point (the layer's snapshot at the epoch's
	// end) so that the caller can save it; an error aborts pretraining.
	Checkpoint func(p *Progress) error
	// Resume, when set, continues from that progress: the finished layers
	// are kept as they are and the current layer resumes from its snapshot,
	// so the result is bit-identical to an uninterrupted run.
	Resume *Progress
}

// Fit pretrains on train. On error it returns the progress reached so far
// (with the current layer's snapshot when the error came from inside its
// training, e.g. ctx's cancellation) so that the caller can checkpoint it.
func (p *Pretrainer) Fit(ctx context.Context, train *data.Dataset) (*models.DBN, *Progress, error) {
	sizes, cfgs := p.Sizes, p.Configs
	L := len(sizes) - 1
	switch {
	case train == nil || train.N == 0 || train.D == 0:
		return nil, nil, fmt.Errorf("pretrain DBN: no training data")
	case L < 1:
		return nil, nil, fmt.Errorf("pretrain DBN: sizes %v: want [V, H_0, …] with at least one layer", sizes)
	case sizes[0] != train.D:
		return nil, nil, fmt.Errorf("pretrain DBN: sizes %v start with %d visible units, data %s has %d features", sizes, sizes[0], train.Name, train.D)
	case len(cfgs) != 1 && len(cfgs) != L:
		return nil, nil, fmt.Errorf("pretrain DBN: %d configs for %d layers, want 1 or %d", len(cfgs), L, L)
	case p.Labels && L < 2:
		return nil, nil, fmt.Errorf("pretrain DBN: label units need at least 2 layers, sizes %v give %d", sizes, L)
	}
	for l, s := range sizes[1:] {
		if s < 1 {
			return nil, nil, fmt.Errorf("pretrain DBN: sizes %v: layer %d has %d hidden units, want ≥ 1", sizes, l, s)
		}
	}
	K := 0
	if p.Labels {
		var err error
		if K, err = numClasses(train); err != nil {
			return nil, nil, fmt.Errorf("pretrain DBN: %w", err)
		}
	}
	// visibleOf is the number of visible units of layer l's RBM.
	visibleOf := func(l int) int {
		if K > 0 && l == L-1 {
			return sizes[l] + K
		}
		return sizes[l]
	}
	prog := &Progress{}
	if r := p.Resume; r != nil {
		if len(r.Done) > L || (len(r.Done) == L && r.Current != nil) {
			return nil, nil, fmt.Errorf("resume DBN: progress has %d finished layers (current %v) for %d layers", len(r.Done), r.Current != nil, L)
		}
		for l, m := range r.Done {
			if m == nil || m.V != visibleOf(l) || m.H != sizes[l+1] {
				return nil, nil, fmt.Errorf("resume DBN: finished layer %d is %s, want %d×%d", l, layerShape(m), visibleOf(l), sizes[l+1])
			}
		}
		if len(r.Done) > 0 && isGaussian(cfgs[0]) != (r.Bottom != nil) {
			return nil, nil, fmt.Errorf("resume DBN: the finished bottom layer is Gaussian: %v, the config says %v", r.Bottom != nil, isGaussian(cfgs[0]))
		}
		if c := r.Current; c != nil {
			l := len(r.Done)
			if m := c.RBM(); m == nil || m.V != visibleOf(l) || m.H != sizes[l+1] {
				return nil, nil, fmt.Errorf("resume DBN: layer %d in training is %s, want %d×%d", l, layerShape(m), visibleOf(l), sizes[l+1])
			}
		}
		prog.Done = append(prog.Done, r.Done...)
		prog.Bottom = r.Bottom
	}
	backend := p.Backend
	if backend == nil {
		backend = engine.CPU{}
	}
	in := train
	for l := 0; l < L; l++ {
		if l > 0 {
			if err := ctx.Err(); err != nil {
				return nil, prog, fmt.Errorf("pretrain DBN: after layer %d: %w", l-1, err)
			}
			one := &models.DBN{Layers: []*models.RBM{prog.Done[l-1]}}
			if l == 1 {
				one.Gaussian = prog.Bottom
			}
			h := one.Up(in.Values(), in.N)[0]
			in = &data.Dataset{Name: fmt.Sprintf("%s→h%d", train.Name, l-1), N: in.N, D: sizes[l], X: h, Labels: train.Labels}
		}
		if l < len(prog.Done) {
			continue // finished before the run was resumed
		}
		cfg := cfgs[0]
		if len(cfgs) == L {
			cfg = cfgs[l]
		}
		cfg.Hidden = sizes[l+1]
		cfg.Seed += uint64(l)
		if l > 0 && isGaussian(cfg) {
			cfg.Model, cfg.Options = engine.DefaultKind, nil
		}
		layerData := in
		if K > 0 && l == L-1 {
			layerData = withOneHot(in, K)
		}
		tr := &engine.Trainer{Config: cfg, Backend: backend}
		if p.Resume != nil && l == len(p.Resume.Done) {
			tr.Resume = p.Resume.Current
		}
		for _, cb := range p.Callbacks {
			tr.Callbacks = append(tr.Callbacks, func(m engine.EpochMetrics, _ *engine.Snapshot) error { return cb(l, m) })
		}
		if p.Checkpoint != nil {
			tr.Callbacks = append(tr.Callbacks, func(_ engine.EpochMetrics, s *engine.Snapshot) error {
				return p.Checkpoint(&Progress{Done: prog.Done, Current: s, Bottom: prog.Bottom})
			})
		}
		res, err := tr.Fit(ctx, layerData, nil)
		if err != nil {
			if res != nil {
				prog.Current = res.Snapshot
			}
			return nil, prog, fmt.Errorf("pretrain DBN: layer %d (%d×%d): %w", l, layerData.D, cfg.Hidden, err)
		}
		m := res.Snapshot.RBM()
		if g := res.Snapshot.GRBM(); g != nil {
			var err error
			if prog.Bottom, m, err = models.NewGaussianBottom(g); err != nil {
				return nil, prog, fmt.Errorf("pretrain DBN: layer 0: %w", err)
			}
		}
		prog.Done = append(prog.Done, m)
	}
	dbn := &models.DBN{Layers: prog.Done, LabelUnits: K, Gaussian: prog.Bottom}
	if err := dbn.Validate(); err != nil {
		return nil, prog, fmt.Errorf("pretrain DBN: %w", err)
	}
	return dbn, prog, nil
}

// isGaussian reports whether c trains a Gaussian–Bernoulli RBM, the one
// kind a DBN's bottom layer may have besides the RBM.
func isGaussian(c engine.Config) bool { return c.Model == models.KindGRBM }

func layerShape(m *models.RBM) string {
	if m == nil {
		return "missing"
	}
	return fmt.Sprintf("%d×%d", m.V, m.H)
}

// numClasses returns max label + 1 after checking d has valid labels.
func numClasses(d *data.Dataset) (int, error) {
	if d.Labels == nil {
		return 0, fmt.Errorf("data %s has no labels", d.Name)
	}
	if len(d.Labels) != d.N {
		return 0, fmt.Errorf("data %s has %d labels for %d samples", d.Name, len(d.Labels), d.N)
	}
	K := 0
	for i, y := range d.Labels {
		if y < 0 {
			return 0, fmt.Errorf("data %s: label %d of sample %d is negative", d.Name, y, i)
		}
		K = max(K, y+1)
	}
	if K > 1<<20 {
		return 0, fmt.Errorf("data %s: largest label %d is implausibly large", d.Name, K-1)
	}
	return K, nil
}

// withOneHot returns the rows of d followed by onehot(label) of K units.
func withOneHot(d *data.Dataset, K int) *data.Dataset {
	D := d.D + K
	out := &data.Dataset{Name: d.Name + "+labels", N: d.N, D: D, X: make([]float32, d.N*D), Labels: d.Labels}
	for i := 0; i < d.N; i++ {
		row := out.X[i*D : (i+1)*D]
		d.RowTo(row, i)
		row[d.D+d.Labels[i]] = 1
	}
	return out
}
