package rfb

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"testing"
)

func TestCompactLen(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0}}, {127, []byte{0x7F}}, {128, []byte{0x80, 0x01}}, {10000, []byte{0x90, 0x4E}},
		{16383, []byte{0xFF, 0x7F}}, {16384, []byte{0x80, 0x80, 0x01}}, {tightMaxLen, []byte{0xFF, 0xFF, 0xFF}},
	} {
		if got := compactLen(nil, c.n); !bytes.Equal(got, c.want) {
			t.Errorf("compactLen(%d) = % x, want % x", c.n, got, c.want)
		}
	}
}

func TestPixelFormatCheck(t *testing.T) {
	ok := ServerPixelFormat
	for _, c := range []struct {
		name string
		pf   func(PixelFormat) PixelFormat
		ok   bool
	}{
		{"server", func(p PixelFormat) PixelFormat { return p }, true},
		{"16 bpp 565", func(p PixelFormat) PixelFormat {
			return PixelFormat{BitsPerPixel: 16, Depth: 16, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5}
		}, true},
		{"8 bpp 332", func(p PixelFormat) PixelFormat {
			return PixelFormat{BitsPerPixel: 8, Depth: 8, TrueColour: true, RedMax: 7, GreenMax: 7, BlueMax: 3, RedShift: 5, GreenShift: 2}
		}, true},
		{"24 bpp", func(p PixelFormat) PixelFormat { p.BitsPerPixel = 24; return p }, false},
		{"colour map", func(p PixelFormat) PixelFormat { p.TrueColour = false; return p }, false},
		{"zero max", func(p PixelFormat) PixelFormat { p.GreenMax = 0; return p }, false},
		{"shift out of the pixel", func(p PixelFormat) PixelFormat { p.RedShift = 32; return p }, false},
		{"channel past the top", func(p PixelFormat) PixelFormat { p.RedShift = 25; return p }, false},
		{"8 bpp with 8-bit channels", func(p PixelFormat) PixelFormat { p.BitsPerPixel = 8; return p }, false},
	} {
		if err := c.pf(ok).Check(); (err == nil) != c.ok {
			t.Errorf("%s: Check() = %v", c.name, err)
		}
	}
}

func TestPixelEncodings(t *testing.T) {
	rgb := uint32(0x112233)
	be := ServerPixelFormat
	be.BigEndian = true
	high := PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 24, GreenShift: 16, BlueShift: 8}
	highBE := high
	highBE.BigEndian = true
	p565 := PixelFormat{BitsPerPixel: 16, Depth: 16, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5}
	for _, c := range []struct {
		name                string
		pf                  PixelFormat
		pixel, cpixel, tpix string
	}{
		{"server", ServerPixelFormat, "33 22 11 00", "33 22 11", "11 22 33"},
		{"big-endian", be, "00 11 22 33", "11 22 33", "11 22 33"},
		{"high bytes", high, "00 33 22 11", "33 22 11", "11 22 33"},
		{"high bytes big-endian", highBE, "11 22 33 00", "11 22 33", "11 22 33"},
		{"565", p565, "06 11", "06 11", "06 11"},
	} {
		cv := newConverter(c.pf)
		if got := fmt.Sprintf("% x", cv.pixel(nil, rgb)); got != c.pixel {
			t.Errorf("%s: PIXEL % s, want %s", c.name, got, c.pixel)
		}
		if got := fmt.Sprintf("% x", cv.cpixel(nil, rgb)); got != c.cpixel {
			t.Errorf("%s: CPIXEL %s, want %s", c.name, got, c.cpixel)
		}
		if got := fmt.Sprintf("% x", cv.tpixel(nil, rgb)); got != c.tpix {
			t.Errorf("%s: TPIXEL %s, want %s", c.name, got, c.tpix)
		}
	}
}

// tileOf is a 64x64 picture drawn by fn.
func tileOf(fn func(x, y int) color.RGBA) *picture {
	m := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			m.SetRGBA(x, y, fn(x, y))
		}
	}
	return pictureOf(m)
}

func TestZRLETileSubencoding(t *testing.T) {
	grey := func(v int) color.RGBA { return color.RGBA{uint8(v), uint8(v), uint8(v), 255} }
	for _, c := range []struct {
		name string
		pic  *picture
		want func(byte) bool
	}{
		{"solid", tileOf(func(x, y int) color.RGBA { return grey(7) }), func(b byte) bool { return b == 1 }},
		{"text: packed palette", tileOf(func(x, y int) color.RGBA { return grey(200 * ((x*7 + y*3) % 5 / 4)) }), func(b byte) bool { return b == 2 }},
		{"few colours in long runs: palette RLE", tileOf(func(x, y int) color.RGBA { return grey((x + 64*y) / 40 % 3 * 90) }), func(b byte) bool { return b == 128+3 }},
		{"gradient rows: plain RLE", tileOf(func(x, y int) color.RGBA { return color.RGBA{uint8(y), uint8(y * 3), uint8(x / 32), 255} }), func(b byte) bool { return b == 128 }},
		{"noise: raw", tileOf(func(x, y int) color.RGBA { return color.RGBA{uint8(x*37 ^ y*11), uint8(x*y + 3), uint8(x + y*5), 255} }), func(b byte) bool { return b == 0 }},
	} {
		e := &zrleEncoder{conv: newConverter(ServerPixelFormat)}
		got := e.tile(nil, c.pic, image.Rect(0, 0, 64, 64))
		if !c.want(got[0]) {
			t.Errorf("%s: subencoding %d (%d bytes)", c.name, got[0], len(got))
		}
	}
}

func benchPicture() *picture { return pictureOf(screen(1920, 1080, 1)) }

func benchEncoder(b *testing.B, enc encoder) {
	p := benchPicture()
	w := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(p.w * p.h * 4))
	for b.Loop() {
		enc.encode(w, p, p.bounds())
	}
}

// BenchmarkRaw1080p, BenchmarkZRLE1080p and BenchmarkTightLossless1080p
// are one whole 1920x1080 console-like screen for a client without JPEG
// (the per-client cost that Tight JPEG avoids).
func BenchmarkRaw1080p(b *testing.B) {
	benchEncoder(b, &rawEncoder{conv: newConverter(ServerPixelFormat)})
}

func BenchmarkZRLE1080p(b *testing.B) {
	e := &zrleEncoder{conv: newConverter(ServerPixelFormat)}
	e.z.level = zlibLevel(-1)
	benchEncoder(b, e)
}

func BenchmarkTightLossless1080p(b *testing.B) {
	e := &tightEncoder{conv: newConverter(ServerPixelFormat)}
	for i := range e.streams {
		e.streams[i].level = zlibLevel(-1)
	}
	benchEncoder(b, e)
}

// BenchmarkTightTextLine is the typical incremental update of a text
// console: one line of 128 cells of 8x16.
func BenchmarkTightTextLine(b *testing.B) {
	p := benchPicture()
	e := &tightEncoder{conv: newConverter(ServerPixelFormat)}
	for i := range e.streams {
		e.streams[i].level = zlibLevel(-1)
	}
	w := bufio.NewWriter(io.Discard)
	for b.Loop() {
		e.encode(w, p, image.Rect(0, 160, 1024, 176))
	}
}
