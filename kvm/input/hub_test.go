package input

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/internal/kvmtest"
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
	if a.Name() != "admin@192.0.2.2#2" || a.ID() != 2 {
		t.Fatalf("the second client's name %q, ID %d", a.Name(), a.ID())
	}
	if got := event(t, a); got != (Control{You: true, By: "admin@192.0.2.2#2"}) {
		t.Fatalf("first controller: %+v", got)
	}
	if got := event(t, ro); got != (Control{By: "admin@192.0.2.2#2"}) {
		t.Fatalf("viewer sees: %+v", got)
	}
	b := h.Join("op@192.0.2.3", "vnc", true)
	if got := event(t, b); got != (Control{By: "admin@192.0.2.2#2"}) {
		t.Fatalf("second client: %+v", got)
	}
	err := b.Key(hardware.KeyA, true)
	var vo *ViewOnlyError
	if !errors.As(err, &vo) || vo.By != "admin@192.0.2.2#2" || !errors.Is(err, ErrViewOnly) {
		t.Fatalf("view-only key: %v", err)
	}
	if err := b.Point(hardware.PointerEvent{Absolute: true, X: 5, Y: 5}); !errors.Is(err, ErrViewOnly) {
		t.Fatalf("view-only point: %v", err)
	}
	want := []ClientInfo{
		{Name: "ro@192.0.2.1#1", ID: 1, Kind: "websocket"},
		{Name: "admin@192.0.2.2#2", ID: 2, Kind: "websocket", Controls: true, MayControl: true},
		{Name: "op@192.0.2.3#3", ID: 3, Kind: "vnc", MayControl: true},
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
	kb.Take()
	p.Take()
	if err := b.TakeOver(); err != nil {
		t.Fatal(err)
	}
	if got := event(t, a); got != (Control{You: false, By: "b#2", TakenBy: "b#2"}) {
		t.Fatalf("previous controller hears %+v", got)
	}
	if got := event(t, b); got != (Control{You: true, By: "b#2"}) {
		t.Fatalf("new controller hears %+v", got)
	}
	// Keys in reverse order, modifiers last; then the button, in place.
	if got, want := kb.Take(), []kvmtest.KeyCall{kvmtest.Release(0x05), kvmtest.Release(hardware.KeyA), kvmtest.Release(hardware.KeyLeftShift)}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if got, want := p.Take(), []hardware.PointerEvent{{Absolute: true, X: 100, Y: 200}}; !slices.Equal(got, want) {
		t.Fatalf("pointer %+v, want %+v", got, want)
	}
	if len(a.Held()) != 0 || len(kb.Held()) != 0 {
		t.Fatalf("keys still held: %v %v", a.Held(), kb.Held())
	}
	if err := a.Key(hardware.KeyA, true); !errors.Is(err, ErrViewOnly) {
		t.Fatalf("old controller's key: %v", err)
	}
	if err := b.TakeOver(); err != nil {
		t.Fatalf("taking over twice: %v", err)
	}
}

// TestTakeOverNoticeIsKept: a take-over is not lost when later changes
// replace the unread event: the client that lost control hears who took
// it, whatever happened next.
func TestTakeOverNoticeIsKept(t *testing.T) {
	h, _, _ := newTestHub()
	a := h.Join("op@192.0.2.1", "websocket", true)
	b := h.Join("op@192.0.2.1", "websocket", true) // the same user, another tab
	event(t, a)
	event(t, b)
	b.TakeOver()
	b.Release()
	if got := event(t, a); got != (Control{TakenBy: "op@192.0.2.1#2"}) {
		t.Fatalf("a hears %+v, want nobody in control and the take-over by #2", got)
	}
	a.Key(hardware.KeyA, true) // a claims it back
	if got := event(t, a); got != (Control{You: true, By: "op@192.0.2.1#1"}) {
		t.Fatalf("the take-over is told once: %+v", got)
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
	kb.Take()
	p.Take()
	a.Close()
	a.Close()
	if got, want := kb.Take(), []kvmtest.KeyCall{kvmtest.Release(hardware.KeyDelete), kvmtest.Release(hardware.KeyLeftAlt), kvmtest.Release(hardware.KeyLeftCtrl)}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if got, want := p.Take(), []hardware.PointerEvent{{}}; !slices.Equal(got, want) {
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
	if got := event(t, b); got != (Control{You: true, By: "b#2"}) {
		t.Fatalf("claim by input: %+v", got)
	}
	b.Release()
	if h.Controller() != "" || len(kb.Held()) != 0 {
		t.Fatalf("after Release: controller %q, stuck %v", h.Controller(), kb.Held())
	}
}

func TestChord(t *testing.T) {
	h, kb, _ := newTestHub()
	a := h.Join("a", "websocket", true)
	if err := a.Chord(hardware.KeyLeftCtrl, hardware.KeyLeftAlt, hardware.KeyDelete); err != nil {
		t.Fatal(err)
	}
	want := []kvmtest.KeyCall{kvmtest.Press(0xE0), kvmtest.Press(0xE2), kvmtest.Press(0x4C), kvmtest.Release(0x4C), kvmtest.Release(0xE2), kvmtest.Release(0xE0)}
	if got := kb.Take(); !slices.Equal(got, want) {
		t.Fatalf("Ctrl+Alt+Del = %v, want %v", got, want)
	}
	if err := a.Chord(); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("empty chord: %v", err)
	}
	if err := a.Chord(hardware.KeyLeftCtrl, 0x02); !errors.Is(err, hardware.ErrInvalid) || len(kb.Take()) != 0 {
		t.Fatalf("invalid chord: %v", err)
	}
	// A refused key: what was pressed is released.
	kb.SetErr(hardware.ErrPoweredOff, hardware.KeyDelete)
	if err := a.Chord(hardware.KeyLeftCtrl, hardware.KeyLeftAlt, hardware.KeyDelete); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Fatalf("chord on a refusing keyboard: %v", err)
	}
	if got, want := kb.Take(), []kvmtest.KeyCall{kvmtest.Press(0xE0), kvmtest.Press(0xE2), kvmtest.Release(0xE2), kvmtest.Release(0xE0)}; !slices.Equal(got, want) {
		t.Fatalf("failed chord = %v, want %v", got, want)
	}
}

func TestKeyErrors(t *testing.T) {
	h, kb, _ := newTestHub()
	a := h.Join("a", "websocket", true)
	if err := a.Key(0x03, true); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("key 0x03: %v", err)
	}
	kb.SetErr(hardware.ErrPoweredOff, 0)
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
	if got := p.Take(); !slices.Equal(got, want) {
		t.Fatalf("reports %+v, want %+v", got, want)
	}
	if err := a.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax + 1}); !errors.Is(err, hardware.ErrInvalid) {
		t.Fatalf("out of range: %v", err)
	}
	if err := a.Point(hardware.PointerEvent{DX: 1 << 40}); err != nil {
		t.Fatalf("huge move: %v", err)
	}
	if n := len(p.Take()); n != 259 { // 32767 counts in reports of 127
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
	if got := event(t, idle); got != (Control{By: "b#3", TakenBy: "a#2"}) {
		t.Fatalf("idle client's latest event: %+v, want b in control and a's take-over kept", got)
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
	kb.SetLEDs(hardware.KeyboardLEDs{NumLock: true})
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
		want         []kvmtest.KeyCall
	}{
		{"us", "aZ", []kvmtest.KeyCall{kvmtest.Press(0x04), kvmtest.Release(0x04), kvmtest.Press(S), kvmtest.Press(0x1D), kvmtest.Release(0x1D), kvmtest.Release(S)}},
		{"", "!", []kvmtest.KeyCall{kvmtest.Press(S), kvmtest.Press(0x1E), kvmtest.Release(0x1E), kvmtest.Release(S)}},
		{"de", "z", []kvmtest.KeyCall{kvmtest.Press(0x1C), kvmtest.Release(0x1C)}},
		{"de", "y", []kvmtest.KeyCall{kvmtest.Press(0x1D), kvmtest.Release(0x1D)}},
		{"de", "@", []kvmtest.KeyCall{kvmtest.Press(G), kvmtest.Press(0x14), kvmtest.Release(0x14), kvmtest.Release(G)}},
		{"de", "ö", []kvmtest.KeyCall{kvmtest.Press(0x33), kvmtest.Release(0x33)}},
		{"de", "^", []kvmtest.KeyCall{kvmtest.Press(0x35), kvmtest.Release(0x35), kvmtest.Press(0x2C), kvmtest.Release(0x2C)}},
		{"DE", "é", []kvmtest.KeyCall{kvmtest.Press(0x2E), kvmtest.Release(0x2E), kvmtest.Press(0x08), kvmtest.Release(0x08)}},
		{"fr", "a", []kvmtest.KeyCall{kvmtest.Press(0x14), kvmtest.Release(0x14)}},
		{"fr", "q", []kvmtest.KeyCall{kvmtest.Press(0x04), kvmtest.Release(0x04)}},
		{"fr", "1", []kvmtest.KeyCall{kvmtest.Press(S), kvmtest.Press(0x1E), kvmtest.Release(0x1E), kvmtest.Release(S)}},
		{"fr", "ê", []kvmtest.KeyCall{kvmtest.Press(0x2F), kvmtest.Release(0x2F), kvmtest.Press(0x08), kvmtest.Release(0x08)}},
		{"fr", "@", []kvmtest.KeyCall{kvmtest.Press(G), kvmtest.Press(0x27), kvmtest.Release(0x27), kvmtest.Release(G)}},
		{"ru", "я", []kvmtest.KeyCall{kvmtest.Press(0x1D), kvmtest.Release(0x1D)}},
		{"ru", "Ж", []kvmtest.KeyCall{kvmtest.Press(S), kvmtest.Press(0x33), kvmtest.Release(0x33), kvmtest.Release(S)}},
		{"ru", ".", []kvmtest.KeyCall{kvmtest.Press(0x38), kvmtest.Release(0x38)}},
		{"ru", "\r\n", []kvmtest.KeyCall{kvmtest.Press(0x28), kvmtest.Release(0x28)}},
		{"us", "\t\n", []kvmtest.KeyCall{kvmtest.Press(0x2B), kvmtest.Release(0x2B), kvmtest.Press(0x28), kvmtest.Release(0x28)}},
	} {
		h, kb, _ := newTestHub()
		c := h.Join("a", "websocket", true)
		if err := c.Type(context.Background(), tc.text, tc.layout); err != nil {
			t.Errorf("%s %q: %v", tc.layout, tc.text, err)
			continue
		}
		if got := kb.Take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q typed %v, want %v", tc.layout, tc.text, got, tc.want)
		}
	}
}

func TestTypeCapsLock(t *testing.T) {
	h, kb, _ := newTestHub()
	kb.SetLEDs(hardware.KeyboardLEDs{CapsLock: true})
	c := h.Join("a", "websocket", true)
	if err := c.Type(context.Background(), "aA1", "us"); err != nil {
		t.Fatal(err)
	}
	S := hardware.KeyLeftShift
	want := []kvmtest.KeyCall{kvmtest.Press(S), kvmtest.Press(0x04), kvmtest.Release(0x04), kvmtest.Release(S), kvmtest.Press(0x04), kvmtest.Release(0x04), kvmtest.Press(0x1E), kvmtest.Release(0x1E)}
	if got := kb.Take(); !slices.Equal(got, want) {
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
	if len(kb.Take()) != 0 {
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
	if len(kb.Take()) != 0 {
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
	waitFor(t, func() bool { return len(kb.Held()) == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Type: %v", err)
	}
	if s := kb.Held(); len(s) != 0 {
		t.Fatalf("keys stuck after a cancelled paste: %v", s)
	}

	// Closing the client stops it too.
	go func() { done <- c.Type(context.Background(), "AAAA", "us") }()
	waitFor(t, func() bool { return len(kb.Held()) == 2 })
	c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Type of a closed client: %v", err)
	}
	if s := kb.Held(); len(s) != 0 {
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
