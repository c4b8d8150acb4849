package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/exec"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// gatherBatches is the most mini-batches the trainer gathers into its
// float32 buffer for one Program.Step (784 features × 100 rows: 2.5 MB).
const gatherBatches = 8

// Philox op ids of the trainer's own draws; the step graph uses small ids.
const (
	opShuffle    uint32 = 0x5EED0001 // per-epoch data order, Step = epoch
	opChainsInit uint32 = 0x5EED0002 // initial PCD chains
)

// EpochMetrics are the numbers reported after every epoch.
type EpochMetrics struct {
	Epoch      int     `json:"epoch"` // 1-based number of the completed epoch
	LR         float64 `json:"lr"`
	ReconError float64 `json:"recon_error"` // mean Σ(v − p(v|h0))² per sample
	// FreeEnergyGap is mean F(held-out) − mean F(train slice) over equally
	// many rows; a growing gap signals over-fitting (Hinton's guide §6).
	// NaN without held-out data.
	FreeEnergyGap float64 `json:"free_energy_gap"`
	// LogLikelihood is the exact average log p(v) of the training data;
	// NaN when the model is too big to enumerate.
	LogLikelihood float64 `json:"log_likelihood"`
	// HeldOutLogLikelihood is the same on the held-out data (NaN if absent).
	HeldOutLogLikelihood float64 `json:"heldout_log_likelihood"`
	LogZ                 float64 `json:"log_z"`
	Samples              int     `json:"samples"`
	// Seconds is the wall time of the epoch's mini-batches (to the
	// snapshot at its end), evaluation excluded.
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	// EvalSeconds is the wall time of the epoch's evaluation (the
	// free-energy gap, exact log-likelihoods); 0 when it was skipped.
	EvalSeconds float64 `json:"eval_seconds"`
	// Pearson, PearsonSlope and PearsonF are a Potts model's convergence
	// metrics (the Pearson correlation of the chains' connected
	// correlations with the data's and the slope of their fit, and the
	// Pearson correlation of the one-site frequencies); 0 for other kinds.
	Pearson      float64 `json:"pearson,omitempty"`
	PearsonSlope float64 `json:"pearson_slope,omitempty"` // slope of the chains' C_ij against the data's
	PearsonF     float64 `json:"pearson_f,omitempty"`
	// PTAcceptance is the epoch's swap acceptance of each replica pair
	// (q, q+1) of a parallel-tempering run (−1: no swap attempted),
	// PTBetas the ladder it ran with, PTLadderBound whether the adapted
	// ladder hit its bound (PTBetaFloor); absent without PT.
	PTAcceptance  []float64 `json:"pt_acceptance,omitempty"`
	PTBetas       []float64 `json:"pt_betas,omitempty"`
	PTLadderBound bool      `json:"pt_ladder_bound,omitempty"`
	// TrajLogZ is log Z estimated by trajectory AIS (see TrackLL and
	// models.Trajectory), TrajLL and TrajHeldOutLL the average
	// log-likelihoods −mean F − TrajLogZ of the first LLRows training and
	// held-out rows; NaN when not tracked or not evaluated this epoch.
	TrajLogZ      float64 `json:"traj_log_z"`
	TrajLL        float64 `json:"ll_train"`
	TrajHeldOutLL float64 `json:"ll_heldout"`
	// TrajESS is the effective sample size of the trajectory's weights (in
	// chains) and TrajSteps the interpolation steps taken since the last
	// evaluation; 0 when not tracked.
	TrajESS   float64 `json:"traj_ess"`
	TrajSteps int     `json:"traj_steps"`
	// TrajDrift is the trajectory's estimate minus a fresh AIS's at the
	// epochs where the tracker re-anchors (see LLReanchorEvery), NaN
	// elsewhere; TrajLogZ is the larger of the two there.
	TrajDrift float64 `json:"traj_drift"`
}

// Snapshot is the complete state of a run between two mini-batches: enough
// to write a checkpoint and to resume bit-identically. Tensors holds the
// model's parameters, any data-dependent tensors of the model and the
// training state (velocities, chains, the sparsity mean), each under its
// checkpoint name (graph.NameW, graph.VelocityOf(graph.NameW), …).
type Snapshot struct {
	Config  Config // defaulted
	Tensors map[string][]float32
	Epoch   int    // completed epochs
	Batch   int    // mini-batches done in the current epoch
	RNGStep uint64 // Philox step counter: graph runs so far
}

// Clone returns a deep copy of s.
func (s *Snapshot) Clone() *Snapshot {
	c := *s
	c.Tensors = make(map[string][]float32, len(s.Tensors))
	for n, x := range s.Tensors {
		c.Tensors[n] = append([]float32(nil), x...)
	}
	return &c
}

// Model returns the model in s, as its kind assembles it (e.g.
// *models.RBM); the kind's own accessors (RBM, GRBM, BM) are typed.
func (s *Snapshot) Model() (any, error) {
	k, err := s.Config.Kind()
	if err != nil {
		return nil, err
	}
	return k.Model(s)
}

// Callback is called after every epoch with its metrics and the snapshot at
// the epoch's end. Returning ErrStop ends training early without error;
// any other error aborts it.
type Callback func(m EpochMetrics, s *Snapshot) error

// ErrStop, returned by a Callback, stops training cleanly.
var ErrStop = errors.New("stop training")

// BatchCallback is called after every mini-batch with the number of
// samples done in the epoch and in total; it must be cheap (progress bars).
type BatchCallback func(epoch, done, total int)

// Trainer fits a model of the kind Config.Model to data: one loop for
// every kind and executor.
type Trainer struct {
	Config    Config
	Backend   Backend // nil means Host(), the CPU backend
	Callbacks []Callback
	OnBatch   BatchCallback
	// Resume, when set, continues that snapshot instead of starting afresh.
	Resume *Snapshot
}

// Result is what Fit returns: the final snapshot and the metrics of every
// epoch; the kind's accessors (Snapshot.RBM, GRBM, BM) give the model.
type Result struct {
	Snapshot *Snapshot
	Metrics  []EpochMetrics
}

// Fit trains on train (N×V) and reports held-out metrics on heldout (may
// be nil). When ctx is cancelled, Fit stops after the current upload of
// mini-batches and returns the snapshot there together with ctx's error,
// so the caller can save it.
func (t *Trainer) Fit(ctx context.Context, train, heldout *data.Dataset) (*Result, error) {
	cfg := t.Config.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k, _ := cfg.Kind()
	if train == nil || train.N == 0 || train.D == 0 {
		return nil, errors.New("train: no training data")
	}
	if heldout != nil && heldout.D != train.D {
		return nil, fmt.Errorf("train: held-out data has %d features, training data %d", heldout.D, train.D)
	}
	if cfg.Batch > train.N {
		cfg.Batch = train.N
	}
	backend := t.Backend
	if backend == nil {
		backend = Host()
	}
	V := train.D
	var snap *Snapshot
	if t.Resume != nil {
		if err := k.CheckResume(cfg, t.Resume, V); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		snap = t.Resume.Clone()
		snap.Config = cfg
	} else {
		tensors, err := k.Init(cfg, train)
		if err != nil {
			return nil, err
		}
		snap = &Snapshot{Config: cfg, Tensors: tensors}
	}
	fresh := snap.Epoch == 0 && snap.Batch == 0
	step, err := k.Step(cfg, V)
	if err != nil {
		return nil, fmt.Errorf("compile step on %s: %w", backend.Name(), err)
	}
	prog, err := backend.Compile(step)
	if err != nil {
		return nil, fmt.Errorf("compile step on %s: %w", backend.Name(), err)
	}
	defer prog.Close()
	l := &loop{t: t, cfg: cfg, kind: k, run: k.Begin(cfg, snap, train, fresh), prog: prog, snap: snap}
	if err := l.load(); err != nil {
		return nil, err
	}
	if l.ll, err = newLLTracker(ctx, cfg, snap, train, fresh); err != nil {
		return nil, err
	}
	res := &Result{Snapshot: snap}
	return res, l.epochs(ctx, train, heldout, res)
}

// loop is one Fit: the program, the snapshot it syncs with, the kind.
type loop struct {
	t    *Trainer
	cfg  Config
	kind Kind
	run  Run
	prog exec.Program
	snap *Snapshot
	ll   *llTracker // nil: the log-likelihood is not tracked
}

// load copies the snapshot's tensors into the program: every tensor the
// program holds, an absent optional one as absent.
func (l *loop) load() error {
	for _, t := range l.prog.Tensors() {
		x, ok := l.snap.Tensors[t.Name]
		if !ok && !t.Optional {
			return fmt.Errorf("train: the snapshot has no tensor %q", t.Name)
		}
		if err := l.prog.Set(t.Name, x); err != nil {
			return err
		}
	}
	l.prog.SetRNGStep(l.snap.RNGStep)
	return nil
}

// save copies the program's tensors into the snapshot at (epoch, b): a
// device synchronisation on GPUs.
func (l *loop) save(epoch, b int) error {
	for _, t := range l.prog.Tensors() {
		dst := l.snap.Tensors[t.Name]
		if len(dst) != t.Len {
			dst = make([]float32, t.Len)
		}
		ok, err := l.prog.Get(t.Name, dst)
		if err != nil {
			return err
		}
		if ok {
			l.snap.Tensors[t.Name] = dst
		} else {
			delete(l.snap.Tensors, t.Name)
		}
	}
	l.snap.RNGStep, l.snap.Epoch, l.snap.Batch = l.prog.RNGStep(), epoch, b
	return nil
}

// epochs runs the epochs from the snapshot's position: data order,
// schedules, momentum warm-up, chunked uploads, cancellation with a
// resumable snapshot, metrics and callbacks.
func (l *loop) epochs(ctx context.Context, train, heldout *data.Dataset, res *Result) error {
	cfg, snap, prog := l.cfg, l.snap, l.prog
	V := train.D
	perm := make([]int, train.N)
	chunk := max(1, prog.MaxBatches())
	nBatches := train.N / cfg.Batch
	// A resident program holds the training data: one upload of the rows
	// in model units, one of the order per epoch, and no copy per batch.
	rp, resident := prog.(exec.Resident)
	var batch []float32
	var order []int32
	// sourceRow maps a sample of train to a row of the resident data.
	sourceRow := func(i int) int { return i }
	if resident {
		var err error
		if sourceRow, err = l.upload(rp, train); err != nil {
			return err
		}
		order = make([]int32, train.N)
	} else {
		// Gather a few mini-batches per Step: the buffer stays small (and
		// in cache) and the program's upload slot is only touched as far.
		chunk = min(chunk, gatherBatches)
		batch = make([]float32, chunk*cfg.Batch*V)
	}
	for epoch := snap.Epoch; epoch < cfg.Epochs; epoch++ {
		start := time.Now()
		lr, h := cfg.hyper(epoch)
		Permutation(perm, cfg.Seed, uint64(epoch))
		if resident {
			for i, r := range perm {
				order[i] = int32(sourceRow(r))
			}
			if err := rp.SetOrder(order); err != nil {
				return fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
		}
		first := 0
		if epoch == snap.Epoch {
			first = snap.Batch
		}
		for b := first; b < nBatches; {
			if err := ctx.Err(); err != nil {
				if serr := l.save(epoch, b); serr != nil {
					return serr
				}
				return err
			}
			n := min(chunk, nBatches-b)
			if epoch == 0 {
				n = l.run.Limit(b, n)
			}
			if err := l.step(rp, batch, train, perm, b, n, h); err != nil {
				return fmt.Errorf("epoch %d, batch %d: %w", epoch+1, b+1, err)
			}
			for i := 0; i < n; i++ {
				b++
				if l.t.OnBatch != nil {
					l.t.OnBatch(epoch+1, b*cfg.Batch, nBatches*cfg.Batch)
				}
			}
			if epoch == 0 {
				if err := l.run.Check(b, prog.Recon); err != nil {
					return fmt.Errorf("epoch 1: %w", err)
				}
			}
		}
		recon, rerr := prog.ReconError()
		if err := l.save(epoch+1, 0); err != nil {
			return err
		}
		if err := l.run.Diverged(epoch+1, snap, recon, rerr); err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		done := (nBatches - first) * cfg.Batch
		m := EpochMetrics{Epoch: epoch + 1, LR: lr, ReconError: recon, Samples: done, Seconds: secs,
			SamplesPerSec: float64(done) / secs}
		m.FreeEnergyGap, m.LogLikelihood, m.HeldOutLogLikelihood, m.LogZ = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if err := l.endEpoch(&m); err != nil {
			return fmt.Errorf("epoch %d: %w", epoch+1, err)
		}
		m.TrajLogZ, m.TrajLL, m.TrajHeldOutLL, m.TrajDrift = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if (epoch+1)%cfg.EvalEvery == 0 || epoch+1 == cfg.Epochs {
			t0 := time.Now()
			if err := l.kind.Evaluate(&m, snap, train, heldout, cfg); err != nil {
				return fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
			if err := l.ll.evaluate(ctx, &m, snap, train, heldout); err != nil {
				return fmt.Errorf("epoch %d: %w", epoch+1, err)
			}
			m.EvalSeconds = time.Since(t0).Seconds()
		}
		res.Metrics = append(res.Metrics, m)
		for _, cb := range l.t.Callbacks {
			if err := cb(m, snap); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// upload makes train the resident data of rp: its compact storage (uint8
// codes and their table, or bits) when the program holds that form and the
// kind trains on the raw values, else its rows as prepared float32. It
// returns the map from a sample of train to its resident row (a view's
// samples are rows of the storage it shares).
func (l *loop) upload(rp exec.Resident, train *data.Dataset) (func(int) int, error) {
	cr, compactProg := rp.(exec.CompactResident)
	raw, _ := l.run.(RawRows)
	if c, ok := train.Compact(); ok && compactProg && raw != nil && raw.RawRows() {
		var err error
		if c.Codes != nil {
			// A slice of its own: the table must not share memory with
			// the struct's pointers when it is handed to a cgo driver.
			err = cr.SetCodes(c.Codes, append([]float32(nil), c.LUT[:]...), c.Rows)
		} else {
			err = cr.SetBits(c.Bits, c.WordsPerRow, c.Rows)
		}
		return train.SourceRow, err
	}
	rows := train.CopyRows(make([]float32, train.N*train.D), 0, train.N)
	l.run.Prepare(rows)
	return func(i int) int { return i }, rp.SetData(rows, train.N)
}

// step runs mini-batches b … b+n−1 of the epoch's order perm: on a
// resident program from its own copy of the data, else gathered into batch
// (converted to float32 from the data's storage) and mapped to model units
// here.
func (l *loop) step(res exec.Resident, batch []float32, train *data.Dataset, perm []int, b, n int, h graph.Hyper) error {
	if res != nil {
		return res.StepOrdered(b, n, h)
	}
	B, V := l.cfg.Batch, train.D
	rows := batch[:n*B*V]
	train.Gather(rows, perm[b*B:(b+n)*B])
	l.run.Prepare(rows)
	return l.prog.Step(rows, n, h)
}

// MarginalLogits writes the clipped logits log(p_i/(1−p_i)) of the d.D
// feature means p_i, clipped to [0.01, 0.99], into dst[:d.D] (Hinton's
// guide §8): visible biases that start from the data's marginals.
func MarginalLogits(dst []float32, d *data.Dataset) {
	mean := d.ColumnSums()
	for j := range mean {
		p := min(max(mean[j]/float64(d.N), 0.01), 0.99)
		dst[j] = float32(math.Log(p / (1 - p)))
	}
}

// BiasChains draws C chains of len(bias) binary units, unit i on with
// probability σ(bias[i]): element r·len(bias)+i of Philox stream (seed,
// opChainsInit, 0), so that every binary kind's chains start from the
// same recipe.
func BiasChains(bias []float32, C int, seed uint64) []float32 {
	n := len(bias)
	chains := make([]float32, C*n)
	s := kernels.Stream{Seed: seed, Op: opChainsInit}
	for i := range chains {
		if float64(s.Uniform(uint64(i))) < models.Sigmoid(float64(bias[i%n])) {
			chains[i] = 1
		}
	}
	return chains
}

// NormalChains draws C·n values from N(0, 1) on the stream of BiasChains.
func NormalChains(n, C int, seed uint64) []float32 {
	chains := make([]float32, C*n)
	s := kernels.Stream{Seed: seed, Op: opChainsInit}
	for i := range chains {
		chains[i] = kernels.Normal(s, uint64(i))
	}
	return chains
}

// Permutation fills perm with a random permutation of 0..len(perm)-1, a pure
// function of (seed, epoch): Fisher–Yates driven by a Philox stream, so a
// resumed run sees the same data order as an uninterrupted one.
func Permutation(perm []int, seed, epoch uint64) {
	for i := range perm {
		perm[i] = i
	}
	s := kernels.Stream{Seed: seed, Op: opShuffle, Step: epoch}
	for i := len(perm) - 1; i > 0; i-- {
		// Lemire's multiply-shift maps 64 random bits to [0, i]; its bias
		// (< i/2^64) is far below anything measurable.
		hi, _ := bits.Mul64(s.Uint64(uint64(i)), uint64(i+1))
		j := int(hi)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// zeros returns a zero tensor of n values.
func zeros(n int) []float32 { return make([]float32, n) }
