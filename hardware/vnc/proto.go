package vnc

import (
	"bufio"
	"context"
	"crypto/des"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"math/bits"
	"net"
	"time"
)

// The RFB protocol, RFC 6143, as a client speaks it, with the
// pseudo-encodings of the community registry (rfbproto.rst) that QEMU
// serves.

// Client-to-server message types (RFC 6143 §7.5).
const (
	msgSetPixelFormat           = 0
	msgSetEncodings             = 2
	msgFramebufferUpdateRequest = 3
	msgKeyEvent                 = 4
	msgPointerEvent             = 5
	msgQEMU                     = 255 // QEMU client message; subtype 0 is the extended key event
)

// Server-to-client message types (RFC 6143 §7.6).
const (
	msgFramebufferUpdate   = 0
	msgSetColourMapEntries = 1
	msgBell                = 2
	msgServerCutText       = 3
)

// Encodings and pseudo-encodings.
const (
	encRaw                  = 0
	encCopyRect             = 1
	encDesktopSize          = -223
	encExtendedDesktopSize  = -308
	encPointerTypeChange    = -257
	encQEMUExtendedKeyEvent = -258
	encLEDState             = -261
)

// Security types (RFC 6143 §7.2).
const (
	secInvalid = 0
	secNone    = 1
	secVNCAuth = 2
)

// MaxSize bounds the framebuffer a server may announce, in pixels per
// side (RFB sizes are 16-bit; a larger one is refused rather than
// allocated).
const MaxSize = 8192

// maxCutText bounds the server cut text skipped in one message.
const maxCutText = 16 << 20

// serverInit is the ServerInit message (RFC 6143 §7.3.2).
type serverInit struct {
	Size image.Point
	Name string
}

// ProtocolError is a server that does not speak RFB as this client
// expects, or refuses it.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "vnc: " + e.Msg }

func protoErr(format string, a ...any) error { return &ProtocolError{fmt.Sprintf(format, a...)} }

// handshake runs the RFB handshake as a shared client on rw: version,
// security (None, or VNC Authentication with password), ClientInit and
// ServerInit.
func handshake(r *bufio.Reader, w io.Writer, password string) (serverInit, error) {
	var si serverInit
	var ver [12]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return si, fmt.Errorf("vnc: protocol version: %w", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(ver[:]), "RFB %03d.%03d\n", &major, &minor); err != nil || major != 3 {
		return si, protoErr("not an RFB 3.x server: %q", ver[:])
	}
	switch {
	case minor >= 8:
		minor = 8
	case minor == 7:
	default:
		minor = 3 // 3.3, and 3.5 as RFC 6143 says
	}
	if _, err := fmt.Fprintf(w, "RFB 003.%03d\n", minor); err != nil {
		return si, err
	}
	sec, err := chooseSecurity(r, w, minor, password)
	if err != nil {
		return si, err
	}
	if sec == secVNCAuth {
		var challenge [16]byte
		if _, err := io.ReadFull(r, challenge[:]); err != nil {
			return si, err
		}
		if _, err := w.Write(vncAuthResponse(challenge[:], password)); err != nil {
			return si, err
		}
	}
	if sec == secVNCAuth || minor == 8 {
		var res uint32
		if err := binary.Read(r, binary.BigEndian, &res); err != nil {
			return si, err
		}
		if res != 0 {
			why := "authentication failed"
			if minor == 8 {
				if reason, err := readString(r, 1024); err == nil && reason != "" {
					why = reason
				}
			}
			return si, protoErr("security handshake refused: %s", why)
		}
	}
	if _, err := w.Write([]byte{1}); err != nil { // ClientInit: shared
		return si, err
	}
	var init struct {
		W, H uint16
		PF   [16]byte
	}
	if err := binary.Read(r, binary.BigEndian, &init); err != nil {
		return si, fmt.Errorf("vnc: ServerInit: %w", err)
	}
	if init.W > MaxSize || init.H > MaxSize {
		return si, protoErr("framebuffer %dx%d larger than %d", init.W, init.H, MaxSize)
	}
	si.Size = image.Pt(int(init.W), int(init.H))
	if si.Name, err = readString(r, 4096); err != nil {
		return si, fmt.Errorf("vnc: ServerInit name: %w", err)
	}
	return si, nil
}

// chooseSecurity reads the server's security types and picks None, or
// VNC Authentication when a password is set or None is not offered.
func chooseSecurity(r *bufio.Reader, w io.Writer, minor int, password string) (byte, error) {
	if minor == 3 {
		var t uint32
		if err := binary.Read(r, binary.BigEndian, &t); err != nil {
			return 0, err
		}
		switch t {
		case secInvalid:
			reason, _ := readString(r, 1024)
			return 0, protoErr("server refused the connection: %s", reason)
		case secNone, secVNCAuth:
			return byte(t), nil
		}
		return 0, protoErr("security type %d not supported", t)
	}
	n, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		reason, _ := readString(r, 1024)
		return 0, protoErr("server refused the connection: %s", reason)
	}
	types := make([]byte, n)
	if _, err := io.ReadFull(r, types); err != nil {
		return 0, err
	}
	var have [256]bool
	for _, t := range types {
		have[t] = true
	}
	pick := byte(0)
	switch {
	case have[secVNCAuth] && (password != "" || !have[secNone]):
		pick = secVNCAuth
	case have[secNone]:
		pick = secNone
	default:
		return 0, protoErr("no supported security type among %v", types)
	}
	if _, err := w.Write([]byte{pick}); err != nil {
		return 0, err
	}
	return pick, nil
}

// vncAuthResponse encrypts the challenge with the password as a DES key,
// each byte's bits mirrored, as VNC Authentication does (RFC 6143 §7.2.2
// and its errata); only the first 8 bytes of the password count.
func vncAuthResponse(challenge []byte, password string) []byte {
	var key [8]byte
	copy(key[:], password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	blk, _ := des.NewCipher(key[:]) // 8 bytes: cannot fail
	out := make([]byte, 16)
	blk.Encrypt(out[:8], challenge[:8])
	blk.Encrypt(out[8:], challenge[8:16])
	return out
}

// readString reads a u32 length and that many bytes, at most limit.
func readString(r io.Reader, limit uint32) (string, error) {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return "", err
	}
	if n > limit {
		return "", protoErr("string of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// pixelFormat is what the client asks for: 32 bits per pixel, true
// colour, little-endian, red in the lowest byte: each pixel arrives as
// the bytes R, G, B, X, as image.RGBA keeps them.
var pixelFormat = []byte{32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0}

func setPixelFormat() []byte {
	return append([]byte{msgSetPixelFormat, 0, 0, 0}, pixelFormat...)
}

func setEncodings(encs ...int32) []byte {
	b := []byte{msgSetEncodings, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(encs)))
	for _, e := range encs {
		b = binary.BigEndian.AppendUint32(b, uint32(e))
	}
	return b
}

func updateRequest(incremental bool, r image.Rectangle) []byte {
	b := []byte{msgFramebufferUpdateRequest, 0}
	if incremental {
		b[1] = 1
	}
	for _, v := range []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func keyEvent(down bool, keysym uint32) []byte {
	b := []byte{msgKeyEvent, 0, 0, 0}
	if down {
		b[1] = 1
	}
	return binary.BigEndian.AppendUint32(b, keysym)
}

// qemuKeyEvent is QEMU's extended key event: the key's XT scancode
// ("qnum": an E0-prefixed code as its second byte with the top bit set)
// and a keysym, 0 here so that QEMU's lock-key heuristics, which read
// it, stay out of the way.
func qemuKeyEvent(down bool, keysym, xt uint32) []byte {
	b := []byte{msgQEMU, 0, 0, 0}
	if down {
		b[3] = 1
	}
	b = binary.BigEndian.AppendUint32(b, keysym)
	return binary.BigEndian.AppendUint32(b, xt)
}

func pointerEvent(mask uint8, p image.Point) []byte {
	b := []byte{msgPointerEvent, mask}
	b = binary.BigEndian.AppendUint16(b, uint16(p.X))
	return binary.BigEndian.AppendUint16(b, uint16(p.Y))
}

// fbState is the client's copy of the framebuffer and what the server
// said besides, as the server messages change them.
type fbState struct {
	size image.Point
	pix  []byte // size.X*size.Y*4 bytes, RGBA
	// valid: pix holds the server's picture (a full update arrived since
	// the last resize).
	valid bool
	// Set by the message just read:
	resized bool
	dirty   []image.Rectangle // areas drawn
	pixels  bool              // the update drew pixels or resized
	extKey  bool              // the server acknowledged QEMU extended key events
	leds    int               // the LED state received, -1 if none
}

func newFB(size image.Point) *fbState {
	return &fbState{size: size, pix: make([]byte, size.X*size.Y*4), leds: -1}
}

func (s *fbState) resize(size image.Point) {
	s.size, s.pix, s.valid, s.resized = size, make([]byte, size.X*size.Y*4), false, true
}

// readMessage reads one server message into s. It returns the message
// type; a FramebufferUpdate sets s.dirty, s.pixels, s.resized, s.extKey
// and s.leds as its rectangles say. A message this client did not ask
// for, or that does not fit the framebuffer, is a *ProtocolError.
func (s *fbState) readMessage(r *bufio.Reader) (byte, error) {
	s.dirty, s.pixels, s.resized, s.leds = s.dirty[:0], false, false, -1
	t, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	switch t {
	case msgFramebufferUpdate:
		var h struct {
			Pad uint8
			N   uint16
		}
		if err := binary.Read(r, binary.BigEndian, &h); err != nil {
			return t, err
		}
		for range h.N {
			if err := s.readRect(r); err != nil {
				return t, err
			}
		}
	case msgSetColourMapEntries:
		var h struct {
			Pad      uint8
			First, N uint16
		}
		if err := binary.Read(r, binary.BigEndian, &h); err != nil {
			return t, err
		}
		if _, err := r.Discard(int(h.N) * 6); err != nil {
			return t, err
		}
	case msgBell:
	case msgServerCutText:
		var h struct {
			Pad [3]byte
			N   int32 // negative: the extended clipboard's length
		}
		if err := binary.Read(r, binary.BigEndian, &h); err != nil {
			return t, err
		}
		n := int64(h.N)
		if n < 0 {
			n = -n
		}
		if n > maxCutText {
			return t, protoErr("cut text of %d bytes", n)
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return t, err
		}
	default:
		return t, protoErr("unexpected server message type %d", t)
	}
	return t, nil
}

func (s *fbState) readRect(r *bufio.Reader) error {
	var h struct {
		X, Y, W, H uint16
		Enc        int32
	}
	if err := binary.Read(r, binary.BigEndian, &h); err != nil {
		return err
	}
	rc := image.Rect(int(h.X), int(h.Y), int(h.X)+int(h.W), int(h.Y)+int(h.H))
	switch h.Enc {
	case encDesktopSize:
		return s.newSize(int(h.W), int(h.H))
	case encExtendedDesktopSize:
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return err
		}
		if _, err := r.Discard(int(n[0]) * 16); err != nil {
			return err
		}
		if h.X != 0 { // a reply to a SetDesktopSize request, not a change
			return nil
		}
		return s.newSize(int(h.W), int(h.H))
	case encQEMUExtendedKeyEvent:
		s.extKey = true
		return nil
	case encPointerTypeChange:
		return nil
	case encLEDState:
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		s.leds = int(b)
		return nil
	}
	if h.Enc != encRaw && h.Enc != encCopyRect {
		return protoErr("unexpected encoding %d", h.Enc)
	}
	if rc.Empty() { // nothing drawn; a CopyRect still names its source
		if h.Enc == encCopyRect {
			_, err := r.Discard(4)
			return err
		}
		return nil
	}
	if !rc.In(image.Rectangle{Max: s.size}) {
		return protoErr("rectangle %v outside the framebuffer %v", rc, s.size)
	}
	switch h.Enc {
	case encRaw:
		stride := s.size.X * 4
		for y := rc.Min.Y; y < rc.Max.Y; y++ {
			row := s.pix[y*stride+rc.Min.X*4 : y*stride+rc.Max.X*4]
			if _, err := io.ReadFull(r, row); err != nil {
				return err
			}
			for i := 3; i < len(row); i += 4 {
				row[i] = 0xFF
			}
		}
	case encCopyRect:
		var src struct{ X, Y uint16 }
		if err := binary.Read(r, binary.BigEndian, &src); err != nil {
			return err
		}
		from := rc.Sub(rc.Min).Add(image.Pt(int(src.X), int(src.Y)))
		if !from.In(image.Rectangle{Max: s.size}) {
			return protoErr("CopyRect source %v outside the framebuffer %v", from, s.size)
		}
		copyRect(s.pix, s.size.X*4, rc, from.Min)
	}
	s.dirty = append(s.dirty, rc)
	s.pixels = true
	return nil
}

func (s *fbState) newSize(w, h int) error {
	if w > MaxSize || h > MaxSize {
		return protoErr("framebuffer %dx%d larger than %d", w, h, MaxSize)
	}
	s.resize(image.Pt(w, h))
	s.pixels = true
	return nil
}

// copyRect copies the area of dst's size at src onto dst, within one
// RGBA buffer, as CopyRect does (the areas may overlap).
func copyRect(pix []byte, stride int, dst image.Rectangle, src image.Point) {
	n := dst.Dx() * 4
	rows := make([][]byte, dst.Dy())
	for i := range rows {
		y := src.Y + i
		rows[i] = append([]byte(nil), pix[y*stride+src.X*4:y*stride+src.X*4+n]...)
	}
	for i, row := range rows {
		y := dst.Min.Y + i
		copy(pix[y*stride+dst.Min.X*4:], row)
	}
}

// Unix returns a Dial function for a server on a UNIX socket, as QEMU's
// -vnc unix:PATH listens.
func Unix(path string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// TCP returns a Dial function for a server at host:port (QEMU's -vnc
// host:N listens on port 5900+N).
func TCP(addr string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// handshakeTimeout bounds the handshake of one connection.
const handshakeTimeout = 5 * time.Second
