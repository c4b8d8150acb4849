package kernels

import "testing"

// Known-answer vectors published with Random123 (kat_vectors, philox4x32 10
// rounds): counter, key, expected output.
func TestPhiloxKnownAnswers(t *testing.T) {
	tests := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0},
			[4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for i, tc := range tests {
		if got := Philox4x32(tc.ctr, tc.key); got != tc.want {
			t.Errorf("vector %d: got %08x, want %08x", i, got, tc.want)
		}
	}
}

func TestStreamFillMatchesUniform(t *testing.T) {
	s := Stream{Seed: 0x1234_5678_9abc_def0, Op: 7, Step: 1<<32 + 3}
	for _, n := range []int{0, 1, 3, 4, 5, 17, 1000} {
		dst := make([]float32, n)
		s.Fill(dst)
		for e, u := range dst {
			if want := s.Uniform(uint64(e)); u != want {
				t.Fatalf("n=%d e=%d: Fill %v, Uniform %v", n, e, u, want)
			}
			if !(u >= 0 && u < 1) {
				t.Fatalf("uniform %v outside [0,1)", u)
			}
		}
	}
}

func TestToUniformBounds(t *testing.T) {
	if u := ToUniform(0); u != 0 {
		t.Errorf("ToUniform(0) = %g", u)
	}
	if u := ToUniform(0xffffffff); u >= 1 || u != 1-1.0/16777216 {
		t.Errorf("ToUniform(max) = %g", u)
	}
}

func TestStreamsDiffer(t *testing.T) {
	base := Stream{Seed: 1, Op: 1, Step: 1}
	others := []Stream{{Seed: 2, Op: 1, Step: 1}, {Seed: 1, Op: 2, Step: 1}, {Seed: 1, Op: 1, Step: 2}, {Seed: 1, Op: 1, Step: 1 << 32}}
	for _, o := range others {
		if o.Word(0) == base.Word(0) && o.Word(1) == base.Word(1) {
			t.Errorf("%+v and %+v share their first words", base, o)
		}
	}
}

// The mean and variance of many uniforms match U(0,1) within 5 standard errors.
func TestUniformMoments(t *testing.T) {
	const n = 1 << 16
	dst := make([]float32, n)
	Stream{Seed: 42, Op: 3}.Fill(dst)
	var sum, sq float64
	for _, u := range dst {
		sum += float64(u)
		sq += float64(u) * float64(u)
	}
	mean := sum / n
	variance := sq/n - mean*mean
	if d := mean - 0.5; d*d > 25*(1.0/12)/n {
		t.Errorf("mean %v", mean)
	}
	if d := variance - 1.0/12; d*d > 25*(1.0/180)/n {
		t.Errorf("variance %v", variance)
	}
}
