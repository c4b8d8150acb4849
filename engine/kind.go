package engine

import (
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Kind is a model kind: everything the trainer, the checkpoints and the
// CLI need to know about one family of models, in one place. The built-in
// kinds are "rbm" (kind_rbm.go), "grbm" (kind_grbm.go) and "bm"
// (kind_bm.go); another registers itself with RegisterKind and needs no
// change to any shared file. Tensors travel between a kind, the executors
// and the checkpoints by name (Snapshot.Tensors).
type Kind interface {
	// Name is the value of Config.Model and of --model, and the kind
	// stored in checkpoints.
	Name() string
	// Summary is a line for --model's help, e.g. "Gaussian–Bernoulli RBM
	// on standardised real-valued data".
	Summary() string
	// NewOptions returns the kind's own options at their defaults, nil
	// for a kind without any.
	NewOptions() Options
	// Defaults fills the shared settings whose default depends on the
	// kind (at least LR, when zero) and the zero fields of c.Options.
	Defaults(c *Config)
	// Validate reports the first setting of c (defaulted) the kind cannot
	// train with.
	Validate(c Config) error
	// Step builds the step graph for c (defaulted, validated) and V
	// visible units.
	Step(c Config, V int) (graph.Declared, error)
	// Init returns the tensors of a fresh run on train: the parameters,
	// any data-dependent tensors of the model, and the initial state
	// (zero velocities, initial chains).
	Init(c Config, train *data.Dataset) (map[string][]float32, error)
	// CheckResume reports why s cannot continue as a run of c on data of
	// V features, nil when it can.
	CheckResume(c Config, s *Snapshot, V int) error
	// Begin starts the kind's part of one Fit.
	Begin(c Config, s *Snapshot, train *data.Dataset, fresh bool) Run
	// Evaluate fills the likelihood metrics of m for the model in s.
	Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, c Config) error
	// Model assembles the trained model (e.g. *models.RBM) from s.
	Model(s *Snapshot) (any, error)
	// Save writes s as a checkpoint with meta (Kind, Hyper, Epoch, Seed,
	// RNGStep and DataFingerprint set by the caller).
	Save(path string, s *Snapshot, meta models.Meta) error
	// Load reads the tensors of a checkpoint of this kind; LoadSnapshot
	// decodes the shared settings and the options from meta.
	Load(path string) (tensors map[string][]float32, meta models.Meta, err error)
}

// Run is the kind's part of one Fit: a data transform, the first-epoch
// guard and the divergence check. NopRun does nothing.
type Run interface {
	// Prepare maps the copied rows of a chunk to model units in place.
	Prepare(rows []float32)
	// Limit caps n, the mini-batches of the next upload from mini-batch b
	// of the first epoch (so that a guard falls between uploads).
	Limit(b, n int) int
	// Check runs after b mini-batches of the first epoch; recon is the
	// running mean reconstruction error.
	Check(b int, recon func() (float64, error)) error
	// Diverged names the first non-finite value after epoch (1-based),
	// given the epoch's reconstruction error and its error.
	Diverged(epoch int, s *Snapshot, recon float64, rerr error) error
}

// RawRows is implemented by a Run whose Prepare leaves the rows as they are
// (the data values are the model's units, as for the binary kinds), when
// RawRows returns true: the trainer may then keep the rows on a device in
// their compact form (uint8 codes, bits) and convert each mini-batch as it
// is gathered. A Run without it has its rows prepared as float32.
type RawRows interface {
	RawRows() bool
}

// Options are a kind's own settings, e.g. *GRBMOptions; Config.Options
// holds them.
type Options interface {
	// Settings binds the options' fields to named settings (the CLI
	// flags): one table serves the flags, their help and their defaults.
	Settings() []Setting
}

// Setting is one named setting of a kind's options: its flag name, usage
// text and the value it sets (a flag.Value bound to the options' field).
type Setting struct {
	Name  string
	Usage string
	Value flag.Value
	Bool  bool // a boolean setting: the flag takes no value
	// ZeroOK marks a setting whose typed 0 means something (e.g. "off"),
	// not "the default": the CLI accepts it as given.
	ZeroOK bool
}

// AllowZero returns s with ZeroOK set.
func (s Setting) AllowZero() Setting {
	s.ZeroOK = true
	return s
}

// BoolSetting binds a bool field.
func BoolSetting(name, usage string, p *bool) Setting {
	return Setting{Name: name, Usage: usage, Value: (*boolValue)(p), Bool: true}
}

// IntSetting binds an int field.
func IntSetting(name, usage string, p *int) Setting {
	return Setting{Name: name, Usage: usage, Value: (*intValue)(p)}
}

// FloatSetting binds a float64 field.
func FloatSetting(name, usage string, p *float64) Setting {
	return Setting{Name: name, Usage: usage, Value: (*floatValue)(p)}
}

type boolValue bool

func (b *boolValue) String() string { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*b = boolValue(v)
	return nil
}

type intValue int

func (i *intValue) String() string { return strconv.Itoa(int(*i)) }
func (i *intValue) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*i = intValue(v)
	return nil
}

type floatValue float64

func (f *floatValue) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 64) }
func (f *floatValue) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*f = floatValue(v)
	return nil
}

// NopRun is a Run with no transform and no guard; its Diverged reports
// only the monitor's error. Kinds embed it and add their own checks.
type NopRun struct{}

// Prepare implements Run.
func (NopRun) Prepare([]float32) {}

// Limit implements Run.
func (NopRun) Limit(_, n int) int { return n }

// Check implements Run.
func (NopRun) Check(int, func() (float64, error)) error { return nil }

// Diverged implements Run: the monitor's error.
func (NopRun) Diverged(epoch int, _ *Snapshot, _ float64, rerr error) error {
	if rerr != nil {
		return DivergedAt(epoch, rerr)
	}
	return nil
}

var kinds = struct {
	sync.RWMutex
	m map[string]Kind
}{m: map[string]Kind{}}

// DefaultKind is the kind of a Config with an empty Model.
const DefaultKind = "rbm"

// RegisterKind makes k available as Config.Model = k.Name(); it panics on
// a second kind of the same name (a programming error at init time).
func RegisterKind(k Kind) {
	kinds.Lock()
	defer kinds.Unlock()
	if _, dup := kinds.m[k.Name()]; dup {
		panic("engine: kind " + k.Name() + " registered twice")
	}
	kinds.m[k.Name()] = k
}

// LookupKind returns the kind registered under name ("" is DefaultKind).
func LookupKind(name string) (Kind, error) {
	if name == "" {
		name = DefaultKind
	}
	kinds.RLock()
	k, ok := kinds.m[name]
	kinds.RUnlock()
	if !ok {
		return nil, fmt.Errorf("model kind %q: want one of %v", name, KindNames())
	}
	return k, nil
}

// KindNames lists the registered kinds, sorted.
func KindNames() []string {
	kinds.RLock()
	defer kinds.RUnlock()
	names := make([]string, 0, len(kinds.m))
	for n := range kinds.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckFinite reports the first NaN or infinite value among the named
// tensors (absent ones are skipped), in the order given.
func CheckFinite(tensors map[string][]float32, names ...string) error {
	for _, n := range names {
		for i, v := range tensors[n] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("training state %s[%d] = %v is not finite", n, i, v)
			}
		}
	}
	return nil
}

// DivergedAt wraps err, the first non-finite value found after epoch, in
// the message every kind reports.
func DivergedAt(epoch int, err error) error {
	return fmt.Errorf("epoch %d: training diverged: %w", epoch, err)
}

// ExtraTensors returns the tensors of s other than those named in skip, as
// safetensors with shapes from shapes (a missing shape is a vector): the
// training state a kind's Save stores beside its model.
func ExtraTensors(s *Snapshot, shapes map[string][]int, skip ...string) []safetensors.Tensor {
	omit := map[string]bool{}
	for _, n := range skip {
		omit[n] = true
	}
	names := make([]string, 0, len(s.Tensors))
	for n := range s.Tensors {
		if !omit[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]safetensors.Tensor, 0, len(names))
	for _, n := range names {
		x := s.Tensors[n]
		shape, ok := shapes[n]
		if !ok {
			shape = []int{len(x)}
		}
		out = append(out, safetensors.Tensor{Name: n, Shape: shape, Data: x})
	}
	return out
}
