// Package rfbtest is a small RFB (VNC) client for tests of the console's
// VNC server (package rfb) and the conformance suites: the handshake with
// None, VNC Authentication or VeNCrypt X509Plain, pixel formats of 8, 16
// and 32 bits, Raw, ZRLE and Tight updates (fill, palette, full colour,
// JPEG) decoded into an RGBA framebuffer, the DesktopSize,
// ExtendedDesktopSize, QEMU Extended Key Event and QEMU LED State
// pseudo-encodings, and the input messages. It is written from RFC 6143
// and the rfbproto specification, independently of the server.
package rfbtest

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/des"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"math/bits"
	"net"
	"slices"
	"time"
)

// Config is how a Client connects.
type Config struct {
	// Minor is the protocol version 3.Minor the client speaks: 3, 7 or
	// 8 (0: 8).
	Minor int
	// Security is the security type to choose (3.7 and later); 0: the
	// first the server offers.
	Security uint8
	// Password answers VNC Authentication.
	Password string
	// User and Pass are VeNCrypt Plain's credentials, sent over TLS
	// configured by TLS (X509Plain).
	User, Pass string
	TLS        *tls.Config
	// Exclusive sends ClientInit's shared flag as 0.
	Exclusive bool
	// TypingDelay is how long the client waits before answering the
	// password question (VNC Authentication's response, VeNCrypt's
	// credentials), as a person typing the password would.
	TypingDelay time.Duration
}

// SecurityError is the server's refusal during the handshake, with its
// reason.
type SecurityError struct{ Reason string }

func (e *SecurityError) Error() string { return "rfbtest: refused: " + e.Reason }

// Client is one RFB connection. Its methods are not safe for concurrent
// use, except that input may be sent while another goroutine reads
// updates.
type Client struct {
	conn net.Conn
	r    *bufio.Reader

	// Offered are the security types the server offered (3.7+), or the
	// one it chose (3.3).
	Offered []uint8
	// Name is the desktop name; PF the pixel format in force.
	Name string
	PF   PixelFormat
	// ServerPF is the format of ServerInit.
	ServerPF PixelFormat
	// FB is the framebuffer as updates left it.
	FB *image.RGBA
	// LEDs is the last QEMU LED State (-1: none yet): bit 0 Scroll,
	// 1 Num, 2 Caps Lock.
	LEDs int
	// QEMUKeys: the server acknowledged the QEMU Extended Key Event.
	QEMUKeys bool
	// Sizes lists each DesktopSize and ExtendedDesktopSize rectangle
	// received.
	Sizes []SizeRect

	zrle  stream
	tight [4]stream
}

// SizeRect is a DesktopSize (Encoding -223) or ExtendedDesktopSize
// (-308) rectangle: Reason and Status are ExtendedDesktopSize's x and y.
type SizeRect struct {
	Encoding       int32
	Reason, Status int
	Size           image.Point
	Screens        int
}

// Rect is one rectangle of an update, as received.
type Rect struct {
	image.Rectangle
	Encoding int32
	// Tight is the Tight subencoding: "fill", "jpeg", "copy",
	// "palette" or "gradient".
	Tight string
}

// Update is one FramebufferUpdate.
type Update struct{ Rects []Rect }

// Dial connects to addr over TCP and runs the handshake.
func Dial(addr string, cfg Config) (*Client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := Handshake(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Handshake runs the handshake over conn up to ServerInit.
func Handshake(conn net.Conn, cfg Config) (*Client, error) {
	c := &Client{conn: conn, r: bufio.NewReader(conn), LEDs: -1}
	minor := cfg.Minor
	if minor == 0 {
		minor = 8
	}
	var v [12]byte
	if _, err := io.ReadFull(c.r, v[:]); err != nil {
		return nil, fmt.Errorf("rfbtest: reading the server's version: %w", err)
	}
	if string(v[:]) != "RFB 003.008\n" {
		return nil, fmt.Errorf("rfbtest: server version %q", v[:])
	}
	if _, err := fmt.Fprintf(conn, "RFB 003.%03d\n", minor); err != nil {
		return nil, err
	}
	var chosen uint8
	if minor == 3 {
		t, err := c.u32()
		if err != nil {
			return nil, err
		}
		if t == 0 {
			return nil, &SecurityError{c.reason()}
		}
		chosen = uint8(t)
		c.Offered = []uint8{chosen}
	} else {
		n, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, &SecurityError{c.reason()}
		}
		c.Offered = make([]uint8, n)
		if _, err := io.ReadFull(c.r, c.Offered); err != nil {
			return nil, err
		}
		chosen = cfg.Security
		if chosen == 0 {
			chosen = c.Offered[0]
		}
		if _, err := conn.Write([]byte{chosen}); err != nil {
			return nil, err
		}
	}
	switch chosen {
	case SecNone:
	case SecVNC:
		challenge := make([]byte, 16)
		if _, err := io.ReadFull(c.r, challenge); err != nil {
			return nil, err
		}
		time.Sleep(cfg.TypingDelay)
		if _, err := conn.Write(vncResponse(challenge, cfg.Password)); err != nil {
			return nil, err
		}
	case SecVeNCrypt:
		if err := c.veNCrypt(cfg); err != nil {
			return nil, err
		}
	default:
		if !slices.Contains(c.Offered, chosen) {
			// The server answers with a failed SecurityResult.
			break
		}
		return nil, fmt.Errorf("rfbtest: security type %d is not supported", chosen)
	}
	if chosen != SecNone || minor == 8 {
		res, err := c.u32()
		if err != nil {
			return nil, fmt.Errorf("rfbtest: reading SecurityResult: %w", err)
		}
		if res != 0 {
			if minor == 8 {
				return nil, &SecurityError{c.reason()}
			}
			return nil, &SecurityError{"failed"}
		}
	}
	shared := byte(1)
	if cfg.Exclusive {
		shared = 0
	}
	if _, err := c.conn.Write([]byte{shared}); err != nil {
		return nil, err
	}
	var init [24]byte
	if _, err := io.ReadFull(c.r, init[:]); err != nil {
		return nil, fmt.Errorf("rfbtest: reading ServerInit: %w", err)
	}
	w, h := int(binary.BigEndian.Uint16(init[0:])), int(binary.BigEndian.Uint16(init[2:]))
	c.ServerPF = unmarshalPixelFormat(init[4:])
	c.PF = c.ServerPF
	name := make([]byte, binary.BigEndian.Uint32(init[20:]))
	if _, err := io.ReadFull(c.r, name); err != nil {
		return nil, err
	}
	c.Name = string(name)
	c.FB = image.NewRGBA(image.Rect(0, 0, w, h))
	return c, nil
}

func (c *Client) veNCrypt(cfg Config) error {
	var v [2]byte
	if _, err := io.ReadFull(c.r, v[:]); err != nil {
		return err
	}
	if v != [2]byte{0, 2} {
		return fmt.Errorf("rfbtest: VeNCrypt version %d.%d", v[0], v[1])
	}
	if _, err := c.conn.Write([]byte{0, 2}); err != nil {
		return err
	}
	ack, err := c.r.ReadByte()
	if err != nil || ack != 0 {
		return fmt.Errorf("rfbtest: VeNCrypt version refused (%d, %v)", ack, err)
	}
	n, err := c.r.ReadByte()
	if err != nil {
		return err
	}
	subs := make([]byte, 4*int(n))
	if _, err := io.ReadFull(c.r, subs); err != nil {
		return err
	}
	found := false
	for i := 0; i < len(subs); i += 4 {
		if binary.BigEndian.Uint32(subs[i:]) == VeNCryptX509Plain {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("rfbtest: no X509Plain among the VeNCrypt subtypes %x", subs)
	}
	if _, err := c.conn.Write(binary.BigEndian.AppendUint32(nil, VeNCryptX509Plain)); err != nil {
		return err
	}
	if ack, err := c.r.ReadByte(); err != nil || ack != 1 {
		return fmt.Errorf("rfbtest: VeNCrypt subtype refused (%d, %v)", ack, err)
	}
	tc := tls.Client(c.conn, cfg.TLS)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
	time.Sleep(cfg.TypingDelay)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(cfg.User)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(cfg.Pass)))
	b = append(append(b, cfg.User...), cfg.Pass...)
	_, err = tc.Write(b)
	return err
}

// vncResponse answers a VNC Authentication challenge (RFC 6143 §7.2.2).
func vncResponse(challenge []byte, password string) []byte {
	key := make([]byte, 8)
	copy(key, password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	blk, _ := des.NewCipher(key)
	out := make([]byte, 16)
	blk.Encrypt(out[:8], challenge[:8])
	blk.Encrypt(out[8:], challenge[8:])
	return out
}

func (c *Client) u32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// reason reads a failure's reason string (at most 64 KiB is believed).
func (c *Client) reason() string {
	n, err := c.u32()
	if err != nil || n > 1<<16 {
		return fmt.Sprintf("(no reason: %v)", err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return fmt.Sprintf("(no reason: %v)", err)
	}
	return string(b)
}

// Conn is the connection (TLS after VeNCrypt).
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SetPixelFormat asks for pixels in pf.
func (c *Client) SetPixelFormat(pf PixelFormat) error {
	c.PF = pf
	_, err := c.conn.Write(append([]byte{MsgSetPixelFormat, 0, 0, 0}, pf.Marshal()...))
	return err
}

// SetEncodings sends the encodings the client takes, preferred first.
func (c *Client) SetEncodings(encs ...int32) error {
	b := []byte{MsgSetEncodings, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(encs)))
	for _, e := range encs {
		b = binary.BigEndian.AppendUint32(b, uint32(e))
	}
	_, err := c.conn.Write(b)
	return err
}

// RequestUpdate asks for an update of the whole framebuffer.
func (c *Client) RequestUpdate(incremental bool) error {
	b := []byte{MsgFramebufferUpdateRequest, 0, 0, 0, 0, 0}
	if incremental {
		b[1] = 1
	}
	b = binary.BigEndian.AppendUint16(b, uint16(c.FB.Rect.Dx()))
	b = binary.BigEndian.AppendUint16(b, uint16(c.FB.Rect.Dy()))
	_, err := c.conn.Write(b)
	return err
}

// Key sends a KeyEvent with an X11 keysym.
func (c *Client) Key(keysym uint32, down bool) error {
	b := []byte{MsgKeyEvent, 0, 0, 0}
	if down {
		b[1] = 1
	}
	_, err := c.conn.Write(binary.BigEndian.AppendUint32(b, keysym))
	return err
}

// QEMUKey sends a QEMU Extended Key Event: keysym and XT scan code.
func (c *Client) QEMUKey(keysym, xt uint32, down bool) error {
	b := []byte{MsgQEMU, QEMUExtendedKeyEvent, 0, 0}
	if down {
		b[3] = 1
	}
	b = binary.BigEndian.AppendUint32(b, keysym)
	_, err := c.conn.Write(binary.BigEndian.AppendUint32(b, xt))
	return err
}

// Pointer sends a PointerEvent.
func (c *Client) Pointer(buttons uint8, x, y int) error {
	b := []byte{MsgPointerEvent, buttons}
	b = binary.BigEndian.AppendUint16(b, uint16(x))
	_, err := c.conn.Write(binary.BigEndian.AppendUint16(b, uint16(y)))
	return err
}

// CutText sends ClientCutText (Latin-1 text).
func (c *Client) CutText(text []byte) error {
	b := []byte{MsgClientCutText, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	_, err := c.conn.Write(append(b, text...))
	return err
}

// SetDesktopSize asks for a new size with one screen.
func (c *Client) SetDesktopSize(w, h int) error {
	b := []byte{MsgSetDesktopSize, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(w))
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = append(b, 1, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(w))
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = binary.BigEndian.AppendUint32(b, 0)
	_, err := c.conn.Write(b)
	return err
}

// ReadUpdate reads server messages until a FramebufferUpdate and
// applies it to FB (Bell and ServerCutText are skipped).
func (c *Client) ReadUpdate() (*Update, error) {
	for {
		t, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch t {
		case MsgFramebufferUpdate:
			return c.update()
		case MsgBell:
		case MsgServerCutText:
			var pad [3]byte
			if _, err := io.ReadFull(c.r, pad[:]); err != nil {
				return nil, err
			}
			n, err := c.u32()
			if err != nil {
				return nil, err
			}
			if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("rfbtest: server message type %d", t)
		}
	}
}

func (c *Client) update() (*Update, error) {
	var h [3]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(h[1:]))
	u := &Update{}
	for range n {
		var rh [12]byte
		if _, err := io.ReadFull(c.r, rh[:]); err != nil {
			return nil, err
		}
		x, y := int(binary.BigEndian.Uint16(rh[0:])), int(binary.BigEndian.Uint16(rh[2:]))
		w, h := int(binary.BigEndian.Uint16(rh[4:])), int(binary.BigEndian.Uint16(rh[6:]))
		rect := Rect{Rectangle: image.Rect(x, y, x+w, y+h), Encoding: int32(binary.BigEndian.Uint32(rh[8:]))}
		if rect.Encoding == EncLastRect {
			break
		}
		if err := c.rect(&rect); err != nil {
			return nil, fmt.Errorf("rfbtest: rectangle %v encoding %d: %w", rect.Rectangle, rect.Encoding, err)
		}
		u.Rects = append(u.Rects, rect)
	}
	return u, nil
}

func (c *Client) rect(r *Rect) error {
	inside := r.Rectangle.In(c.FB.Rect)
	switch r.Encoding {
	case EncRaw:
		if !inside {
			return errors.New("outside the framebuffer")
		}
		bpp := int(c.PF.BitsPerPixel) / 8
		buf := make([]byte, r.Dx()*bpp)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if _, err := io.ReadFull(c.r, buf); err != nil {
				return err
			}
			for x := range r.Dx() {
				c.set(r.Min.X+x, y, c.pixel(buf[x*bpp:]))
			}
		}
	case EncZRLE:
		if !inside {
			return errors.New("outside the framebuffer")
		}
		return c.zrleRect(r.Rectangle)
	case EncTight:
		if !inside {
			return errors.New("outside the framebuffer")
		}
		return c.tightRect(r)
	case EncDesktopSize:
		c.Sizes = append(c.Sizes, SizeRect{Encoding: r.Encoding, Size: r.Size()})
		c.resize(r.Size())
	case EncExtendedDesktopSize:
		var hd [4]byte
		if _, err := io.ReadFull(c.r, hd[:]); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, c.r, int64(16*int(hd[0]))); err != nil {
			return err
		}
		s := SizeRect{Encoding: r.Encoding, Reason: r.Min.X, Status: r.Min.Y, Size: image.Pt(r.Dx(), r.Dy()), Screens: int(hd[0])}
		c.Sizes = append(c.Sizes, s)
		if s.Status == 0 {
			c.resize(s.Size)
		}
	case EncQEMULEDState:
		b, err := c.r.ReadByte()
		if err != nil {
			return err
		}
		c.LEDs = int(b)
	case EncQEMUExtendedKey:
		c.QEMUKeys = true
	case EncCursor:
		bpp := int(c.PF.BitsPerPixel) / 8
		n := r.Dx()*r.Dy()*bpp + (r.Dx()+7)/8*r.Dy()
		_, err := io.CopyN(io.Discard, c.r, int64(n))
		return err
	default:
		return errors.New("unknown encoding")
	}
	return nil
}

func (c *Client) resize(size image.Point) {
	if size == c.FB.Rect.Size() {
		return
	}
	fb := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(fb, fb.Rect, c.FB, image.Point{}, draw.Src)
	c.FB = fb
}

// set paints one pixel of FB.
func (c *Client) set(x, y int, rgb [3]uint8) {
	o := c.FB.PixOffset(x, y)
	c.FB.Pix[o], c.FB.Pix[o+1], c.FB.Pix[o+2], c.FB.Pix[o+3] = rgb[0], rgb[1], rgb[2], 0xFF
}

// pixel decodes a PIXEL of the format in force to 8-bit R, G, B.
func (c *Client) pixel(b []byte) [3]uint8 {
	var v uint32
	switch c.PF.BitsPerPixel {
	case 8:
		v = uint32(b[0])
	case 16:
		if c.PF.BigEndian {
			v = uint32(binary.BigEndian.Uint16(b))
		} else {
			v = uint32(binary.LittleEndian.Uint16(b))
		}
	default:
		if c.PF.BigEndian {
			v = binary.BigEndian.Uint32(b)
		} else {
			v = binary.LittleEndian.Uint32(b)
		}
	}
	return c.value(v)
}

func (c *Client) value(v uint32) [3]uint8 {
	ch := func(max uint16, shift uint8) uint8 {
		if max == 0 {
			return 0
		}
		return uint8((v >> shift & uint32(max)) * 255 / uint32(max))
	}
	return [3]uint8{ch(c.PF.RedMax, c.PF.RedShift), ch(c.PF.GreenMax, c.PF.GreenShift), ch(c.PF.BlueMax, c.PF.BlueShift)}
}

// cpixel is ZRLE's CPIXEL in the format in force: its size, and how to
// make a PIXEL of it.
func (c *Client) cpixelSize() (size int, lowBytes bool) {
	pf := c.PF
	if pf.BitsPerPixel != 32 || pf.Depth > 24 {
		return int(pf.BitsPerPixel) / 8, false
	}
	used := uint32(pf.RedMax)<<pf.RedShift | uint32(pf.GreenMax)<<pf.GreenShift | uint32(pf.BlueMax)<<pf.BlueShift
	if used&0xFF000000 == 0 {
		return 3, true
	}
	if used&0xFF == 0 {
		return 3, false
	}
	return 4, false
}

func (c *Client) cpixel(b []byte) [3]uint8 {
	size, low := c.cpixelSize()
	if size == 3 {
		var v uint32
		if c.PF.BigEndian {
			v = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		} else {
			v = uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
		}
		if !low {
			v <<= 8
		}
		return c.value(v)
	}
	return c.pixel(b)
}

// stream is a zlib stream of the connection, fed chunk by chunk.
type stream struct {
	in bytes.Buffer
	zr io.ReadCloser
}

// feed adds a compressed chunk.
func (s *stream) feed(chunk []byte) error {
	s.in.Write(chunk)
	if s.zr == nil {
		zr, err := zlib.NewReader(&s.in)
		if err != nil {
			return err
		}
		s.zr = zr
	}
	return nil
}

func (s *stream) read(b []byte) error {
	_, err := io.ReadFull(s.zr, b)
	return err
}

func (s *stream) reset() { s.in.Reset(); s.zr = nil }

func (c *Client) zrleRect(r image.Rectangle) error {
	n, err := c.u32()
	if err != nil {
		return err
	}
	if n > 64<<20 {
		return fmt.Errorf("ZRLE data of %d bytes", n)
	}
	chunk := make([]byte, n)
	if _, err := io.ReadFull(c.r, chunk); err != nil {
		return err
	}
	s := &c.zrle
	if err := s.feed(chunk); err != nil {
		return err
	}
	cp, _ := c.cpixelSize()
	one := make([]byte, 1)
	readCP := func() ([3]uint8, error) {
		b := make([]byte, cp)
		if err := s.read(b); err != nil {
			return [3]uint8{}, err
		}
		return c.cpixel(b), nil
	}
	runLen := func() (int, error) {
		n := 1
		for {
			if err := s.read(one); err != nil {
				return 0, err
			}
			n += int(one[0])
			if one[0] != 255 {
				return n, nil
			}
		}
	}
	for ty := r.Min.Y; ty < r.Max.Y; ty += 64 {
		for tx := r.Min.X; tx < r.Max.X; tx += 64 {
			t := image.Rect(tx, ty, min(tx+64, r.Max.X), min(ty+64, r.Max.Y))
			if err := s.read(one); err != nil {
				return err
			}
			sub := int(one[0])
			var palette [][3]uint8
			psize := sub & 0x7F
			if sub != 0 && sub != 128 {
				if psize == 0 || (sub < 128 && psize > 16) || sub == 129 {
					return fmt.Errorf("ZRLE subencoding %d", sub)
				}
				for range psize {
					p, err := readCP()
					if err != nil {
						return err
					}
					palette = append(palette, p)
				}
			}
			switch {
			case sub == 0:
				for y := t.Min.Y; y < t.Max.Y; y++ {
					for x := t.Min.X; x < t.Max.X; x++ {
						p, err := readCP()
						if err != nil {
							return err
						}
						c.set(x, y, p)
					}
				}
			case sub == 1:
				for y := t.Min.Y; y < t.Max.Y; y++ {
					for x := t.Min.X; x < t.Max.X; x++ {
						c.set(x, y, palette[0])
					}
				}
			case sub <= 16:
				bpp := 4
				if psize <= 2 {
					bpp = 1
				} else if psize <= 4 {
					bpp = 2
				}
				row := make([]byte, (t.Dx()*bpp+7)/8)
				for y := t.Min.Y; y < t.Max.Y; y++ {
					if err := s.read(row); err != nil {
						return err
					}
					for i := range t.Dx() {
						bit := i * bpp
						idx := int(row[bit/8]>>(8-bpp-bit%8)) & (1<<bpp - 1)
						if idx >= len(palette) {
							return fmt.Errorf("palette index %d of %d", idx, len(palette))
						}
						c.set(t.Min.X+i, y, palette[idx])
					}
				}
			default: // RLE
				x, y := t.Min.X, t.Min.Y
				for y < t.Max.Y {
					var p [3]uint8
					n := 1
					if sub == 128 {
						if p, err = readCP(); err != nil {
							return err
						}
						if n, err = runLen(); err != nil {
							return err
						}
					} else {
						if err := s.read(one); err != nil {
							return err
						}
						idx := int(one[0] & 0x7F)
						if idx >= len(palette) {
							return fmt.Errorf("palette index %d of %d", idx, len(palette))
						}
						p = palette[idx]
						if one[0]&0x80 != 0 {
							if n, err = runLen(); err != nil {
								return err
							}
						}
					}
					for ; n > 0; n-- {
						if y >= t.Max.Y {
							return errors.New("RLE run beyond the tile")
						}
						c.set(x, y, p)
						if x++; x == t.Max.X {
							x, y = t.Min.X, y+1
						}
					}
				}
			}
		}
	}
	return nil
}

func (c *Client) tpixelSize() int {
	pf := c.PF
	if pf.TrueColour && pf.BitsPerPixel == 32 && pf.Depth == 24 && pf.RedMax == 255 && pf.GreenMax == 255 && pf.BlueMax == 255 {
		return 3
	}
	return int(pf.BitsPerPixel) / 8
}

func (c *Client) tpixel(b []byte) [3]uint8 {
	if c.tpixelSize() == 3 {
		return [3]uint8{b[0], b[1], b[2]}
	}
	return c.pixel(b)
}

func (c *Client) compactLen() (int, error) {
	n := 0
	for i := range 3 {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if i == 2 {
			return n | int(b)<<14, nil
		}
		n |= int(b&0x7F) << (7 * i)
		if b&0x80 == 0 {
			return n, nil
		}
	}
	return n, nil
}

func (c *Client) tightRect(r *Rect) error {
	if r.Dx() > 2048 {
		return fmt.Errorf("Tight rectangle %d pixels wide (at most 2048)", r.Dx())
	}
	ctl, err := c.r.ReadByte()
	if err != nil {
		return err
	}
	for i := range 4 {
		if ctl&(1<<i) != 0 {
			c.tight[i].reset()
		}
	}
	tp := c.tpixelSize()
	switch ctl >> 4 {
	case 0x8:
		r.Tight = "fill"
		b := make([]byte, tp)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return err
		}
		p := c.tpixel(b)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c.set(x, y, p)
			}
		}
		return nil
	case 0x9:
		r.Tight = "jpeg"
		n, err := c.compactLen()
		if err != nil {
			return err
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c.r, data); err != nil {
			return err
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return err
		}
		if img.Bounds().Size() != r.Size() {
			return fmt.Errorf("JPEG of %v in a rectangle of %v", img.Bounds().Size(), r.Size())
		}
		draw.Draw(c.FB, r.Rectangle, img, img.Bounds().Min, draw.Src)
		return nil
	}
	if ctl&0x80 != 0 {
		return fmt.Errorf("Tight compression control 0x%02x", ctl)
	}
	s := &c.tight[ctl>>4&3]
	filter := byte(0)
	if ctl&0x40 != 0 {
		if filter, err = c.r.ReadByte(); err != nil {
			return err
		}
	}
	var palette [][3]uint8
	size := r.Dx() * r.Dy() * tp
	switch filter {
	case 0:
		r.Tight = "copy"
	case 1:
		r.Tight = "palette"
		n, err := c.r.ReadByte()
		if err != nil {
			return err
		}
		b := make([]byte, (int(n)+1)*tp)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return err
		}
		for i := 0; i < len(b); i += tp {
			palette = append(palette, c.tpixel(b[i:]))
		}
		if len(palette) == 2 {
			size = (r.Dx() + 7) / 8 * r.Dy()
		} else {
			size = r.Dx() * r.Dy()
		}
	default:
		return fmt.Errorf("Tight filter %d", filter)
	}
	data := make([]byte, size)
	if size < 12 {
		if _, err := io.ReadFull(c.r, data); err != nil {
			return err
		}
	} else {
		n, err := c.compactLen()
		if err != nil {
			return err
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(c.r, chunk); err != nil {
			return err
		}
		if err := s.feed(chunk); err != nil {
			return err
		}
		if err := s.read(data); err != nil {
			return err
		}
	}
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			switch {
			case palette == nil:
				c.set(x, y, c.tpixel(data[i*tp:]))
			case len(palette) == 2:
				row := (r.Dx() + 7) / 8
				bit := data[(y-r.Min.Y)*row+(x-r.Min.X)/8] >> (7 - (x-r.Min.X)%8) & 1
				c.set(x, y, palette[bit])
			default:
				if int(data[i]) >= len(palette) {
					return fmt.Errorf("palette index %d of %d", data[i], len(palette))
				}
				c.set(x, y, palette[data[i]])
			}
			i++
		}
	}
	return nil
}
