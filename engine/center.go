package engine

import (
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Centred gradients (Config.Centered; graph.BuildCenteredStep has the
// maths). A kind that can train centred implements CenteringKind; the
// others refuse Config.Centered in Validate.
//
// Offsets: μ starts at the training data's mean and λ at 0.5 (the mean
// activation of hidden units whose weights start near zero), as in
// Melchior, Fischer & Wiskott (2016, Algorithm 1); both then follow
// exponential running averages of the positive phase at rate ν =
// Config.CenterRate (default graph.DefaultCenterRate = 0.01). The model
// parameters are always the ordinary (folded) ones, so a centred
// checkpoint is an ordinary model; the offsets are training state
// (graph.NameOffsetV, graph.NameOffsetH), saved for a bit-exact resume.

// CenteringKind is a Kind that trains with centred gradients when
// Config.Centered is set.
type CenteringKind interface {
	Kind
	// CenteredDefault is whether the CLI trains this kind centred when
	// --centered is not given: the one place to flip the default.
	CenteredDefault() bool
}

// CenteredDefault reports whether runs of the kind named kind are centred
// unless told otherwise (false for a kind without centring or unknown).
func CenteredDefault(kind string) bool {
	k, err := LookupKind(kind)
	if err != nil {
		return false
	}
	ck, ok := k.(CenteringKind)
	return ok && ck.CenteredDefault()
}

// CanCenter reports whether the kind named kind trains centred.
func CanCenter(kind string) bool {
	k, err := LookupKind(kind)
	if err != nil {
		return false
	}
	_, ok := k.(CenteringKind)
	return ok
}

// centerDefaults sets the offset rate of a centred config.
func (c *Config) centerDefaults() {
	if c.Centered && c.CenterRate == 0 {
		c.CenterRate = graph.DefaultCenterRate
	}
}

// validateCentering reports a centred config of a kind without centring,
// a rate outside (0, 1], and a rate without centring.
func (c Config) validateCentering(k Kind) error {
	if !c.Centered {
		if c.CenterRate != 0 {
			return fmt.Errorf("offset rate %v is set, but centring is off", c.CenterRate)
		}
		return nil
	}
	if _, ok := k.(CenteringKind); !ok {
		return fmt.Errorf("model %s has no centred gradients (centring applies to rbm, bm and the DBN's RBM layers)", k.Name())
	}
	if !(c.CenterRate > 0 && c.CenterRate <= 1) {
		return fmt.Errorf("offset rate = %v, want a value in (0, 1]", c.CenterRate)
	}
	return nil
}

// centerTensors returns the initial offsets of a centred run on train:
// μ the data mean (float64 sums, rounded once), λ = 0.5.
func centerTensors(train *data.Dataset, H int) map[string][]float32 {
	mean := train.ColumnSums()
	mu := make([]float32, train.D)
	for j := range mu {
		mu[j] = float32(mean[j] / float64(train.N))
	}
	lambda := make([]float32, H)
	for j := range lambda {
		lambda[j] = 0.5
	}
	return map[string][]float32{graph.NameOffsetV: mu, graph.NameOffsetH: lambda}
}

// checkCenterResume reports a snapshot whose offsets do not fit c: a
// centred config needs them (V values of offset_v, H of offset_h; H < 0:
// a kind without offset_h, the BM), a plain one must not have them.
func checkCenterResume(c Config, s *Snapshot, V, H int) error {
	mu, okV := s.Tensors[graph.NameOffsetV]
	lambda, okH := s.Tensors[graph.NameOffsetH]
	if H < 0 {
		if okH {
			return fmt.Errorf("the checkpoint has hidden offsets %s, which this kind has not", graph.NameOffsetH)
		}
		okH, H = okV, 0
	}
	switch {
	case c.Centered && (!okV || !okH):
		return fmt.Errorf("the checkpoint was not trained with centred gradients (no %s, %s), the config is centred", graph.NameOffsetV, graph.NameOffsetH)
	case !c.Centered && (okV || okH):
		return fmt.Errorf("the checkpoint was trained with centred gradients, the config is not centred")
	case c.Centered && (len(mu) != V || len(lambda) != H):
		return fmt.Errorf("checkpoint offsets have %d and %d values, want %d and %d", len(mu), len(lambda), V, H)
	}
	for _, x := range [][]float32{mu, lambda} {
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("checkpoint offset [%d] = %v is not finite", i, v)
			}
		}
	}
	return nil
}

// bmCenterTensors returns the initial offsets of a centred BM on train
// with H hidden units: the data mean for the visible units, 0.5 for the
// hidden ones (one offset_v of V+H values).
func bmCenterTensors(train *data.Dataset, H int) []float32 {
	t := centerTensors(train, H)
	return append(t[graph.NameOffsetV], t[graph.NameOffsetH]...)
}

// centerState moves the offsets of a centred checkpoint from extra into t
// (nothing when the checkpoint has none).
func centerState(path string, t map[string][]float32, extra map[string]safetensors.Tensor, V, H int) error {
	for _, o := range []struct {
		name string
		n    int
	}{{graph.NameOffsetV, V}, {graph.NameOffsetH, H}} {
		x, err := extraTensor(path, extra, o.name, o.n)
		if err != nil {
			return err
		}
		if x != nil {
			t[o.name] = x
		}
	}
	return nil
}
