package rfb

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// picture is a frame's pixels as 8-bit R, G, B, A bytes, its origin at
// 0,0: the view every encoder reads.
type picture struct {
	pix    []byte
	stride int
	w, h   int
}

// pictureOf views img as a picture: an *image.RGBA as it is, anything
// else (a source's decoded JPEG) drawn into one.
func pictureOf(img image.Image) *picture {
	b := img.Bounds()
	m, ok := img.(*image.RGBA)
	if !ok {
		m = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
		b = m.Bounds()
	}
	return &picture{pix: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], stride: m.Stride, w: b.Dx(), h: b.Dy()}
}

// rgb is the colour at x, y as 0xRRGGBB.
func (p *picture) rgb(x, y int) uint32 {
	o := y*p.stride + 4*x
	return uint32(p.pix[o])<<16 | uint32(p.pix[o+1])<<8 | uint32(p.pix[o+2])
}

func (p *picture) bounds() image.Rectangle { return image.Rect(0, 0, p.w, p.h) }

// converter turns 0xRRGGBB colours into pixel values of a client's
// format.
type converter struct {
	pf        PixelFormat
	bytes     int // per pixel
	r, g, b   [256]uint32
	cpSize    int // ZRLE CPIXEL bytes
	cpOffset  int
	tightRGB  bool // TPIXEL is R, G, B
	tpSize    int  // TPIXEL bytes
	identical bool // pf is ServerPixelFormat: a pixel is B, G, R, 0
}

func newConverter(pf PixelFormat) *converter {
	c := &converter{pf: pf, bytes: int(pf.BitsPerPixel) / 8}
	for i := range 256 {
		c.r[i] = uint32((i*int(pf.RedMax)+127)/255) << pf.RedShift
		c.g[i] = uint32((i*int(pf.GreenMax)+127)/255) << pf.GreenShift
		c.b[i] = uint32((i*int(pf.BlueMax)+127)/255) << pf.BlueShift
	}
	c.cpSize, c.cpOffset = pf.cpixel()
	c.tightRGB = pf.tightPixel()
	c.tpSize = c.bytes
	if c.tightRGB {
		c.tpSize = 3
	}
	c.identical = pf == ServerPixelFormat
	return c
}

// value is the pixel value of colour rgb (0xRRGGBB).
func (c *converter) value(rgb uint32) uint32 {
	return c.r[rgb>>16&0xFF] | c.g[rgb>>8&0xFF] | c.b[rgb&0xFF]
}

// put appends the pixel value v as the format's PIXEL.
func (c *converter) put(dst []byte, v uint32) []byte {
	switch c.bytes {
	case 1:
		return append(dst, byte(v))
	case 2:
		if c.pf.BigEndian {
			return append(dst, byte(v>>8), byte(v))
		}
		return append(dst, byte(v), byte(v>>8))
	}
	if c.pf.BigEndian {
		return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// pixel appends colour rgb as a PIXEL.
func (c *converter) pixel(dst []byte, rgb uint32) []byte { return c.put(dst, c.value(rgb)) }

// cpixel appends colour rgb as ZRLE's CPIXEL.
func (c *converter) cpixel(dst []byte, rgb uint32) []byte {
	if c.cpSize == c.bytes {
		return c.pixel(dst, rgb)
	}
	var tmp [4]byte
	full := c.put(tmp[:0], c.value(rgb))
	return append(dst, full[c.cpOffset:c.cpOffset+3]...)
}

// tpixel appends colour rgb as Tight's TPIXEL.
func (c *converter) tpixel(dst []byte, rgb uint32) []byte {
	if c.tightRGB {
		return append(dst, byte(rgb>>16), byte(rgb>>8), byte(rgb))
	}
	return c.pixel(dst, rgb)
}

// rawRow appends the pixels of row y from x0 to x1 as PIXELs.
func (c *converter) rawRow(dst []byte, p *picture, y, x0, x1 int) []byte {
	row := p.pix[y*p.stride+4*x0 : y*p.stride+4*x1]
	if c.identical {
		for i := 0; i < len(row); i += 4 {
			dst = append(dst, row[i+2], row[i+1], row[i], 0)
		}
		return dst
	}
	for i := 0; i < len(row); i += 4 {
		dst = c.put(dst, c.r[row[i]]|c.g[row[i+1]]|c.b[row[i+2]])
	}
	return dst
}

// noSignalSize is the screen of a client that connects while the source
// has never had a picture: VGA's 640x480.
var noSignalSize = image.Pt(640, 480)

// noSignal draws the picture shown while the source has none: black,
// "No signal" in grey in its middle. The last one drawn is kept (a size
// rarely changes).
var noSignal = func() func(size image.Point) *picture {
	var mu sync.Mutex
	var last *picture
	return func(size image.Point) *picture {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && last.w == size.X && last.h == size.Y {
			return last
		}
		m := image.NewRGBA(image.Rectangle{Max: size})
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 0xFF
		}
		const text = "No signal"
		face := basicfont.Face7x13
		d := font.Drawer{Dst: m, Src: image.NewUniform(color.RGBA{0xA0, 0xA0, 0xA0, 0xFF}), Face: face}
		tw := d.MeasureString(text).Ceil()
		d.Dot = fixed.P((size.X-tw)/2, (size.Y+face.Ascent)/2)
		d.DrawString(text)
		last = pictureOf(m)
		return last
	}
}()
