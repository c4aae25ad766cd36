package gadget

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// walked is what a report descriptor declares: input and output report
// bits, and each usage's logical range.
type walked struct {
	inBits, outBits int
	ranges          map[uint32][2]int32 // usage (page<<16|id) → logical min, max
	collections     int
}

// walk parses short items (HID 1.11 §6.2.2.2-7), keeping the global
// state and the local usages each main item consumes.
func walk(t *testing.T, d []byte) walked {
	t.Helper()
	w := walked{ranges: map[uint32][2]int32{}}
	var page uint32
	var size, count int
	var lmin, lmax int32
	var usages []uint32
	var umin, umax uint32
	depth := 0
	for i := 0; i < len(d); {
		b := d[i]
		n := int(b & 3)
		if n == 3 {
			n = 4
		}
		if i+1+n > len(d) {
			t.Fatalf("item at %d runs past the end", i)
		}
		data := d[i+1 : i+1+n]
		var u uint32
		for j := n - 1; j >= 0; j-- {
			u = u<<8 | uint32(data[j])
		}
		sv := int32(u)
		switch n {
		case 1:
			sv = int32(int8(u))
		case 2:
			sv = int32(int16(u))
		}
		full := func(u uint32) uint32 {
			if n == 4 {
				return u
			}
			return page<<16 | u
		}
		switch b &^ 3 {
		case 0x04: // Usage Page
			page = u
		case 0x14:
			lmin = sv
		case 0x24:
			lmax = sv
		case 0x74:
			size = int(u)
		case 0x94:
			count = int(u)
		case 0x08:
			usages = append(usages, full(u))
		case 0x18:
			umin = full(u)
		case 0x28:
			umax = full(u)
		case 0x80, 0x90: // Input, Output
			if b&^3 == 0x80 {
				w.inBits += size * count
			} else {
				w.outBits += size * count
			}
			if u&1 == 0 { // data, not constant
				for _, us := range usages {
					w.ranges[us] = [2]int32{lmin, lmax}
				}
				if umax != 0 || umin != 0 {
					w.ranges[umin] = [2]int32{lmin, lmax}
					w.ranges[umax] = [2]int32{lmin, lmax}
				}
			}
			usages, umin, umax = nil, 0, 0
		case 0xA0:
			depth++
			w.collections++
			usages = nil
		case 0xC0:
			depth--
		default:
			t.Fatalf("unexpected item %#x at %d", b, i)
		}
		i += 1 + n
	}
	if depth != 0 {
		t.Fatalf("collections unbalanced: %d", depth)
	}
	return w
}

func TestReportDescriptors(t *testing.T) {
	// HID 1.11 Appendix B.1, the boot keyboard, with the key array's
	// Logical Maximum (25 65 → 26 A4 00) and Usage Maximum (29 65 → 29
	// A4) raised.
	b1 := []byte{0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0x15, 0x00, 0x25, 0x01,
		0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
		0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
		0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xC0}
	patched := append(append(append([]byte{}, b1[:52]...), 0x26, 0xA4, 0x00), b1[54:]...)
	if len(b1) != 63 || b1[58] != 0x29 || b1[59] != 0x65 {
		t.Fatal("B.1 literal mistyped")
	}
	patched[60] = 0xA4 // b1[59], one byte further on
	if !bytes.Equal(KeyboardReportDescriptor, patched) {
		t.Errorf("keyboard descriptor\n% x\nwant\n% x", KeyboardReportDescriptor, patched)
	}
	const gd, btn, kb, led, consumer = 0x01 << 16, 0x09 << 16, 0x07 << 16, 0x08 << 16, 0x0C << 16
	for _, tc := range []struct {
		name     string
		d        []byte
		in, out  int
		ranges   map[uint32][2]int32
		reported int
	}{
		{"keyboard", KeyboardReportDescriptor, KeyboardReportLength * 8, 8,
			map[uint32][2]int32{kb | 0xE0: {0, 1}, kb | 0xE7: {0, 1}, led | 1: {0, 1}, led | 5: {0, 1}, kb | 0xA4: {0, 164}}, KeyboardReportLength},
		{"absolute", AbsoluteReportDescriptor, AbsoluteReportLength * 8, 0,
			map[uint32][2]int32{btn | 1: {0, 1}, btn | 5: {0, 1}, gd | 0x30: {0, hardware.PointerMax}, gd | 0x31: {0, hardware.PointerMax},
				gd | 0x38: {-127, 127}, consumer | 0x238: {-127, 127}}, AbsoluteReportLength},
		{"relative", RelativeReportDescriptor, RelativeReportLength * 8, 0,
			map[uint32][2]int32{btn | 5: {0, 1}, gd | 0x30: {-127, 127}, gd | 0x31: {-127, 127}, gd | 0x38: {-127, 127}, consumer | 0x238: {-127, 127}}, RelativeReportLength},
	} {
		w := walk(t, tc.d)
		if w.inBits != tc.in || w.outBits != tc.out {
			t.Errorf("%s: %d input bits, %d output bits; want %d, %d", tc.name, w.inBits, w.outBits, tc.in, tc.out)
		}
		for u, r := range tc.ranges {
			if w.ranges[u] != r {
				t.Errorf("%s: usage %#x range %v, want %v", tc.name, u, w.ranges[u], r)
			}
		}
	}
}

// pipeDev is a /dev/hidgN stand-in: what the gadget writes comes out of
// host (the host's side), what host writes the gadget reads.
type pipeDev struct {
	r, w *os.File
}

func (p pipeDev) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipeDev) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipeDev) Close() error                { p.w.Close(); return p.r.Close() }

type hostSide struct{ reports, out *os.File }

func newPipeDev(t *testing.T) (pipeDev, hostSide) {
	t.Helper()
	inR, inW, err := os.Pipe() // gadget → host
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // host → gadget
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inR.Close(); outW.Close() })
	return pipeDev{r: outR, w: inW}, hostSide{reports: inR, out: outW}
}

func readReport(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyboardReports(t *testing.T) {
	dev, host := newPipeDev(t)
	k := NewKeyboard(dev)
	defer k.Close()
	type ev struct {
		k    hardware.KeyCode
		down bool
		want []byte
	}
	seq := []ev{
		{hardware.KeyLeftShift, true, []byte{0x02, 0, 0, 0, 0, 0, 0, 0}},
		{hardware.KeyA, true, []byte{0x02, 0, 0x04, 0, 0, 0, 0, 0}},
		{hardware.KeyA, true, []byte{0x02, 0, 0x04, 0, 0, 0, 0, 0}}, // down again: no change
		{hardware.KeyRightGUI, true, []byte{0x82, 0, 0x04, 0, 0, 0, 0, 0}},
		{hardware.KeyLeftShift, false, []byte{0x80, 0, 0x04, 0, 0, 0, 0, 0}},
		{hardware.KeyZ, true, []byte{0x80, 0, 0x04, 0x1D, 0, 0, 0, 0}},
		{hardware.KeyA, false, []byte{0x80, 0, 0x1D, 0, 0, 0, 0, 0}},
		{hardware.Key1, true, []byte{0x80, 0, 0x1D, 0x1E, 0, 0, 0, 0}},
		{0x1F, true, []byte{0x80, 0, 0x1D, 0x1E, 0x1F, 0, 0, 0}},
		{0x20, true, []byte{0x80, 0, 0x1D, 0x1E, 0x1F, 0x20, 0, 0}},
		{0x21, true, []byte{0x80, 0, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0}},
		{0xA4, true, []byte{0x80, 0, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0xA4}},
		// A seventh key: ErrorRollOver in every slot, modifiers kept.
		{hardware.KeyEnter, true, []byte{0x80, 0, 1, 1, 1, 1, 1, 1}},
		{hardware.KeyZ, false, []byte{0x80, 0, 0x1E, 0x1F, 0x20, 0x21, 0xA4, 0x28}},
		{hardware.KeyZ, false, []byte{0x80, 0, 0x1E, 0x1F, 0x20, 0x21, 0xA4, 0x28}}, // up again: no change
		{hardware.KeyRightGUI, false, []byte{0x00, 0, 0x1E, 0x1F, 0x20, 0x21, 0xA4, 0x28}},
	}
	for i, e := range seq {
		if err := k.Key(e.k, e.down); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := readReport(t, host.reports, 8); !bytes.Equal(got, e.want) {
			t.Errorf("%d: key %#x down=%v: report % x, want % x", i, e.k, e.down, got, e.want)
		}
	}
	if err := k.ReleaseAll(); err != nil {
		t.Fatal(err)
	}
	if got := readReport(t, host.reports, 8); !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("ReleaseAll report % x", got)
	}
	for _, bad := range []hardware.KeyCode{0, 1, 3, 0xA5, 0xDF, 0xE8, 0x104} {
		if err := k.Key(bad, true); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("Key(%#x): %v", bad, err)
		}
	}
}

func TestKeyboardLEDs(t *testing.T) {
	dev, host := newPipeDev(t)
	k := NewKeyboard(dev)
	ch, stop := k.WatchLEDs()
	defer stop()
	wait := func(want hardware.KeyboardLEDs) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no LED change seen")
		}
		if got := k.LEDs(); got != want {
			t.Errorf("LEDs %+v, want %+v", got, want)
		}
	}
	host.out.Write([]byte{0x02}) // Caps Lock
	wait(hardware.KeyboardLEDs{CapsLock: true})
	host.out.Write([]byte{0x05 | 0x18}) // Num, Scroll; Compose and Kana ignored
	wait(hardware.KeyboardLEDs{NumLock: true, ScrollLock: true})
	host.out.Write([]byte{0x05}) // the same: no change reported
	host.out.Write([]byte{0x00})
	wait(hardware.KeyboardLEDs{})
	select {
	case <-ch:
		t.Error("change reported for an unchanged LED report")
	default:
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Key after Close: %v", err)
	}
}

// failWriter is a device whose writes fail as an unbound f_hid's do.
type failWriter struct{ pipeDev }

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestReportWriteErrors(t *testing.T) {
	dev, _ := newPipeDev(t)
	k := NewKeyboard(failWriter{dev})
	defer k.Close()
	if err := k.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Key: %v", err)
	}
	p := NewPointer(failWriter{}, nil)
	defer p.Close()
	if err := p.Point(hardware.PointerEvent{Absolute: true}); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Point: %v", err)
	}
	if _, err := openDevice("/nonexistent/hidg0"); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("openDevice: %v", err)
	}
}

func TestPointerReports(t *testing.T) {
	absDev, absHost := newPipeDev(t)
	relDev, relHost := newPipeDev(t)
	p := NewPointer(absDev, relDev)
	if a, r := p.PointerModes(); !a || !r {
		t.Errorf("modes %v %v", a, r)
	}
	for _, tc := range []struct {
		e    hardware.PointerEvent
		want []byte
	}{
		{hardware.PointerEvent{Absolute: true}, []byte{0, 0, 0, 0, 0, 0, 0}},
		{hardware.PointerEvent{Absolute: true, X: hardware.PointerMax, Y: hardware.PointerMax, Buttons: hardware.ButtonLeft}, []byte{1, 0xFF, 0x7F, 0xFF, 0x7F, 0, 0}},
		{hardware.PointerEvent{Absolute: true, X: 16384, Y: 300, Buttons: hardware.ButtonRight | hardware.ButtonForward, Wheel: -1, HWheel: 2}, []byte{0x12, 0x00, 0x40, 0x2C, 0x01, 0xFF, 0x02}},
		{hardware.PointerEvent{Absolute: true, X: 1, Y: 2, Buttons: 0xFF}, []byte{0x1F, 1, 0, 2, 0, 0, 0}},
		{hardware.PointerEvent{DX: -127, DY: 127, Buttons: hardware.ButtonMiddle, Wheel: 127, HWheel: -127}, []byte{0x04, 0x81, 0x7F, 0x7F, 0x81}},
		{hardware.PointerEvent{DX: 5, DY: -3, Buttons: hardware.ButtonBack}, []byte{0x08, 0x05, 0xFD, 0, 0}},
	} {
		if err := p.Point(tc.e); err != nil {
			t.Fatalf("%+v: %v", tc.e, err)
		}
		host, n := relHost, RelativeReportLength
		if tc.e.Absolute {
			host, n = absHost, AbsoluteReportLength
		}
		if got := readReport(t, host.reports, n); !bytes.Equal(got, tc.want) {
			t.Errorf("%+v: report % x, want % x", tc.e, got, tc.want)
		}
	}
	for _, bad := range []hardware.PointerEvent{
		{Absolute: true, X: -1}, {Absolute: true, Y: hardware.PointerMax + 1}, {Absolute: true, Wheel: 128},
		{DX: 128}, {DY: -128}, {HWheel: -200},
	} {
		if err := p.Point(bad); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("Point(%+v): %v", bad, err)
		}
	}
	absOnly := NewPointer(absDev, nil)
	if a, r := absOnly.PointerModes(); !a || r {
		t.Errorf("modes %v %v", a, r)
	}
	if err := absOnly.Point(hardware.PointerEvent{DX: 1}); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("relative without the mouse: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// flakyDev is a HID node whose writes fail while failing is set.
type flakyDev struct {
	mu      sync.Mutex
	failing bool
	reports [][]byte
	closed  chan struct{}
}

func (d *flakyDev) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing {
		return 0, os.ErrDeadlineExceeded
	}
	d.reports = append(d.reports, append([]byte(nil), p...))
	return len(p), nil
}

func (d *flakyDev) Read([]byte) (int, error) { <-d.closed; return 0, io.EOF }
func (d *flakyDev) Close() error             { close(d.closed); return nil }

func (d *flakyDev) set(failing bool) {
	d.mu.Lock()
	d.failing = failing
	d.mu.Unlock()
}

func (d *flakyDev) last() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.reports) == 0 {
		return nil
	}
	return d.reports[len(d.reports)-1]
}

// TestKeyUpThatFailedIsWrittenAgain: a release whose report timed out
// (the host slow to read) is written again once the host reads, so the
// key does not stay down on the host.
func TestKeyUpThatFailedIsWrittenAgain(t *testing.T) {
	d := &flakyDev{closed: make(chan struct{})}
	k := NewKeyboard(d)
	defer k.Close()
	k.mu.Lock()
	k.retry.interval = 10 * time.Millisecond
	k.mu.Unlock()
	if err := k.Key(hardware.KeyA, true); err != nil {
		t.Fatal(err)
	}
	d.set(true)
	if err := k.Key(hardware.KeyA, false); !errors.Is(err, hardware.ErrUnavailable) {
		t.Fatalf("release while the host does not read: %v", err)
	}
	if r := d.last(); r[2] != byte(hardware.KeyA) {
		t.Fatalf("last report the host got %x: want A down", r)
	}
	d.set(false)
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(d.last(), make([]byte, KeyboardReportLength)) {
		if time.Now().After(deadline) {
			t.Fatalf("the release never reached the host: last report %x", d.last())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestButtonUpThatFailedIsWrittenAgain: a button release whose report
// timed out reaches the host later, without the motion or wheel of the
// report that carried it (which would move or scroll twice).
func TestButtonUpThatFailedIsWrittenAgain(t *testing.T) {
	abs, rel := &flakyDev{closed: make(chan struct{})}, &flakyDev{closed: make(chan struct{})}
	p := NewPointer(abs, rel)
	defer p.Close()
	p.absRetry.interval, p.relRetry.interval = 10*time.Millisecond, 10*time.Millisecond
	if err := p.Point(hardware.PointerEvent{Buttons: hardware.ButtonLeft, DX: 3}); err != nil {
		t.Fatal(err)
	}
	rel.set(true)
	if err := p.Point(hardware.PointerEvent{DX: 5, Wheel: 1}); err == nil {
		t.Fatal("a report the host did not take: no error")
	}
	rel.set(false)
	want := []byte{0, 0, 0, 0, 0} // released, no motion, no wheel
	for deadline := time.Now().Add(5 * time.Second); !bytes.Equal(rel.last(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("the release never reached the host: last report %x", rel.last())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Point(hardware.PointerEvent{Absolute: true, Buttons: hardware.ButtonLeft, X: 100, Y: 200, Wheel: 2}); err != nil {
		t.Fatal(err)
	}
	abs.set(true)
	_ = p.Point(hardware.PointerEvent{Absolute: true, X: 300, Y: 400, Wheel: 1})
	abs.set(false)
	want = []byte{0, 0x2c, 0x01, 0x90, 0x01, 0, 0} // released at 300,400, no wheel
	for deadline := time.Now().Add(5 * time.Second); !bytes.Equal(abs.last(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("the absolute release never reached the host: last report %x", abs.last())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
