package host

import (
	"math/bits"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// philoxRun draws consecutive elements of one stream, computing each
// Philox block (four elements) once.
type philoxRun struct {
	op, s0, s1, k0, k1 uint32
	blk                uint64 // block held in w, or ^0
	w                  [4]uint32
}

func (p *philoxRun) init(s kernels.Stream, e0 uint64) {
	*p = philoxRun{op: s.Op, s0: uint32(s.Step), s1: uint32(s.Step >> 32),
		k0: uint32(s.Seed), k1: uint32(s.Seed >> 32), blk: ^uint64(0)}
}

// word returns element e of the stream (kernels.Stream.Word).
func (p *philoxRun) word(e uint64) uint32 {
	if b := e >> 2; b != p.blk {
		p.blk = b
		p.w = philox(uint32(b), p.op, p.s0, p.s1, p.k0, p.k1)
	}
	return p.w[e&3]
}

// uniform returns element e as a float32 in [0, 1) (kernels.ToUniform).
func (p *philoxRun) uniform(e uint64) float32 {
	return float32(p.word(e)>>8) * (1.0 / 16777216.0)
}

// philox is kernels.Philox4x32 with the counter and key as scalars, so it
// stays in registers (tests check it against the package's).
func philox(c0, c1, c2, c3, k0, k1 uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		hi0, lo0 := bits.Mul32(0xD2511F53, c0)
		hi1, lo1 := bits.Mul32(0xCD9E8D57, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
		k0 += 0x9E3779B9
		k1 += 0xBB67AE85
	}
	return [4]uint32{c0, c1, c2, c3}
}
