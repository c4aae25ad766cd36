package rfbtest

import "encoding/binary"

// Security types (RFC 6143 §7.2; rfbproto "VeNCrypt").
const (
	SecNone           uint8  = 1
	SecVNC            uint8  = 2
	SecVeNCrypt       uint8  = 19
	VeNCryptX509Plain uint32 = 262
)

// Message types (RFC 6143 §7.5, §7.6; rfbproto).
const (
	MsgSetPixelFormat           uint8 = 0
	MsgSetEncodings             uint8 = 2
	MsgFramebufferUpdateRequest uint8 = 3
	MsgKeyEvent                 uint8 = 4
	MsgPointerEvent             uint8 = 5
	MsgClientCutText            uint8 = 6
	MsgSetDesktopSize           uint8 = 251
	MsgQEMU                     uint8 = 255
	QEMUExtendedKeyEvent        uint8 = 0

	MsgFramebufferUpdate uint8 = 0
	MsgBell              uint8 = 2
	MsgServerCutText     uint8 = 3
)

// Encodings and pseudo-encodings (RFC 6143 §7.7, §7.8; rfbproto).
const (
	EncRaw                 int32 = 0
	EncTight               int32 = 7
	EncZRLE                int32 = 16
	EncJPEGQuality0        int32 = -32
	EncDesktopSize         int32 = -223
	EncLastRect            int32 = -224
	EncCursor              int32 = -239
	EncCompressLevel0      int32 = -256
	EncQEMUExtendedKey     int32 = -258
	EncQEMULEDState        int32 = -261
	EncExtendedDesktopSize int32 = -308
)

// PixelFormat is RFB's PIXEL_FORMAT (RFC 6143 §7.4).
type PixelFormat struct {
	BitsPerPixel, Depth             uint8
	BigEndian, TrueColour           bool
	RedMax, GreenMax, BlueMax       uint16
	RedShift, GreenShift, BlueShift uint8
}

// Marshal returns the format's 16 bytes.
func (pf PixelFormat) Marshal() []byte {
	b := []byte{pf.BitsPerPixel, pf.Depth, 0, 0}
	if pf.BigEndian {
		b[2] = 1
	}
	if pf.TrueColour {
		b[3] = 1
	}
	b = binary.BigEndian.AppendUint16(b, pf.RedMax)
	b = binary.BigEndian.AppendUint16(b, pf.GreenMax)
	b = binary.BigEndian.AppendUint16(b, pf.BlueMax)
	return append(b, pf.RedShift, pf.GreenShift, pf.BlueShift, 0, 0, 0)
}

func unmarshalPixelFormat(b []byte) PixelFormat {
	return PixelFormat{BitsPerPixel: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RedMax: binary.BigEndian.Uint16(b[4:]), GreenMax: binary.BigEndian.Uint16(b[6:]), BlueMax: binary.BigEndian.Uint16(b[8:]),
		RedShift: b[10], GreenShift: b[11], BlueShift: b[12]}
}
