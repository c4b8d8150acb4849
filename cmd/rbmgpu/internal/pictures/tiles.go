// Package pictures draws the PNG pictures people look at after training an
// RBM: the receptive fields of the hidden units (Filters), samples or data
// as image tiles (Grid), and the training curves of a run's metrics.jsonl
// (Curves). WritePNG saves any of them atomically.
//
// Tiles are grey levels on a blue background: each tile of rows×cols
// values becomes a (rows·scale)×(cols·scale) block of grey pixels, tiles
// sit in a near-square grid (⌈√n⌉ columns) with 1-pixel separators between
// them and around the edge, so a picture of n tiles is
//
//	width  = gc·(cols·scale + 1) + 1,   gc = ⌈√n⌉ grid columns,
//	height = gr·(rows·scale + 1) + 1,   gr = ⌈n / gc⌉ grid rows.
package pictures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/rbmgpu/rbmgpu/models"
)

// Separator is the colour of the 1-pixel lines between tiles and of the
// grid cells left empty; it is not a grey level, so it never looks like a
// pixel value.
var Separator = color.RGBA{R: 0x2e, G: 0x6d, B: 0xb4, A: 0xff}

// maxPixels bounds the size of a picture (64 Mpixel, 256 MB as RGBA) so
// that a typo in a size fails with an error instead of an allocation.
const maxPixels = 1 << 26

// autoScaleTarget is the tile side, in pixels, that AutoScale aims for.
const autoScaleTarget = 48

// AutoScale returns the upscale factor that scale 0 means in Filters and
// Grid: 48/max(rows, cols) rounded to the nearest integer, at least 1, so a
// 4×4 bars-and-stripes tile becomes 48×48 pixels, a 28×28 image 56×56 and
// anything from 96 pixels a side up stays 1:1.
func AutoScale(rows, cols int) int {
	return max(1, int(math.Round(autoScaleTarget/float64(max(rows, cols, 1)))))
}

// layout is the geometry of a picture of n tiles.
type layout struct {
	n, rows, cols, scale int // tiles, tile shape, upscale factor
	gr, gc               int // grid rows and columns
	w, h                 int // picture size in pixels
}

// newLayout checks the sizes and computes the grid.
func newLayout(n, rows, cols, scale int) (layout, error) {
	if n < 1 {
		return layout{}, fmt.Errorf("pictures: %d tiles, want at least 1", n)
	}
	if rows < 1 || cols < 1 {
		return layout{}, fmt.Errorf("pictures: tile shape %d×%d, want positive rows and columns", rows, cols)
	}
	if scale < 0 {
		return layout{}, fmt.Errorf("pictures: scale %d, want ≥ 1 (or 0 for automatic)", scale)
	}
	if scale == 0 {
		scale = AutoScale(rows, cols)
	}
	l := layout{n: n, rows: rows, cols: cols, scale: scale}
	l.gc = int(math.Ceil(math.Sqrt(float64(n))))
	l.gr = (n + l.gc - 1) / l.gc
	// Compute the size in float64 first: the int products could overflow.
	wf := float64(l.gc)*(float64(cols)*float64(scale)+1) + 1
	hf := float64(l.gr)*(float64(rows)*float64(scale)+1) + 1
	if wf*hf > maxPixels {
		return layout{}, fmt.Errorf("pictures: %d tiles of %d×%d at scale %d make a %.0f×%.0f picture, more than %d pixels", n, rows, cols, scale, wf, hf, maxPixels)
	}
	l.w, l.h = int(wf), int(hf)
	return l, nil
}

// origin returns the top-left pixel of tile t.
func (l layout) origin(t int) (x, y int) {
	return 1 + (t%l.gc)*(l.cols*l.scale+1), 1 + (t/l.gc)*(l.rows*l.scale+1)
}

// draw paints the picture; grey(t, i) is the grey level of pixel i (row
// major within the rows×cols tile) of tile t.
func (l layout) draw(grey func(t, i int) uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, l.w, l.h))
	for k := 0; k < len(img.Pix); k += 4 {
		img.Pix[k], img.Pix[k+1], img.Pix[k+2], img.Pix[k+3] = Separator.R, Separator.G, Separator.B, 0xff
	}
	for t := 0; t < l.n; t++ {
		x0, y0 := l.origin(t)
		for r := 0; r < l.rows; r++ {
			for c := 0; c < l.cols; c++ {
				g := grey(t, r*l.cols+c)
				for dy := 0; dy < l.scale; dy++ {
					off := img.PixOffset(x0+c*l.scale, y0+r*l.scale+dy)
					for dx := 0; dx < l.scale; dx++ {
						p := img.Pix[off+4*dx : off+4*dx+4 : off+4*dx+4]
						p[0], p[1], p[2], p[3] = g, g, g, 0xff
					}
				}
			}
		}
	}
	return img
}

// toGrey maps x ∈ [0, 1] to a grey level 0..255, clamping outside values.
func toGrey(x float64) uint8 {
	switch {
	case !(x > 0): // also NaN
		return 0
	case x >= 1:
		return 255
	}
	return uint8(math.Round(255 * x))
}

// Filters draws the receptive field of each hidden unit: tile j shows
// column j of W (the V weights W_ij, i = r·cols + c, into hidden unit j)
// as a rows×cols image, V = rows·cols. The first maxFilters hidden units
// are drawn, in unit order (all H when maxFilters ≤ 0 or ≥ H).
//
// Each tile is contrast-normalised on its own, symmetrically around 0:
//
//	grey(W_ij) = ½ + ½·W_ij / max_i |W_ij|,
//
// so a zero weight is mid-grey, the largest positive weight white and the
// most negative black (a tile of zeros is uniformly mid-grey). The sign is
// kept: bright pixels excite the unit, dark ones inhibit it. scale upscales
// each weight to scale×scale pixels (0: AutoScale(rows, cols)).
//
// The picture's size is given in the package comment; the error is
// non-nil when rows·cols ≠ V, a size is not positive or m is invalid.
func Filters(m *models.RBM, rows, cols, maxFilters, scale int) (*image.RGBA, error) {
	if m == nil {
		return nil, errors.New("pictures: filters: no model")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pictures: filters: %w", err)
	}
	if rows < 1 || cols < 1 || rows*cols != m.V {
		return nil, fmt.Errorf("pictures: filters: shape %d×%d has %d pixels, the model has %d visible units", rows, cols, rows*cols, m.V)
	}
	n := m.H
	if maxFilters > 0 && maxFilters < n {
		n = maxFilters
	}
	l, err := newLayout(n, rows, cols, scale)
	if err != nil {
		return nil, fmt.Errorf("pictures: filters: %w", trimPrefix(err))
	}
	// inv[j] = 1 / max_i |W_ij| (0 for an all-zero column).
	inv := make([]float64, n)
	for i := 0; i < m.V; i++ {
		row := m.W[i*m.H : i*m.H+n]
		for j, w := range row {
			inv[j] = max(inv[j], math.Abs(float64(w)))
		}
	}
	for j, a := range inv {
		if a > 0 {
			inv[j] = 1 / a
		}
	}
	return l.draw(func(j, i int) uint8 {
		return toGrey(0.5 + 0.5*float64(m.W[i*m.H+j])*inv[j])
	}), nil
}

// Grid draws n samples as tiles: x holds n rows of rows·cols values in
// [0, 1] (n × rows·cols, row-major; values outside are clamped, NaN is
// black), 0 black and 1 white, each value upscaled to scale×scale pixels
// (0: AutoScale(rows, cols)). There is no contrast normalisation, so
// probabilities look like probabilities. The picture's size is given in the
// package comment.
func Grid(x []float32, n, rows, cols, scale int) (*image.RGBA, error) {
	l, err := newLayout(n, rows, cols, scale)
	if err != nil {
		return nil, fmt.Errorf("pictures: grid: %w", trimPrefix(err))
	}
	d := rows * cols
	if len(x) < n*d {
		return nil, fmt.Errorf("pictures: grid: %d values, %d tiles of %d×%d need %d", len(x), n, rows, cols, n*d)
	}
	return l.draw(func(t, i int) uint8 { return toGrey(float64(x[t*d+i])) }), nil
}

// trimPrefix drops the "pictures: " of an inner error so that a wrapped
// message names the package once.
func trimPrefix(err error) error {
	const p = "pictures: "
	if s := err.Error(); len(s) > len(p) && s[:len(p)] == p {
		return errors.New(s[len(p):])
	}
	return err
}
