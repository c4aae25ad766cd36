package rfb

import (
	"encoding/binary"
	"fmt"
)

// Security types (RFC 6143 §7.2.1; VeNCrypt: the RFB community
// specification, rfbproto "VeNCrypt").
const (
	SecInvalid  uint8 = 0
	SecNone     uint8 = 1
	SecVNC      uint8 = 2
	SecVeNCrypt uint8 = 19
)

// VeNCrypt subtypes (rfbproto "VeNCrypt"). bmcd offers X509Plain only:
// TLSPlain needs an anonymous (certificate-less) TLS key exchange, which
// Go's crypto/tls does not have and which a man in the middle could use
// to read the password.
const (
	VeNCryptPlain     uint32 = 256
	VeNCryptTLSNone   uint32 = 257
	VeNCryptTLSVnc    uint32 = 258
	VeNCryptTLSPlain  uint32 = 259
	VeNCryptX509None  uint32 = 260
	VeNCryptX509Vnc   uint32 = 261
	VeNCryptX509Plain uint32 = 262
)

// SecurityResult values (RFC 6143 §7.1.3).
const (
	resultOK     uint32 = 0
	resultFailed uint32 = 1
)

// Client to server message types (RFC 6143 §7.5; rfbproto for the
// extensions).
const (
	MsgSetPixelFormat           uint8 = 0
	MsgSetEncodings             uint8 = 2
	MsgFramebufferUpdateRequest uint8 = 3
	MsgKeyEvent                 uint8 = 4
	MsgPointerEvent             uint8 = 5
	MsgClientCutText            uint8 = 6
	MsgSetDesktopSize           uint8 = 251
	MsgQEMU                     uint8 = 255

	// QEMUExtendedKeyEvent is the submessage type of MsgQEMU that
	// carries an XT scan code with the keysym.
	QEMUExtendedKeyEvent uint8 = 0
)

// Server to client message types (RFC 6143 §7.6).
const (
	MsgFramebufferUpdate uint8 = 0
	MsgBell              uint8 = 2
	MsgServerCutText     uint8 = 3
)

// Encodings and pseudo-encodings (RFC 6143 §7.7, §7.8; rfbproto).
const (
	EncRaw                 int32 = 0
	EncCopyRect            int32 = 1
	EncHextile             int32 = 5
	EncTight               int32 = 7
	EncZRLE                int32 = 16
	EncJPEGQuality0        int32 = -32 // -32..-23: JPEG quality level 0..9
	EncJPEGQuality9        int32 = -23
	EncDesktopSize         int32 = -223
	EncLastRect            int32 = -224
	EncCursor              int32 = -239
	EncCompressLevel0      int32 = -256 // -256..-247: compression level 0..9
	EncCompressLevel9      int32 = -247
	EncQEMUExtendedKey     int32 = -258
	EncQEMULEDState        int32 = -261
	EncExtendedDesktopSize int32 = -308
)

// Tight compression-control values (rfbproto "Tight Encoding").
const (
	tightFill      = 0x80
	tightJPEG      = 0x90
	tightFilterBit = 0x40
	tightPalette   = 1 // filter id
	tightMaxWidth  = 2048
	tightMinZlib   = 12        // less data than this is sent uncompressed
	tightMaxLen    = 1<<22 - 1 // the compact length's limit
)

// Limits on what a client may send; a message beyond them ends the
// connection.
const (
	// MaxCutText is the longest ClientCutText accepted (bytes).
	MaxCutText = 1 << 20
	// MaxEncodings is the most encodings a SetEncodings may list.
	MaxEncodings = 1024
)

// PixelFormat is RFB's PIXEL_FORMAT (RFC 6143 §7.4): how a pixel value is
// laid out on the wire.
type PixelFormat struct {
	BitsPerPixel, Depth             uint8
	BigEndian, TrueColour           bool
	RedMax, GreenMax, BlueMax       uint16
	RedShift, GreenShift, BlueShift uint8
}

// ServerPixelFormat is the format announced in ServerInit: 32 bits per
// pixel, depth 24, little-endian, red in bits 16-23, green 8-15, blue
// 0-7, the format of most servers.
var ServerPixelFormat = PixelFormat{
	BitsPerPixel: 32, Depth: 24, TrueColour: true,
	RedMax: 255, GreenMax: 255, BlueMax: 255,
	RedShift: 16, GreenShift: 8, BlueShift: 0,
}

// Marshal returns the 16 bytes of the format on the wire.
func (pf PixelFormat) Marshal() []byte {
	b := make([]byte, 16)
	b[0], b[1] = pf.BitsPerPixel, pf.Depth
	if pf.BigEndian {
		b[2] = 1
	}
	if pf.TrueColour {
		b[3] = 1
	}
	binary.BigEndian.PutUint16(b[4:], pf.RedMax)
	binary.BigEndian.PutUint16(b[6:], pf.GreenMax)
	binary.BigEndian.PutUint16(b[8:], pf.BlueMax)
	b[10], b[11], b[12] = pf.RedShift, pf.GreenShift, pf.BlueShift
	return b
}

// UnmarshalPixelFormat reads a PIXEL_FORMAT from its 16 bytes (at least
// 13 are read: the padding is ignored).
func UnmarshalPixelFormat(b []byte) PixelFormat {
	return PixelFormat{
		BitsPerPixel: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RedMax:   binary.BigEndian.Uint16(b[4:]),
		GreenMax: binary.BigEndian.Uint16(b[6:]),
		BlueMax:  binary.BigEndian.Uint16(b[8:]),
		RedShift: b[10], GreenShift: b[11], BlueShift: b[12],
	}
}

// Check reports a format the server cannot send: bits per pixel other
// than 8, 16 or 32, a colour map instead of true colour, a zero maximum,
// or a channel that does not fit in the pixel.
func (pf PixelFormat) Check() error {
	switch pf.BitsPerPixel {
	case 8, 16, 32:
	default:
		return fmt.Errorf("rfb: %d bits per pixel (8, 16 or 32 are supported)", pf.BitsPerPixel)
	}
	if !pf.TrueColour {
		return fmt.Errorf("rfb: colour-map pixel formats are not supported")
	}
	for _, c := range []struct {
		max   uint16
		shift uint8
	}{{pf.RedMax, pf.RedShift}, {pf.GreenMax, pf.GreenShift}, {pf.BlueMax, pf.BlueShift}} {
		if c.max == 0 || uint(c.shift) >= uint(pf.BitsPerPixel) || uint64(c.max)<<c.shift >= 1<<pf.BitsPerPixel {
			return fmt.Errorf("rfb: colour channel (max %d, shift %d) outside %d-bit pixels", c.max, c.shift, pf.BitsPerPixel)
		}
	}
	return nil
}

// tightPixel reports whether Tight's TPIXEL is 3 bytes (R, G, B) in
// format pf: 32 bits per pixel, depth 24, 8 bits per channel.
func (pf PixelFormat) tightPixel() bool {
	return pf.TrueColour && pf.BitsPerPixel == 32 && pf.Depth == 24 &&
		pf.RedMax == 255 && pf.GreenMax == 255 && pf.BlueMax == 255
}

// cpixel is how ZRLE's CPIXEL is cut from a pixel in format pf: the
// number of bytes, and for 3 the offset of the kept bytes in the pixel's
// wire order.
func (pf PixelFormat) cpixel() (size, offset int) {
	bpp := int(pf.BitsPerPixel) / 8
	if !pf.TrueColour || pf.BitsPerPixel != 32 || pf.Depth > 24 {
		return bpp, 0
	}
	used := uint32(pf.RedMax)<<pf.RedShift | uint32(pf.GreenMax)<<pf.GreenShift | uint32(pf.BlueMax)<<pf.BlueShift
	switch {
	case used&0xFF000000 == 0: // the least significant 3 bytes
		if pf.BigEndian {
			return 3, 1
		}
		return 3, 0
	case used&0x000000FF == 0: // the most significant 3 bytes
		if pf.BigEndian {
			return 3, 0
		}
		return 3, 1
	}
	return bpp, 0
}

// String is the format in the notation of RFB clients' logs.
func (pf PixelFormat) String() string {
	e := "little"
	if pf.BigEndian {
		e = "big"
	}
	return fmt.Sprintf("depth %d (%dbpp) %s-endian rgb max %d,%d,%d shift %d,%d,%d",
		pf.Depth, pf.BitsPerPixel, e, pf.RedMax, pf.GreenMax, pf.BlueMax, pf.RedShift, pf.GreenShift, pf.BlueShift)
}
