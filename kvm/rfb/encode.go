package rfb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
)

// Pixel encodings (RFC 6143 §7.7). An encoder belongs to one connection:
// ZRLE and Tight keep zlib streams that the client's decoder follows
// rectangle after rectangle.

// rectHeader writes a rectangle's header: position, size, encoding.
func rectHeader(w *bufio.Writer, r image.Rectangle, enc int32) {
	var b [12]byte
	binary.BigEndian.PutUint16(b[0:], uint16(r.Min.X))
	binary.BigEndian.PutUint16(b[2:], uint16(r.Min.Y))
	binary.BigEndian.PutUint16(b[4:], uint16(r.Dx()))
	binary.BigEndian.PutUint16(b[6:], uint16(r.Dy()))
	binary.BigEndian.PutUint32(b[8:], uint32(enc))
	w.Write(b[:])
}

// encoder writes rectangles of a picture in one encoding.
type encoder interface {
	// count is the number of rectangles encode sends for r.
	count(r image.Rectangle) int
	// encode writes r of p, headers included. Errors are the writer's
	// (a bufio.Writer keeps the first and returns it on Flush).
	encode(w *bufio.Writer, p *picture, r image.Rectangle)
}

// rawEncoder is Raw (0): PIXELs, row after row.
type rawEncoder struct {
	conv *converter
	buf  []byte
}

func (e *rawEncoder) count(image.Rectangle) int { return 1 }

func (e *rawEncoder) encode(w *bufio.Writer, p *picture, r image.Rectangle) {
	rectHeader(w, r, EncRaw)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		e.buf = e.conv.rawRow(e.buf[:0], p, y, r.Min.X, r.Max.X)
		w.Write(e.buf)
	}
}

// zstream is one zlib stream of a connection: each chunk written is
// ended by a sync flush, so the client can decode it whole.
type zstream struct {
	out   bytes.Buffer
	zw    *zlib.Writer
	level int
}

// compress returns data compressed as the stream's next chunk; the bytes
// are valid until the next call.
func (z *zstream) compress(data []byte) []byte {
	z.out.Reset()
	if z.zw == nil {
		z.zw, _ = zlib.NewWriterLevel(&z.out, z.level) // the level is checked by zlibLevel
	}
	z.zw.Write(data) // to a bytes.Buffer: no error
	z.zw.Flush()
	return z.out.Bytes()
}

// zlibLevel is the zlib level of an RFB compression level (0..9; -1 when
// the client gave none): 1, the fastest, unless the client asks for more.
func zlibLevel(compress int) int {
	if compress < 1 {
		return zlib.BestSpeed
	}
	return min(compress, zlib.BestCompression)
}

// zrleEncoder is ZRLE (16): 64x64 tiles, each raw, solid, packed
// palette, palette RLE or plain RLE (the smallest), through one zlib
// stream (rfbproto "ZRLE Encoding").
type zrleEncoder struct {
	conv *converter
	z    zstream
	st   tileStats
	buf  []byte
}

func (e *zrleEncoder) count(image.Rectangle) int { return 1 }

func (e *zrleEncoder) encode(w *bufio.Writer, p *picture, r image.Rectangle) {
	e.buf = e.buf[:0]
	tiles(r, 64, 64, func(t image.Rectangle) error {
		e.buf = e.tile(e.buf, p, t)
		return nil
	})
	data := e.z.compress(e.buf)
	rectHeader(w, r, EncZRLE)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	w.Write(data)
	if cap(e.buf) > 1<<20 {
		e.buf = nil // do not keep a full screen's worth
	}
}

// tile appends tile t of p, ZRLE-encoded (before compression).
func (e *zrleEncoder) tile(dst []byte, p *picture, t image.Rectangle) []byte {
	s := &e.st
	s.analyse(p, t)
	c := e.conv
	cp := c.cpSize
	w, h := t.Dx(), t.Dy()
	if s.n == 1 {
		return c.cpixel(append(dst, 1), s.palette[0])
	}
	sub, best := 0, w*h*cp // raw
	if s.n <= 16 {
		if size := s.n*cp + (w*packBits(s.n)+7)/8*h; size < best {
			sub, best = s.n, size
		}
	}
	if s.n <= maxPalette {
		// palette RLE: an index per run, and the length after runs
		// longer than one
		if size := s.n*cp + s.runs + s.runBytes - s.runs1; size < best {
			sub, best = 128+s.n, size
		}
	}
	if size := s.runs*cp + s.runBytes; size < best {
		sub = 128
	}
	dst = append(dst, byte(sub))
	switch {
	case sub == 0:
		for y := t.Min.Y; y < t.Max.Y; y++ {
			for x := t.Min.X; x < t.Max.X; x++ {
				dst = c.cpixel(dst, p.rgb(x, y))
			}
		}
	case sub <= 16:
		dst = e.palette(dst)
		bits := packBits(s.n)
		hint := 0
		for y := t.Min.Y; y < t.Max.Y; y++ {
			var acc byte
			nb := 0
			for x := t.Min.X; x < t.Max.X; x++ {
				hint = s.lookup(p.rgb(x, y), hint)
				acc = acc<<bits | byte(hint)
				nb += bits
				if nb == 8 {
					dst = append(dst, acc)
					acc, nb = 0, 0
				}
			}
			if nb > 0 {
				dst = append(dst, acc<<(8-nb))
			}
		}
	default: // RLE, plain (128) or with the palette (130..255)
		withPalette := sub > 128
		if withPalette {
			dst = e.palette(dst)
		}
		hint := 0
		runs(p, t, func(rgb uint32, n int) {
			if withPalette {
				hint = s.lookup(rgb, hint)
				if n == 1 {
					dst = append(dst, byte(hint))
					return
				}
				dst = append(dst, byte(hint)|0x80)
			} else {
				dst = c.cpixel(dst, rgb)
			}
			for n--; n >= 255; n -= 255 {
				dst = append(dst, 255)
			}
			dst = append(dst, byte(n))
		})
	}
	return dst
}

func (e *zrleEncoder) palette(dst []byte) []byte {
	for _, rgb := range e.st.palette[:e.st.n] {
		dst = e.conv.cpixel(dst, rgb)
	}
	return dst
}

// packBits is the bits per pixel of a ZRLE packed palette of n colours.
func packBits(n int) int {
	switch {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	}
	return 4
}

// runs calls fn for each run of one colour in t, row after row.
func runs(p *picture, t image.Rectangle, fn func(rgb uint32, n int)) {
	run := 0
	var cur uint32
	for y := t.Min.Y; y < t.Max.Y; y++ {
		for x := t.Min.X; x < t.Max.X; x++ {
			c := p.rgb(x, y)
			if run > 0 && c == cur {
				run++
				continue
			}
			if run > 0 {
				fn(cur, run)
			}
			cur, run = c, 1
		}
	}
	if run > 0 {
		fn(cur, run)
	}
}

// Tight's zlib streams, one per kind of data, as TightVNC uses them.
const (
	tightStreamCopy    = 0 // full-colour pixels
	tightStreamMono    = 1 // two-colour palette, 1 bit per pixel
	tightStreamIndexed = 2 // larger palettes, a byte per pixel
)

// tightTile is the side of the tiles a rectangle is cut into for Tight's
// lossless subencodings: each tile is a fill, a palette or full colour.
const tightTile = 64

// tightEncoder is Tight (7) without JPEG: every tile of a rectangle is
// sent as a fill (one colour), through the palette filter (up to 127
// colours) or as full-colour TPIXELs, zlib-compressed (rfbproto "Tight
// Encoding"). The JPEG subencoding, for whole frames, is tightJPEG.
type tightEncoder struct {
	conv    *converter
	streams [3]zstream
	st      tileStats
	buf     []byte
	hdr     []byte
}

func (e *tightEncoder) count(r image.Rectangle) int { return tileCount(r, tightTile, tightTile) }

func (e *tightEncoder) encode(w *bufio.Writer, p *picture, r image.Rectangle) {
	tiles(r, tightTile, tightTile, func(t image.Rectangle) error {
		e.tile(w, p, t)
		return nil
	})
}

func (e *tightEncoder) tile(w *bufio.Writer, p *picture, t image.Rectangle) {
	s := &e.st
	s.analyse(p, t)
	c := e.conv
	rectHeader(w, t, EncTight)
	hdr := e.hdr[:0]
	data := e.buf[:0]
	stream := tightStreamCopy
	switch {
	case s.n == 1:
		w.Write(c.tpixel(append(hdr, tightFill), s.palette[0]))
		e.hdr = hdr
		return
	case s.n == 2:
		stream = tightStreamMono
		hdr = append(hdr, byte(stream<<4)|tightFilterBit, tightPalette, 1)
		hdr = c.tpixel(c.tpixel(hdr, s.palette[0]), s.palette[1])
		for y := t.Min.Y; y < t.Max.Y; y++ {
			var acc byte
			nb := 0
			for x := t.Min.X; x < t.Max.X; x++ {
				acc <<= 1
				if p.rgb(x, y) == s.palette[1] {
					acc |= 1
				}
				if nb++; nb == 8 {
					data = append(data, acc)
					acc, nb = 0, 0
				}
			}
			if nb > 0 {
				data = append(data, acc<<(8-nb))
			}
		}
	case s.n <= maxPalette:
		stream = tightStreamIndexed
		hdr = append(hdr, byte(stream<<4)|tightFilterBit, tightPalette, byte(s.n-1))
		for _, rgb := range s.palette[:s.n] {
			hdr = c.tpixel(hdr, rgb)
		}
		hint := 0
		for y := t.Min.Y; y < t.Max.Y; y++ {
			for x := t.Min.X; x < t.Max.X; x++ {
				hint = s.lookup(p.rgb(x, y), hint)
				data = append(data, byte(hint))
			}
		}
	default:
		hdr = append(hdr, byte(stream<<4))
		for y := t.Min.Y; y < t.Max.Y; y++ {
			for x := t.Min.X; x < t.Max.X; x++ {
				data = c.tpixel(data, p.rgb(x, y))
			}
		}
	}
	w.Write(hdr)
	if len(data) < tightMinZlib {
		w.Write(data)
	} else {
		z := &e.streams[stream]
		out := z.compress(data)
		w.Write(compactLen(e.hdr[:0], len(out)))
		w.Write(out)
	}
	e.hdr, e.buf = hdr[:0], data[:0]
}

// writeTightJPEG writes r (a whole frame) as one Tight rectangle of the
// JPEG subencoding carrying jpeg as it is.
func writeTightJPEG(w *bufio.Writer, r image.Rectangle, jpeg []byte) {
	rectHeader(w, r, EncTight)
	w.WriteByte(tightJPEG)
	var l [3]byte
	w.Write(compactLen(l[:0], len(jpeg)))
	w.Write(jpeg)
}

// compactLen appends n (< 2^22) in Tight's compact representation: 7
// bits a byte, least significant first, the top bit saying another byte
// follows; the third byte holds 8 bits.
func compactLen(dst []byte, n int) []byte {
	switch {
	case n < 1<<7:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n)|0x80, byte(n>>7))
	}
	return append(dst, byte(n)|0x80, byte(n>>7)|0x80, byte(n>>14))
}
