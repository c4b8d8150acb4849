package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// The "potts" kind: a fully connected Potts model (models.Potts; bmDCA,
// the Boltzmann-machine learning of direct-coupling analysis) on the L
// sites of an alignment with Q states each. The data are one-hot rows of
// N = L·Q features (PottsOneHot); the model is held as an N-unit machine,
// W[iQ+a, jQ+b] = J_ij(a,b) and bias[iQ+a] = h_i(a).
//
// Training (graph.PottsStep): the data enter only through their reweighted
// frequencies f_i(a), f_ij(a,b) with pseudocount λ (PottsOptions), computed
// once at Init; every step runs Config.K sequential site-by-site Gibbs
// sweeps of Config.Chains persistent chains and ascends f_data − f_model
// for the fields and the couplings, with Config.WeightDecay as the L2
// penalty on the couplings. Gauge: the couplings are trained in the
// gauge the L2 penalty selects (no gauge is imposed: the fields start at
// the independent-site model log f_i(a), the couplings at 0, and neither
// is constrained); Model and the DCA outputs report them in the zero-sum
// gauge (models.Potts.ZeroSumGauge). Each epoch's evaluation reports
// adabmDCA's convergence metric, the Pearson correlation of the chains'
// connected correlations with the data's (EpochMetrics.Pearson).
//
// Checkpoints: h [L Q] and J [L L Q Q] (models.SavePotts) beside
// velocity.W, velocity.bias, chains, potts_f1 and potts_f2.

func init() { RegisterKind(pottsKind{}) }

// Defaults of the "potts" kind that differ from the shared ones (the
// study behind the learning rate, the epochs and the target:
// bench/RESULTS.md, "Potts models — 2026-12-03, issue #14").
const (
	// PottsDefaultChains persistent chains of PottsDefaultSweeps sweeps per
	// update (Config.K): at q = 21, 1,000 chains' sampling noise keeps the
	// Pearson correlation of a converged model below the 0.95 target; 4,000
	// chains of 5 sweeps reach it (bench/RESULTS.md, 2026-12-03).
	PottsDefaultChains   = 4000
	PottsDefaultSweeps   = 5
	PottsDefaultReweight = 0.8 // identity threshold of the sequence weights
	// PottsDefaultEpochs bounds a run that does not reach the target: an
	// epoch is ⌈M/batch⌉ updates.
	PottsDefaultEpochs = 300
	// PottsDefaultTargetPearson stops training once the chains' connected
	// correlations match the data's that well (adabmDCA's criterion).
	PottsDefaultTargetPearson = 0.95
	// PottsDefaultStepQ5 is the default effective step lr/(1 − momentum)
	// at q ≤ 5 states (PottsDefaultStep).
	PottsDefaultStepQ5 = 0.05
)

// PottsDefaultStep returns the default effective step lr/(1 − momentum)
// of a Potts model of q states per site: PottsDefaultStepQ5·max(1, q/5),
// 0.05 for q ≤ 5 (RNA, DNA), 0.21 for proteins (q = 21). The gradient of
// a coupling J_ij(a,b) is f_ij(a,b) − p_ij(a,b), and its curvature
// p_ij(a,b)(1 − p_ij(a,b)) falls as the states multiply (about 1/q² for
// states of similar frequencies, less steeply in real alignments, whose
// conserved columns use few states), so a step fixed across q is either
// unstable at small q or very slow at q = 21. The study (bench/RESULTS.md)
// found 0.05 best at q = 4 and 5, and 0.2 on a Pfam seed (q = 21), where
// the q² rule's 0.88 stalls near Pearson 0.75.
func PottsDefaultStep(q int) float64 {
	return PottsDefaultStepQ5 * max(1, float64(q)/5)
}

// PottsDefaultLR returns the default learning rate of a Potts model of q
// states trained with the given momentum: PottsDefaultStep(q)·(1 −
// momentum) (the CLI's momentum 0.5 halves it), rounded to 6 decimals.
func PottsDefaultLR(q int, momentum float64) float64 {
	return math.Round(PottsDefaultStep(q)*(1-momentum)*1e6) / 1e6
}

// PottsOptions are the settings of the "potts" kind (Config.Options).
type PottsOptions struct {
	// Q is the number of states per site (the alphabet's size, gap
	// included); the data have L·Q features.
	Q int `json:"q"`
	// Letters are the alphabet's letters in code order (for outputs);
	// may be empty.
	Letters string `json:"letters"`
	// Reweight is the identity threshold of the sequence weights
	// (align.Weights); 0 turns reweighting off.
	Reweight float64 `json:"reweight"`
	// Pseudocount λ mixes the frequencies with the uniform distribution;
	// negative selects 1/M_eff.
	Pseudocount float64 `json:"pseudocount"`
	// Alphabet names the alphabet (align.ParseAlphabet: protein, rna,
	// dna or the letters of a custom one); Defaults sets Q and Letters
	// from it when Q is 0.
	Alphabet string `json:"alphabet"`
	// TargetPearson stops training once the Pearson correlation of the
	// connected correlations reaches it (0: never; see PottsTarget).
	TargetPearson float64 `json:"target_pearson"`
}

// Settings implements Options: --reweight and --pseudocount (Q and the
// letters come from the alignment's alphabet).
func (o *PottsOptions) Settings() []Setting {
	return []Setting{
		FloatSetting("reweight", "sequence reweighting identity threshold (0 turns it off)", &o.Reweight).AllowZero(),
		FloatSetting("pseudocount", "pseudocount λ in [0, 1] (negative: 1/M_eff)", &o.Pseudocount).AllowZero(),
		{Name: "alphabet", Usage: "alignment alphabet: protein (20 amino acids + gap) | rna | dna | the letters of a custom one", Value: (*stringValue)(&o.Alphabet)},
		FloatSetting("target-pearson", "stop once the Pearson correlation of connected correlations reaches this (0: never)", &o.TargetPearson).AllowZero(),
	}
}

type pottsKind struct{}

func (pottsKind) Name() string { return models.KindPotts }
func (pottsKind) Summary() string {
	return "fully connected Potts model (bmDCA) on one-hot alignment columns"
}

// NewOptions implements Kind: NewPottsOptions.
func (pottsKind) NewOptions() Options { return NewPottsOptions() }

// NewPottsOptions returns the defaults: the protein alphabet (Q set by
// Config.Defaults), reweighting at 0.8, λ = 1/M_eff, and the early stop
// at PottsDefaultTargetPearson (for Trainer.Fit, through the PottsTarget
// callback; the CLI stops by it).
func NewPottsOptions() *PottsOptions {
	return &PottsOptions{Reweight: PottsDefaultReweight, Pseudocount: models.PseudocountDefault, Alphabet: "protein",
		TargetPearson: PottsDefaultTargetPearson}
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

// Defaults implements Kind: persistent chains (PottsDefaultChains of
// them), PottsDefaultSweeps sweeps per update, PottsDefaultEpochs epochs
// and the learning rate PottsDefaultLR(Q, Momentum) (Config.Hidden is
// unused).
func (pottsKind) Defaults(c *Config) {
	c.Persistent = true
	if c.Chains == 0 {
		c.Chains = PottsDefaultChains
	}
	if c.K == 0 {
		c.K = PottsDefaultSweeps
	}
	if c.Epochs == 0 {
		c.Epochs = PottsDefaultEpochs
	}
	o, ok := c.Options.(*PottsOptions)
	if ok && o != nil && o.Q == 0 && o.Alphabet != "" {
		if a, err := align.ParseAlphabet(o.Alphabet); err == nil {
			o.Q, o.Letters = a.Q(), a.Letters
		}
	}
	if c.LR == 0 && ok && o != nil && o.Q >= 2 {
		c.LR = PottsDefaultLR(o.Q, c.Momentum)
	}
}

func pottsOptions(c Config) PottsOptions {
	if o, ok := c.Options.(*PottsOptions); ok && o != nil {
		return *o
	}
	return PottsOptions{Reweight: PottsDefaultReweight, Pseudocount: models.PseudocountDefault}
}

func (pottsKind) Validate(c Config) error {
	o, ok := c.Options.(*PottsOptions)
	switch {
	case !ok || o == nil:
		return fmt.Errorf("model potts: options are %T, want *PottsOptions", c.Options)
	case o.Q == 0 && o.Alphabet != "":
		_, err := align.ParseAlphabet(o.Alphabet)
		return fmt.Errorf("Potts: --alphabet: %v", err)
	case !(o.TargetPearson >= 0 && o.TargetPearson <= 1):
		return fmt.Errorf("Potts: target Pearson = %v, want a correlation in [0, 1] (0: never stop early)", o.TargetPearson)
	case o.Q < 2 || o.Q > kernels.PottsMaxStates:
		return fmt.Errorf("Potts: %d states per site: want 2 to %d (set by the alphabet)", o.Q, kernels.PottsMaxStates)
	case o.Letters != "" && len(o.Letters) != o.Q:
		return fmt.Errorf("Potts: %d letters for %d states", len(o.Letters), o.Q)
	case !(o.Reweight >= 0 && o.Reweight <= 1):
		return fmt.Errorf("Potts: reweight = %v, want a threshold in [0, 1] (0 turns it off)", o.Reweight)
	case !(o.Pseudocount <= 1) || math.IsNaN(o.Pseudocount):
		return fmt.Errorf("Potts: pseudocount = %v, want λ ≤ 1 (negative: 1/M_eff)", o.Pseudocount)
	case c.SparsityCost != 0:
		return errors.New("Potts: sparsity is not supported")
	}
	return nil
}

// oneHotSites returns the number of sites L of V one-hot features of q
// states each, or an error naming the model (what) when V is not L·q.
func oneHotSites(what string, V, q int) (int, error) {
	if q < 2 || V%q != 0 {
		return 0, fmt.Errorf("%s: %d features are not sites of %d one-hot states", what, V, q)
	}
	return V / q, nil
}

// pottsSites returns L for V one-hot features of c's Q states.
func pottsSites(c Config, V int) (int, error) {
	q := pottsOptions(c).Q
	L, err := oneHotSites("Potts", V, q)
	if err != nil {
		return 0, err
	}
	if err := kernels.CheckPottsShape(L, q); err != nil {
		return 0, err
	}
	return L, nil
}

func (pottsKind) Step(c Config, V int) (graph.Declared, error) {
	L, err := pottsSites(c, V)
	if err != nil {
		return nil, err
	}
	return graph.BuildPottsStep(graph.PottsConfig{Sites: L, States: pottsOptions(c).Q, Batch: c.Batch,
		Chains: c.ChainCount(), Sweeps: c.K}, &graph.RNG{Seed: c.Seed})
}

// PottsCodes decodes n one-hot rows of L sites of q states (rows of
// L·q values) into n×L codes: the first state of each site at or above
// ½; a site with none is an error naming the row and the site.
func PottsCodes(rows []float32, n, L, q int) ([]uint8, error) {
	N := L * q
	codes := make([]uint8, n*L)
	for r := 0; r < n; r++ {
		for i := 0; i < L; i++ {
			c := -1
			for a := q - 1; a >= 0; a-- {
				if rows[r*N+i*q+a] >= 0.5 {
					c = a
				}
			}
			if c < 0 {
				return nil, fmt.Errorf("row %d, site %d: no state is set (want one-hot rows of %d states)", r+1, i+1, q)
			}
			codes[r*L+i] = uint8(c)
		}
	}
	return codes, nil
}

// PottsOneHot returns the alignment as a dataset of one-hot rows: row s,
// feature i·q+a is 1 when sequence s has code a at site i (q the
// alphabet's size), stored compactly as uint8.
func PottsOneHot(m *align.MSA) (*data.Dataset, error) {
	q, L, n := m.Alphabet.Q(), m.L, m.N()
	if n == 0 || L == 0 {
		return nil, fmt.Errorf("%s: the alignment is empty", m.Name)
	}
	x := make([]float32, n*L*q)
	for s := 0; s < n; s++ {
		for i, c := range m.Seq(s) {
			x[(s*L+i)*q+int(c)] = 1
		}
	}
	return &data.Dataset{Name: m.Name, N: n, D: L * q, X: x}, nil
}

// PottsData holds the data side of a Potts run: the sequences, their
// weights and the frequencies with the pseudocount.
type PottsData struct {
	L, Q   int
	Codes  []uint8   // n×L
	Weight []float64 // n sequence weights
	MEff   float64   // Σ weights
	Lambda float64   // the pseudocount used
	Stats  *models.PottsStats
}

// NewPottsData computes the weights (threshold o.Reweight) and the
// frequencies (pseudocount o.Pseudocount) of the one-hot rows of train.
func NewPottsData(c Config, train *data.Dataset) (*PottsData, error) {
	L, err := pottsSites(c, train.D)
	if err != nil {
		return nil, err
	}
	o := pottsOptions(c)
	codes, err := PottsCodes(train.Rows(0, train.N), train.N, L, o.Q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", train.Name, err)
	}
	letters := o.Letters
	if letters == "" {
		letters = string(make([]byte, o.Q))
	}
	msa := &align.MSA{Name: train.Name, Alphabet: &align.Alphabet{Name: "custom", Letters: letters}, Names: make([]string, train.N), L: L, Seqs: codes}
	w, err := align.Weights(msa, o.Reweight)
	if err != nil {
		return nil, err
	}
	meff := align.MEff(w)
	lambda := o.Pseudocount
	if lambda < 0 {
		lambda = 1 / meff
	}
	st, err := models.PottsDataStats(codes, train.N, L, o.Q, w, lambda)
	if err != nil {
		return nil, err
	}
	return &PottsData{L: L, Q: o.Q, Codes: codes, Weight: w, MEff: meff, Lambda: lambda, Stats: st}, nil
}

// unitsOfStats lays statistics out as the one-hot machine's F1 (N) and
// F2 (N×N) in float32.
func unitsOfStats(st *models.PottsStats) (f1, f2 []float32) {
	L, q := st.L, st.Q
	N := L * q
	f1, f2 = make([]float32, N), make([]float32, N*N)
	for k, v := range st.F1 {
		f1[k] = float32(v)
	}
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					f2[(i*q+a)*N+j*q+b] = float32(st.F2[((i*L+j)*q+a)*q+b])
				}
			}
		}
	}
	return f1, f2
}

// statsOfUnits is the inverse of unitsOfStats.
func statsOfUnits(L, q int, f1, f2 []float32) *models.PottsStats {
	N := L * q
	st := &models.PottsStats{L: L, Q: q, F1: make([]float64, N), F2: make([]float64, L*L*q*q)}
	for k, v := range f1 {
		st.F1[k] = float64(v)
	}
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			for a := 0; a < q; a++ {
				for b := 0; b < q; b++ {
					st.F2[((i*L+j)*q+a)*q+b] = float64(f2[(i*q+a)*N+j*q+b])
				}
			}
		}
	}
	return st
}

// OpPottsChainInit is the Philox op id of the initial chains of a Potts run.
const OpPottsChainInit uint32 = 0xB402

// Init starts from the independent-site model: h_i(a) = log f_i(a) (the
// pseudocount keeps it finite), J = 0, and C chains drawn from it (site i
// of chain c from element c·L + i of stream (seed, OpPottsChainInit, 0)).
func (pottsKind) Init(c Config, train *data.Dataset) (map[string][]float32, error) {
	d, err := NewPottsData(c, train)
	if err != nil {
		return nil, err
	}
	L, q := d.L, d.Q
	N := L * q
	f1, f2 := unitsOfStats(d.Stats)
	bias := make([]float32, N)
	for k, f := range d.Stats.F1 {
		bias[k] = float32(math.Log(max(f, 1e-12)))
	}
	C := c.ChainCount()
	chains := make([]float32, C*N)
	st := kernels.Stream{Seed: c.Seed, Op: OpPottsChainInit}
	for r := 0; r < C; r++ {
		for i := 0; i < L; i++ {
			u := float64(st.Uniform(uint64(r*L + i)))
			a, cum := q-1, 0.0
			for b := 0; b < q; b++ {
				cum += d.Stats.F1[i*q+b]
				if u < cum {
					a = b
					break
				}
			}
			chains[r*N+i*q+a] = 1
		}
	}
	return map[string][]float32{
		graph.NameW: zeros(N * N), graph.NameBias: bias,
		graph.NamePottsF1: f1, graph.NamePottsF2: f2,
		graph.VelocityOf(graph.NameW): zeros(N * N), graph.VelocityOf(graph.NameBias): zeros(N),
		graph.NameChains: chains,
	}, nil
}

func (pottsKind) CheckResume(c Config, s *Snapshot, V int) error {
	q := pottsOptions(c).Q
	N := len(s.Tensors[graph.NameBias])
	switch {
	case s.Config.Model != models.KindPotts || N == 0:
		return errors.New("the checkpoint holds no Potts model")
	case N != V:
		return fmt.Errorf("checkpoint model has %d one-hot units, data has %d", N, V)
	case q < 2 || N%q != 0:
		return fmt.Errorf("checkpoint model has %d units, not sites of %d states", N, q)
	case len(s.Tensors[graph.NameChains]) != c.ChainCount()*N:
		return fmt.Errorf("checkpoint has %d chain values, config wants %d chains of %d units", len(s.Tensors[graph.NameChains]), c.ChainCount(), N)
	case len(s.Tensors[graph.NamePottsF1]) != N || len(s.Tensors[graph.NamePottsF2]) != N*N:
		return errors.New("checkpoint lacks the data statistics potts_f1, potts_f2")
	}
	return nil
}

// Potts returns the Potts model of a "potts" snapshot in the gauge it was
// trained in (a copy), nil for any other.
func (s *Snapshot) Potts() *models.Potts {
	if s == nil || s.Config.Model != models.KindPotts {
		return nil
	}
	q := pottsOptions(s.Config).Q
	b, w := s.Tensors[graph.NameBias], s.Tensors[graph.NameW]
	if q < 2 || len(b) == 0 || len(b)%q != 0 || len(w) != len(b)*len(b) {
		return nil
	}
	m, err := models.PottsFromUnits(len(b)/q, q, w, b)
	if err != nil {
		return nil
	}
	return m
}

// PottsFit returns adabmDCA's convergence metrics of the snapshot's
// chains against its data statistics (the ones it trains on, with the
// pseudocount).
func (s *Snapshot) PottsFit() (models.PottsFit, error) {
	q := pottsOptions(s.Config).Q
	f1, f2, ch := s.Tensors[graph.NamePottsF1], s.Tensors[graph.NamePottsF2], s.Tensors[graph.NameChains]
	N := len(f1)
	if q < 2 || N == 0 || N%q != 0 || len(f2) != N*N || len(ch) == 0 || len(ch)%N != 0 {
		return models.PottsFit{}, errors.New("Potts fit: the snapshot lacks data statistics or chains")
	}
	L, C := N/q, len(ch)/N
	codes, err := PottsCodes(ch, C, L, q)
	if err != nil {
		return models.PottsFit{}, fmt.Errorf("Potts fit: chains: %w", err)
	}
	model, err := models.PottsDataStats(codes, C, L, q, nil, 0)
	if err != nil {
		return models.PottsFit{}, err
	}
	return models.ComparePottsStats(statsOfUnits(L, q, f1, f2), model)
}

func (pottsKind) Model(s *Snapshot) (any, error) {
	m := s.Potts()
	if m == nil {
		return nil, errors.New("snapshot holds no Potts model")
	}
	return m.ZeroSumGauge(), nil
}

func (pottsKind) Begin(Config, *Snapshot, *data.Dataset, bool) Run { return pottsRun{} }

type pottsRun struct{ NopRun }

// Diverged reports the monitor's error, then the first non-finite
// parameter.
func (pottsRun) Diverged(epoch int, s *Snapshot, _ float64, rerr error) error {
	if rerr != nil {
		return DivergedAt(epoch, rerr)
	}
	if err := CheckFinite(s.Tensors, graph.NameW, graph.NameBias); err != nil {
		return DivergedAt(epoch, err)
	}
	return nil
}

// Evaluate fills EpochMetrics.Pearson (and PearsonF) from the chains and,
// when the q^L states can be enumerated (L·log₂ q ≤
// min(ExactLLMaxUnits, models.MaxExactPottsBits)), the exact average
// log-likelihood of the (unweighted) training sequences and log Z.
func (pottsKind) Evaluate(m *EpochMetrics, s *Snapshot, train, heldout *data.Dataset, cfg Config) error {
	fit, err := s.PottsFit()
	if err != nil {
		return err
	}
	m.Pearson, m.PearsonSlope, m.PearsonF = fit.PearsonC, fit.SlopeC, fit.PearsonF
	model := s.Potts()
	if model == nil || cfg.ExactLLMaxUnits < 0 {
		return nil
	}
	bits := float64(model.L) * math.Log2(float64(model.Q))
	if bits > float64(min(cfg.ExactLLMaxUnits, models.MaxExactPottsBits)) {
		return nil
	}
	ll := func(d *data.Dataset) (float64, error) {
		codes, err := PottsCodes(d.Rows(0, d.N), d.N, model.L, model.Q)
		if err != nil {
			return 0, err
		}
		return model.LogLikelihood(codes, d.N, nil)
	}
	if m.LogZ, err = model.LogZ(); err != nil {
		return err
	}
	if m.LogLikelihood, err = ll(train); err != nil {
		return err
	}
	if heldout != nil && heldout.N > 0 {
		if m.HeldOutLogLikelihood, err = ll(heldout); err != nil {
			return err
		}
	}
	return nil
}

// PottsTarget returns a Callback that stops training (ErrStop) once the
// epoch's Pearson correlation of connected correlations reaches target.
func PottsTarget(target float64) Callback {
	return func(m EpochMetrics, _ *Snapshot) error {
		if target > 0 && m.Pearson >= target {
			return ErrStop
		}
		return nil
	}
}

func (pottsKind) Save(path string, s *Snapshot, meta models.Meta) error {
	m := s.Potts()
	if m == nil {
		return fmt.Errorf("save %s: snapshot holds no Potts model", path)
	}
	N := m.L * m.Q
	ch := s.Tensors[graph.NameChains]
	if len(ch)%N != 0 {
		return fmt.Errorf("save %s: %d chain values for %d units", path, len(ch), N)
	}
	shapes := map[string][]int{graph.VelocityOf(graph.NameW): {N, N}, graph.NameChains: {len(ch) / N, N},
		graph.NamePottsF2: {N, N}}
	return models.SavePotts(path, m, meta, ExtraTensors(s, shapes, graph.NameW, graph.NameBias))
}

// Load reads a "potts" checkpoint; a plain model file without training
// state resumes with zero momentum and without data statistics (which a
// resumed run's CheckResume refuses).
func (pottsKind) Load(path string) (map[string][]float32, models.Meta, error) {
	m, meta, extra, err := models.LoadPotts(path)
	if err != nil {
		return nil, meta, err
	}
	W, bias := m.Units()
	N := m.L * m.Q
	t := map[string][]float32{graph.NameW: W, graph.NameBias: bias}
	for _, v := range []struct {
		name string
		n    int
	}{{graph.VelocityOf(graph.NameW), N * N}, {graph.VelocityOf(graph.NameBias), N}, {graph.NamePottsF1, N}, {graph.NamePottsF2, N * N}} {
		x, err := extraTensor(path, extra, v.name, v.n)
		if err != nil {
			return nil, meta, err
		}
		if x == nil && (v.name == graph.VelocityOf(graph.NameW) || v.name == graph.VelocityOf(graph.NameBias)) {
			x = zeros(v.n)
		}
		if x != nil {
			t[v.name] = x
		}
	}
	chains, err := extraTensor(path, extra, graph.NameChains, -1)
	if err != nil {
		return nil, meta, err
	}
	if chains != nil {
		if len(chains) == 0 || len(chains)%N != 0 {
			return nil, meta, fmt.Errorf("load %s: tensor %q has %d values, not a positive multiple of N = %d", path, graph.NameChains, len(chains), N)
		}
		t[graph.NameChains] = chains
	}
	return t, meta, nil
}

// ModelSizes implements ModelSizer: N = L·Q units; the couplings (N² =
// L²Q² floats) and fields are trained (each with a velocity), and the
// data statistics F2 (N²) and F1 add as much again as half the trained
// values' share; the chains hold N units.
func (pottsKind) ModelSizes(c Config, V int) (params, chainWidth float64) {
	n := float64(V)
	return 1.5 * (n*n + n), n
}

// HostWork implements HostWorker: each epoch's evaluation (PottsFit)
// holds the data's and the chains' pair frequencies in float64 (2·N²
// float32-sized values each, N = L·Q), and the model it reports and
// saves in the zero-sum gauge is another N² couplings: 5·N².
func (pottsKind) HostWork(c Config, V int) float64 {
	n := float64(V)
	return 5 * n * n
}
