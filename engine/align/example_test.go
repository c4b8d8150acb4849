package align_test

import (
	"fmt"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine/align"
)

// Read a small A2M alignment (lower case and '.' are insertions, removed),
// code it in the protein alphabet ('-' is code 0) and reweight it at 80%
// identity: seq3 differs from the others at 2 of 10 sites, so all three
// are within 80% of each other and share one unit of weight.
func ExampleRead() {
	const a2m = `>seq1
ACDEFghGHIKL
>seq2
ACDEF..GHIKL
>seq3 a relative
WCDEF..GHI-L
`
	m, err := align.Read(strings.NewReader(a2m), "family.a2m", align.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m)
	fmt.Println(m.Seq(2))
	w, _ := align.Weights(m, align.DefaultTheta)
	fmt.Printf("weights %.2f, M_eff = %.2f\n", w, align.MEff(w))
	// Output:
	// family.a2m: 3 sequences × 10 sites (protein, q = 21)
	// [19 2 3 4 5 6 7 8 0 10]
	// weights [0.33 0.33 0.33], M_eff = 1.00
}

// Reweight a FASTA alignment at 80% identity: a and b are within 80% of
// each other (8 of 10 sites agree) and share a unit of weight; c is alone.
func ExampleWeights() {
	const fasta = ">a\nACDEFGHIKL\n>b\nACDEFGHIWW\n>c\nMNPQRSTVWY\n"
	m, err := align.ReadFASTA(strings.NewReader(fasta), "f.fa", align.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, theta := range []float64{0.8, 0.9, 0} {
		w, _ := align.Weights(m, theta)
		fmt.Printf("θ = %.1f: weights %.2f, M_eff = %.1f\n", theta, w, align.MEff(w))
	}
	// Output:
	// θ = 0.8: weights [0.50 0.50 1.00], M_eff = 2.0
	// θ = 0.9: weights [1.00 1.00 1.00], M_eff = 3.0
	// θ = 0.0: weights [1.00 1.00 1.00], M_eff = 3.0
}
