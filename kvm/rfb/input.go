package rfb

import (
	"errors"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/input"
)

// The client's input, through the machine's input hub: refused there
// (and ignored here, RFB having no way to say so) while another client
// has control or for a client that may not control.

// maxTyped is the longest ClientCutText typed (bytes, one character
// each): longer ones are ignored, as the WebSocket HID protocol refuses a
// paste over 64 KiB.
const maxTyped = 64 << 10

// key handles a KeyEvent or a QEMU Extended Key Event: the XT scan code
// when the client gave one bmcd knows (the physical key, whatever the
// client's layout), else the keysym's key on a US keyboard; a character
// no US key has is typed through the host's layout when pressed.
// takeOver makes an exclusive client the controller at its first input.
func (c *session) takeOver() {
	if c.takeOnInput {
		c.takeOnInput = false
		_ = c.client.TakeOver()
	}
}

func (c *session) key(m keyEventMsg) {
	if !c.mayControl {
		return
	}
	var k hardware.KeyCode
	ok := false
	if m.xt != 0 {
		k, ok = input.KeyForXT(m.xt)
	}
	if !ok {
		k, ok = input.KeyForKeysym(m.keysym)
	}
	c.takeOver()
	if ok {
		c.inputResult(c.client.Key(k, m.down))
		return
	}
	if r, isChar := input.KeysymRune(m.keysym); isChar && m.down {
		c.inputResult(c.client.Type(c.ctx, string(r), ""))
	}
}

// pointer handles a PointerEvent: buttons 1-3 are left, middle and
// right, 4-7 the wheel (a press is a detent: up, down, left, right), 8
// back; the position is scaled to 0..PointerMax over the framebuffer for
// an absolute device, or sent as the move since the last event to a
// relative one.
func (c *session) pointer(m pointerEventMsg) {
	if !c.mayControl {
		return
	}
	prev := c.buttons
	if c.pointed && m.x == c.lastX && m.y == c.lastY && m.buttons == prev {
		return
	}
	c.buttons = m.buttons
	pressed := m.buttons &^ prev
	e := hardware.PointerEvent{}
	if pressed&0x08 != 0 {
		e.Wheel++
	}
	if pressed&0x10 != 0 {
		e.Wheel--
	}
	if pressed&0x20 != 0 {
		e.HWheel--
	}
	if pressed&0x40 != 0 {
		e.HWheel++
	}
	for _, b := range rfbButtons {
		if m.buttons&b.bit != 0 {
			e.Buttons |= b.button
		}
	}
	abs, rel := c.s.o.Hub.PointerModes()
	switch {
	case abs:
		c.mu.Lock()
		fb := c.fb
		c.mu.Unlock()
		e.Absolute = true
		e.X, e.Y = scale(m.x, fb.X), scale(m.y, fb.Y)
	case rel:
		if c.pointed {
			e.DX, e.DY = m.x-c.lastX, m.y-c.lastY
		}
	default:
		return
	}
	c.lastX, c.lastY, c.pointed = m.x, m.y, true
	c.takeOver()
	c.inputResult(c.client.Point(e))
}

// rfbButtons are the buttons of RFB's button mask (rfbproto
// "PointerEvent") that are buttons, not wheel detents.
var rfbButtons = []struct {
	bit    uint8
	button hardware.PointerButtons
}{{0x01, hardware.ButtonLeft}, {0x02, hardware.ButtonMiddle}, {0x04, hardware.ButtonRight}, {0x80, hardware.ButtonBack}}

// scale maps pixel v of a size-pixel axis onto 0..PointerMax.
func scale(v, size int) int {
	if size <= 1 {
		return 0
	}
	v = min(v, size-1)
	return v * hardware.PointerMax / (size - 1)
}

// cutText types the client's cut text (ISO 8859-1, RFC 6143 §7.5.6) on
// the host's keyboard through the host's layout (input.Hub.Layout), one
// paste at a time: text that comes while one is typed is ignored.
func (c *session) cutText(m cutTextMsg) {
	if !c.mayControl || len(m.text) == 0 {
		return
	}
	if len(m.text) > maxTyped {
		c.log.Info("vnc: cut text not typed: over 64 KiB", "bytes", len(m.text))
		return
	}
	rs := make([]rune, len(m.text))
	for i, b := range m.text {
		rs[i] = rune(b) // Latin-1 is the first 256 code points
	}
	if !c.typing.CompareAndSwap(false, true) {
		c.log.Info("vnc: cut text not typed: still typing the previous one")
		return
	}
	c.typed.Add(1)
	go func() {
		defer c.typed.Done()
		defer c.typing.Store(false)
		c.inputResult(c.client.Type(c.ctx, string(rs), ""))
	}()
}

// inputResult logs why input was refused.
func (c *session) inputResult(err error) {
	if err == nil || c.ctx.Err() != nil {
		return
	}
	var ue *input.UntypableError
	if errors.As(err, &ue) {
		c.log.Info("vnc: the host's keyboard layout cannot type the text", "layout", c.s.o.Hub.Layout().Name, "error", err)
		return
	}
	c.log.Debug("vnc: input refused", "error", err)
}
