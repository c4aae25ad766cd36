package input

import (
	"fmt"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// keyCall is one call of fakeKeyboard.Key.
type keyCall struct {
	Key  hardware.KeyCode
	Down bool
}

func (c keyCall) String() string {
	if c.Down {
		return fmt.Sprintf("+%02X", uint16(c.Key))
	}
	return fmt.Sprintf("-%02X", uint16(c.Key))
}

func down(k hardware.KeyCode) keyCall { return keyCall{k, true} }
func up(k hardware.KeyCode) keyCall   { return keyCall{k, false} }

// fakeKeyboard records every Key call and the keys down.
type fakeKeyboard struct {
	mu       sync.Mutex
	calls    []keyCall
	pressed  map[hardware.KeyCode]bool
	leds     hardware.KeyboardLEDs
	err      error // returned by Key when set
	failKey  hardware.KeyCode
	watchers map[chan struct{}]bool
}

func newFakeKeyboard() *fakeKeyboard {
	return &fakeKeyboard{pressed: map[hardware.KeyCode]bool{}, watchers: map[chan struct{}]bool{}}
}

func (f *fakeKeyboard) Key(k hardware.KeyCode, d bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !k.Valid() {
		return hardware.ErrInvalid
	}
	if f.err != nil && (f.failKey == 0 || f.failKey == k) {
		return f.err
	}
	f.calls = append(f.calls, keyCall{k, d})
	if d {
		f.pressed[k] = true
	} else {
		delete(f.pressed, k)
	}
	return nil
}

func (f *fakeKeyboard) LEDs() hardware.KeyboardLEDs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leds
}

func (f *fakeKeyboard) WatchLEDs() (<-chan struct{}, func()) {
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

func (f *fakeKeyboard) setLEDs(l hardware.KeyboardLEDs) {
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

// setErr makes Key fail with err (nil: succeed).
func (f *fakeKeyboard) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// count is the number of calls not yet taken.
func (f *fakeKeyboard) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// take returns the calls so far and forgets them.
func (f *fakeKeyboard) take() []keyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// stuck lists the keys down.
func (f *fakeKeyboard) stuck() []hardware.KeyCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ks []hardware.KeyCode
	for k := range f.pressed {
		ks = append(ks, k)
	}
	return ks
}

// fakePointer records every report.
type fakePointer struct {
	mu       sync.Mutex
	abs, rel bool
	events   []hardware.PointerEvent
}

func (p *fakePointer) PointerModes() (bool, bool) { return p.abs, p.rel }

func (p *fakePointer) Point(e hardware.PointerEvent) error {
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

func (p *fakePointer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func (p *fakePointer) take() []hardware.PointerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.events
	p.events = nil
	return e
}

func (p *fakePointer) last() (hardware.PointerEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return hardware.PointerEvent{}, false
	}
	return p.events[len(p.events)-1], true
}

// newTestHub is a hub over fakes, typing without pauses.
func newTestHub() (*Hub, *fakeKeyboard, *fakePointer) {
	kb, p := newFakeKeyboard(), &fakePointer{abs: true, rel: true}
	h := NewHub(kb, p)
	h.SetTypeDelay(0)
	return h, kb, p
}
