package capture

import (
	"bytes"
	"errors"
	"image"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func newTestDisplay(t *testing.T, wd *world, cfg Config) (*Display, *logRecorder) {
	t.Helper()
	if cfg.NoSignalAfter == 0 {
		cfg.NoSignalAfter = 150 * time.Millisecond
	}
	if cfg.Linger == 0 {
		cfg.Linger = 30 * time.Millisecond
	}
	rec := &logRecorder{}
	d, err := New(cfg, wd.opener, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, rec
}

// waitFrame polls Frame until ok says yes (5 s at most).
func waitFrame(t *testing.T, d *Display, what string, ok func(hardware.Frame) bool) hardware.Frame {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f := d.Frame()
		if ok(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s: last frame seq %d size %v jpeg %d bytes", what, f.Seq, f.Size(), len(f.JPEG))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isNoSignal(f hardware.Frame) bool {
	_, ok := f.Image.(*image.RGBA)
	return ok
}

func isPicture(size image.Point) func(hardware.Frame) bool {
	return func(f hardware.Frame) bool {
		m, ok := f.Image.(*image.YCbCr)
		return ok && m.Rect.Size() == size
	}
}

func TestMJPEGPassesThrough(t *testing.T) {
	wd := newWorld()
	wd.formats = []PixelFormat{PixYUYV, PixMJPEG}
	wd.jpeg = testJPEG(t, 64, 48)
	d, rec := newTestDisplay(t, wd, Config{})
	if f := d.Frame(); f.Seq != 0 || d.Live() {
		t.Fatalf("before Watch: frame %d, live %v; want nothing", f.Seq, d.Live())
	}
	_, stop := d.Watch()
	defer stop()
	f := waitFrame(t, d, "JPEG frame", func(f hardware.Frame) bool { return f.JPEG != nil })
	if !bytes.Equal(f.JPEG, wd.jpeg) {
		t.Error("the JPEG frame's bytes differ from the device's")
	}
	if &f.JPEG[0] == &wd.jpeg[0] {
		t.Error("the frame shares the device's buffer")
	}
	if f.Image != nil {
		t.Errorf("Image = %T; want nil (decoded by the console on demand)", f.Image)
	}
	if !d.Live() {
		t.Error("Live() = false while capturing")
	}
	if wd.lastFmt.Pixel != PixMJPEG {
		t.Errorf("format %s; want MJPEG preferred", wd.lastFmt)
	}
	if rec.count("capture started") != 1 {
		t.Errorf("%d 'capture started' lines; want 1", rec.count("capture started"))
	}
}

func TestChoosePixel(t *testing.T) {
	for _, tc := range []struct {
		format  string
		offered []PixelFormat
		want    PixelFormat
	}{
		{"", []PixelFormat{PixYUYV}, PixYUYV},
		{"auto", []PixelFormat{PixYUYV, PixMJPEG}, PixMJPEG},
		{"auto", []PixelFormat{PixJPEG, PixYUYV}, PixJPEG},
		{"auto", []PixelFormat{PixUYVY, PixYUYV}, PixYUYV},
		{"auto", []PixelFormat{PixUYVY}, PixUYVY},
		{"uyvy", []PixelFormat{PixYUYV}, 0},
		{"yuyv", []PixelFormat{PixMJPEG, PixYUYV}, PixYUYV},
		{"mjpeg", []PixelFormat{PixMJPEG, PixYUYV}, PixMJPEG},
		{"mjpeg", []PixelFormat{PixYUYV}, 0},
		{"auto", []PixelFormat{PixelFormat('R' | 'G'<<8 | 'B'<<16 | '3'<<24)}, 0},
	} {
		wd := newWorld()
		wd.formats = tc.offered
		d, err := New(Config{Format: tc.format}, wd.opener, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.choosePixel(&fakeDev{wd: wd})
		if got != tc.want || (tc.want == 0) != (err != nil) {
			t.Errorf("format %q of %v: %s, %v; want %s", tc.format, tc.offered, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("error %v; want ErrNotSupported", err)
		}
	}
}

func TestYUYVFrames(t *testing.T) {
	wd := newWorld()
	d, rec := newTestDisplay(t, wd, Config{Width: 320, Height: 240})
	_, stop := d.Watch()
	defer stop()
	f := waitFrame(t, d, "YUYV picture", isPicture(image.Pt(320, 240)))
	m := f.Image.(*image.YCbCr)
	if m.SubsampleRatio != image.YCbCrSubsampleRatio422 || m.Y[5] != 5 || m.Cb[0] != 100 || m.Cr[0] != 200 {
		t.Errorf("picture: ratio %v Y[5]=%d Cb=%d Cr=%d", m.SubsampleRatio, m.Y[5], m.Cb[0], m.Cr[0])
	}
	if f.JPEG != nil {
		t.Error("a YUYV frame has JPEG")
	}
	if n := rec.count("capture signal"); n != 1 {
		t.Errorf("%d 'capture signal' lines; want 1", n)
	}
}

// TestNoSignal: frames stop; after NoSignalAfter the picture is "no
// signal", sized like the last frame, with a new Seq; frames come back.
func TestNoSignal(t *testing.T) {
	wd := newWorld()
	d, rec := newTestDisplay(t, wd, Config{})
	changed, stop := d.Watch()
	defer stop()
	f := waitFrame(t, d, "picture", isPicture(image.Pt(640, 480)))
	wd.set(func(wd *world) { wd.signal = false })
	start := time.Now()
	ns := waitFrame(t, d, "no-signal frame", isNoSignal)
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("no signal after %s; want NoSignalAfter (150ms) first", el)
	}
	if ns.Seq <= f.Seq || ns.Size() != image.Pt(640, 480) {
		t.Errorf("no-signal frame seq %d (last picture %d), size %v; want a later seq, 640x480", ns.Seq, f.Seq, ns.Size())
	}
	select {
	case <-changed:
	default:
		t.Error("the watcher was not told")
	}
	time.Sleep(300 * time.Millisecond)
	if again := d.Frame(); again.Seq != ns.Seq {
		t.Errorf("no-signal frame published again (seq %d -> %d)", ns.Seq, again.Seq)
	}
	if n := rec.count("capture no signal"); n != 1 {
		t.Errorf("%d 'capture no signal' lines; want 1", n)
	}
	wd.set(func(wd *world) { wd.signal = true })
	waitFrame(t, d, "picture again", isPicture(image.Pt(640, 480)))
	if n := rec.count("capture signal"); n != 2 {
		t.Errorf("%d 'capture signal' lines; want 2", n)
	}
}

// TestResolutionChange: an HDMI bridge's input goes from 640x480 to
// 1280x720; the source-change event restarts capture at the new size.
func TestResolutionChange(t *testing.T) {
	for _, events := range []bool{true, false} {
		name := map[bool]string{true: "events", false: "timeout"}[events]
		t.Run(name, func(t *testing.T) {
			wd := newWorld()
			wd.dv, wd.events = true, events
			d, _ := newTestDisplay(t, wd, Config{Width: 1920, Height: 1080}) // DV timings win over the hint
			_, stop := d.Watch()
			defer stop()
			waitFrame(t, d, "640x480", isPicture(image.Pt(640, 480)))
			if events {
				wd.resize(1280, 720)
			} else { // no event: the signal drops while the source switches
				wd.set(func(wd *world) { wd.signal = false; wd.w, wd.h = 1280, 720 })
				waitFrame(t, d, "no signal", isNoSignal)
				wd.set(func(wd *world) { wd.signal = true })
			}
			waitFrame(t, d, "1280x720", isPicture(image.Pt(1280, 720)))
		})
	}
}

// TestNoSignalAtStart: an HDMI bridge without signal shows "no signal" at
// the default size, then the picture when the source appears.
func TestNoSignalAtStart(t *testing.T) {
	wd := newWorld()
	wd.dv, wd.signal = true, false
	d, _ := newTestDisplay(t, wd, Config{})
	_, stop := d.Watch()
	defer stop()
	ns := waitFrame(t, d, "no signal", isNoSignal)
	if ns.Size() != NoSignalSize {
		t.Errorf("no-signal size %v; want %v", ns.Size(), NoSignalSize)
	}
	wd.set(func(wd *world) { wd.signal = true; wd.w, wd.h = 800, 600 })
	waitFrame(t, d, "800x600", isPicture(image.Pt(800, 600)))
}

// TestDeviceReturns: the dongle is pulled out (reads fail, opens fail),
// then plugged in again; capture comes back, logging the failure once.
func TestDeviceReturns(t *testing.T) {
	wd := newWorld()
	d, rec := newTestDisplay(t, wd, Config{})
	_, stop := d.Watch()
	defer stop()
	waitFrame(t, d, "picture", isPicture(image.Pt(640, 480)))
	wd.set(func(wd *world) { wd.present = false })
	waitFrame(t, d, "no signal", isNoSignal)
	time.Sleep(200 * time.Millisecond) // many retries at RetryMax 20ms
	if n := rec.count("capture device unavailable, retrying"); n != 1 {
		t.Errorf("%d 'unavailable' lines over the retries; want 1", n)
	}
	wd.set(func(wd *world) { wd.present = true })
	waitFrame(t, d, "picture again", isPicture(image.Pt(640, 480)))
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.open != 1 {
		t.Errorf("%d devices open; want 1", wd.open)
	}
}

// TestMissingAtStart: a device missing when watching starts is retried.
func TestMissingAtStart(t *testing.T) {
	wd := newWorld()
	wd.present = false
	d, _ := newTestDisplay(t, wd, Config{})
	_, stop := d.Watch()
	defer stop()
	waitFrame(t, d, "no signal", isNoSignal)
	wd.set(func(wd *world) { wd.present = true })
	waitFrame(t, d, "picture", isPicture(image.Pt(640, 480)))
}

// TestWatchLinger: the device is open only while watched, and for Linger
// after the last watcher left; a watcher back in time keeps it open.
func TestWatchLinger(t *testing.T) {
	wd := newWorld()
	d, _ := newTestDisplay(t, wd, Config{Linger: 100 * time.Millisecond})
	open := func() int { wd.mu.Lock(); defer wd.mu.Unlock(); return wd.open }
	opens := func() int { wd.mu.Lock(); defer wd.mu.Unlock(); return wd.opens }
	_, stop1 := d.Watch()
	_, stop2 := d.Watch()
	waitFrame(t, d, "picture", isPicture(image.Pt(640, 480)))
	stop1()
	stop1() // twice is harmless
	stop2()
	_, stop3 := d.Watch() // back within Linger
	time.Sleep(200 * time.Millisecond)
	if open() != 1 || opens() != 1 {
		t.Errorf("open %d, opened %d times; want the one device kept", open(), opens())
	}
	stop3()
	deadline := time.Now().Add(5 * time.Second)
	for open() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the device stays open after the last watcher left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	last := d.Frame()
	if d.Live() || last.Seq == 0 {
		t.Errorf("after stop: live %v, seq %d; want the last frame kept, not live", d.Live(), last.Seq)
	}
	_, stop4 := d.Watch()
	defer stop4()
	waitFrame(t, d, "a new frame", func(f hardware.Frame) bool { return f.Seq > last.Seq })
	if opens() != 2 {
		t.Errorf("opened %d times; want 2", opens())
	}
}

// TestFrameDoesNotBlock: Frame answers while the device is stuck.
func TestFrameDoesNotBlock(t *testing.T) {
	wd := newWorld()
	d, _ := newTestDisplay(t, wd, Config{})
	_, stop := d.Watch()
	defer stop()
	wd.mu.Lock() // the device blocks in every call
	done := make(chan struct{})
	go func() { d.Frame(); d.Live(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("Frame blocked on the device")
	}
	wd.mu.Unlock()
}

func TestClose(t *testing.T) {
	wd := newWorld()
	d, _ := newTestDisplay(t, wd, Config{})
	ch, _ := d.Watch()
	waitFrame(t, d, "picture", isPicture(image.Pt(640, 480)))
	d.Close()
	wd.mu.Lock()
	open := wd.open
	wd.mu.Unlock()
	if open != 0 {
		t.Errorf("%d devices open after Close", open)
	}
	for len(ch) > 0 {
		<-ch
	}
	seq := d.Frame().Seq
	time.Sleep(50 * time.Millisecond)
	if d.Frame().Seq != seq || len(ch) != 0 {
		t.Error("frames after Close")
	}
	if _, stop := d.Watch(); stop == nil {
		t.Error("Watch after Close gave no stop")
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{}, ""},
		{Config{Device: "/dev/video2", Format: "yuyv", Width: 1280, Height: 720, FPS: 30}, ""},
		{Config{Width: 1280}, "capture.width: give both"},
		{Config{Height: 720}, "capture.width: give both"},
		{Config{Width: 641, Height: 480}, "capture.width: 641 is odd"},
		{Config{NoSignalAfter: time.Millisecond}, "capture.no_signal_after"},
	} {
		err := tc.c.Check()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("%+v: %v; want %q wrapping ErrInvalid", tc.c, err, tc.want)
		}
		if _, err := New(tc.c, newWorld().opener, nil); err == nil {
			t.Errorf("New accepted %+v", tc.c)
		}
	}
}
