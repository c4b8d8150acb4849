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

// philox2 is philox on two counters that differ only in word 0, interleaved
// so the two dependency chains of multiplies overlap (the single-block
// version is latency-bound).
func philox2(a0, b0, c1, c2, c3, k0, k1 uint32) (wa, wb [4]uint32) {
	a1, a2, a3 := c1, c2, c3
	b1, b2, b3 := c1, c2, c3
	for r := 0; r < 10; r++ {
		ahi0, alo0 := bits.Mul32(0xD2511F53, a0)
		ahi1, alo1 := bits.Mul32(0xCD9E8D57, a2)
		bhi0, blo0 := bits.Mul32(0xD2511F53, b0)
		bhi1, blo1 := bits.Mul32(0xCD9E8D57, b2)
		a0, a1, a2, a3 = ahi1^a1^k0, alo1, ahi0^a3^k1, alo0
		b0, b1, b2, b3 = bhi1^b1^k0, blo1, bhi0^b3^k1, blo0
		k0 += 0x9E3779B9
		k1 += 0xBB67AE85
	}
	return [4]uint32{a0, a1, a2, a3}, [4]uint32{b0, b1, b2, b3}
}

// words writes elements e0, e0+1, ... of the stream to dst, two Philox
// blocks at a time.
func words(s kernels.Stream, e0 uint64, dst []uint32) {
	if len(dst) == 0 {
		return
	}
	op, s0, s1, k0, k1 := s.Op, uint32(s.Step), uint32(s.Step>>32), uint32(s.Seed), uint32(s.Seed>>32)
	b0, b1 := e0>>2, (e0+uint64(len(dst))-1)>>2
	for b := b0; b <= b1; b += 2 {
		wa, wb := philox2(uint32(b), uint32(b+1), op, s0, s1, k0, k1)
		for q := 0; q < 8; q++ {
			e := 4*b + uint64(q)
			if e < e0 {
				continue
			}
			i := e - e0
			if i >= uint64(len(dst)) {
				break
			}
			if q < 4 {
				dst[i] = wa[q]
			} else {
				dst[i] = wb[q-4]
			}
		}
	}
}
