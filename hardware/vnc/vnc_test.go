package vnc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// nextFrame waits for a frame newer than seq.
func nextFrame(t *testing.T, c *Client, changed <-chan struct{}, seq uint64) hardware.Frame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if f := c.Frame(); f.Seq > seq {
			return f
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no frame after %d", seq)
		}
	}
}

func TestDisplay(t *testing.T) {
	f := newFakeServer(t, 64, 48)
	f.draw(image.Rect(0, 0, 64, 48), color.RGBA{10, 20, 30, 255})
	c := New(Config{Dial: Unix(f.path), MaxFPS: 1000})
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 0 || c.Frame().Seq != 0 {
		t.Fatalf("the client connected (%d) or has a frame (%d) before anyone watched", dials, c.Frame().Seq)
	}
	changed, stop := c.Watch()
	f1 := nextFrame(t, c, changed, 0)
	if f1.Size() != image.Pt(64, 48) || f1.Dirty != nil || f1.Time.IsZero() {
		t.Fatalf("first frame %v dirty %v at %v, want the whole 64x48 picture", f1.Size(), f1.Dirty, f1.Time)
	}
	if got := f1.Image.(*image.RGBA).RGBAAt(5, 5); got != (color.RGBA{10, 20, 30, 255}) {
		t.Errorf("pixel %v", got)
	}
	f.draw(image.Rect(8, 4, 16, 12), color.RGBA{200, 100, 50, 255})
	f2 := nextFrame(t, c, changed, f1.Seq)
	if f2.DirtySince != f1.Seq || len(f2.Dirty) != 1 || f2.Dirty[0] != image.Rect(8, 4, 16, 12) {
		t.Errorf("second frame: dirty %v since %d, want [(8,4)-(16,12)] since %d", f2.Dirty, f2.DirtySince, f1.Seq)
	}
	if got := f2.Image.(*image.RGBA).RGBAAt(10, 10); got != (color.RGBA{200, 100, 50, 255}) {
		t.Errorf("drawn pixel %v", got)
	}
	if got := f1.Image.(*image.RGBA).RGBAAt(10, 10); got != (color.RGBA{10, 20, 30, 255}) {
		t.Errorf("the first frame changed after it was published: %v", got)
	}
	// A second watcher, then both leave: the connection closes, the last
	// picture stays.
	_, stop2 := c.Watch()
	stop()
	stop()
	stop2()
	waitFor(t, "the connection closed once no one watches", func() bool { return f.open() == 0 })
	if g := c.Frame(); g.Seq != f2.Seq || g.Image == nil {
		t.Errorf("after the watchers left: frame %d (picture %v), want %d with its picture", g.Seq, g.Image != nil, f2.Seq)
	}
	// Watching again reconnects and repaints everything.
	f.draw(image.Rect(0, 0, 4, 4), color.RGBA{1, 2, 3, 255})
	changed, stop = c.Watch()
	defer stop()
	f3 := nextFrame(t, c, changed, f2.Seq)
	if f3.Dirty != nil {
		t.Errorf("frame after a reconnection has dirty %v, want nil (everything)", f3.Dirty)
	}
	if got := f3.Image.(*image.RGBA).RGBAAt(1, 1); got != (color.RGBA{1, 2, 3, 255}) {
		t.Errorf("pixel drawn while no one watched: %v", got)
	}
	// A new size comes whole.
	f.resize(32, 16)
	waitFor(t, "the new size", func() bool { return c.Frame().Size() == image.Pt(32, 16) })
	if g := c.Frame(); g.Dirty != nil && (len(g.Dirty) != 1 || g.Dirty[0] != g.Image.Bounds()) {
		t.Errorf("frame of a new size has dirty %v, want everything", g.Dirty)
	}
}

// TestServerGone: the server going away (the VM off) shows no picture;
// it coming back (Kick) shows it again.
func TestServerGone(t *testing.T) {
	f := newFakeServer(t, 16, 16)
	c := New(Config{Dial: Unix(f.path)})
	defer c.Close()
	changed, stop := c.Watch()
	defer stop()
	f1 := nextFrame(t, c, changed, 0)
	f.stop()
	f2 := nextFrame(t, c, changed, f1.Seq)
	if f2.Image != nil {
		t.Fatalf("frame %d after the server went: has a picture", f2.Seq)
	}
	if err := c.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Key with the server gone: %v, want ErrUnavailable", err)
	}
	f.start()
	c.Kick()
	f3 := nextFrame(t, c, changed, f2.Seq)
	if f3.Image == nil {
		t.Error("no picture once the server is back")
	}
}

func TestKeys(t *testing.T) {
	for _, ext := range []bool{true, false} {
		f := newFakeServer(t, 8, 8, func(f *fakeServer) { f.extKey = ext })
		c := New(Config{Dial: Unix(f.path), InputIdle: 50 * time.Millisecond})
		if err := c.Key(hardware.KeyA, true); err != nil {
			t.Fatal(err)
		}
		if err := c.Key(hardware.KeyRightCtrl, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "two keys", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.keys) == 2 })
		f.mu.Lock()
		a, ctrl := f.keys[0], f.keys[1]
		f.mu.Unlock()
		if ext {
			if want := qemuKeyEvent(true, 0, 0x1E); !bytes.Equal(a, want) {
				t.Errorf("A down: % x, want % x", a, want)
			}
			if want := qemuKeyEvent(false, 0, 0x9D); !bytes.Equal(ctrl, want) {
				t.Errorf("right Control up: % x, want % x", ctrl, want)
			}
		} else {
			if want := keyEvent(true, 'a'); !bytes.Equal(a, want) {
				t.Errorf("A down: % x, want % x", a, want)
			}
			if want := keyEvent(false, 0xFFE4); !bytes.Equal(ctrl, want) {
				t.Errorf("right Control up: % x, want % x", ctrl, want)
			}
		}
		// The connection opened for input closes after InputIdle.
		waitFor(t, "the idle input connection closed", func() bool { return f.open() == 0 })
		if err := c.Key(0x01, true); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("key 0x01: %v, want ErrInvalid", err)
		}
		c.Close()
		if err := c.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
			t.Errorf("after Close: %v", err)
		}
	}
	c := New(Config{Dial: Unix("/nonexistent/vnc.sock")})
	defer c.Close()
	start := time.Now()
	if err := c.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("no server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a missing server took %s to report", d)
	}
}

func TestLEDs(t *testing.T) {
	f := newFakeServer(t, 8, 8, func(f *fakeServer) { f.ledState, f.leds = true, 2 }) // Num Lock
	c := New(Config{Dial: Unix(f.path)})
	defer c.Close()
	changed, stop := c.WatchLEDs()
	waitFor(t, "Num Lock", func() bool { return c.LEDs() == hardware.KeyboardLEDs{NumLock: true} })
	select {
	case <-changed:
	default:
		t.Error("no change signalled")
	}
	f.setLEDs(4 | 1)
	<-changed
	waitFor(t, "Caps and Scroll Lock", func() bool { return c.LEDs() == hardware.KeyboardLEDs{CapsLock: true, ScrollLock: true} })
	stop()
	waitFor(t, "the connection closed once the LEDs are not watched", func() bool { return f.open() == 0 })
}

func TestPointer(t *testing.T) {
	f := newFakeServer(t, 101, 51)
	c := New(Config{Dial: Unix(f.path)})
	defer c.Close()
	if abs, rel := c.PointerModes(); !abs || rel {
		t.Errorf("modes %v %v", abs, rel)
	}
	if err := c.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax, Y: hardware.PointerMax / 2,
		Buttons: hardware.ButtonLeft | hardware.ButtonRight, Wheel: -2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "five pointer events", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.points) == 5 })
	want := [][]byte{pointerEvent(5, image.Pt(100, 25)), pointerEvent(5|btnWheelDown, image.Pt(100, 25)), pointerEvent(5, image.Pt(100, 25)),
		pointerEvent(5|btnWheelDown, image.Pt(100, 25)), pointerEvent(5, image.Pt(100, 25))}
	f.mu.Lock()
	for i := range want {
		if !bytes.Equal(f.points[i], want[i]) {
			t.Errorf("pointer event %d: % x, want % x", i, f.points[i], want[i])
		}
	}
	f.mu.Unlock()
	for _, e := range []hardware.PointerEvent{{Absolute: true, X: -1}, {Absolute: true, Y: hardware.PointerMax + 1}, {DX: 3}} {
		if err := c.Point(e); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("Point %+v: %v, want ErrInvalid", e, err)
		}
	}
}

func TestSecurity(t *testing.T) {
	for _, tc := range []struct {
		name, version, server, client, err string
	}{
		{"VNC Authentication", "", "s3cret", "s3cret", ""},
		{"wrong password", "", "s3cret", "guess", "bad password"},
		{"RFB 3.3", "RFB 003.003\n", "", "", ""},
		{"RFB 3.3 with a password", "RFB 003.003\n", "pw", "pw", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, 8, 8, func(f *fakeServer) { f.version, f.password = tc.version, tc.server })
			c := New(Config{Dial: Unix(f.path), Password: tc.client})
			defer c.Close()
			err := c.Key(hardware.KeyA, true)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (!errors.Is(err, hardware.ErrUnavailable) || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Key: %v, want ErrUnavailable saying %q", err, tc.err)
			}
		})
	}
}

// TestEncodings: the client asks for what it decodes and the QEMU
// pseudo-encodings.
func TestEncodings(t *testing.T) {
	f := newFakeServer(t, 8, 8)
	c := New(Config{Dial: Unix(f.path)})
	defer c.Close()
	if err := c.Key(hardware.KeyA, true); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []int32{encRaw, encCopyRect, encDesktopSize, encExtendedDesktopSize, encQEMUExtendedKeyEvent, encLEDState}
	if len(f.encs) != len(want) {
		t.Fatalf("encodings %v, want %v", f.encs, want)
	}
	for i := range want {
		if f.encs[i] != want[i] {
			t.Errorf("encodings %v, want %v", f.encs, want)
		}
	}
}

func TestCopyRect(t *testing.T) {
	s := newFB(image.Pt(4, 4))
	for i := range s.pix {
		s.pix[i] = byte(i)
	}
	var b bytes.Buffer
	b.Write([]byte{msgFramebufferUpdate, 0, 0, 1})
	binary.Write(&b, binary.BigEndian, []uint16{1, 1, 3, 3})
	binary.Write(&b, binary.BigEndian, int32(encCopyRect))
	binary.Write(&b, binary.BigEndian, []uint16{0, 0})
	before := append([]byte(nil), s.pix...)
	if _, err := s.readMessage(bufio.NewReader(&b)); err != nil {
		t.Fatal(err)
	}
	for y := 1; y < 4; y++ {
		for x := 1; x < 4; x++ {
			got := s.pix[(y*4+x)*4 : (y*4+x)*4+4]
			want := before[((y-1)*4+x-1)*4 : ((y-1)*4+x-1)*4+4]
			if !bytes.Equal(got, want) {
				t.Fatalf("pixel %d,%d: % x, want % x", x, y, got, want)
			}
		}
	}
	if len(s.dirty) != 1 || s.dirty[0] != image.Rect(1, 1, 4, 4) {
		t.Errorf("dirty %v", s.dirty)
	}
}

func TestScale(t *testing.T) {
	for _, tc := range []struct{ v, n, want int }{
		{0, 1024, 0}, {hardware.PointerMax, 1024, 1023}, {hardware.PointerMax / 2, 1025, 512}, {100, 1, 0}, {100, 0, 0},
	} {
		if got := scale(tc.v, tc.n); got != tc.want {
			t.Errorf("scale(%d, %d) = %d, want %d", tc.v, tc.n, got, tc.want)
		}
	}
}

func TestKeyTables(t *testing.T) {
	// Every key of a PC keyboard (HID 0x04..0x65) has both.
	for k := hardware.KeyA; k <= 0x65; k++ {
		_, x := XTForKey(k)
		_, s := KeysymForKey(k)
		if !x || !s {
			t.Errorf("key %#x: XT code %v, keysym %v", k, x, s)
		}
	}
	if s, _ := KeysymForKey(hardware.Key0); s != '0' {
		t.Errorf("0: %#x", s)
	}
	if s, _ := KeysymForKey(0x45); s != 0xFFC9 {
		t.Errorf("F12: %#x", s)
	}
	if x, _ := XTForKey(hardware.KeyLeftGUI); x != 0xDB {
		t.Errorf("left GUI: %#x", x)
	}
}

func TestVNCAuthResponse(t *testing.T) {
	// RFC 6143 §7.2.2 with the mirrored key bits: a known answer from
	// TigerVNC's vncauth for password "password" and challenge 0..15.
	ch := make([]byte, 16)
	for i := range ch {
		ch[i] = byte(i)
	}
	a := vncAuthResponse(ch, "password")
	b := vncAuthResponse(ch, "password-longer-than-8")
	if !bytes.Equal(a, b) {
		t.Error("bytes beyond the 8th changed the response")
	}
	if bytes.Equal(a, vncAuthResponse(ch, "passwore")) {
		t.Error("a different password gave the same response")
	}
}

// FuzzServerMessages: no stream of server messages makes the client
// panic or draw outside its framebuffer.
func FuzzServerMessages(f *testing.F) {
	raw := append(rectHeader(1, 1, 2, 2, encRaw), make([]byte, 16)...)
	f.Add(raw)
	f.Add(rectHeader(0, 0, 16, 12, encDesktopSize))
	f.Add(append(rectHeader(0, 0, 16, 12, encExtendedDesktopSize), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 12, 0, 0, 0, 0))
	f.Add(append(rectHeader(0, 0, 1, 1, encLEDState), 7))
	f.Add(rectHeader(0, 0, 8, 8, encQEMUExtendedKeyEvent))
	f.Add(append(rectHeader(2, 2, 2, 2, encCopyRect), 0, 0, 0, 0))
	f.Add(append(rectHeader(6, 6, 4, 4, encCopyRect), 0, 0, 0, 0))
	f.Add([]byte{msgBell, msgSetColourMapEntries, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{msgServerCutText, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'})
	f.Add([]byte{msgServerCutText, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFD, 'a', 'b', 'c'})
	f.Add(append(rectHeader(0, 0, 0xFFFF, 0xFFFF, encDesktopSize), 0))
	f.Add([]byte{99})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newFB(image.Pt(8, 8))
		r := bufio.NewReader(bytes.NewReader(b))
		for range 64 {
			if _, err := s.readMessage(r); err != nil {
				return
			}
			if len(s.pix) != s.size.X*s.size.Y*4 || s.size.X > MaxSize || s.size.Y > MaxSize {
				t.Fatalf("framebuffer %v with %d bytes", s.size, len(s.pix))
			}
			for _, rc := range s.dirty {
				if !rc.In(image.Rectangle{Max: s.size}) {
					t.Fatalf("dirty %v outside %v", rc, s.size)
				}
			}
		}
	})
}

// FuzzHandshake: no server answer makes the handshake panic.
func FuzzHandshake(f *testing.F) {
	ok := func(ver string, sec []byte, name string) []byte {
		b := append([]byte(ver), sec...)
		b = append(b, 0, 0, 0, 0) // SecurityResult OK
		b = append(b, 0, 8, 0, 8)
		b = append(b, pixelFormat...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(name)))
		return append(b, name...)
	}
	f.Add(ok("RFB 003.008\n", []byte{1, 1}, "qemu"))
	f.Add(ok("RFB 003.007\n", []byte{2, 1, 2}, "x"))
	f.Add([]byte("RFB 003.008\n\x00\x00\x00\x00\x05nope!"))
	f.Add([]byte("RFB 003.003\n\x00\x00\x00\x02" + "0123456789abcdef\x00\x00\x00\x01"))
	f.Add([]byte("RFB 004.000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		si, err := handshake(bufio.NewReader(bytes.NewReader(b)), &out, "pw")
		if err == nil && (si.Size.X > MaxSize || si.Size.Y > MaxSize) {
			t.Fatalf("accepted size %v", si.Size)
		}
	})
}
