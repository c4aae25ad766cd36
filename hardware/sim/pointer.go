package sim

import (
	"fmt"
	goimage "image" // "image" names a test helper of this package

	"github.com/bmcd/bmcd/hardware"
)

// The simulated host's pointer (hardware.Pointer): a USB tablet and mouse
// in one, taking absolute and relative moves. The host draws an arrow at
// the pointer's position on its screen from the first report after power
// on; a relative move before any absolute one starts from the middle of
// the screen. One relative count is one pixel; positions stay on screen.
// Buttons are recorded (the text console has nothing to click); the wheel
// is ignored.

// pointerState is the pointer's state; guarded by Machine.mu.
type pointerState struct {
	pos     goimage.Point // hot spot, in pixels
	shown   bool          // a report came since power on
	buttons hardware.PointerButtons
}

// Pointer returns the machine's pointer (see hardware.Pointer).
func (m *Machine) Pointer() hardware.Pointer { return simPointer{m} }

// simPointer is the hardware.Pointer of a Machine.
type simPointer struct{ m *Machine }

// PointerModes implements hardware.Pointer: absolute and relative.
func (simPointer) PointerModes() (absolute, relative bool) { return true, true }

// Point implements hardware.Pointer. Errors: ErrInvalid for an absolute
// position outside 0..hardware.PointerMax, ErrPoweredOff while the host
// is off.
func (p simPointer) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == hardware.PowerOff {
		return fmt.Errorf("pointer: %w", hardware.ErrPoweredOff)
	}
	ps := &m.disp.ptr
	was, wasShown := ps.pos, ps.shown
	switch {
	case e.Absolute:
		ps.pos = goimage.Pt(scale(e.X, DisplayWidth), scale(e.Y, DisplayHeight))
	default:
		if !ps.shown {
			ps.pos = goimage.Pt(DisplayWidth/2, DisplayHeight/2)
		}
		ps.pos = goimage.Pt(clamp(ps.pos.X+e.DX, DisplayWidth), clamp(ps.pos.Y+e.DY, DisplayHeight))
	}
	ps.shown, ps.buttons = true, e.Buttons
	if ps.pos != was || !wasShown {
		m.changedLocked()
	}
	return nil
}

// scale maps v in 0..PointerMax to a pixel in 0..n-1, rounding.
func scale(v, n int) int { return (v*(n-1) + hardware.PointerMax/2) / hardware.PointerMax }

// clamp keeps v in 0..n-1.
func clamp(v, n int) int { return max(0, min(v, n-1)) }
