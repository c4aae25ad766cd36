package capture

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// NoSignalSize is the "no signal" picture's size before any frame came.
var NoSignalSize = image.Pt(1024, 768)

var (
	noSignalBack = color.RGBA{16, 18, 28, 255}
	noSignalText = color.RGBA{230, 230, 230, 255}
	noSignalDim  = color.RGBA{140, 140, 150, 255}
)

// NoSignalPicture draws the picture shown while a capture device has no
// signal: a dark size.X x size.Y image with "NO SIGNAL" large in its
// middle and detail (the device, say) small below. A size not positive
// takes NoSignalSize.
func NoSignalPicture(size image.Point, detail string) *image.RGBA {
	if size.X <= 0 || size.Y <= 0 {
		size = NoSignalSize
	}
	m := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(m, m.Rect, image.NewUniform(noSignalBack), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	title := "NO SIGNAL"
	tw := font.MeasureString(face, title).Ceil()
	scale := size.X / (tw * 3) // the title a third of the width
	if scale < 1 {
		scale = 1
	}
	th := face.Height * scale
	y := size.Y/2 - th/2
	drawScaled(m, face, title, noSignalText, scale, image.Pt((size.X-tw*scale)/2, y))
	if detail != "" {
		ds := scale / 3
		if ds < 1 {
			ds = 1
		}
		dw := font.MeasureString(face, detail).Ceil() * ds
		drawScaled(m, face, detail, noSignalDim, ds, image.Pt((size.X-dw)/2, y+th+face.Height*ds))
	}
	return m
}

// drawScaled draws s at scale times the face's size, its box's top-left
// at at (nearest neighbour: basicfont is a bitmap font).
func drawScaled(dst *image.RGBA, face font.Face, s string, c color.Color, scale int, at image.Point) {
	w := font.MeasureString(face, s).Ceil()
	h := face.Metrics().Height.Ceil()
	small := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Metrics().Ascent.Ceil())}
	d.DrawString(s)
	src := image.NewUniform(c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if a := small.AlphaAt(x, y).A; a != 0 {
				r := image.Rect(at.X+x*scale, at.Y+y*scale, at.X+(x+1)*scale, at.Y+(y+1)*scale)
				draw.DrawMask(dst, r, src, image.Point{}, image.NewUniform(color.Alpha{a}), image.Point{}, draw.Over)
			}
		}
	}
}
