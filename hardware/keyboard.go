package hardware

import "fmt"

// KeyCode identifies a key by its USB HID usage ID on the Keyboard/Keypad
// page (0x07), the code a USB keyboard reports for it (HID Usage Tables
// 1.4, §10): 0x04 is A, 0x28 Enter, 0xE0..0xE7 the modifiers (left
// Control, Shift, Alt, GUI, then the right ones). It names the physical
// key, not the character: the host's keyboard layout decides that.
type KeyCode uint16

// Key codes used by name in bmcd (the rest are plain numbers).
const (
	KeyA          KeyCode = 0x04
	KeyZ          KeyCode = 0x1D
	Key1          KeyCode = 0x1E
	Key0          KeyCode = 0x27
	KeyEnter      KeyCode = 0x28
	KeyEscape     KeyCode = 0x29
	KeyBackspace  KeyCode = 0x2A
	KeyTab        KeyCode = 0x2B
	KeySpace      KeyCode = 0x2C
	KeyCapsLock   KeyCode = 0x39
	KeyF1         KeyCode = 0x3A
	KeyDelete     KeyCode = 0x4C
	KeyNumLock    KeyCode = 0x53
	KeyLeftCtrl   KeyCode = 0xE0
	KeyLeftShift  KeyCode = 0xE1
	KeyLeftAlt    KeyCode = 0xE2
	KeyLeftGUI    KeyCode = 0xE3
	KeyRightCtrl  KeyCode = 0xE4
	KeyRightShift KeyCode = 0xE5
	KeyRightAlt   KeyCode = 0xE6
	KeyRightGUI   KeyCode = 0xE7
)

// MaxKeyCode is the largest usage a boot keyboard can report.
const MaxKeyCode KeyCode = 0xE7

// Modifier reports whether k is one of the eight modifier keys.
func (k KeyCode) Modifier() bool { return k >= KeyLeftCtrl && k <= KeyRightGUI }

// Valid reports whether k is a key a keyboard can press: 0x04..0xA4 or a
// modifier (0x00..0x03 are error codes, not keys).
func (k KeyCode) Valid() bool { return (k >= KeyA && k <= 0xA4) || k.Modifier() }

// KeyboardLEDs are the lock-key indicators the host sets on its keyboard
// (the HID LED output report, page 0x08).
type KeyboardLEDs struct {
	NumLock    bool `json:"num_lock"`
	CapsLock   bool `json:"caps_lock"`
	ScrollLock bool `json:"scroll_lock"`
}

// Keyboard is the host's keyboard as the BMC drives it: a USB gadget HID
// keyboard, a VM's emulated one, or the simulation's. Events go in, the
// LED state the host sets comes back. A machine without one has
// DisabledKeyboard.
type Keyboard interface {
	// Key presses (down) or releases the key. Pressing a key already
	// down, or releasing one that is up, is not an error. Errors:
	// ErrInvalid for a code that is not Valid, ErrPoweredOff when the
	// host cannot take input now, ErrNotSupported when disabled.
	Key(k KeyCode, down bool) error
	// LEDs is the LED state the host last set.
	LEDs() KeyboardLEDs
	// WatchLEDs returns a channel that receives after each change of the
	// LEDs (capacity 1, coalescing) and stop, called once by the watcher.
	WatchLEDs() (changed <-chan struct{}, stop func())
}

// DisabledKeyboard is the keyboard of a machine that has none.
type DisabledKeyboard struct{}

// Key implements Keyboard: ErrNotSupported.
func (DisabledKeyboard) Key(KeyCode, bool) error {
	return fmt.Errorf("keyboard: %w", ErrNotSupported)
}

// LEDs implements Keyboard: all off.
func (DisabledKeyboard) LEDs() KeyboardLEDs { return KeyboardLEDs{} }

// WatchLEDs implements Keyboard: the channel never receives.
func (DisabledKeyboard) WatchLEDs() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }
