package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/models"
)

// raise runs RAISE (models.RBM.RAISE, on the host) from the first
// --raise-rows of the n rows of x with the AIS schedule, seed and base
// rates, and fills its fields of res; nothing when --raise-rows is 0.
func (f *evalFlags) raise(cmd *cobra.Command, m *models.RBM, x []float32, n int, res *evalResult) error {
	rows := min(f.RAISE, n)
	if rows == 0 {
		return nil
	}
	start := time.Now()
	r, err := m.RAISE(cmd.Context(), x, rows, models.AISConfig{
		Betas: models.Betas(f.Betas), Seed: f.Seed, BaseVBias: models.BaseRateBias(x, n, m.V, 1),
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	res.RAISESecs = time.Since(start).Seconds()
	res.LogZRAISE, res.LogZRAISELo, res.LogZRAISEHi = num(r.LogZ), num(r.LogZLo), num(r.LogZHi)
	res.AvgLLRAISE = num(m.AvgLogLikelihoodRAISE(x, n, r))
	res.RAISERows = r.Rows
	return nil
}

// printRAISE writes the RAISE lines of the text report, when RAISE ran.
func printRAISE(out io.Writer, res *evalResult) {
	if res.LogZRAISE == nil {
		return
	}
	lo, hi := aisBounds(res.LogZRAISELo, res.LogZRAISEHi)
	fmt.Fprintf(out, "RAISE log Z                 %.4f  [%s, %s] (±3 s.e.; %d rows × %d β on the host, %.1fs)\n",
		*res.LogZRAISE, lo, hi, res.RAISERows, res.AISSteps, res.RAISESecs)
	if res.AvgLLRAISE != nil {
		fmt.Fprintf(out, "RAISE average log-likelihood %.4f (conservative; AIS's is optimistic)\n", *res.AvgLLRAISE)
	}
}
