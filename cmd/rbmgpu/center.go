package main

import (
	"fmt"
	"strings"

	"github.com/rbmgpu/rbmgpu/engine"
)

// centeredHelp is the usage of --centered: what it does, where it applies
// and its default per kind (engine.CenteredDefault, the one place that
// sets it).
var centeredHelp = func() string {
	var on, off []string
	for _, k := range engine.KindNames() {
		if !engine.CanCenter(k) {
			continue
		}
		if engine.CenteredDefault(k) {
			on = append(on, k)
		} else {
			off = append(off, k)
		}
	}
	def := "off"
	if len(on) > 0 {
		def = "on for " + strings.Join(on, ", ")
		if len(off) > 0 {
			def += ", off for " + strings.Join(off, ", ")
		}
	}
	return fmt.Sprintf("centred gradients (Melchior et al. 2016): visible/hidden offsets as running averages of the data, "+
		"for --model %s and dbn (its Bernoulli layers); the saved model is an ordinary one, offsets folded into the biases (default %s)",
		strings.Join(append(on, off...), ", "), def+" with PCD; off for dbn, with --cd and with --pt; --centered=false turns it off")
}()
