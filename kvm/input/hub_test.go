package input

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// event reads the next Control of c, failing if none comes.
func event(t *testing.T, c *Client) Control {
	t.Helper()
	select {
	case ctl := <-c.Events():
		return ctl
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no control event", c.Name())
	}
	return Control{}
}

func TestJoinControl(t *testing.T) {
	h, _, _ := newTestHub()
	ro := h.Join("ro@192.0.2.1", "websocket", false)
	if got := event(t, ro); got != (Control{}) {
		t.Fatalf("read-only alone: %+v, want nobody in control", got)
	}
	if err := ro.Key(hardware.KeyA, true); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("read-only key: %v, want ErrNotPermitted", err)
	}
	if err := ro.TakeOver(); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("read-only take-over: %v", err)
	}
	if ro.Controls() || h.Controller() != "" {
		t.Fatalf("read-only client controls")
	}

	a := h.Join("admin@192.0.2.2", "websocket", true)
	if got := event(t, a); got != (Control{You: true, By: "admin@192.0.2.2"}) {
		t.Fatalf("first controller: %+v", got)
	}
	if got := event(t, ro); got != (Control{By: "admin@192.0.2.2"}) {
		t.Fatalf("viewer sees: %+v", got)
	}
	b := h.Join("op@192.0.2.3", "vnc", true)
	if got := event(t, b); got != (Control{By: "admin@192.0.2.2"}) {
		t.Fatalf("second client: %+v", got)
	}
	err := b.Key(hardware.KeyA, true)
	var vo *ViewOnlyError
	if !errors.As(err, &vo) || vo.By != "admin@192.0.2.2" || !errors.Is(err, ErrViewOnly) {
		t.Fatalf("view-only key: %v", err)
	}
	if err := b.Point(hardware.PointerEvent{Absolute: true, X: 5, Y: 5}); !errors.Is(err, ErrViewOnly) {
		t.Fatalf("view-only point: %v", err)
	}
	want := []ClientInfo{
		{Name: "ro@192.0.2.1", Kind: "websocket"},
		{Name: "admin@192.0.2.2", Kind: "websocket", Controls: true, MayControl: true},
		{Name: "op@192.0.2.3", Kind: "vnc", MayControl: true},
	}
	if got := h.Clients(); !slices.Equal(got, want) {
		t.Fatalf("Clients = %+v, want %+v", got, want)
	}
}

func TestTakeOverReleasesAndNotifies(t *testing.T) {
	h, kb, p := newTestHub()
	a := h.Join("a", "websocket", true)
	b := h.Join("b", "websocket", true)
	event(t, a)
	event(t, b)
	for _, k := range []hardware.KeyCode{hardware.KeyLeftShift, hardware.KeyA, 0x05} {
		if err := a.Key(k, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Point(hardware.PointerEvent{Absolute: true, X: 100, Y: 200, Buttons: hardware.ButtonLeft}); err != nil {
		t.Fatal(err)
	}
	kb.take()
	p.take()
	if err := b.TakeOver(); err != nil {
		t.Fatal(err)
	}
	if got := event(t, a); got != (Control{You: false, By: "b"}) {
		t.Fatalf("previous controller hears %+v", got)
	}
	if got := event(t, b); got != (Control{You: true, By: "b"}) {
		t.Fatalf("new controller hears %+v", got)
	}
	// Keys in reverse order, modifiers last; then the button, in place.
	if got, want := kb.take(), []keyCall{up(0x05), up(hardware.KeyA), up(hardware.KeyLeftShift)}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if got, want := p.take(), []hardware.PointerEvent{{Absolute: true, X: 100, Y: 200}}; !slices.Equal(got, want) {
		t.Fatalf("pointer %+v, want %+v", got, want)
	}
	if len(a.Held()) != 0 || len(kb.stuck()) != 0 {
		t.Fatalf("keys still held: %v %v", a.Held(), kb.stuck())
	}
	if err := a.Key(hardware.KeyA, true); !errors.Is(err, ErrViewOnly) {
		t.Fatalf("old controller's key: %v", err)
	}
	if err := b.TakeOver(); err != nil {
		t.Fatalf("taking over twice: %v", err)
	}
}

func TestCloseReleases(t *testing.T) {
	h, kb, p := newTestHub()
	a := h.Join("a", "websocket", true)
	b := h.Join("b", "websocket", true)
	event(t, b)
	a.Key(hardware.KeyLeftCtrl, true)
	a.Key(hardware.KeyLeftAlt, true)
	a.Key(hardware.KeyDelete, true)
	a.Point(hardware.PointerEvent{DX: 3, Buttons: hardware.ButtonRight})
	kb.take()
	p.take()
	a.Close()
	a.Close()
	if got, want := kb.take(), []keyCall{up(hardware.KeyDelete), up(hardware.KeyLeftAlt), up(hardware.KeyLeftCtrl)}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if got, want := p.take(), []hardware.PointerEvent{{}}; !slices.Equal(got, want) {
		t.Fatalf("pointer %+v, want a relative release %+v", got, want)
	}
	if _, ok := <-a.Events(); ok {
		// The channel may hold one last value; it must then be closed.
		if _, ok := <-a.Events(); ok {
			t.Fatal("Events not closed")
		}
	}
	if got := event(t, b); got != (Control{}) {
		t.Fatalf("after the controller left: %+v", got)
	}
	if err := a.Key(hardware.KeyA, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed client's key: %v", err)
	}
	// Nobody controls: b's first input claims control.
	if err := b.Key(hardware.KeyA, true); err != nil {
		t.Fatal(err)
	}
	if got := event(t, b); got != (Control{You: true, By: "b"}) {
		t.Fatalf("claim by input: %+v", got)
	}
	b.Release()
	if h.Controller() != "" || len(kb.stuck()) != 0 {
		t.Fatalf("after Release: controller %q, stuck %v", h.Controller(), kb.stuck())
	}
}

func TestChord(t *testing.T) {
	h, kb, _ := newTestHub()
	a := h.Join("a", "websocket", true)
	if err := a.Chord(hardware.KeyLeftCtrl, hardware.KeyLeftAlt, hardware.KeyDelete); err != nil {
		t.Fatal(err)
	}
	want := []keyCall{down(0xE0), down(0xE2), down(0x4C), up(0x4C), up(0xE2), up(0xE0)}
	if got := kb.take(); !slices.Equal(got, want) {
		t.Fatalf("Ctrl+Alt+Del = %v, want %v", got, want)
	}
	if err := a.Chord(); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("empty chord: %v", err)
	}
	if err := a.Chord(hardware.KeyLeftCtrl, 0x02); !errors.Is(err, hardware.ErrInvalid) || len(kb.take()) != 0 {
		t.Fatalf("invalid chord: %v", err)
	}
	// A refused key: what was pressed is released.
	kb.err, kb.failKey = hardware.ErrPoweredOff, hardware.KeyDelete
	if err := a.Chord(hardware.KeyLeftCtrl, hardware.KeyLeftAlt, hardware.KeyDelete); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Fatalf("chord on a refusing keyboard: %v", err)
	}
	if got, want := kb.take(), []keyCall{down(0xE0), down(0xE2), up(0xE2), up(0xE0)}; !slices.Equal(got, want) {
		t.Fatalf("failed chord = %v, want %v", got, want)
	}
}

func TestKeyErrors(t *testing.T) {
	h, kb, _ := newTestHub()
	a := h.Join("a", "websocket", true)
	if err := a.Key(0x03, true); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("key 0x03: %v", err)
	}
	kb.err = hardware.ErrPoweredOff
	if err := a.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Fatalf("powered off: %v", err)
	}
	if len(a.Held()) != 0 {
		t.Fatalf("a refused key is held: %v", a.Held())
	}
}

func TestPointSplitsRelativeMoves(t *testing.T) {
	h, _, p := newTestHub()
	a := h.Join("a", "websocket", true)
	if err := a.Point(hardware.PointerEvent{DX: 300, DY: -130, Wheel: 2, Buttons: hardware.ButtonLeft}); err != nil {
		t.Fatal(err)
	}
	want := []hardware.PointerEvent{
		{DX: 127, DY: -127, Wheel: 2, Buttons: hardware.ButtonLeft},
		{DX: 127, DY: -3, Buttons: hardware.ButtonLeft},
		{DX: 46, Buttons: hardware.ButtonLeft},
	}
	if got := p.take(); !slices.Equal(got, want) {
		t.Fatalf("reports %+v, want %+v", got, want)
	}
	if err := a.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax + 1}); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("out of range: %v", err)
	}
	if err := a.Point(hardware.PointerEvent{DX: 1 << 40}); err != nil {
		t.Fatalf("huge move: %v", err)
	}
	if n := len(p.take()); n != 259 { // 32767 counts in reports of 127
		t.Fatalf("huge move took %d reports, want it clamped to 259", n)
	}
}

// A client that never reads its events blocks nobody.
func TestUnreadEventsDoNotBlock(t *testing.T) {
	h, _, _ := newTestHub()
	idle := h.Join("idle", "websocket", true)
	defer idle.Close()
	a := h.Join("a", "websocket", true)
	b := h.Join("b", "websocket", true)
	ch, stop := h.Watch()
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			a.TakeOver()
			b.TakeOver()
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("take-overs blocked on a client that does not read")
	}
	if got := event(t, idle); got != (Control{By: "b"}) {
		t.Fatalf("idle client's latest event: %+v", got)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Watch did not signal")
	}
}

func TestLEDs(t *testing.T) {
	h, kb, _ := newTestHub()
	ch, stop := h.WatchLEDs()
	defer stop()
	kb.setLEDs(hardware.KeyboardLEDs{NumLock: true})
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no LED change")
	}
	if got := h.LEDs(); got != (hardware.KeyboardLEDs{NumLock: true}) {
		t.Fatalf("LEDs = %+v", got)
	}
}

func TestTypeLayouts(t *testing.T) {
	const (
		S = hardware.KeyLeftShift
		G = hardware.KeyRightAlt
	)
	for _, tc := range []struct {
		layout, text string
		want         []keyCall
	}{
		{"us", "aZ", []keyCall{down(0x04), up(0x04), down(S), down(0x1D), up(0x1D), up(S)}},
		{"", "!", []keyCall{down(S), down(0x1E), up(0x1E), up(S)}},
		{"de", "z", []keyCall{down(0x1C), up(0x1C)}},
		{"de", "y", []keyCall{down(0x1D), up(0x1D)}},
		{"de", "@", []keyCall{down(G), down(0x14), up(0x14), up(G)}},
		{"de", "ö", []keyCall{down(0x33), up(0x33)}},
		{"de", "^", []keyCall{down(0x35), up(0x35), down(0x2C), up(0x2C)}},
		{"DE", "é", []keyCall{down(0x2E), up(0x2E), down(0x08), up(0x08)}},
		{"fr", "a", []keyCall{down(0x14), up(0x14)}},
		{"fr", "q", []keyCall{down(0x04), up(0x04)}},
		{"fr", "1", []keyCall{down(S), down(0x1E), up(0x1E), up(S)}},
		{"fr", "ê", []keyCall{down(0x2F), up(0x2F), down(0x08), up(0x08)}},
		{"fr", "@", []keyCall{down(G), down(0x27), up(0x27), up(G)}},
		{"ru", "я", []keyCall{down(0x1D), up(0x1D)}},
		{"ru", "Ж", []keyCall{down(S), down(0x33), up(0x33), up(S)}},
		{"ru", ".", []keyCall{down(0x38), up(0x38)}},
		{"ru", "\r\n", []keyCall{down(0x28), up(0x28)}},
		{"us", "\t\n", []keyCall{down(0x2B), up(0x2B), down(0x28), up(0x28)}},
	} {
		h, kb, _ := newTestHub()
		c := h.Join("a", "websocket", true)
		if err := c.Type(context.Background(), tc.text, tc.layout); err != nil {
			t.Errorf("%s %q: %v", tc.layout, tc.text, err)
			continue
		}
		if got := kb.take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q typed %v, want %v", tc.layout, tc.text, got, tc.want)
		}
	}
}

func TestTypeCapsLock(t *testing.T) {
	h, kb, _ := newTestHub()
	kb.setLEDs(hardware.KeyboardLEDs{CapsLock: true})
	c := h.Join("a", "websocket", true)
	if err := c.Type(context.Background(), "aA1", "us"); err != nil {
		t.Fatal(err)
	}
	S := hardware.KeyLeftShift
	want := []keyCall{down(S), down(0x04), up(0x04), up(S), down(0x04), up(0x04), down(0x1E), up(0x1E)}
	if got := kb.take(); !slices.Equal(got, want) {
		t.Fatalf("with Caps Lock typed %v, want %v", got, want)
	}
}

func TestTypeRefusals(t *testing.T) {
	h, kb, _ := newTestHub()
	c := h.Join("a", "websocket", true)
	err := c.Type(context.Background(), "Привет, мир", "us")
	var ue *UntypableError
	if !errors.As(err, &ue) || !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("Cyrillic on us: %v", err)
	}
	if want := []rune("Приветм"); !slices.Equal(ue.Chars, want) {
		t.Fatalf("untypable %q, want %q", ue.Chars, want)
	}
	if len(kb.take()) != 0 {
		t.Fatal("typed part of an untypable text")
	}
	if err := c.Type(context.Background(), "x", "xx"); !errors.Is(err, ErrUnknownLayout) {
		t.Fatalf("unknown layout: %v", err)
	}
	// A view-only client types nothing.
	v := h.Join("v", "websocket", true)
	if err := v.Type(context.Background(), "abc", "us"); !errors.Is(err, ErrViewOnly) {
		t.Fatalf("view-only paste: %v", err)
	}
	if len(kb.take()) != 0 {
		t.Fatal("view-only client typed")
	}
}

func TestTypeStops(t *testing.T) {
	h, kb, _ := newTestHub()
	h.SetTypeDelay(time.Hour)
	c := h.Join("a", "websocket", true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Type(ctx, "AAAA", "us") }()
	waitFor(t, func() bool { return len(kb.stuck()) == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Type: %v", err)
	}
	if s := kb.stuck(); len(s) != 0 {
		t.Fatalf("keys stuck after a cancelled paste: %v", s)
	}

	// Closing the client stops it too.
	go func() { done <- c.Type(context.Background(), "AAAA", "us") }()
	waitFor(t, func() bool { return len(kb.stuck()) == 2 })
	c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Type of a closed client: %v", err)
	}
	if s := kb.stuck(); len(s) != 0 {
		t.Fatalf("keys stuck after close: %v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}
