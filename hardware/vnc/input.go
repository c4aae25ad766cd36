package vnc

import (
	"fmt"
	"image"

	"github.com/bmcd/bmcd/hardware"
)

// Frame implements hardware.Display: the last picture received; no
// picture before the first update, or after the server went away (the
// VM is off). It may be old when no one watches.
func (c *Client) Frame() hardware.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frame
}

// Watch implements hardware.Display: the client connects, if it is not
// connected, and asks for updates until every watcher stopped.
func (c *Client) Watch() (<-chan struct{}, func()) {
	return c.watch(c.watchers)
}

// WatchLEDs implements hardware.Keyboard: the client stays connected
// while the LEDs are watched, so that their changes arrive.
func (c *Client) WatchLEDs() (<-chan struct{}, func()) {
	return c.watch(c.ledWatch)
}

func (c *Client) watch(set map[*watcher]struct{}) (<-chan struct{}, func()) {
	w := &watcher{ch: make(chan struct{}, 1)}
	c.mu.Lock()
	set[w] = struct{}{}
	c.ensureLocked()
	c.mu.Unlock()
	stopped := false
	return w.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !stopped {
			stopped = true
			delete(set, w)
			c.wakeLocked()
		}
	}
}

// LEDs implements hardware.Keyboard: the state the server last sent (all
// off before it sent one).
func (c *Client) LEDs() hardware.KeyboardLEDs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leds
}

// Key implements hardware.Keyboard: a QEMU extended key event with the
// key's XT scancode when the server takes them, else a key event with
// the keysym a US keyboard gives the key unshifted. Errors:
// hardware.ErrInvalid for a code that is not a key or that neither can
// express; hardware.ErrUnavailable when the server cannot be reached.
func (c *Client) Key(k hardware.KeyCode, down bool) error {
	if !k.Valid() {
		return fmt.Errorf("key %#x: %w", uint16(k), hardware.ErrInvalid)
	}
	xt, hasXT := XTForKey(k)
	sym, hasSym := KeysymForKey(k)
	if !hasXT && !hasSym {
		return fmt.Errorf("key %#x has no scancode or keysym: %w", uint16(k), hardware.ErrInvalid)
	}
	s, err := c.forInput()
	if err != nil {
		return err
	}
	c.mu.Lock()
	ext := s.extKey
	c.mu.Unlock()
	var msg []byte
	switch {
	case ext && hasXT:
		msg = qemuKeyEvent(down, 0, xt)
	case hasSym:
		msg = keyEvent(down, sym)
	default:
		return fmt.Errorf("key %#x has no keysym and the server takes no scancodes: %w", uint16(k), hardware.ErrInvalid)
	}
	if err := s.write(msg); err != nil {
		return fmt.Errorf("vnc: key: %w: %w", hardware.ErrUnavailable, err)
	}
	return nil
}

// PointerModes implements hardware.Pointer: absolute only.
func (c *Client) PointerModes() (absolute, relative bool) { return true, false }

// RFB pointer button bits (RFC 6143 §7.5.5 and QEMU's use of the rest).
const (
	btnLeft       = 1 << 0
	btnMiddle     = 1 << 1
	btnRight      = 1 << 2
	btnWheelUp    = 1 << 3
	btnWheelDown  = 1 << 4
	btnWheelLeft  = 1 << 5
	btnWheelRight = 1 << 6
	btnBack       = 1 << 7
)

// Point implements hardware.Pointer: the position 0..PointerMax is
// scaled to the framebuffer; each wheel detent is a press and release of
// the wheel's button. The Forward button has no RFB bit and is dropped.
// Errors: hardware.ErrInvalid for a position out of range or a relative
// move; hardware.ErrUnavailable when the server cannot be reached.
func (c *Client) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	if !e.Absolute {
		return fmt.Errorf("relative pointer move: the VNC pointer is absolute: %w", hardware.ErrInvalid)
	}
	s, err := c.forInput()
	if err != nil {
		return err
	}
	c.mu.Lock()
	size := s.size
	c.mu.Unlock()
	p := image.Pt(scale(e.X, size.X), scale(e.Y, size.Y))
	var mask uint8
	for _, b := range []struct {
		h   hardware.PointerButtons
		bit uint8
	}{{hardware.ButtonLeft, btnLeft}, {hardware.ButtonMiddle, btnMiddle}, {hardware.ButtonRight, btnRight}, {hardware.ButtonBack, btnBack}} {
		if e.Buttons&b.h != 0 {
			mask |= b.bit
		}
	}
	msgs := [][]byte{pointerEvent(mask, p)}
	wheel := func(n int, pos, neg uint8) {
		bit := pos
		if n < 0 {
			n, bit = -n, neg
		}
		for range min(n, 32) {
			msgs = append(msgs, pointerEvent(mask|bit, p), pointerEvent(mask, p))
		}
	}
	wheel(e.Wheel, btnWheelUp, btnWheelDown)
	wheel(e.HWheel, btnWheelRight, btnWheelLeft)
	if err := s.write(msgs...); err != nil {
		return fmt.Errorf("vnc: pointer: %w: %w", hardware.ErrUnavailable, err)
	}
	return nil
}

// scale maps 0..PointerMax onto 0..n-1.
func scale(v, n int) int {
	if n <= 1 {
		return 0
	}
	return (v*(n-1) + hardware.PointerMax/2) / hardware.PointerMax
}

var (
	_ hardware.Display  = (*Client)(nil)
	_ hardware.Keyboard = (*Client)(nil)
	_ hardware.Pointer  = (*Client)(nil)
)
