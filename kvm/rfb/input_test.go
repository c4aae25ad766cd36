package rfb

import (
	"fmt"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// syncClient makes sure the server has handled what the client sent: it
// answers a non-incremental request (with pixels, after any update of
// pseudo-rectangles) only after reading everything before it.
func syncClient(t *testing.T, c *rfbtest.Client) {
	t.Helper()
	c.RequestUpdate(false)
	for len(pixelRects(update(t, c))) == 0 {
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t, nil)
	e.hub.SetLayout("fr")
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncRaw, EncQEMUExtendedKey)
	cases := []struct {
		name string
		send func()
		want string
	}{
		{"keysym a", func() { c.Key('a', true); c.Key('a', false) }, "[+04 -04]"},
		{"keysym A with Shift", func() { c.Key(0xFFE1, true); c.Key('A', true); c.Key('A', false); c.Key(0xFFE1, false) }, "[+E1 +04 -04 -E1]"},
		{"keysym Return", func() { c.Key(0xFF0D, true); c.Key(0xFF0D, false) }, "[+28 -28]"},
		{"auto-repeat", func() { c.Key('x', true); c.Key('x', true); c.Key('x', false) }, "[+1B +1B -1B]"},
		{"QEMU XT code of the physical key", func() { c.QEMUKey('q', 0x1E, true); c.QEMUKey('q', 0x1E, false) }, "[+04 -04]"},
		{"QEMU XT 0xE0 code", func() { c.QEMUKey(0xFF53, 0xCD, true); c.QEMUKey(0xFF53, 0xCD, false) }, "[+4F -4F]"},
		{"QEMU unknown XT: the keysym", func() { c.QEMUKey('b', 0x7F, true); c.QEMUKey('b', 0x7F, false) }, "[+05 -05]"},
		{"no US key: typed through the layout", func() { c.Key(0xE9, true); c.Key(0xE9, false) }, "[+1F -1F]"}, // é on AZERTY
		{"unknown keysym ignored", func() { c.Key(0xFE50, true); c.Key(0xFE50, false) }, "[]"},                 // dead_grave
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.send()
			syncClient(t, c)
			if got := fmt.Sprint(e.kb.Take()); got != tc.want {
				t.Errorf("keys %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPointer(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(320, 200, 1))
	c := e.dial(rfbtest.Config{})
	c.Pointer(0, 0, 0)
	c.Pointer(1, 319, 199)    // left down at the far corner
	c.Pointer(1, 319, 199)    // nothing new: not sent
	c.Pointer(0, 160, 100)    // up, mid-screen
	c.Pointer(4|8, 160, 100)  // right down, a detent up
	c.Pointer(4, 160, 100)    // the wheel button's release
	c.Pointer(16, 500, 900)   // a detent down, outside the screen: clamped
	c.Pointer(0x80, 160, 100) // back
	syncClient(t, c)
	got := e.ptr.Take()
	want := []hardware.PointerEvent{
		{Absolute: true},
		{Absolute: true, X: 32767, Y: 32767, Buttons: hardware.ButtonLeft},
		{Absolute: true, X: 16434, Y: 16465},
		{Absolute: true, X: 16434, Y: 16465, Buttons: hardware.ButtonRight, Wheel: 1},
		{Absolute: true, X: 16434, Y: 16465, Buttons: hardware.ButtonRight},
		{Absolute: true, X: 32767, Y: 32767, Wheel: -1},
		{Absolute: true, X: 16434, Y: 16465, Buttons: hardware.ButtonBack},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pointer\n got %v\nwant %v", got, want)
	}
}

func TestRelativePointer(t *testing.T) {
	e := newEnv(t, nil)
	e.ptr.SetModes(false, true)
	e.display.show(screen(320, 200, 1))
	c := e.dial(rfbtest.Config{})
	c.Pointer(0, 100, 100)
	c.Pointer(0, 110, 95)
	c.Pointer(2, 110, 95)
	syncClient(t, c)
	want := []hardware.PointerEvent{{}, {DX: 10, DY: -5}, {Buttons: hardware.ButtonMiddle}}
	if got := e.ptr.Take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pointer %v, want %v", got, want)
	}
}

func TestCutTextIsTyped(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{})
	c.CutText([]byte("Hi\n"))
	eventually(t, "the text is typed", func() bool {
		return e.kb.Count() == 8
	})
	if got, want := fmt.Sprint(e.kb.Take()), "[+E1 +0B -0B -E1 +0C -0C +28 -28]"; got != want {
		t.Errorf("typed %s, want %s", got, want)
	}
	// Latin-1 text on a layout that has it; text the layout lacks is
	// not typed at all.
	e2 := newEnv(t, nil)
	e2.hub.SetLayout("de")
	e2.display.show(screen(64, 48, 1))
	c2 := e2.dial(rfbtest.Config{})
	c2.CutText([]byte{0xE4}) // ä
	eventually(t, "ä is typed", func() bool {
		return e2.kb.Count() == 2
	})
	if got := fmt.Sprint(e2.kb.Take()); got != "[+34 -34]" {
		t.Errorf("typed %s", got)
	}
	c.CutText([]byte{0xE4}) // not on a US keyboard
	syncClient(t, c)
	time.Sleep(50 * time.Millisecond)
	if got := e.kb.Take(); len(got) != 0 {
		t.Errorf("typed %v of untypable text", got)
	}
}

func TestViewOnlyClients(t *testing.T) {
	for _, cfg := range []rfbtest.Config{
		{Security: SecVNC, Password: vncViewOnly},
		{Security: SecVeNCrypt, User: roUser, Pass: roPass},
	} {
		e := newEnv(t, nil)
		e.display.show(screen(64, 48, 1))
		c := e.dial(cfg)
		c.Key('a', true)
		c.Pointer(1, 10, 10)
		c.CutText([]byte("typed"))
		c.RequestUpdate(false)
		if u := update(t, c); len(pixelRects(u)) == 0 {
			t.Error("a view-only client gets no pixels")
		}
		time.Sleep(50 * time.Millisecond)
		if k, p := e.kb.Take(), e.ptr.Take(); len(k) != 0 || len(p) != 0 {
			t.Errorf("view-only input reached the host: %v %v", k, p)
		}
		if ctl := e.hub.Controller(); ctl != "" {
			t.Errorf("controller %q", ctl)
		}
	}
}

func TestControlAndTakeOver(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	first := e.dial(rfbtest.Config{})
	eventually(t, "the first client has control", func() bool { return e.hub.Controller() != "" })
	second := e.dial(rfbtest.Config{})
	second.Key('b', true)
	syncClient(t, second)
	if k := e.kb.Take(); len(k) != 0 {
		t.Fatalf("a second client's keys reached the host: %v", k)
	}
	first.Key(0xFFE3, true) // Control held
	syncClient(t, first)
	// A client asking for exclusive access takes control with its first
	// input, not before (TigerVNC asks for it by default); the keys the
	// previous controller held are released.
	third := e.dial(rfbtest.Config{Exclusive: true})
	syncClient(t, third)
	if len(e.kb.Held()) == 0 {
		t.Fatal("an exclusive client took control before its first input")
	}
	third.Key('c', true)
	third.Key('c', false)
	syncClient(t, third)
	if got := fmt.Sprint(e.kb.Take()); got != "[+E0 -E0 +06 -06]" {
		t.Errorf("keys %s", got)
	}
}

func TestDisconnectReleasesKeys(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{})
	c.Key(0xFFE9, true) // Alt
	c.Key('x', true)
	c.Pointer(1, 5, 5)
	syncClient(t, c)
	if len(e.kb.Held()) != 2 {
		t.Fatalf("%d keys down", len(e.kb.Held()))
	}
	c.Close()
	eventually(t, "the keys are released", func() bool { return len(e.kb.Held()) == 0 })
	eventually(t, "the button is released", func() bool {
		l, ok := e.ptr.Last()
		return ok && l.Buttons == 0
	})
	if got := fmt.Sprint(e.kb.Take()); got != "[+E2 +1B -1B -E2]" {
		t.Errorf("keys %s: want the modifier released last", got)
	}
}
