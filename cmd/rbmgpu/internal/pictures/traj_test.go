package pictures

import (
	"os"
	"path/filepath"
	"testing"
)

// The trajectory-AIS log-likelihoods of a large model (ll_train,
// ll_heldout) are read from metrics.jsonl and drawn as their own panels.
func TestCurvesTrajectoryLL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	lines := `{"epoch":1,"recon_error":40,"log_likelihood":null,"ll_train":-300.5,"ll_heldout":-301.25}
{"epoch":2,"recon_error":30,"log_likelihood":null}
{"epoch":3,"recon_error":25,"ll_train":-280,"ll_heldout":-282}
`
	if err := os.WriteFile(p, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].TrajLL == nil || *recs[0].TrajLL != -300.5 || *recs[0].TrajHeldOutLL != -301.25 || recs[1].TrajLL != nil {
		t.Fatalf("records %+v: want ll_train/ll_heldout in epochs 1 and 3 only", recs)
	}
	img, err := Curves(recs)
	if err != nil {
		t.Fatal(err)
	}
	// Recon error and the two tracked log-likelihoods: three panels, 2×2.
	if b := img.Bounds(); b.Dx() != 2*PanelWidth || b.Dy() != 2*PanelHeight {
		t.Errorf("3 panels: picture %v, want %d×%d", b, 2*PanelWidth, 2*PanelHeight)
	}
	ink := 0
	for y := PanelHeight; y < 2*PanelHeight; y++ {
		for x := 0; x < PanelWidth; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff {
				ink++
			}
		}
	}
	if ink < 1000 {
		t.Errorf("the held-out panel has %d non-white pixels, want a plot", ink)
	}
}
