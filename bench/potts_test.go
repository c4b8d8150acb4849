package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rbmgpu/rbmgpu/graph"
	"github.com/rbmgpu/rbmgpu/kernels"
	"github.com/rbmgpu/rbmgpu/models"
)

// pottsSweepCase is one configuration of BenchmarkPottsSweep: C chains of
// a Potts model on L sites of Q states.
type pottsSweepCase struct{ L, Q, C int }

func (c pottsSweepCase) name() string { return fmt.Sprintf("L%dq%d/C%d", c.L, c.Q, c.C) }

// pottsSweepCases: the issue #14 figure (L = 100, q = 21, 10,000 chains)
// and a protein-domain size at the trainer's default chain count.
var pottsSweepCases = []pottsSweepCase{{100, 21, 10000}, {50, 21, 1000}}

// pottsSweepFLOPs is the arithmetic of one sequential Gibbs sweep of C
// chains on L sites of Q states, as potts_gibbs_f32 does it: per site
// update, the Q logits h_i(a) + Σ_{j≠i} J_ij(a, s_j) (Q·L additions) and
// the softmax (about 3Q operations besides the Q exponentials), counted
// as C·L·Q·(L + 3).
func pottsSweepFLOPs(L, Q, C int) float64 { return float64(C) * float64(L) * float64(Q) * float64(L+3) }

// pottsSweepInputs returns C random one-hot chains (C×N, N = L·Q),
// symmetric couplings W (N×N) ~ U(−0.5, 0.5) with zero diagonal blocks and
// fields b (N) ~ U(−1, 1): a generic dense model, the couplings' size of a
// trained bmDCA model.
func pottsSweepInputs(c pottsSweepCase, seed uint64) (X, W, b []float32) {
	r := rand.New(rand.NewPCG(seed, 0x706f747473))
	N := c.L * c.Q
	W = make([]float32, N*N)
	for i := 0; i < N; i++ {
		for j := i + 1; j < N; j++ {
			if i/c.Q != j/c.Q {
				v := r.Float32() - 0.5
				W[i*N+j], W[j*N+i] = v, v
			}
		}
	}
	b = make([]float32, N)
	for k := range b {
		b[k] = 2*r.Float32() - 1
	}
	X = make([]float32, c.C*N)
	for ch := 0; ch < c.C; ch++ {
		for i := 0; i < c.L; i++ {
			X[ch*N+i*c.Q+r.IntN(c.Q)] = 1
		}
	}
	return X, W, b
}

// BenchmarkPottsSweep times one sequential site-by-site Gibbs sweep of a
// fully connected Potts model (the bmDCA sampler, kernel potts_gibbs_f32
// on the backend's kernel driver: the host kernels on "cpu", the GPU on
// "cuda:N"): for each site i in turn, the logits h_i(·) + Σ_j J_ij(·, x_j)
// of every chain, a softmax and a categorical draw. The chains stay on
// the device and each sweep continues from the last one's states (X and
// S are the same buffer), as persistent chains do. The clock stops after
// Synchronize. Metrics: samples/s (chain sweeps per second: one new
// sample of every chain per sweep), site-updates/s (C·L per sweep) and
// GFLOP/s (pottsSweepFLOPs).
//
// Names: BenchmarkPottsSweep/<device>/L<L>q<Q>/C<chains>.
func BenchmarkPottsSweep(b *testing.B) {
	_, dev, _, _ := openBackend()
	for _, c := range pottsSweepCases {
		b.Run(dev+"/"+c.name(), func(b *testing.B) {
			be := requireBackend(b)
			kd, ok := be.(interface {
				KernelDriver() (kernels.Driver, func() error, bool)
			})
			if !ok {
				b.Skipf("backend %s has no kernel driver (the tape machine runs graphs only)", be.Name())
			}
			drv, release, ok := kd.KernelDriver()
			if !ok {
				b.Skipf("backend %s has no kernel driver (the tape machine runs graphs only)", be.Name())
			}
			defer release()
			benchPottsSweep(b, drv, c)
		})
	}
}

func benchPottsSweep(b *testing.B, drv kernels.Driver, c pottsSweepCase) {
	if err := kernels.CheckPottsShape(c.L, c.Q); err != nil {
		b.Fatal(err)
	}
	X, W, bias := pottsSweepInputs(c, 1)
	upload := func(v []float32) kernels.DevicePtr {
		p, err := drv.Alloc(4 * len(v))
		if err != nil {
			b.Skipf("alloc %d floats: %v", len(v), err)
		}
		b.Cleanup(func() { drv.Free(p) })
		if err := drv.CopyHtoD(p, kernels.Float32Bytes(v)); err != nil {
			b.Fatal(err)
		}
		return p
	}
	pX, pW, pb := upload(X), upload(W), upload(bias)
	a := &kernels.PottsGibbsF32Args{R: int32(c.C), L: int32(c.L), Q: int32(c.Q), Sweeps: 1,
		X: pX, W: pW, B: pb, S: pX, Seed: 1, Op: 0xB4FF}
	grid, block := kernels.PottsGibbsGrid(c.C), kernels.Dim3{X: kernels.PottsBlock, Y: 1, Z: 1}
	sweep := func(step int) {
		a.Step = uint64(step)
		if err := drv.Launch(grid, block, a); err != nil {
			b.Fatal(err)
		}
	}
	// Warm-up: first touch, module load.
	sweep(0)
	if err := drv.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sweep(i + 1)
	}
	if err := drv.Synchronize(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*float64(c.C)/secs, "samples/s")
	b.ReportMetric(float64(b.N)*float64(c.C)*float64(c.L)/secs, "site-updates/s")
	b.ReportMetric(float64(b.N)*pottsSweepFLOPs(c.L, c.Q, c.C)/secs/1e9, "GFLOP/s")
	// The chains must still be one-hot: a sweep that wrote garbage is not
	// a figure.
	out := make([]float32, len(X))
	if err := drv.CopyDtoH(kernels.Float32Bytes(out), pX); err != nil {
		b.Fatal(err)
	}
	N := c.L * c.Q
	for r := 0; r < c.C; r++ {
		for i := 0; i < c.L; i++ {
			var ones int
			for q := 0; q < c.Q; q++ {
				ones += int(out[r*N+i*c.Q+q])
			}
			if ones != 1 {
				b.Fatalf("chain %d site %d: %d states set after the sweeps, want 1", r, i, ones)
			}
		}
	}
}

// BenchmarkPottsRBMStep times one PCD-1 training step of a Potts–Bernoulli
// RBM (kind "prbm", graph.BuildPottsRBMStep) at the sweep benchmark's
// protein size: L = 100 sites of q = 21 states (V = 2,100 one-hot
// units), H hidden units, a mini-batch of 100 one-hot rows and C
// persistent chains, through Program.Step as the trainer runs it (upload
// of the batch, the step graph, the update with momentum and weight
// decay). One step moves every chain by one block Gibbs step (h | v, then
// all L sites of v | h at once), the RBM's counterpart of a BM sweep.
// Metrics: samples/s (chains moved per second, comparable with
// BenchmarkPottsSweep's) and rows/s (data rows per second).
//
// Names: BenchmarkPottsRBMStep/<device>/L<L>q<Q>/H<H>/C<chains>.
func BenchmarkPottsRBMStep(b *testing.B) {
	_, dev, _, _ := openBackend()
	for _, c := range []struct{ L, Q, H, C int }{{100, 21, 100, 10000}, {100, 21, 100, 1000}} {
		b.Run(fmt.Sprintf("%s/L%dq%d/H%d/C%d", dev, c.L, c.Q, c.H, c.C), func(b *testing.B) {
			be := requireBackend(b)
			V := c.L * c.Q
			cfg := graph.StepConfig{Visible: V, Hidden: c.H, Batch: 100, K: 1, Persistent: true, Chains: c.C}
			s, err := graph.BuildPottsRBMStep(cfg, c.Q, &graph.RNG{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			prog, err := be.Compile(s)
			if err != nil {
				b.Skipf("%s cannot compile the Potts RBM step: %v", be.Name(), err)
			}
			defer prog.Close()
			m, err := models.NewRBM(V, c.H, 1)
			if err != nil {
				b.Fatal(err)
			}
			rows, _, _ := pottsSweepInputs(pottsSweepCase{c.L, c.Q, c.C + cfg.Batch}, 2)
			set := map[string][]float32{graph.NameW: m.W, graph.NameVBias: m.VBias, graph.NameHBias: m.HBias,
				graph.NameChains: rows[:c.C*V]}
			for n, x := range set {
				if err := prog.Set(n, x); err != nil {
					b.Fatalf("set %s: %v", n, err)
				}
			}
			batch := rows[c.C*V:]
			u := graph.Hyper{LR: 0.01, Momentum: 0.5, WeightDecay: 1e-4}
			for range 2 {
				if err := prog.Step(batch, 1, u); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := prog.ReconError(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := prog.Step(batch, 1, u); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := prog.ReconError(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)*float64(c.C)/secs, "samples/s")
			b.ReportMetric(float64(b.N)*float64(cfg.Batch)/secs, "rows/s")
		})
	}
}
