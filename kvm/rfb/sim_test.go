package rfb

import (
	"bytes"
	"context"
	"image"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
	"github.com/bmcd/bmcd/kvm/video"
)

// TestSimulatedMachine serves the simulated server's screen, keyboard
// and pointer: a client sees it light up at power on, types a command
// that the host's serial console receives and echoes, and ends up with
// exactly the host's screen through incremental updates.
func TestSimulatedMachine(t *testing.T) {
	d := 5 * time.Millisecond
	sm := sim.New(sim.Config{ID: "v", Seed: "vnc", PowerOnDelay: d, PowerOffDelay: d, ShutdownDelay: d})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hm, err := hardware.NewMachine("v", sm, &memStore{b: map[string]map[string][]byte{}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	hub := input.NewHub(hm.Keyboard(), hm.Pointer())
	hub.SetTypeDelay(0)
	srv, err := New(Options{Name: "bmcd v", Pipeline: video.New(hm.Display(), video.Options{FPS: video.MaxFPS}), Hub: hub,
		Passwords: func() Passwords { return Passwords{Control: vncControl} }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l)

	c, err := rfbtest.Dial(l.Addr().String(), rfbtest.Config{Password: vncControl})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Conn().SetDeadline(time.Now().Add(20 * time.Second))
	if c.FB.Rect.Size() != noSignalSize {
		t.Errorf("a machine that is off: %v, want the no-signal screen", c.FB.Rect)
	}
	c.SetEncodings(EncZRLE, EncDesktopSize, EncQEMULEDState)
	c.RequestUpdate(false)
	update(t, c)
	if err := hm.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	// The screen comes on at its own size.
	for c.FB.Rect.Size() == noSignalSize {
		c.RequestUpdate(true)
		update(t, c)
	}
	console := hm.Console().Watch(true)
	defer console.Close()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		end := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the login prompt", func() bool { return strings.Contains(string(hm.Console().Scrollback()), "login: ") })
	for _, r := range "admin\recho typed over vnc\r" {
		sym := uint32(r)
		if r == '\r' {
			sym = 0xFF0D
		}
		c.Key(sym, true)
		c.Key(sym, false)
	}
	waitFor("the echo on the serial console", func() bool {
		return strings.Contains(string(hm.Console().Scrollback()), "echo typed over vnc\r\ntyped over vnc\r\n")
	})
	// Incremental updates bring the client to the host's screen.
	same := func() bool {
		f := hm.Display().Frame()
		m, ok := f.Image.(*image.RGBA)
		if !ok || m.Rect != c.FB.Rect {
			return false
		}
		return bytes.Equal(m.Pix, c.FB.Pix)
	}
	// (An update comes at once while the client lacks the latest frame.)
	for !same() {
		c.RequestUpdate(true)
		update(t, c)
	}
}
