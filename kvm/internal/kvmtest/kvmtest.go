// Package kvmtest holds the fakes of a machine's keyboard and pointer that
// the console's tests (kvm/input, kvm/rfb, kvm) share: a
// hardware.Keyboard and a hardware.Pointer that record every call, for
// tests to read back. The machine's display has its own in
// kvm/video/videotest.
package kvmtest

import (
	"fmt"
	"slices"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// KeyCall is one call of Keyboard.Key. Its String is "+04" for a press
// of usage 0x04 and "-04" for its release.
type KeyCall struct {
	Key  hardware.KeyCode
	Down bool
}

func (c KeyCall) String() string {
	if c.Down {
		return fmt.Sprintf("+%02X", uint16(c.Key))
	}
	return fmt.Sprintf("-%02X", uint16(c.Key))
}

// Press is the KeyCall pressing k; Release the one releasing it.
func Press(k hardware.KeyCode) KeyCall   { return KeyCall{k, true} }
func Release(k hardware.KeyCode) KeyCall { return KeyCall{k, false} }

// Keyboard is a hardware.Keyboard that records every Key call and the
// keys down, with LEDs set by the test. Safe for concurrent use.
type Keyboard struct {
	mu       sync.Mutex
	calls    []KeyCall
	pressed  []hardware.KeyCode
	leds     hardware.KeyboardLEDs
	err      error
	failKey  hardware.KeyCode
	watchers map[chan struct{}]bool
}

// NewKeyboard returns a keyboard with no key down and every LED off.
func NewKeyboard() *Keyboard { return &Keyboard{watchers: map[chan struct{}]bool{}} }

// Key records a press or release: hardware.ErrInvalid for a code that is
// not Valid, the error set by SetErr (nothing recorded then).
func (f *Keyboard) Key(k hardware.KeyCode, down bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !k.Valid() {
		return hardware.ErrInvalid
	}
	if f.err != nil && (f.failKey == 0 || f.failKey == k) {
		return f.err
	}
	f.calls = append(f.calls, KeyCall{k, down})
	i := slices.Index(f.pressed, k)
	switch {
	case down && i < 0:
		f.pressed = append(f.pressed, k)
	case !down && i >= 0:
		f.pressed = slices.Delete(f.pressed, i, i+1)
	}
	return nil
}

// LEDs is the state SetLEDs set last.
func (f *Keyboard) LEDs() hardware.KeyboardLEDs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leds
}

// WatchLEDs notifies after each SetLEDs (capacity 1, coalescing).
func (f *Keyboard) WatchLEDs() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.watchers[ch] = true
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.watchers, ch)
		f.mu.Unlock()
	}
}

// SetLEDs sets the LEDs, as the host would, and notifies the watchers.
func (f *Keyboard) SetLEDs(l hardware.KeyboardLEDs) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leds = l
	for ch := range f.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// SetErr makes Key fail with err for key only, or for every key when key
// is 0; a nil err makes it succeed again.
func (f *Keyboard) SetErr(err error, key hardware.KeyCode) {
	f.mu.Lock()
	f.err, f.failKey = err, key
	f.mu.Unlock()
}

// Count is the number of calls not yet taken.
func (f *Keyboard) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// Take returns the calls so far and forgets them.
func (f *Keyboard) Take() []KeyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Held lists the keys down, in the order pressed.
func (f *Keyboard) Held() []hardware.KeyCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pressed)
}

// Pointer is a hardware.Pointer that records every report. It takes the
// moves of the modes it was given and, as a USB mouse, relative moves
// of at most 127 counts. Safe for concurrent use.
type Pointer struct {
	mu       sync.Mutex
	abs, rel bool
	events   []hardware.PointerEvent
}

// NewPointer returns a pointer taking absolute and/or relative moves.
func NewPointer(absolute, relative bool) *Pointer { return &Pointer{abs: absolute, rel: relative} }

// SetModes changes the moves it takes.
func (p *Pointer) SetModes(absolute, relative bool) {
	p.mu.Lock()
	p.abs, p.rel = absolute, relative
	p.mu.Unlock()
}

// PointerModes says which moves it takes.
func (p *Pointer) PointerModes() (bool, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.abs, p.rel
}

// Point records e: hardware.ErrInvalid for a report that fails Check, of
// a mode it does not take, or a relative move beyond -127..127.
func (p *Pointer) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Absolute && !p.abs || !e.Absolute && !p.rel {
		return fmt.Errorf("mode: %w", hardware.ErrInvalid)
	}
	if !e.Absolute && (e.DX < -127 || e.DX > 127 || e.DY < -127 || e.DY > 127) {
		return fmt.Errorf("move: %w", hardware.ErrInvalid)
	}
	p.events = append(p.events, e)
	return nil
}

// Count is the number of reports not yet taken.
func (p *Pointer) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Take returns the reports so far and forgets them.
func (p *Pointer) Take() []hardware.PointerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.events
	p.events = nil
	return e
}

// Last is the last report not yet taken; false when there is none.
func (p *Pointer) Last() (hardware.PointerEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return hardware.PointerEvent{}, false
	}
	return p.events[len(p.events)-1], true
}
