package data_test

import (
	"fmt"

	"github.com/rbmgpu/rbmgpu/engine/data"
)

// Load the built-in 4×4 bars-and-stripes data set: every pattern of 16
// binary pixels whose rows, or whose columns, are each all on or all off.
func ExampleLoad() {
	ds, err := data.Load("bas:4x4", data.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds)
	fmt.Println(ds.Row(1))  // stripes: row 0 on
	fmt.Println(ds.Row(16)) // bars: column 0 on
	// Output:
	// bas:4x4: 30 samples × 16 features (shape [4 4])
	// [1 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0]
	// [1 0 0 0 1 0 0 0 1 0 0 0 1 0 0 0]
}
