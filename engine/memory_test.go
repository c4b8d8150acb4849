package engine

import (
	"math"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// The figures of EstimateMemory, worked out by hand from its formula.
func TestEstimateMemory(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		N, V int
		want MemoryEstimate
	}{
		{"Fashion-MNIST 784×500 CD-1", Config{Hidden: 500, Batch: 100}, 60000, 784,
			MemoryEstimate{Data: 188160000, Params: 3146272, Buffers: 25752336, Host: 211376672, Device: 217058608}},
		{"bas 16×64 PCD, 100 chains", Config{Hidden: 64, Batch: 10, Persistent: true, Chains: 100}, 30, 16,
			MemoryEstimate{Data: 1920, Params: 8832, Chains: 6400, Buffers: 186176, Host: 58112, Device: 203328}},
		{"batch capped at N", Config{Hidden: 3, Batch: 100}, 5, 4,
			MemoryEstimate{Data: 80, Params: 152, Buffers: 6316, Host: 5352, Device: 6548}},
		{"Gaussian 784×256", Config{Model: models.KindGRBM, Hidden: 256, Batch: 100}, 1000, 784,
			MemoryEstimate{Data: 3136000, Params: 1632768, Buffers: 24214784, Host: 24839168, Device: 28983552}},
		{"BM 9+4 units, 50 chains", Config{Model: models.KindBM, Hidden: 4, Batch: 14, Chains: 50}, 14, 9,
			MemoryEstimate{Data: 504, Params: 2808, Chains: 2600, Buffers: 51068, Host: 38168, Device: 56980}},
		// N = L·q = 40 one-hot units: params 1.5·(N² + N) = 2460 (couplings,
		// fields, data statistics), chains of N, host work 5·N² = 8000 values
		// (HostWork); Hidden keeps its unused default 64 in the buffers.
		{"Potts L=10 q=4, 50 chains", Config{Model: models.KindPotts, Options: &PottsOptions{Q: 4}, Chains: 50}, 100, 40,
			MemoryEstimate{Data: 16000, Params: 19680, Chains: 8000, Buffers: 1283440, Host: 1099680, Device: 1327120}},
	}
	for _, tc := range cases {
		if got := EstimateMemory(tc.cfg, tc.N, tc.V); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Rows held compact: 60,000 × 784 bits (one uint64 per 64 features,
	// 13 words a row) replace the 188,160,000 bytes of float32.
	bits := EstimateMemory(cases[0].cfg, 60000, 784).WithData(60000 * 13 * 8)
	if want := (MemoryEstimate{Data: 6240000, Params: 3146272, Buffers: 25752336, Host: 29456672, Device: 35138608}); bits != want {
		t.Errorf("WithData: %+v, want %+v", bits, want)
	}
	// Absurd sizes give absurd estimates, never an overflow.
	huge := EstimateMemory(Config{Hidden: 2000000000}, 30, 16)
	if huge.OnHost() < 200<<30 || huge.Params < 0 {
		t.Errorf("16×2e9: %+v, want more than 200 GiB", huge)
	}
	if sat := EstimateMemory(Config{Hidden: 1 << 40}, 1, 1<<40); sat.Device != math.MaxInt64 || sat.OnHost() < math.MaxInt64/2 {
		t.Errorf("2^40×2^40: %+v, want saturation", sat)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 20: "3.0 MiB", 1288490189: "1.2 GiB", math.MaxInt64: "8.0 EiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
