package models_test

import (
	"fmt"
	"strings"

	"github.com/rbmgpu/rbmgpu/models"
)

// Read a Potts model in adabmDCA's params.dat format (0-based sites,
// states as letters of the alphabet "-AC", gap first) and rank its
// contacts by the APC-corrected Frobenius norm of the zero-sum-gauge
// couplings, the gap left out.
func ExamplePotts_FrobeniusAPC() {
	const params = `J 0 2 A A 1.5
J 0 2 C C 1.5
J 0 2 A C -1.5
J 0 2 C A -1.5
J 1 3 A C 0.4
J 0 1 C C 0.1
h 0 A 0.2
h 3 C -0.1
`
	m, err := models.ReadPottsParams(strings.NewReader(params), "params.dat", "-AC")
	if err != nil {
		fmt.Println(err)
		return
	}
	scores, err := m.FrobeniusAPC(0) // state 0 is the gap '-'
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range models.RankContacts(scores, m.L, 1)[:3] {
		fmt.Printf("%d %d %.3f\n", c.I+1, c.J+1, c.Score) // 1-based sites, as rbmgpu contacts prints them
	}
	// Output:
	// 1 3 1.602
	// 2 4 0.213
	// 1 2 -0.074
}
