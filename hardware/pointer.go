package hardware

import "fmt"

// PointerMax is the largest absolute pointer coordinate: positions run
// 0..PointerMax on both axes whatever the screen's size, as a USB tablet
// reports them (and QEMU's input-send-event takes them).
const PointerMax = 32767

// PointerButtons is a set of pressed buttons.
type PointerButtons uint8

// Pointer buttons, as bits of the HID button page's first usages.
const (
	ButtonLeft PointerButtons = 1 << iota
	ButtonRight
	ButtonMiddle
	ButtonBack
	ButtonForward
)

// PointerEvent is one pointer report: a move (absolute or relative), the
// buttons held after it, and wheel detents.
type PointerEvent struct {
	// Absolute: X and Y are a position in 0..PointerMax; otherwise DX and
	// DY move the pointer by that many counts (-127..127 per report).
	Absolute bool
	X, Y     int
	DX, DY   int
	Buttons  PointerButtons
	// Wheel is vertical detents (positive scrolls up, away from the
	// user), HWheel horizontal (positive to the right).
	Wheel, HWheel int
}

// Check reports ErrInvalid for coordinates out of range.
func (e PointerEvent) Check() error {
	if e.Absolute && (e.X < 0 || e.X > PointerMax || e.Y < 0 || e.Y > PointerMax) {
		return fmt.Errorf("pointer position %d,%d outside 0..%d: %w", e.X, e.Y, PointerMax, ErrInvalid)
	}
	return nil
}

// Pointer is the host's mouse or tablet as the BMC drives it. A machine
// without one has DisabledPointer.
type Pointer interface {
	// PointerModes says which moves the device takes: absolute (a
	// tablet), relative (a mouse), or both.
	PointerModes() (absolute, relative bool)
	// Point sends one report. Errors: ErrInvalid (see PointerEvent.Check,
	// or a mode the device lacks), ErrPoweredOff, ErrNotSupported.
	Point(e PointerEvent) error
}

// DisabledPointer is the pointer of a machine that has none.
type DisabledPointer struct{}

// PointerModes implements Pointer: neither.
func (DisabledPointer) PointerModes() (bool, bool) { return false, false }

// Point implements Pointer: ErrNotSupported.
func (DisabledPointer) Point(PointerEvent) error { return fmt.Errorf("pointer: %w", ErrNotSupported) }
