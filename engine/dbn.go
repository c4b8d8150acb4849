package engine

import (
	"context"
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/models"
)

// LayerCallback is called after every epoch of greedy pretraining with the
// 0-based index of the layer being trained and the epoch's metrics.
// Returning ErrStop ends that layer's training early (the next layer then
// starts); any other error aborts pretraining.
type LayerCallback func(layer int, m EpochMetrics) error

// PretrainDBN trains a deep belief network greedily, layer by layer
// (Hinton, Osindero & Teh 2006): sizes = [V, H_0, …, H_{L−1}] with
// V = train.D gives L RBMs; layer 0 is fitted by a Trainer to train, layer
// l+1 to the hidden probabilities p(hˡ | hˡ⁻¹) of layer l on every training
// row (a new Dataset of probabilities in [0, 1]; no held-out data).
//
// cfgs holds one Config for every layer, or a single Config shared by all;
// Config.Hidden is replaced by sizes[l+1], and layer l trains with seed
// Config.Seed + l so that equally shaped layers do not start alike. backend
// nil means the CPU. Each epoch's metrics go to callbacks with the layer
// index. On error (including ctx cancellation) no DBN is returned.
func PretrainDBN(ctx context.Context, sizes []int, cfgs []Config, train *data.Dataset, backend Backend, callbacks ...LayerCallback) (*models.DBN, error) {
	return pretrainDBN(ctx, sizes, cfgs, train, backend, false, callbacks)
}

// PretrainDBNWithLabels is PretrainDBN with label units in the top RBM: the
// top layer is trained on [h^{L−2}, onehot(y)] with K = max label + 1
// one-hot label units (train.Labels required, at least 2 layers), so that
// DBN.Generate can clamp a class. The label units are ordinary Bernoulli
// visible units of the top RBM (a softmax label group, as in Hinton et al.
// 2006, is not implemented).
func PretrainDBNWithLabels(ctx context.Context, sizes []int, cfgs []Config, train *data.Dataset, backend Backend, callbacks ...LayerCallback) (*models.DBN, error) {
	return pretrainDBN(ctx, sizes, cfgs, train, backend, true, callbacks)
}

func pretrainDBN(ctx context.Context, sizes []int, cfgs []Config, train *data.Dataset, backend Backend, withLabels bool, callbacks []LayerCallback) (*models.DBN, error) {
	L := len(sizes) - 1
	switch {
	case train == nil || train.N == 0 || train.D == 0:
		return nil, fmt.Errorf("pretrain DBN: no training data")
	case L < 1:
		return nil, fmt.Errorf("pretrain DBN: sizes %v: want [V, H_0, …] with at least one layer", sizes)
	case sizes[0] != train.D:
		return nil, fmt.Errorf("pretrain DBN: sizes %v start with %d visible units, data %s has %d features", sizes, sizes[0], train.Name, train.D)
	case len(cfgs) != 1 && len(cfgs) != L:
		return nil, fmt.Errorf("pretrain DBN: %d configs for %d layers, want 1 or %d", len(cfgs), L, L)
	case withLabels && L < 2:
		return nil, fmt.Errorf("pretrain DBN: label units need at least 2 layers, sizes %v give %d", sizes, L)
	}
	for l, s := range sizes[1:] {
		if s < 1 {
			return nil, fmt.Errorf("pretrain DBN: sizes %v: layer %d has %d hidden units, want ≥ 1", sizes, l, s)
		}
	}
	K := 0
	if withLabels {
		var err error
		if K, err = numClasses(train); err != nil {
			return nil, fmt.Errorf("pretrain DBN: %w", err)
		}
	}
	if backend == nil {
		backend = CPU{}
	}
	dbn := &models.DBN{LabelUnits: K}
	in := train
	for l := 0; l < L; l++ {
		cfg := cfgs[0]
		if len(cfgs) == L {
			cfg = cfgs[l]
		}
		cfg.Hidden = sizes[l+1]
		cfg.Seed += uint64(l)
		layerData := in
		if K > 0 && l == L-1 {
			layerData = withOneHot(in, K)
		}
		tr := &Trainer{Config: cfg, Backend: backend}
		for _, cb := range callbacks {
			tr.Callbacks = append(tr.Callbacks, func(m EpochMetrics, _ *Snapshot) error { return cb(l, m) })
		}
		res, err := tr.Fit(ctx, layerData, nil)
		if err != nil {
			return nil, fmt.Errorf("pretrain DBN: layer %d (%d×%d): %w", l, layerData.D, cfg.Hidden, err)
		}
		dbn.Layers = append(dbn.Layers, res.Model)
		if l == L-1 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pretrain DBN: after layer %d: %w", l, err)
		}
		one := &models.DBN{Layers: []*models.RBM{res.Model}}
		h := one.Up(in.X, in.N)[0]
		in = &data.Dataset{Name: fmt.Sprintf("%s→h%d", train.Name, l), N: in.N, D: res.Model.H, X: h, Labels: train.Labels}
	}
	if err := dbn.Validate(); err != nil {
		return nil, fmt.Errorf("pretrain DBN: %w", err)
	}
	return dbn, nil
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
		copy(row, d.Row(i))
		row[d.D+d.Labels[i]] = 1
	}
	return out
}
