package rfb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
)

// The client's messages after initialisation, as parsed by
// readClientMessage. Each is read whole, with every length checked before
// anything is allocated from it.
type (
	setPixelFormatMsg struct{ pf PixelFormat }
	setEncodingsMsg   struct{ encodings []int32 }
	updateRequestMsg  struct {
		incremental bool
		rect        image.Rectangle
	}
	keyEventMsg struct {
		down   bool
		keysym uint32
		// xt is the XT scan code of a QEMU Extended Key Event (0 for a
		// plain KeyEvent, or when the client does not know it).
		xt uint32
	}
	pointerEventMsg struct {
		buttons uint8
		x, y    int
	}
	cutTextMsg        struct{ text []byte }
	setDesktopSizeMsg struct {
		width, height int
		screens       int
	}
)

// errProtocol is a message the server cannot parse: the connection ends.
var errProtocol = errors.New("rfb: protocol error")

// readClientMessage reads one client message (RFC 6143 §7.5 and the
// rfbproto extensions bmcd announces). It returns io.EOF at a clean end
// before a message, io.ErrUnexpectedEOF inside one, and an error wrapping
// errProtocol for an unknown message type or a length over the limits
// (MaxCutText, MaxEncodings); the caller then closes the connection,
// since the stream cannot be resynchronised.
func readClientMessage(r io.Reader) (any, error) {
	var hdr [1]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	switch hdr[0] {
	case MsgSetPixelFormat:
		var b [19]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		return setPixelFormatMsg{UnmarshalPixelFormat(b[3:])}, nil
	case MsgSetEncodings:
		var b [3]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(b[1:]))
		if n > MaxEncodings {
			return nil, fmt.Errorf("%w: SetEncodings lists %d encodings (at most %d)", errProtocol, n, MaxEncodings)
		}
		raw := make([]byte, 4*n)
		if err := readFull(r, raw); err != nil {
			return nil, err
		}
		encs := make([]int32, n)
		for i := range encs {
			encs[i] = int32(binary.BigEndian.Uint32(raw[4*i:]))
		}
		return setEncodingsMsg{encs}, nil
	case MsgFramebufferUpdateRequest:
		var b [9]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		x, y := int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
		w, h := int(binary.BigEndian.Uint16(b[5:])), int(binary.BigEndian.Uint16(b[7:]))
		return updateRequestMsg{incremental: b[0] != 0, rect: image.Rect(x, y, x+w, y+h)}, nil
	case MsgKeyEvent:
		var b [7]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		return keyEventMsg{down: b[0] != 0, keysym: binary.BigEndian.Uint32(b[3:])}, nil
	case MsgPointerEvent:
		var b [5]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		return pointerEventMsg{buttons: b[0],
			x: int(binary.BigEndian.Uint16(b[1:])), y: int(binary.BigEndian.Uint16(b[3:]))}, nil
	case MsgClientCutText:
		var b [7]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(b[3:])
		if n > MaxCutText {
			// Also a negative length: the Extended Clipboard format,
			// which bmcd does not announce.
			return nil, fmt.Errorf("%w: ClientCutText of %d bytes (at most %d)", errProtocol, n, MaxCutText)
		}
		// Read as it comes: memory follows what the client sent, not
		// what it claimed.
		var text bytes.Buffer
		text.Grow(int(min(n, 64<<10)))
		if _, err := io.CopyN(&text, r, int64(n)); err != nil {
			return nil, unexpected(err)
		}
		return cutTextMsg{text.Bytes()}, nil
	case MsgSetDesktopSize:
		var b [7]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		m := setDesktopSizeMsg{width: int(binary.BigEndian.Uint16(b[1:])),
			height: int(binary.BigEndian.Uint16(b[3:])), screens: int(b[5])}
		// The screens (16 bytes each, at most 255) are skipped: bmcd
		// refuses every layout change.
		if _, err := io.CopyN(io.Discard, r, int64(16*m.screens)); err != nil {
			return nil, unexpected(err)
		}
		return m, nil
	case MsgQEMU:
		var sub [1]byte
		if err := readFull(r, sub[:]); err != nil {
			return nil, err
		}
		if sub[0] != QEMUExtendedKeyEvent {
			return nil, fmt.Errorf("%w: QEMU client message subtype %d", errProtocol, sub[0])
		}
		var b [10]byte
		if err := readFull(r, b[:]); err != nil {
			return nil, err
		}
		return keyEventMsg{down: binary.BigEndian.Uint16(b[0:]) != 0,
			keysym: binary.BigEndian.Uint32(b[2:]), xt: binary.BigEndian.Uint32(b[6:])}, nil
	}
	return nil, fmt.Errorf("%w: unknown client message type %d", errProtocol, hdr[0])
}

// readFull is io.ReadFull inside a message: an end there is
// io.ErrUnexpectedEOF.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	return unexpected(err)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
