// Package kernels holds the contracts shared by the CPU and CUDA backends:
// the Philox4x32-10 counter-based generator (Go twin of kernels/philox.cuh),
// the CUDA sources and their PTX, the launch table Kernels, the Driver
// interface and the Go twins of the kernels.
//
// Launches are typed: every launch-table entry has a generated argument
// struct (args_gen.go, e.g. GemmF32Args) whose fields are the kernel's
// parameters by name, in table order. A launch is
//
//	drv.Launch(grid, block, &kernels.SumF32Args{N: n, X: x, Alpha: 1, Out: out})
//
// and a driver reads the fields by name (a type switch) or in table order
// through Args.Addr, so no caller packs or unpacks arguments by position.
package kernels

import "math/bits"

// Philox4x32-10 constants (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11): two multipliers and the two Weyl key increments.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 applies ten rounds of Philox4x32 to the 128-bit counter ctr
// under the 64-bit key key and returns four independent uniform 32-bit words.
// It is a pure function: the same (ctr, key) always gives the same words, on
// the CPU here and in kernels/philox.cuh on the GPU.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for r := 0; r < 10; r++ {
		hi0, lo0 := bits.Mul32(philoxM0, c0)
		hi1, lo1 := bits.Mul32(philoxM1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
		k0 += philoxW0
		k1 += philoxW1
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Stream identifies one stream of uniforms: a run seed, the id of the
// stochastic op drawing them (unique within a graph) and the step number
// (incremented once per graph run). Element e of the stream is word e%4 of
// Philox4x32(ctr={e/4, Op, uint32(Step), uint32(Step>>32)}, key=Seed).
//
// Streams with different (Seed, Op, Step) never share a counter, so every
// draw in a training run is independent, and any element can be computed
// without computing the others (what lets one GPU thread draw its own).
type Stream struct {
	Seed uint64
	Op   uint32
	Step uint64
}

// Block returns the four words of counter block b of the stream: the words
// of elements 4b, 4b+1, 4b+2 and 4b+3.
func (s Stream) Block(b uint32) [4]uint32 {
	return Philox4x32([4]uint32{b, s.Op, uint32(s.Step), uint32(s.Step >> 32)},
		[2]uint32{uint32(s.Seed), uint32(s.Seed >> 32)})
}

// Word returns the 32-bit word for element e (e < 2^34) of the stream.
func (s Stream) Word(e uint64) uint32 {
	return s.Block(uint32(e >> 2))[e&3]
}

// ToUniform maps a 32-bit word to a float32 in [0, 1): u = (w>>8) * 2^-24,
// the 24 high bits as a float32 mantissa. Every step is exact in float32, so
// the CUDA twin produces the same bits. A Bernoulli(p) sample is u < p: never
// 1 for p = 0, always 1 for p = 1.
func ToUniform(w uint32) float32 {
	return float32(w>>8) * (1.0 / 16777216.0)
}

// Uniform returns element e of the stream as a float32 in [0, 1).
func (s Stream) Uniform(e uint64) float32 { return ToUniform(s.Word(e)) }

// Fill writes elements 0..len(dst)-1 of the stream into dst as uniforms in
// [0, 1), computing each Philox block once.
func (s Stream) Fill(dst []float32) {
	n := len(dst)
	for b := 0; b*4 < n; b++ {
		w := s.Block(uint32(b))
		for j := 0; j < 4 && b*4+j < n; j++ {
			dst[b*4+j] = ToUniform(w[j])
		}
	}
}

// Uint64 returns a 64-bit word for element e made of two consecutive 32-bit
// words (2e and 2e+1); used for shuffling, where 32 bits are too few.
func (s Stream) Uint64(e uint64) uint64 {
	return uint64(s.Word(2*e))<<32 | uint64(s.Word(2*e+1))
}
