package pictures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of one panel of Curves, in pixels, and the resolution its text is
// laid out at.
const (
	PanelWidth  = 480
	PanelHeight = 320
	curvesDPI   = 96
)

// maxGlyphPoints is the number of points up to which Curves marks each
// point with a dot as well as joining them with a line.
const maxGlyphPoints = 40

// curveColor is the colour of the curves.
var curveColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}

// Curves draws the training curves of a run, one panel per metric of
// Metrics that has at least one value in recs (reconstruction error,
// training log-likelihood, held-out log-likelihood, free-energy gap, and
// for a model too big to enumerate the two log-likelihoods tracked by
// trajectory AIS), each
// against the epoch, with axes, tick labels and a title giving the last
// value. Null (nil) and non-finite values are skipped and the line joins
// the points on either side, so a metric evaluated every 50 epochs is a
// line through those epochs. Panels are PanelWidth×PanelHeight pixels, two
// per row (one when there is one panel): the picture is
// min(k, 2)·PanelWidth × ⌈k/2⌉·PanelHeight for k panels.
//
// The error is non-nil when no metric has a value.
func Curves(recs []Record) (img *image.RGBA, err error) {
	defer func() {
		// gonum/plot panics on ranges it cannot draw (values near
		// ±MaxFloat64); turn that into an error.
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("pictures: curves: cannot draw these values: %v", r)
		}
	}()
	var plots []*plot.Plot
	for _, m := range Metrics {
		xs, ys := m.series(recs)
		if len(xs) == 0 {
			continue
		}
		p, err := panel(m, xs, ys)
		if err != nil {
			return nil, fmt.Errorf("pictures: curves: %s: %w", m.Title, err)
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil, errors.New("pictures: curves: no metric has a value in any epoch")
	}
	cols := min(len(plots), 2)
	rows := (len(plots) + cols - 1) / cols
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / curvesDPI }
	c := vgimg.NewWith(vgimg.UseWH(px(cols*PanelWidth), px(rows*PanelHeight)), vgimg.UseDPI(curvesDPI))
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for k := 0; k < cols && r*cols+k < len(plots); k++ {
			grid[r][k] = plots[r*cols+k]
		}
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(8),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align(grid, tiles, draw.New(c))
	for r := range grid {
		for k, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][k])
			}
		}
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok { // vgimg draws on an *image.RGBA; convert should that change.
		b := c.Image().Bounds()
		img = image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				img.Set(x, y, c.Image().At(x, y))
			}
		}
	}
	return img, nil
}

// panel builds the plot of one metric.
func panel(m Metric, xs, ys []float64) (*plot.Plot, error) {
	p := plot.New()
	last := len(xs) - 1
	p.Title.Text = fmt.Sprintf("%s: %.4g at epoch %g", m.Title, ys[last], xs[last])
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = m.Unit
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(9)
		a.Tick.Label.Font.Size = vg.Points(8)
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{minStep: 1}, niceTicks{}
	p.Add(plotter.NewGrid())
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i].X, pts[i].Y = xs[i], ys[i]
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	line.Color = curveColor
	line.Width = vg.Points(1.5)
	p.Add(line)
	if len(pts) <= maxGlyphPoints {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = curveColor
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		sc.GlyphStyle.Radius = vg.Points(2)
		p.Add(sc)
	}
	return p, nil
}

// niceTicks places about five labelled ticks at multiples of 1, 2 or 5
// times a power of ten, with unlabelled minor ticks between them, and
// prints the labels to the precision the spacing needs (plot.DefaultTicks
// labels with %g, which can print 4.2 three times over). Ticks are at
// least minStep apart when minStep > 0 (1 for epochs).
type niceTicks struct{ minStep float64 }

// Ticks implements plot.Ticker.
func (nt niceTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		return nil // plot.Axis never asks for these; DefaultTicks panics
	}
	raw := span / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minor := 10*mag, 5
	for _, m := range []struct {
		mult  float64
		minor int
	}{{1, 5}, {2, 4}, {5, 5}} {
		if m.mult*mag >= raw {
			step, minor = m.mult*mag, m.minor
			break
		}
	}
	if step < nt.minStep {
		step, minor = nt.minStep, 1
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	label := func(v float64) string {
		if math.Abs(v) < step/2 {
			v = 0 // no "-0.00"
		}
		if math.Abs(v) >= 1e6 || prec > 6 {
			return strconv.FormatFloat(v, 'g', 4, 64)
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	sub := step / float64(minor)
	if max(math.Abs(lo), math.Abs(hi))/sub > 1e12 {
		// The spacing is below float64 resolution at this magnitude.
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	var ticks []plot.Tick
	eps := sub * 1e-6
	for k := math.Floor(lo / sub); len(ticks) < 1000; k++ {
		v := k * sub
		if v > hi+eps {
			break
		}
		if v < lo-eps {
			continue
		}
		t := plot.Tick{Value: v}
		if r := math.Mod(math.Abs(k), float64(minor)); r < 1e-6 || float64(minor)-r < 1e-6 {
			t.Label = label(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}
