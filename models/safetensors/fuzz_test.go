package safetensors

import (
	"bytes"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the decoder: it must return tensors or
// an error, never panic, and whatever it accepts must re-encode (as F32)
// and decode to the same values.
func FuzzRead(f *testing.F) {
	ts, meta := exampleTensors()
	var b bytes.Buffer
	Encode(&b, ts, meta)
	f.Add(b.Bytes())
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[],"data_offsets":[4,5]}}`, []byte{0, 0x3c, 0, 0xc0, 7}))
	f.Add(rawFile(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, metadata, err := Decode(data)
		if err != nil {
			if tensors != nil || metadata != nil {
				t.Fatal("error with non-nil results")
			}
			return
		}
		var list []Tensor
		for _, x := range tensors {
			x.DType = "F32"
			list = append(list, x)
		}
		var out bytes.Buffer
		if err := Encode(&out, list, metadata); err != nil {
			t.Fatalf("re-encode accepted input: %v", err)
		}
		again, _, err := Decode(out.Bytes())
		if err != nil {
			t.Fatalf("decode re-encoded input: %v", err)
		}
		if len(again) != len(tensors) {
			t.Fatalf("%d tensors after round trip, want %d", len(again), len(tensors))
		}
	})
}
