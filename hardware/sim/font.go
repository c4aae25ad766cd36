package sim

import (
	goimage "image" // "image" names a test helper of this package
	"image/color"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The simulated display draws text as a VGA text mode does: cells of
// cellW x cellH pixels, each holding one glyph of the X11 misc-fixed font
// (golang.org/x/image/font/basicfont.Face7x13, 6x13 pixels of ink) one
// pixel from the cell's left and two rows from its top. The face holds
// printable ASCII; any other rune is drawn as U+FFFD.
const (
	cellW     = 8
	cellH     = 16
	glyphLeft = 1
	glyphTop  = 2
	// cursorTop is the first pixel row of the underline text cursor.
	cursorTop = 14
)

// glyph is one cell's ink: bit 7-x of row y is set where the glyph inks
// pixel (x, y) of the cell.
type glyph [cellH]uint8

// glyphs holds printable ASCII from ' ', then U+FFFD.
var glyphs = loadGlyphs()

func loadGlyphs() []glyph {
	var out []glyph
	for r := rune(' '); r <= '~'; r++ {
		out = append(out, glyphOf(basicfont.Face7x13, r))
	}
	return append(out, glyphOf(basicfont.Face7x13, '\ufffd'))
}

// glyphOf reads r's mask from the face into a cell.
func glyphOf(f *basicfont.Face, r rune) glyph {
	dr, mask, mp, _, _ := f.Glyph(fixed.P(glyphLeft, glyphTop+f.Ascent), r)
	var g glyph
	for y := dr.Min.Y; y < dr.Max.Y && y < cellH; y++ {
		for x := dr.Min.X; x < dr.Max.X && x < cellW; x++ {
			if _, _, _, a := mask.At(mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y).RGBA(); a >= 0x8000 {
				g[y] |= 0x80 >> x
			}
		}
	}
	return g
}

// glyphFor is r's glyph; U+FFFD's for a rune the face lacks.
func glyphFor(r rune) *glyph {
	if r >= ' ' && r <= '~' {
		return &glyphs[r-' ']
	}
	return &glyphs[len(glyphs)-1]
}

// palette is the 16 colours of a VGA text mode, indexed by a cell's fg
// and bg.
var palette = [16]color.RGBA{
	{0x00, 0x00, 0x00, 0xff}, {0x00, 0x00, 0xaa, 0xff}, {0x00, 0xaa, 0x00, 0xff}, {0x00, 0xaa, 0xaa, 0xff},
	{0xaa, 0x00, 0x00, 0xff}, {0xaa, 0x00, 0xaa, 0xff}, {0xaa, 0x55, 0x00, 0xff}, {0xaa, 0xaa, 0xaa, 0xff},
	{0x55, 0x55, 0x55, 0xff}, {0x55, 0x55, 0xff, 0xff}, {0x55, 0xff, 0x55, 0xff}, {0x55, 0xff, 0xff, 0xff},
	{0xff, 0x55, 0x55, 0xff}, {0xff, 0x55, 0xff, 0xff}, {0xff, 0xff, 0x55, 0xff}, {0xff, 0xff, 0xff, 0xff},
}

// Palette indexes used by name.
const (
	colBlack     = 0
	colBlue      = 1
	colCyan      = 3
	colLightGray = 7
	colYellow    = 14
	colWhite     = 15
)

// drawCell paints cell c at (col, row) of dst, with an underline when
// cursor is set.
func drawCell(dst *goimage.RGBA, col, row int, c cell, cursor bool) {
	g := glyphFor(c.r)
	fg, bg := palette[c.fg&15], palette[c.bg&15]
	x0, y0 := col*cellW, row*cellH
	for y := 0; y < cellH; y++ {
		bits := g[y]
		if cursor && y >= cursorTop {
			bits = 0xff
		}
		p := dst.Pix[dst.PixOffset(x0, y0+y):]
		for x := 0; x < cellW; x++ {
			c := bg
			if bits&(0x80>>x) != 0 {
				c = fg
			}
			p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
}

// pointerSprite is the mouse pointer the display draws: an arrow whose
// hot spot is its top-left pixel; 'X' is black, '.' white, ' ' clear.
var pointerSprite = []string{
	"X           ",
	"XX          ",
	"X.X         ",
	"X..X        ",
	"X...X       ",
	"X....X      ",
	"X.....X     ",
	"X......X    ",
	"X.......X   ",
	"X........X  ",
	"X.........X ",
	"X......XXXXX",
	"X...X..X    ",
	"X..XX..X    ",
	"X.X  X..X   ",
	"XX   X..X   ",
	"X     X..X  ",
	"      X..X  ",
	"       XX   ",
}

// pointerRect is the area the pointer covers with its hot spot at p.
func pointerRect(p goimage.Point) goimage.Rectangle {
	return goimage.Rect(0, 0, len(pointerSprite[0]), len(pointerSprite)).Add(p)
}

// drawPointer paints the pointer with its hot spot at p, clipped to dst.
func drawPointer(dst *goimage.RGBA, p goimage.Point) {
	for y, line := range pointerSprite {
		for x := 0; x < len(line); x++ {
			var c color.RGBA
			switch line[x] {
			case 'X':
				c = palette[colBlack]
			case '.':
				c = palette[colWhite]
			default:
				continue
			}
			if q := p.Add(goimage.Pt(x, y)); q.In(dst.Rect) {
				dst.SetRGBA(q.X, q.Y, c)
			}
		}
	}
}
