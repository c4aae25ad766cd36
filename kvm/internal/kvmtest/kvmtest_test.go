package kvmtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

var _ hardware.Keyboard = (*Keyboard)(nil)
var _ hardware.Pointer = (*Pointer)(nil)

func TestKeyboard(t *testing.T) {
	kb := NewKeyboard()
	ch, stop := kb.WatchLEDs()
	defer stop()
	for _, c := range []KeyCall{Press(hardware.KeyLeftShift), Press(hardware.KeyA), Press(hardware.KeyA), Release(hardware.KeyA)} {
		if err := kb.Key(c.Key, c.Down); err != nil {
			t.Fatal(err)
		}
	}
	if err := kb.Key(0, true); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("an invalid key: %v", err)
	}
	if got := fmt.Sprint(kb.Held()); got != fmt.Sprint([]hardware.KeyCode{hardware.KeyLeftShift}) {
		t.Errorf("held %s", got)
	}
	if n := kb.Count(); n != 4 {
		t.Errorf("count %d", n)
	}
	if got := fmt.Sprint(kb.Take()); got != "[+E1 +04 +04 -04]" {
		t.Errorf("calls %s", got)
	}
	kb.SetErr(hardware.ErrPoweredOff, hardware.KeyDelete)
	if err := kb.Key(hardware.KeyDelete, true); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Errorf("the failing key: %v", err)
	}
	if err := kb.Key(hardware.KeyEnter, true); err != nil {
		t.Errorf("another key: %v", err)
	}
	kb.SetLEDs(hardware.KeyboardLEDs{NumLock: true})
	select {
	case <-ch:
	default:
		t.Error("no LED notification")
	}
	if !kb.LEDs().NumLock {
		t.Error("LEDs")
	}
}

func TestPointer(t *testing.T) {
	p := NewPointer(true, false)
	for _, tc := range []struct {
		e  hardware.PointerEvent
		ok bool
	}{
		{hardware.PointerEvent{Absolute: true, X: 10, Y: 20}, true},
		{hardware.PointerEvent{DX: 1}, false},
		{hardware.PointerEvent{Absolute: true, X: hardware.PointerMax + 1}, false},
	} {
		if err := p.Point(tc.e); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.e, err)
		}
	}
	p.SetModes(false, true)
	if err := p.Point(hardware.PointerEvent{DX: 128}); err == nil {
		t.Error("a move of 128 counts was taken")
	}
	if err := p.Point(hardware.PointerEvent{DX: -127, Buttons: hardware.ButtonLeft}); err != nil {
		t.Error(err)
	}
	if l, ok := p.Last(); !ok || l.Buttons != hardware.ButtonLeft {
		t.Errorf("last %+v", l)
	}
	if p.Count() != 2 || len(p.Take()) != 2 || p.Count() != 0 {
		t.Error("count and take")
	}
}
