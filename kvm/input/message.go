package input

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/bmcd/bmcd/hardware"
)

// Limits of the WebSocket HID protocol (docs/console.md).
const (
	// MaxPasteBytes is the longest text one paste message may carry
	// (UTF-8 bytes).
	MaxPasteBytes = 64 << 10
	// MaxChordKeys is the most keys one chord may hold.
	MaxChordKeys = 8
	// maxWheel is the most wheel detents one message may carry.
	maxWheel = 127
	// maxMessageBytes is the read limit of a connection: a paste of
	// MaxPasteBytes with every character JSON-escaped fits.
	maxMessageBytes = 8*MaxPasteBytes + 1024
)

// inMessage is any client → server message; the fields a type does not
// use are ignored, as are unknown ones.
type inMessage struct {
	T      string   `json:"t"`
	Code   string   `json:"code"`
	Down   *bool    `json:"down"`
	X      *int     `json:"x"`
	Y      *int     `json:"y"`
	DX     *int     `json:"dx"`
	DY     *int     `json:"dy"`
	Mask   *int     `json:"mask"`
	Codes  []string `json:"codes"`
	Text   *string  `json:"text"`
	Layout string   `json:"layout"`
}

// A command is one decoded client message.
type command interface{ command() }

type (
	keyCmd struct {
		key  hardware.KeyCode
		down bool
	}
	// moveCmd is an absolute move to x, y (abs) or a relative one by x, y.
	moveCmd struct {
		abs  bool
		x, y int
	}
	buttonsCmd struct{ mask hardware.PointerButtons }
	// wheelCmd counts detents as the DOM's WheelEvent does: dy > 0
	// scrolls down, dx > 0 right.
	wheelCmd    struct{ dx, dy int }
	chordCmd    struct{ keys []hardware.KeyCode }
	pasteCmd    struct{ text, layout string }
	takeoverCmd struct{}
	releaseCmd  struct{}
)

func (keyCmd) command()      {}
func (moveCmd) command()     {}
func (buttonsCmd) command()  {}
func (wheelCmd) command()    {}
func (chordCmd) command()    {}
func (pasteCmd) command()    {}
func (takeoverCmd) command() {}
func (releaseCmd) command()  {}

// allButtons is every button a mask may hold.
const allButtons = hardware.ButtonLeft | hardware.ButtonRight | hardware.ButtonMiddle |
	hardware.ButtonBack | hardware.ButtonForward

// decodeMessage decodes and checks one client message (a JSON object, the
// WebSocket HID protocol of docs/console.md). The error says what is wrong
// in words a client's author can act on.
func decodeMessage(data []byte) (command, error) {
	var m inMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("malformed message: %v", err)
	}
	switch m.T {
	case "key":
		k, ok := KeyForCode(m.Code)
		if !ok {
			return nil, fmt.Errorf("key: unknown code %q", m.Code)
		}
		if m.Down == nil {
			return nil, fmt.Errorf("key: \"down\" (true or false) is required")
		}
		return keyCmd{k, *m.Down}, nil
	case "mouse":
		switch {
		case m.X != nil && m.Y != nil && m.DX == nil && m.DY == nil:
			if *m.X < 0 || *m.X > hardware.PointerMax || *m.Y < 0 || *m.Y > hardware.PointerMax {
				return nil, fmt.Errorf("mouse: x, y must be within 0..%d", hardware.PointerMax)
			}
			return moveCmd{true, *m.X, *m.Y}, nil
		case m.X == nil && m.Y == nil && (m.DX != nil || m.DY != nil):
			dx, dy := deref(m.DX), deref(m.DY)
			if !within(dx, hardware.PointerMax) || !within(dy, hardware.PointerMax) {
				return nil, fmt.Errorf("mouse: dx, dy must be within -%d..%d", hardware.PointerMax, hardware.PointerMax)
			}
			return moveCmd{false, dx, dy}, nil
		}
		return nil, fmt.Errorf("mouse: give either x and y (absolute) or dx and dy (relative)")
	case "buttons":
		if m.Mask == nil || *m.Mask < 0 || *m.Mask > int(allButtons) {
			return nil, fmt.Errorf("buttons: \"mask\" must be within 0..%d", allButtons)
		}
		return buttonsCmd{hardware.PointerButtons(*m.Mask)}, nil
	case "wheel":
		dx, dy := deref(m.DX), deref(m.DY)
		if !within(dx, maxWheel) || !within(dy, maxWheel) {
			return nil, fmt.Errorf("wheel: dx, dy must be within -%d..%d detents", maxWheel, maxWheel)
		}
		return wheelCmd{dx, dy}, nil
	case "chord":
		if len(m.Codes) == 0 || len(m.Codes) > MaxChordKeys {
			return nil, fmt.Errorf("chord: \"codes\" must name 1..%d keys", MaxChordKeys)
		}
		keys := make([]hardware.KeyCode, len(m.Codes))
		for i, c := range m.Codes {
			k, ok := KeyForCode(c)
			if !ok {
				return nil, fmt.Errorf("chord: unknown code %q", c)
			}
			keys[i] = k
		}
		return chordCmd{keys}, nil
	case "paste":
		if m.Text == nil {
			return nil, fmt.Errorf("paste: \"text\" is required")
		}
		if len(*m.Text) > MaxPasteBytes {
			return nil, fmt.Errorf("paste: text longer than %d bytes", MaxPasteBytes)
		}
		if !utf8.ValidString(*m.Text) {
			return nil, fmt.Errorf("paste: text is not valid UTF-8")
		}
		if _, err := LayoutByName(m.Layout); err != nil {
			return nil, fmt.Errorf("paste: %w", err)
		}
		return pasteCmd{*m.Text, m.Layout}, nil
	case "takeover":
		return takeoverCmd{}, nil
	case "release":
		return releaseCmd{}, nil
	case "":
		return nil, fmt.Errorf("message type \"t\" is required")
	}
	return nil, fmt.Errorf("unknown message type %q", m.T)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// within reports whether v is in -limit..limit.
func within(v, limit int) bool { return v >= -limit && v <= limit }
