package vnc_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/hardware/vnc"
	"github.com/bmcd/bmcd/internal/store"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/video"
)

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQEMU: the client on QEMU's own VNC server (-vnc unix:PATH), with
// SeaBIOS and GRUB from the test ISO: the screen arrives and follows
// typing (QEMU extended key events), Caps Lock's LED comes back (the LED
// state pseudo-encoding), and the USB tablet takes absolute positions.
func TestQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a QEMU virtual machine: skipped with -short")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed (Debian qemu-system-x86)")
	}
	iso := bootiso.Path(t, bootiso.Options{})
	sock := filepath.Join(t.TempDir(), "vnc.sock")
	cmd := exec.Command(qemu, "-nodefaults", "-accel", "tcg", "-m", "128", "-vnc", "unix:"+sock,
		"-device", "VGA", "-device", "qemu-xhci,id=xhci", "-device", "usb-tablet,bus=xhci.0",
		"-drive", "file="+iso+",media=cdrom,readonly=on", "-boot", "d")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	c := vnc.New(vnc.Config{Dial: vnc.Unix(sock), Log: slog.New(slog.DiscardHandler)})
	defer c.Close()
	changed, stop := c.Watch()
	defer stop()
	frame := func() hardware.Frame {
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		}
		return c.Frame()
	}
	// GRUB's menu: a picture that stays.
	var menu hardware.Frame
	waitFor(t, 30*time.Second, "GRUB's menu", func() bool {
		f := frame()
		if f.Image == nil || f.Size().X < 640 {
			return false
		}
		time.Sleep(500 * time.Millisecond)
		g := c.Frame()
		if g.Seq != f.Seq {
			return false
		}
		menu = g
		return true
	})
	if menu.Size() != image.Pt(720, 400) && menu.Size() != image.Pt(640, 480) && menu.Size() != image.Pt(1024, 768) {
		t.Logf("GRUB's screen is %v", menu.Size())
	}
	for _, rc := range menu.Dirty {
		if !rc.In(menu.Image.Bounds()) {
			t.Errorf("dirty %v outside %v", rc, menu.Image.Bounds())
		}
	}
	// 'c' opens GRUB's command line: the screen changes.
	if err := c.Key(0x06, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Key(0x06, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "GRUB's command line on the screen", func() bool {
		f := frame()
		return f.Image != nil && !bytes.Equal(f.Image.(*image.RGBA).Pix, menu.Image.(*image.RGBA).Pix)
	})
	leds, stopLEDs := c.WatchLEDs()
	defer stopLEDs()
	before := c.LEDs()
	for _, down := range []bool{true, false} {
		if err := c.Key(hardware.KeyCapsLock, down); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "Caps Lock's LED", func() bool {
		select {
		case <-leds:
		case <-time.After(50 * time.Millisecond):
		}
		return c.LEDs().CapsLock != before.CapsLock
	})
	if err := c.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax, Y: hardware.PointerMax, Buttons: hardware.ButtonLeft}); err != nil {
		t.Error(err)
	}
	// QEMU going away is "no picture".
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, 10*time.Second, "no picture", func() bool { return frame().Image == nil })
}

// TestBMCServer: the client on bmcd's own VNC server (kvm/rfb, with VNC
// Authentication) in front of the simulated machine: it gets the same
// picture as the machine's display, and its keys reach the host.
func TestBMCServer(t *testing.T) {
	const pw = "vnc-pw1"
	d := 5 * time.Millisecond
	sm := sim.New(sim.Config{ID: "v", Seed: "vnc", PowerOnDelay: d, PowerOffDelay: d, ShutdownDelay: d})
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hm, err := hardware.NewMachine("v", sm, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	hub := input.NewHub(hm.Keyboard(), hm.Pointer())
	hub.SetTypeDelay(0)
	srv, err := rfb.New(rfb.Options{Name: "bmcd v", Pipeline: video.New(hm.Display(), video.Options{FPS: video.MaxFPS}), Hub: hub,
		Passwords: func() rfb.Passwords { return rfb.Passwords{Control: pw} }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeListener(l)
	if err := hm.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the login prompt", func() bool { return strings.Contains(string(hm.Console().Scrollback()), "login: ") })

	c := vnc.New(vnc.Config{Dial: vnc.TCP(l.Addr().String()), Password: pw})
	defer c.Close()
	changed, stop := c.Watch()
	defer stop()
	for _, k := range []hardware.KeyCode{0x04, 0x07, 0x10, 0x0C, 0x11, hardware.KeyEnter} { // admin⏎
		if err := c.Key(k, true); err != nil {
			t.Fatal(err)
		}
		if err := c.Key(k, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the login typed over VNC", func() bool {
		return strings.Contains(string(hm.Console().Scrollback()), "admin@")
	})
	same := func() bool {
		select {
		case <-changed:
		case <-time.After(50 * time.Millisecond):
		}
		want, ok := hm.Display().Frame().Image.(*image.RGBA)
		got, ok2 := c.Frame().Image.(*image.RGBA)
		return ok && ok2 && want.Rect == got.Rect && bytes.Equal(want.Pix, got.Pix)
	}
	waitFor(t, 10*time.Second, "the machine's picture", same)
	bad := vnc.New(vnc.Config{Dial: vnc.TCP(l.Addr().String()), Password: "wrong"})
	defer bad.Close()
	if err := bad.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("a wrong VNC password: %v, want ErrUnavailable", err)
	}
}
