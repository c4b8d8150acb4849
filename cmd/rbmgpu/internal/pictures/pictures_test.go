package pictures

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/models"
)

// grey returns the grey level of pixel (x, y), failing when it is not grey.
func grey(t *testing.T, img image.Image, x, y int) uint8 {
	t.Helper()
	r, g, b, _ := img.At(x, y).RGBA()
	if r != g || g != b {
		t.Fatalf("pixel (%d, %d) = %v, want a grey level", x, y, img.At(x, y))
	}
	return uint8(r >> 8)
}

func isSeparator(img image.Image, x, y int) bool {
	return color.RGBAModel.Convert(img.At(x, y)) == Separator
}

// roundTrip writes img with WritePNG and decodes it again.
func roundTrip(t *testing.T, img image.Image) image.Image {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if out.Bounds() != img.Bounds() {
		t.Fatalf("decoded bounds %v, wrote %v", out.Bounds(), img.Bounds())
	}
	return out
}

func TestFiltersSize(t *testing.T) {
	for _, tc := range []struct {
		v, h, rows, cols, max, scale int
		w, ht                        int
	}{
		// 8 filters: 3×3 grid of 4·12-pixel tiles: 3·49+1.
		{16, 8, 4, 4, 0, 0, 148, 148},
		{16, 8, 4, 4, 0, 1, 16, 16},       // 3·5+1
		{16, 8, 4, 4, 4, 2, 19, 19},       // 2×2 grid of 8-pixel tiles
		{16, 8, 2, 8, 0, 1, 28, 10},       // 3 cols of 8+1, 3 rows of 2+1
		{784, 20, 28, 28, 0, 0, 286, 229}, // 5 cols, 4 rows of 2·28+1
		{784, 20, 28, 28, 9, 1, 88, 88},
		{784, 20, 28, 28, 9, 0, 172, 172},
	} {
		m, err := models.NewRBM(tc.v, tc.h, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Filters(m, tc.rows, tc.cols, tc.max, tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		out := roundTrip(t, img)
		if b := out.Bounds(); b.Dx() != tc.w || b.Dy() != tc.ht {
			t.Errorf("%+v: picture %d×%d, want %d×%d", tc, b.Dx(), b.Dy(), tc.w, tc.ht)
		}
		if !isSeparator(out, 0, 0) {
			t.Errorf("%+v: corner is not a separator", tc)
		}
	}
}

// TestFiltersContents draws a hand-made W and checks tile pixels: the
// brightest pixel of a tile is where the weight is largest, the darkest
// where it is smallest, zero weights are mid-grey, tiles are in unit order
// with the 1-pixel separators between them.
func TestFiltersContents(t *testing.T) {
	const v, h = 6, 3 // tiles of 2 rows × 3 cols
	m := &models.RBM{V: v, H: h, W: make([]float32, v*h), VBias: make([]float32, v), HBias: make([]float32, h)}
	set := func(i, j int, w float32) { m.W[i*h+j] = w }
	// Unit 0: one positive peak at pixel (1, 2), one negative at (0, 0).
	set(5, 0, 2)
	set(0, 0, -1)
	// Unit 1: a ramp 1..6 along the pixels.
	for i := 0; i < v; i++ {
		set(i, 1, float32(i+1))
	}
	// Unit 2: all zero.
	img, err := Filters(m, 2, 3, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := roundTrip(t, img)
	// 3 tiles: 2×2 grid of 3-wide, 2-high tiles: 9×7 pixels.
	if b := out.Bounds(); b.Dx() != 9 || b.Dy() != 7 {
		t.Fatalf("picture %v, want 9×7", b)
	}
	px := func(tile, r, c int) uint8 { // pixel (r, c) of a tile
		return grey(t, out, 1+(tile%2)*4+c, 1+(tile/2)*3+r)
	}
	// Unit 0: max |w| = 2 → 2 ↦ 255, -1 ↦ 0.25 → 64, zeros ↦ 128.
	if g := px(0, 1, 2); g != 255 {
		t.Errorf("unit 0 peak pixel = %d, want 255", g)
	}
	if g := px(0, 0, 0); g != 64 {
		t.Errorf("unit 0 negative pixel = %d, want 64", g)
	}
	if g := px(0, 0, 1); g != 128 {
		t.Errorf("unit 0 zero pixel = %d, want 128", g)
	}
	// Unit 1: increasing along the row-major order, brightest last.
	prev := -1
	for i := 0; i < v; i++ {
		g := int(px(1, i/3, i%3))
		if g <= prev {
			t.Errorf("unit 1 pixel %d = %d, not above pixel %d = %d", i, g, i-1, prev)
		}
		prev = g
	}
	if prev != 255 {
		t.Errorf("unit 1 brightest = %d, want 255", prev)
	}
	// Unit 2: uniformly mid-grey.
	for i := 0; i < v; i++ {
		if g := px(2, i/3, i%3); g != 128 {
			t.Errorf("unit 2 pixel %d = %d, want 128", i, g)
		}
	}
	// Separators: the column between tiles 0 and 1, the row below
	// them, and the empty fourth cell.
	for _, p := range [][2]int{{4, 1}, {4, 2}, {2, 3}, {6, 4}, {7, 5}, {8, 6}} {
		if !isSeparator(out, p[0], p[1]) {
			t.Errorf("pixel %v = %v, want the separator", p, out.At(p[0], p[1]))
		}
	}
}

func TestFiltersErrors(t *testing.T) {
	m, _ := models.NewRBM(16, 8, 1)
	for _, tc := range []struct {
		rows, cols, scale int
		want              string
	}{
		{4, 5, 1, "has 20 pixels, the model has 16"},
		{0, 16, 1, "shape 0×16"},
		{4, 4, -1, "scale -1"},
		{16, 1, 100000, "more than"},
	} {
		_, err := Filters(m, tc.rows, tc.cols, 0, tc.scale)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Filters(%d, %d, scale %d) = %v, want an error containing %q", tc.rows, tc.cols, tc.scale, err, tc.want)
		}
	}
	if _, err := Filters(nil, 4, 4, 0, 0); err == nil {
		t.Error("Filters(nil) succeeded")
	}
	bad := m.Clone()
	bad.W = bad.W[:3]
	if _, err := Filters(bad, 4, 4, 0, 0); err == nil {
		t.Error("Filters of an invalid model succeeded")
	}
}

func TestGrid(t *testing.T) {
	// Two 2×2 samples: [0, 1, 0.5, 2] (2 clamps to 1) and [-1, NaN, 1, 0].
	nan := float32(0)
	nan = nan / nan
	x := []float32{0, 1, 0.5, 2, -1, nan, 1, 0}
	img, err := Grid(x, 2, 2, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	out := roundTrip(t, img)
	if b := out.Bounds(); b.Dx() != 2*7+1 || b.Dy() != 7+1 {
		t.Fatalf("picture %v, want 15×8", b)
	}
	want := [][]uint8{{0, 255, 128, 255}, {0, 0, 255, 0}}
	for s := range want {
		for i, w := range want[s] {
			// Every pixel of the 3×3 block.
			for dy := 0; dy < 3; dy++ {
				for dx := 0; dx < 3; dx++ {
					x, y := 1+s*7+(i%2)*3+dx, 1+(i/2)*3+dy
					if g := grey(t, out, x, y); g != w {
						t.Errorf("sample %d pixel %d at (%d, %d) = %d, want %d", s, i, x, y, g, w)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		n, rows, cols int
		want          string
	}{
		{3, 2, 2, "8 values, 3 tiles of 2×2 need 12"},
		{0, 2, 2, "0 tiles"},
		{1, 2, -2, "tile shape"},
	} {
		if _, err := Grid(x, tc.n, tc.rows, tc.cols, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Grid(n %d, %d×%d) = %v, want %q", tc.n, tc.rows, tc.cols, err, tc.want)
		}
	}
}

func f(x float64) *float64 { return &x }

func TestCurves(t *testing.T) {
	// Recon error every epoch, log-likelihood every 2nd, nothing else:
	// two panels side by side.
	var recs []Record
	for e := 1; e <= 10; e++ {
		r := Record{Epoch: e, ReconError: f(1 / float64(e))}
		if e%2 == 0 {
			r.LogLikelihood = f(-10 + float64(e)/2)
		}
		recs = append(recs, r)
	}
	img, err := Curves(recs)
	if err != nil {
		t.Fatal(err)
	}
	out := roundTrip(t, img)
	if b := out.Bounds(); b.Dx() != 2*PanelWidth || b.Dy() != PanelHeight {
		t.Errorf("2 panels: picture %v, want %d×%d", b, 2*PanelWidth, PanelHeight)
	}
	// Something is drawn in both halves: non-white pixels.
	for half := 0; half < 2; half++ {
		ink := 0
		for y := 0; y < PanelHeight; y++ {
			for x := half * PanelWidth; x < (half+1)*PanelWidth; x++ {
				if r, g, b, _ := out.At(x, y).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff {
					ink++
				}
			}
		}
		if ink < 1000 {
			t.Errorf("panel %d has %d non-white pixels, want a plot", half, ink)
		}
	}
	// All four metrics, one with a single value: 2×2 panels.
	recs[9].HeldOutLL, recs[9].FreeEnergyGap = f(-7), f(0.5)
	img, err = Curves(recs)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*PanelWidth || b.Dy() != 2*PanelHeight {
		t.Errorf("4 panels: picture %v, want %d×%d", b, 2*PanelWidth, 2*PanelHeight)
	}
	// One metric: one panel.
	img, err = Curves([]Record{{Epoch: 1, ReconError: f(0.3)}})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != PanelWidth || b.Dy() != PanelHeight {
		t.Errorf("1 panel: picture %v, want %d×%d", b, PanelWidth, PanelHeight)
	}
	// Only nulls: an error.
	if _, err := Curves([]Record{{Epoch: 1}, {Epoch: 2}}); err == nil || !strings.Contains(err.Error(), "no metric") {
		t.Errorf("Curves of nulls = %v, want a 'no metric' error", err)
	}
	// Extreme values: an image or an error, never a panic.
	_, _ = Curves([]Record{{Epoch: 1, ReconError: f(-math.MaxFloat64)}, {Epoch: 2, ReconError: f(math.MaxFloat64)}})
	_, _ = Curves([]Record{{Epoch: 1, ReconError: f(1e300)}, {Epoch: 2, ReconError: f(1e300 * (1 + 1e-15))}})
	if _, err := Curves(nil); err == nil {
		t.Error("Curves(nil) succeeded")
	}
}

func TestReadMetrics(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "metrics.jsonl")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write(`{"epoch":1,"lr":0.1,"recon_error":2.5,"free_energy_gap":null,"log_likelihood":-9.5,"heldout_log_likelihood":null,"log_z":12,"samples":30,"seconds":0.01,"samples_per_sec":3000}

{"epoch":2,"lr":0.05,"recon_error":2.0,"log_likelihood":null,"new_field":"ignored"}
`)
	recs, err := ReadMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Epoch != 1 || r.LR != 0.1 || *r.ReconError != 2.5 || r.FreeEnergyGap != nil || *r.LogLikelihood != -9.5 ||
		r.HeldOutLL != nil || *r.LogZ != 12 || r.Samples != 30 || r.Seconds != 0.01 || r.SamplesPerSec != 3000 {
		t.Errorf("record 1 = %+v", r)
	}
	if r := recs[1]; r.Epoch != 2 || *r.ReconError != 2 || r.LogLikelihood != nil || r.LogZ != nil {
		t.Errorf("record 2 = %+v", r)
	}
	if recs, err := ReadMetrics(write("")); err != nil || len(recs) != 0 {
		t.Errorf("empty file: %v, %v", recs, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"{\"epoch\":1}\n{\"epoch\":2,\n", "line 2: unexpected end of JSON input"},
		{"{\"epoch\":1}\nnot json\n", "line 2: want a JSON object"},
		{"\n\n{\"lr\":0.1}\n", "line 3: no \"epoch\" field"},
		{"{\"epoch\":0}\n", "line 1: epoch 0, want ≥ 1"},
		{"{\"epoch\":1,\"recon_error\":\"x\"}\n", "line 1: json: cannot unmarshal string"},
		{"{\"epoch\":1.5}\n", "line 1: json: cannot unmarshal number 1.5"},
		{"[1,2]\n", "line 1: want a JSON object"},
		{"{\"epoch\":1}\n" + strings.Repeat(" ", maxLine+1) + "{}\n", "line 2: longer than"},
	} {
		p := write(tc.file)
		_, err := ReadMetrics(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("ReadMetrics(%.30q) = %v, want %q prefixed with the path", tc.file, err, tc.want)
		}
	}
	if _, err := ReadMetrics(filepath.Join(dir, "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.png")
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.Pix[1] = 200
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if g := color.GrayModel.Convert(out.At(1, 0)).(color.Gray).Y; g != 200 {
		t.Errorf("pixel = %d, want 200", g)
	}
	// Overwrite: no temporary files left behind.
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after two writes, want 1", len(entries))
	}
	// Failures name the path and leave nothing behind.
	if err := WritePNG(filepath.Join(dir, "no", "such", "dir.png"), img); err == nil || !strings.Contains(err.Error(), "dir.png") {
		t.Errorf("write into a missing directory: %v", err)
	}
	if err := WritePNG(filepath.Join(dir, "b.png"), image.NewGray(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("writing an empty image succeeded")
	}
	if err := WritePNG(filepath.Join(dir, "c.png"), nil); err == nil {
		t.Error("writing a nil image succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after failed writes, want 1", len(entries))
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi, minStep float64
		labels          string
	}{
		{4.19, 4.29, 0, "4.20 4.22 4.24 4.26 4.28"},
		{-11.49, -11.425, 0, "-11.48 -11.46 -11.44"},
		{1, 3, 1, "1 2 3"},
		{1, 1500, 1, "500 1000 1500"},
		{0.0074, 4.1, 0, "1 2 3 4"},
		{-5.2, -2.9, 0, "-5.0 -4.5 -4.0 -3.5 -3.0"},
		{-0.3, 0.3, 0, "-0.2 0.0 0.2"},
		{0, 2e7, 0, "0 5e+06 1e+07 1.5e+07 2e+07"},
	} {
		var got []string
		for _, tk := range (niceTicks{minStep: tc.minStep}).Ticks(tc.lo, tc.hi) {
			if tk.Value < tc.lo-1e-9 || tk.Value > tc.hi+1e-9 {
				t.Errorf("[%g, %g]: tick %g outside the range", tc.lo, tc.hi, tk.Value)
			}
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if s := strings.Join(got, " "); s != tc.labels {
			t.Errorf("[%g, %g]: labels %q, want %q", tc.lo, tc.hi, s, tc.labels)
		}
	}
	// Degenerate ranges terminate without a panic.
	for _, r := range [][2]float64{{1, 1}, {2, 1}, {1e9, 1e9 + 1e-6}, {0, math.Inf(1)}, {math.NaN(), 1}} {
		_ = (niceTicks{}).Ticks(r[0], r[1])
	}
}
