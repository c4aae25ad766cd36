package sim

import (
	"context"
	"errors"
	goimage "image"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestPointer(t *testing.T) {
	m := New(Config{ID: "m", Seed: "pointer", PowerOnDelay: forever})
	defer m.Close()
	p := m.Pointer()
	if abs, rel := p.PointerModes(); !abs || !rel {
		t.Errorf("modes: absolute %v, relative %v", abs, rel)
	}
	if err := p.Point(hardware.PointerEvent{DX: 1}); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Errorf("while off: %v", err)
	}
	m.Attach(testHost{fw: &firmware{}})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	state := func() pointerState {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.disp.ptr
	}
	if state().shown {
		t.Error("pointer shown before any report")
	}
	for _, c := range []struct {
		e       hardware.PointerEvent
		want    goimage.Point
		buttons hardware.PointerButtons
	}{
		{hardware.PointerEvent{DX: 10, DY: -5}, goimage.Pt(DisplayWidth/2+10, DisplayHeight/2-5), 0}, // from the middle
		{hardware.PointerEvent{Absolute: true, X: 0, Y: 0, Buttons: hardware.ButtonLeft}, goimage.Pt(0, 0), hardware.ButtonLeft},
		{hardware.PointerEvent{Absolute: true, X: hardware.PointerMax, Y: hardware.PointerMax}, goimage.Pt(DisplayWidth-1, DisplayHeight-1), 0},
		{hardware.PointerEvent{Absolute: true, X: hardware.PointerMax / 2, Y: hardware.PointerMax / 4}, goimage.Pt(511, 192), 0}, // rounded,
		{hardware.PointerEvent{DX: -127, DY: 127, Buttons: hardware.ButtonRight | hardware.ButtonMiddle}, goimage.Pt(511-127, 192+127), hardware.ButtonRight | hardware.ButtonMiddle},
		{hardware.PointerEvent{DX: -5000, DY: 5000}, goimage.Pt(0, DisplayHeight-1), 0}, // stays on screen
		{hardware.PointerEvent{Wheel: 3}, goimage.Pt(0, DisplayHeight-1), 0},
	} {
		if err := p.Point(c.e); err != nil {
			t.Fatalf("%+v: %v", c.e, err)
		}
		if s := state(); s.pos != c.want || s.buttons != c.buttons || !s.shown {
			t.Errorf("after %+v: %+v, want %v buttons %b", c.e, s, c.want, c.buttons)
		}
	}
	for _, e := range []hardware.PointerEvent{
		{Absolute: true, X: -1}, {Absolute: true, Y: hardware.PointerMax + 1},
	} {
		if err := p.Point(e); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("%+v: %v", e, err)
		}
	}
	// The pointer is forgotten at power off.
	if err := m.Reset(context.Background(), hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if s := state(); s.shown {
		t.Errorf("pointer after power off: %+v", s)
	}
}
