package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Philox op ids of the streams drawn by DBN.Generate (see kernels.Stream).
const (
	// OpDBNGenInit draws the random start of the top RBM's chains: element
	// r·V+i for visible unit i of chain r, Step 0.
	OpDBNGenInit uint32 = 0xDB00
	// OpDBNGenHidden draws the hidden samples of sweep t (Step t).
	OpDBNGenHidden uint32 = 0xDB01
	// OpDBNGenVisible draws the visible samples of sweep t (Step t).
	OpDBNGenVisible uint32 = 0xDB02
)

// DBN is a deep belief network (Hinton, Osindero & Teh 2006): a stack of
// L ≥ 1 Bernoulli RBMs trained greedily, layer l on the hidden
// probabilities of layer l−1,
//
//	h⁰ = x,   hˡ⁺¹ = p(hˡ⁺¹ = 1 | hˡ) = σ(hˡ Wˡ + cˡ),   l = 0 … L−1,
//
// so Layers[l].H == Layers[l+1].V. The generative model is the top RBM (an
// undirected associative memory over h^{L−1}) with directed sigmoid
// connections p(hˡ | hˡ⁺¹) = σ(hˡ⁺¹ Wˡᵀ + bˡ) down to the data.
//
// Label units (optional, LabelUnits = K > 0, needs L ≥ 2): the top RBM is
// then trained on the concatenation [h^{L−1}, onehot(y)], so
// Layers[L−1].V == Layers[L−2].H + K and the last K rows of the top W couple
// the labels to the top hidden units. Generate can clamp them to draw
// samples of one class. The recognition pass (Up, the classifier) feeds
// zeros to the label units, i.e. it uses only the first Layers[L−2].H rows
// of the top W.
//
// Classifier head (set by discriminative fine-tuning, else nil): the DBN's
// recognition weights read as a sigmoid MLP followed by a softmax layer,
//
//	p(y = k | x) = softmax(h^L OutW + OutB)_k,  OutW: H_top×Classes row-major, OutB: Classes.
type DBN struct {
	Layers     []*RBM
	LabelUnits int // K one-hot label units in the top RBM's visible layer, 0 for none
	// Gaussian, when set, makes Layers[0] the Bernoulli part of a
	// Gaussian–Bernoulli RBM on real-valued data (see GaussianBottom;
	// needs L ≥ 2). nil: binary data or probabilities in [0, 1].
	Gaussian *GaussianBottom

	Classes int       // number of classes of the classifier head, 0 without one
	OutW    []float32 // H_top×Classes, row-major
	OutB    []float32 // Classes
}

// NewDBN returns a DBN of the given layers (not copied) with labelUnits
// label units in the top RBM, after checking that the sizes chain.
func NewDBN(layers []*RBM, labelUnits int) (*DBN, error) {
	d := &DBN{Layers: layers, LabelUnits: labelUnits}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Validate checks every layer (sizes, finiteness), that the layers chain
// (Layers[l].H == Layers[l+1].V, plus LabelUnits at the top) and that the
// classifier head, when present, has shapes H_top×Classes and Classes and
// finite values. The error names the first offending layer or tensor.
func (d *DBN) Validate() error {
	if d == nil {
		return errors.New("DBN is nil")
	}
	L := len(d.Layers)
	if L == 0 {
		return errors.New("DBN has no layers")
	}
	if d.LabelUnits < 0 {
		return fmt.Errorf("DBN label units = %d, want ≥ 0", d.LabelUnits)
	}
	if d.LabelUnits > 0 && L < 2 {
		return fmt.Errorf("DBN with %d label units needs at least 2 layers, has %d", d.LabelUnits, L)
	}
	if d.Gaussian != nil {
		if L < 2 {
			return errors.New("DBN with a Gaussian bottom needs at least 2 layers (one layer is a Gaussian RBM)")
		}
		if err := d.Gaussian.validate(d.Layers[0].V); err != nil {
			return err
		}
	}
	for l, m := range d.Layers {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("DBN layer %d: %w", l, err)
		}
		if l == 0 {
			continue
		}
		want := d.Layers[l-1].H
		if l == L-1 {
			want += d.LabelUnits
		}
		if m.V != want {
			if d.LabelUnits > 0 && l == L-1 {
				return fmt.Errorf("DBN layer %d has %d visible units, want %d = layer %d's %d hidden + %d label units", l, m.V, want, l-1, d.Layers[l-1].H, d.LabelUnits)
			}
			return fmt.Errorf("DBN layer %d has %d visible units, layer %d has %d hidden units", l, m.V, l-1, d.Layers[l-1].H)
		}
	}
	if d.Classes == 0 && d.OutW == nil && d.OutB == nil {
		return nil
	}
	H := d.TopHidden()
	switch {
	case d.Classes < 1:
		return fmt.Errorf("DBN classifier: classes = %d, want ≥ 1", d.Classes)
	case len(d.OutW) != H*d.Classes:
		return fmt.Errorf("DBN classifier: W has %d elements, want %d×%d", len(d.OutW), H, d.Classes)
	case len(d.OutB) != d.Classes:
		return fmt.Errorf("DBN classifier: b has %d elements, want %d", len(d.OutB), d.Classes)
	}
	if i := firstNonFinite(d.OutW); i >= 0 {
		return fmt.Errorf("DBN classifier: W[%d] = %v is not finite", i, d.OutW[i])
	}
	if i := firstNonFinite(d.OutB); i >= 0 {
		return fmt.Errorf("DBN classifier: b[%d] = %v is not finite", i, d.OutB[i])
	}
	return nil
}

// Sizes returns the unit counts of the recognition stack,
// [Layers[0].V, Layers[0].H, …, Layers[L−1].H] (label units excluded).
func (d *DBN) Sizes() []int {
	s := []int{d.Layers[0].V}
	for _, m := range d.Layers {
		s = append(s, m.H)
	}
	return s
}

// Visible returns V, the number of input units (Layers[0].V).
func (d *DBN) Visible() int { return d.Layers[0].V }

// TopHidden returns the number of hidden units of the top layer.
func (d *DBN) TopHidden() int { return d.Layers[len(d.Layers)-1].H }

// HasClassifier reports whether the DBN carries a classifier head.
func (d *DBN) HasClassifier() bool { return d.Classes > 0 }

// Clone returns a deep copy of d.
func (d *DBN) Clone() *DBN {
	// append to nil keeps a nil head nil.
	c := &DBN{LabelUnits: d.LabelUnits, Classes: d.Classes, Gaussian: d.Gaussian.clone(),
		OutW: append([]float32(nil), d.OutW...), OutB: append([]float32(nil), d.OutB...)}
	for _, m := range d.Layers {
		c.Layers = append(c.Layers, m.Clone())
	}
	return c
}

// Up runs the recognition pass on the n rows of x (n×V) and returns the
// hidden probabilities of every layer: out[l] is n×Layers[l].H with
//
//	out[0] = σ(x W⁰ + c⁰),   out[l] = σ(out[l−1] Wˡ + cˡ)
//
// (label units of the top layer, if any, are fed zeros; with a Gaussian
// bottom x is first standardised and scaled, see BottomInput). Products
// run as float32 GEMMs (gonum). It panics if len(x) < n·V, like
// RBM.HiddenProbs.
func (d *DBN) Up(x []float32, n int) [][]float32 {
	out := make([][]float32, len(d.Layers))
	in := d.BottomInput(nil, x, n)
	for l, m := range d.Layers {
		out[l] = affineSigmoid(nil, in, n, d.inputsOf(l), m.W, m.HBias, m.H)
		in = out[l]
	}
	return out
}

// inputsOf returns the number of recognition inputs of layer l: its V minus
// the label units at the top.
func (d *DBN) inputsOf(l int) int {
	if l == len(d.Layers)-1 {
		return d.Layers[l].V - d.LabelUnits
	}
	return d.Layers[l].V
}

// affineSigmoid writes σ(x W[:in] + c) into dst (n×out, allocated when too
// short) for x n×in and the first in rows of the row-major W (≥ in×out).
func affineSigmoid(dst, x []float32, n, in int, W, c []float32, out int) []float32 {
	dst = affine(dst, x, n, in, W, c, out)
	for k, a := range dst {
		dst[k] = Sigmoid32(a)
	}
	return dst
}

// affine writes x W[:in] + c (n×out) into dst, allocated when too short.
func affine(dst, x []float32, n, in int, W, c []float32, out int) []float32 {
	if len(dst) < n*out {
		dst = make([]float32, n*out)
	}
	dst = dst[:n*out]
	for r := 0; r < n; r++ {
		copy(dst[r*out:(r+1)*out], c)
	}
	if n == 0 || in == 0 {
		return dst
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: in, Stride: in, Data: x[:n*in]},
		blas32.General{Rows: in, Cols: out, Stride: out, Data: W[:in*out]},
		1, blas32.General{Rows: n, Cols: out, Stride: out, Data: dst})
	return dst
}

// Logits returns the classifier's pre-softmax scores z = h^L OutW + OutB
// (n×Classes) for the n rows of x (n×V). It fails without a classifier head
// or when x is too short.
func (d *DBN) Logits(x []float32, n int) ([]float32, error) {
	if !d.HasClassifier() {
		return nil, errors.New("DBN logits: the DBN has no classifier head (fine-tune it first)")
	}
	if n < 0 || len(x) < n*d.Visible() {
		return nil, fmt.Errorf("DBN logits: x has %d values, %d rows of %d need %d", len(x), n, d.Visible(), n*d.Visible())
	}
	hs := d.Up(x, n)
	return affine(nil, hs[len(hs)-1], n, d.TopHidden(), d.OutW, d.OutB, d.Classes), nil
}

// Predict returns the most probable class, argmax_k p(y = k | x_r), for each
// of the n rows of x (n×V); ties go to the smaller k.
func (d *DBN) Predict(x []float32, n int) ([]int, error) {
	z, err := d.Logits(x, n)
	if err != nil {
		return nil, err
	}
	C := d.Classes
	pred := make([]int, n)
	for r := range pred {
		row := z[r*C : (r+1)*C]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		pred[r] = best
	}
	return pred, nil
}

// Generate draws n samples from the DBN's generative model and returns
// their visible probabilities (n×V):
//
//  1. the top RBM's n chains start from uniform random binary states
//     (kernels.Stream{seed, OpDBNGenInit}); with label ≥ 0 its label units
//     are clamped to onehot(label);
//  2. steps sweeps of block Gibbs sampling h ~ p(h|v), v ~ p(v|h) in the top
//     RBM (sweep t draws from Op OpDBNGenHidden / OpDBNGenVisible, Step t;
//     clamped label units are reset after every visible draw, unclamped ones
//     are sampled as independent Bernoulli units, as they were trained);
//  3. a deterministic down-pass through the lower layers from the top RBM's
//     last binary visible state h^{L−1}: hˡ = p(hˡ | hˡ⁺¹) = σ(hˡ⁺¹ Wˡᵀ + bˡ),
//     returning p(x | h¹) — for a Gaussian bottom the mean b + W h¹ of
//     p(x | h¹) in data units. A one-layer DBN returns p(v | h) of the last
//     sweep.
//
// label = −1 samples freely; label ≥ 0 needs LabelUnits > label. The result
// is a pure function of (d, n, steps, seed, label).
func (d *DBN) Generate(n, steps int, seed uint64, label int) ([]float32, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("DBN generate: %w", err)
	}
	switch {
	case n < 1:
		return nil, fmt.Errorf("DBN generate: n = %d samples, want ≥ 1", n)
	case steps < 1:
		return nil, fmt.Errorf("DBN generate: steps = %d, want ≥ 1", steps)
	case label < -1:
		return nil, fmt.Errorf("DBN generate: label = %d, want −1 (none) or a class ≥ 0", label)
	case label >= 0 && d.LabelUnits == 0:
		return nil, fmt.Errorf("DBN generate: label %d requested but the top RBM has no label units (pretrain with labels)", label)
	case label >= d.LabelUnits && d.LabelUnits > 0:
		return nil, fmt.Errorf("DBN generate: label %d out of range, the top RBM has %d label units", label, d.LabelUnits)
	}
	L := len(d.Layers)
	top := d.Layers[L-1]
	V, H, K := top.V, top.H, d.LabelUnits
	if int64(n)*int64(max(V, H, d.Visible())) > MaxParams {
		return nil, fmt.Errorf("DBN generate: %d samples of %d units is too many", n, max(V, H, d.Visible()))
	}
	v := make([]float32, n*V)
	h := make([]float32, n*H)
	for i := range v {
		v[i] = 0.5
	}
	clamp := func() {
		if label < 0 {
			return
		}
		for r := 0; r < n; r++ {
			lab := v[r*V+V-K : (r+1)*V]
			clear(lab)
			lab[label] = 1
		}
	}
	sample(v, kernels.Stream{Seed: seed, Op: OpDBNGenInit})
	clamp()
	for t := 0; t < steps; t++ {
		top.HiddenProbs(h, v, n)
		sample(h, kernels.Stream{Seed: seed, Op: OpDBNGenHidden, Step: uint64(t)})
		top.VisibleProbs(v, h, n)
		if L == 1 && t == steps-1 {
			return v, nil // probabilities of the last sweep
		}
		sample(v, kernels.Stream{Seed: seed, Op: OpDBNGenVisible, Step: uint64(t)})
		clamp()
	}
	// Drop the label units: x = h^{L−1}, n×(V−K).
	in := V - K
	x := make([]float32, n*in)
	for r := 0; r < n; r++ {
		copy(x[r*in:(r+1)*in], v[r*V:r*V+in])
	}
	for l := L - 2; l >= 0; l-- {
		if l == 0 && d.Gaussian != nil {
			return d.gaussianDown(x, n), nil
		}
		x = d.Layers[l].VisibleProbs(nil, x, n)
	}
	return x, nil
}

// KindDBN is the "kind" of a DBN checkpoint.
const KindDBN = "dbn"

// Tensor names of a DBN checkpoint: layer l's parameters are
// "layer<l>.W" [V H], "layer<l>.vbias" [V], "layer<l>.hbias" [H]; the
// classifier head, when present, is "classifier.W" [H_top C] and
// "classifier.b" [C].
const (
	TensorClassifierW = "classifier.W"
	TensorClassifierB = "classifier.b"
)

// DBNLayerTensor returns the checkpoint name of a layer tensor, e.g.
// DBNLayerTensor(1, TensorW) = "layer1.W".
func DBNLayerTensor(layer int, name string) string { return fmt.Sprintf("layer%d.%s", layer, name) }

// DBNMeta is the JSON in the "rbmgpu" metadata entry of a DBN checkpoint.
type DBNMeta struct {
	FormatVersion int    `json:"format_version"`
	Kind          string `json:"kind"`        // KindDBN
	Sizes         []int  `json:"sizes"`       // [V, H_0, …, H_{L−1}] (DBN.Sizes)
	LabelUnits    int    `json:"label_units"` // K label units of the top RBM
	Classes       int    `json:"classes"`     // classifier classes, 0 without a head
	// GaussianBottom: layer 0 is a Gaussian–Bernoulli RBM (tensors
	// layer0.logvar, layer0.data_mean, layer0.data_std).
	GaussianBottom bool `json:"gaussian_bottom,omitempty"`
}

// maxDBNLayers bounds the layer count a checkpoint may claim.
const maxDBNLayers = 1024

// SaveDBN writes d to path as ONE safetensors file holding every layer
// ("layer<l>.W", ".vbias", ".hbias"), the classifier head if any
// ("classifier.W", "classifier.b") and metadata {"rbmgpu": DBNMeta as JSON,
// "kind": "dbn", "format_version"}. The write is atomic and deterministic
// (see safetensors.Write).
func SaveDBN(path string, d *DBN) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("save DBN: %s: %v", path, err)
	}
	meta := DBNMeta{FormatVersion: FormatVersion, Kind: KindDBN, Sizes: d.Sizes(), LabelUnits: d.LabelUnits, Classes: d.Classes,
		GaussianBottom: d.Gaussian != nil}
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("save DBN: %s: meta: %v", path, err)
	}
	var ts []safetensors.Tensor
	for l, m := range d.Layers {
		ts = append(ts,
			safetensors.Tensor{Name: DBNLayerTensor(l, TensorW), Shape: []int{m.V, m.H}, Data: m.W},
			safetensors.Tensor{Name: DBNLayerTensor(l, TensorVBias), Shape: []int{m.V}, Data: m.VBias},
			safetensors.Tensor{Name: DBNLayerTensor(l, TensorHBias), Shape: []int{m.H}, Data: m.HBias})
	}
	if g := d.Gaussian; g != nil {
		for i, t := range [][]float32{g.LogVar, g.DataMean, g.DataStd} {
			ts = append(ts, safetensors.Tensor{Name: DBNLayerTensor(0, gaussianBottomTensors[i]), Shape: []int{d.Visible()}, Data: t})
		}
	}
	if d.HasClassifier() {
		ts = append(ts,
			safetensors.Tensor{Name: TensorClassifierW, Shape: []int{d.TopHidden(), d.Classes}, Data: d.OutW},
			safetensors.Tensor{Name: TensorClassifierB, Shape: []int{d.Classes}, Data: d.OutB})
	}
	md := map[string]string{MetaKey: string(js), "kind": KindDBN, "format_version": strconv.Itoa(FormatVersion)}
	if err := safetensors.Write(path, ts, md); err != nil {
		return fmt.Errorf("save DBN: %w", err)
	}
	return nil
}

// LoadDBN reads a checkpoint written by SaveDBN. It checks the format
// version (newer ones are refused), the kind, that the layer sizes in the
// metadata chain, that every tensor the metadata implies exists as F32 with
// the right shape and finite values, and that there are no unknown
// tensors. Errors are one line naming the file and the tensor or field.
func LoadDBN(path string) (*DBN, error) {
	d, _, err := loadDBN(path)
	return d, err
}

// LoadDBNLayer loads layer i of the DBN checkpoint at path as a plain RBM
// (the whole file is read and validated).
func LoadDBNLayer(path string, i int) (*RBM, error) {
	d, _, err := loadDBN(path)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(d.Layers) {
		return nil, fmt.Errorf("load DBN layer: %s: layer %d out of range, the DBN has %d layers", path, i, len(d.Layers))
	}
	return d.Layers[i], nil
}

func loadDBN(path string) (*DBN, DBNMeta, error) {
	var meta DBNMeta
	fail := func(format string, args ...any) (*DBN, DBNMeta, error) {
		return nil, DBNMeta{}, fmt.Errorf("load DBN: %s: %s", path, fmt.Sprintf(format, args...))
	}
	tensors, md, err := safetensors.Read(path)
	if err != nil {
		return nil, meta, fmt.Errorf("load DBN: %w", err)
	}
	js, ok := md[MetaKey]
	if !ok {
		return fail("metadata has no %q entry: not an rbmgpu checkpoint", MetaKey)
	}
	var version struct {
		FormatVersion *int   `json:"format_version"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(js), &version); err != nil {
		return fail("metadata %q: %v", MetaKey, err)
	}
	if err := checkFormatVersion(version.FormatVersion); err != nil {
		return fail("%v", err)
	}
	if version.Kind != KindDBN {
		return fail("kind %q: want %q (load RBM checkpoints with LoadRBM)", version.Kind, KindDBN)
	}
	if err := json.Unmarshal([]byte(js), &meta); err != nil {
		return fail("metadata %q: %v", MetaKey, err)
	}
	S, K, C := meta.Sizes, meta.LabelUnits, meta.Classes
	if len(S) < 2 || len(S) > maxDBNLayers+1 {
		return fail("metadata sizes %v: want [V, H_0, …] with 1 to %d layers", S, maxDBNLayers)
	}
	for i, s := range S {
		if s < 1 || s > MaxParams {
			return fail("metadata sizes %v: size %d (%d) is invalid", S, i, s)
		}
	}
	if K < 0 || K > MaxParams || (K > 0 && len(S) < 3) {
		return fail("metadata label_units %d is invalid for %d layers", K, len(S)-1)
	}
	if C < 0 || C > MaxParams {
		return fail("metadata classes %d is invalid", C)
	}
	for name, t := range tensors {
		if t.DType != "F32" {
			return fail("tensor %q: dtype %s, want F32", name, t.DType)
		}
		if i := firstNonFinite(t.Data); i >= 0 {
			return fail("tensor %q: element %d is %v", name, i, t.Data[i])
		}
	}
	used := 0
	get := func(name string, shape ...int) ([]float32, error) {
		t, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("load DBN: %s: tensor %q missing", path, name)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("load DBN: %s: tensor %q: shape %v, metadata says %v", path, name, t.Shape, shape)
		}
		used++
		return t.Data, nil
	}
	d := &DBN{LabelUnits: K, Classes: C}
	L := len(S) - 1
	for l := 0; l < L; l++ {
		V, H := S[l], S[l+1]
		if l == L-1 {
			V += K
		}
		if V > MaxParams/H {
			return fail("layer %d: sizes %d×%d are too large", l, V, H)
		}
		m := &RBM{V: V, H: H}
		if m.W, err = get(DBNLayerTensor(l, TensorW), V, H); err != nil {
			return nil, meta, err
		}
		if m.VBias, err = get(DBNLayerTensor(l, TensorVBias), V); err != nil {
			return nil, meta, err
		}
		if m.HBias, err = get(DBNLayerTensor(l, TensorHBias), H); err != nil {
			return nil, meta, err
		}
		d.Layers = append(d.Layers, m)
	}
	if meta.GaussianBottom {
		g := &GaussianBottom{}
		for i, dst := range []*[]float32{&g.LogVar, &g.DataMean, &g.DataStd} {
			if *dst, err = get(DBNLayerTensor(0, gaussianBottomTensors[i]), S[0]); err != nil {
				return nil, meta, err
			}
		}
		d.Gaussian = g
	}
	if C > 0 {
		if d.OutW, err = get(TensorClassifierW, S[L], C); err != nil {
			return nil, meta, err
		}
		if d.OutB, err = get(TensorClassifierB, C); err != nil {
			return nil, meta, err
		}
	}
	if used != len(tensors) {
		for name := range tensors {
			if _, ok := expectedDBNTensor(name, L, C > 0, meta.GaussianBottom); !ok {
				return fail("unexpected tensor %q (metadata describes %d layers, classifier %v, Gaussian bottom %v)", name, L, C > 0, meta.GaussianBottom)
			}
		}
	}
	if err := d.Validate(); err != nil {
		return fail("%v", err)
	}
	return d, meta, nil
}

// expectedDBNTensor reports whether name belongs in a checkpoint of L layers.
func expectedDBNTensor(name string, L int, classifier, gaussian bool) (int, bool) {
	if name == TensorClassifierW || name == TensorClassifierB {
		return -1, classifier
	}
	for _, p := range gaussianBottomTensors {
		if name == DBNLayerTensor(0, p) {
			return 0, gaussian
		}
	}
	for l := 0; l < L; l++ {
		for _, p := range []string{TensorW, TensorVBias, TensorHBias} {
			if name == DBNLayerTensor(l, p) {
				return l, true
			}
		}
	}
	return 0, false
}
