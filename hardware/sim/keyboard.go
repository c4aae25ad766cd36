package sim

import (
	"fmt"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated host's keyboard (hardware.Keyboard). The host reads it
// with a US layout and types what it reads into its console, the serial
// line's input (console.go): what the shell echoes appears on the serial
// console and on the screen alike. Keys give what an xterm sends: Enter
// CR, Backspace DEL (0x7f), Ctrl+letter its control code, Alt an ESC
// prefix, arrows and function keys their escape sequences. The host
// toggles the lock LEDs when a lock key is pressed, and forgets them when
// it is powered off. Ctrl+Alt+Delete reboots a running OS, as Linux's
// ctrl-alt-del target does.

// Usages on the Keyboard/Keypad page not named in hardware.
const (
	keyScrollLock  hardware.KeyCode = 0x47
	keyKeypadDot   hardware.KeyCode = 0x63
	keyKeypadFirst hardware.KeyCode = 0x54 // Keypad /
	keyKeypadLast  hardware.KeyCode = 0x63 // Keypad .
)

// keyboardState is the keyboard's state; guarded by Machine.mu.
type keyboardState struct {
	down     [hardware.MaxKeyCode + 1]bool
	leds     hardware.KeyboardLEDs
	watchers watchers
}

// modifiers are the modifier keys held, and the Caps and Num Lock states.
type modifiers struct {
	ctrl, shift, alt, gui bool
	caps, num             bool
}

func (k *keyboardState) modifiers() modifiers {
	d := func(a, b hardware.KeyCode) bool { return k.down[a] || k.down[b] }
	return modifiers{
		ctrl:  d(hardware.KeyLeftCtrl, hardware.KeyRightCtrl),
		shift: d(hardware.KeyLeftShift, hardware.KeyRightShift),
		alt:   d(hardware.KeyLeftAlt, hardware.KeyRightAlt),
		gui:   d(hardware.KeyLeftGUI, hardware.KeyRightGUI),
		caps:  k.leds.CapsLock,
		num:   k.leds.NumLock,
	}
}

// Keyboard returns the machine's keyboard (see hardware.Keyboard).
func (m *Machine) Keyboard() hardware.Keyboard { return simKeyboard{m} }

// simKeyboard is the hardware.Keyboard of a Machine.
type simKeyboard struct{ m *Machine }

// Key implements hardware.Keyboard. Errors: ErrInvalid for a code that is
// not hardware.KeyCode.Valid, ErrPoweredOff while the host is off.
func (kb simKeyboard) Key(k hardware.KeyCode, down bool) error {
	if !k.Valid() {
		return fmt.Errorf("key code %#x: %w", uint16(k), hardware.ErrInvalid)
	}
	m := kb.m
	m.mu.Lock()
	if m.state == hardware.PowerOff {
		m.mu.Unlock()
		return fmt.Errorf("keyboard: %w", hardware.ErrPoweredOff)
	}
	ks := &m.disp.kbd
	was := ks.down[k]
	ks.down[k] = down
	if !down || was {
		m.mu.Unlock()
		return nil
	}
	var typed []byte
	mods := ks.modifiers()
	switch {
	case k == hardware.KeyCapsLock:
		ks.leds.CapsLock = !ks.leds.CapsLock
		ks.watchers.notify()
	case k == hardware.KeyNumLock:
		ks.leds.NumLock = !ks.leds.NumLock
		ks.watchers.notify()
	case k == keyScrollLock:
		ks.leds.ScrollLock = !ks.leds.ScrollLock
		ks.watchers.notify()
	case (k == hardware.KeyDelete || k == keyKeypadDot) && mods.ctrl && mods.alt:
		if m.con.state != shellDown {
			m.runLocked([]string{"reboot"})
		}
	default:
		typed = usLayout(k, mods)
	}
	m.mu.Unlock()
	if len(typed) > 0 {
		m.consoleInput(typed)
	}
	return nil
}

// LEDs implements hardware.Keyboard.
func (kb simKeyboard) LEDs() hardware.KeyboardLEDs {
	kb.m.mu.Lock()
	defer kb.m.mu.Unlock()
	return kb.m.disp.kbd.leds
}

// WatchLEDs implements hardware.Keyboard.
func (kb simKeyboard) WatchLEDs() (<-chan struct{}, func()) {
	return kb.m.watch(&kb.m.disp.kbd.watchers)
}

// keyboardOffLocked: with the host off no key is held and no LED lit.
func (m *Machine) keyboardOffLocked() {
	ks := &m.disp.kbd
	ks.down = [len(ks.down)]bool{}
	if ks.leds != (hardware.KeyboardLEDs{}) {
		ks.leds = hardware.KeyboardLEDs{}
		ks.watchers.notify()
	}
}

// usKeys are the keys of the US layout other than letters and the keypad:
// what each types, without and with Shift.
var usKeys = map[hardware.KeyCode][2]string{
	0x1E: {"1", "!"}, 0x1F: {"2", "@"}, 0x20: {"3", "#"}, 0x21: {"4", "$"}, 0x22: {"5", "%"},
	0x23: {"6", "^"}, 0x24: {"7", "&"}, 0x25: {"8", "*"}, 0x26: {"9", "("}, 0x27: {"0", ")"},
	0x28: {"\r", "\r"}, 0x29: {"\x1b", "\x1b"}, 0x2A: {"\x7f", "\x7f"}, 0x2B: {"\t", "\x1b[Z"}, 0x2C: {" ", " "},
	0x2D: {"-", "_"}, 0x2E: {"=", "+"}, 0x2F: {"[", "{"}, 0x30: {"]", "}"}, 0x31: {"\\", "|"},
	0x32: {"\\", "|"}, 0x33: {";", ":"}, 0x34: {"'", "\""}, 0x35: {"`", "~"}, 0x36: {",", "<"},
	0x37: {".", ">"}, 0x38: {"/", "?"}, 0x64: {"<", ">"},
	// F1..F12
	0x3A: {"\x1bOP", ""}, 0x3B: {"\x1bOQ", ""}, 0x3C: {"\x1bOR", ""}, 0x3D: {"\x1bOS", ""},
	0x3E: {"\x1b[15~", ""}, 0x3F: {"\x1b[17~", ""}, 0x40: {"\x1b[18~", ""}, 0x41: {"\x1b[19~", ""},
	0x42: {"\x1b[20~", ""}, 0x43: {"\x1b[21~", ""}, 0x44: {"\x1b[23~", ""}, 0x45: {"\x1b[24~", ""},
	// Insert, Home, Page Up, Delete, End, Page Down, Right, Left, Down, Up
	0x49: {"\x1b[2~", ""}, 0x4A: {"\x1b[H", ""}, 0x4B: {"\x1b[5~", ""}, 0x4C: {"\x1b[3~", ""},
	0x4D: {"\x1b[F", ""}, 0x4E: {"\x1b[6~", ""}, 0x4F: {"\x1b[C", ""}, 0x50: {"\x1b[D", ""},
	0x51: {"\x1b[B", ""}, 0x52: {"\x1b[A", ""},
}

// usKeypad is the keypad from / to .: what each key types with Num Lock
// on, and off (navigation, as the keys with the same arrows).
var usKeypad = [keyKeypadLast - keyKeypadFirst + 1][2]string{
	{"/", "/"}, {"*", "*"}, {"-", "-"}, {"+", "+"}, {"\r", "\r"},
	{"1", "\x1b[F"}, {"2", "\x1b[B"}, {"3", "\x1b[6~"}, {"4", "\x1b[D"}, {"5", ""},
	{"6", "\x1b[C"}, {"7", "\x1b[H"}, {"8", "\x1b[A"}, {"9", "\x1b[5~"}, {"0", "\x1b[2~"},
	{".", "\x1b[3~"},
}

// usCtrl is what Ctrl with a key other than a letter types, by the key's
// unshifted character, as an xterm sends it.
var usCtrl = map[string]byte{
	" ": 0x00, "2": 0x00, "[": 0x1b, "3": 0x1b, "\\": 0x1c, "4": 0x1c, "]": 0x1d, "5": 0x1d,
	"6": 0x1e, "-": 0x1f, "/": 0x1f, "7": 0x1f, "8": 0x7f, "\x7f": 0x08,
}

// usLayout is what pressing k with mods types on a US layout; nil for a
// key that types nothing (modifiers, locks, keys held with the GUI key).
func usLayout(k hardware.KeyCode, mods modifiers) []byte {
	if mods.gui {
		return nil
	}
	var s string
	switch {
	case k >= hardware.KeyA && k <= hardware.KeyZ:
		c := byte('a' + k - hardware.KeyA)
		switch {
		case mods.ctrl:
			c &= 0x1f
		case mods.shift != mods.caps:
			c -= 'a' - 'A'
		}
		s = string(c)
	case k >= keyKeypadFirst && k <= keyKeypadLast:
		keys := usKeypad[k-keyKeypadFirst]
		s = keys[0]
		if mods.num == mods.shift { // Shift reverses Num Lock
			s = keys[1]
		}
	default:
		keys, ok := usKeys[k]
		if !ok {
			return nil
		}
		s = keys[0]
		if mods.ctrl {
			if c, ok := usCtrl[keys[0]]; ok {
				s = string(c)
			}
		} else if mods.shift && keys[1] != "" {
			s = keys[1]
		}
	}
	if mods.alt && len(s) == 1 {
		s = "\x1b" + s // meta sends escape
	}
	return []byte(s)
}
