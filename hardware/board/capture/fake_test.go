package capture

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RetryMin, RetryMax = 5*time.Millisecond, 20*time.Millisecond
	os.Exit(m.Run())
}

// world is what a fake capture device is plugged into: the input's size
// and signal, and whether the device is there.
type world struct {
	mu      sync.Mutex
	formats []PixelFormat
	dv      bool // the device has DV timings (an HDMI bridge)
	events  bool // it sends source-change events
	w, h    int
	signal  bool
	present bool
	busy    bool
	jpeg    []byte // the MJPEG frame it sends
	opens   int
	open    int // devices open now
	pending []*fakeDev
	lastFmt Format
	starts  int
}

func newWorld() *world {
	return &world{formats: []PixelFormat{PixYUYV}, w: 640, h: 480, signal: true, present: true, events: true}
}

func (wd *world) opener(path string) (Device, error) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if !wd.present {
		return nil, errors.New("open " + path + ": no such file or directory")
	}
	if wd.busy || wd.open > 0 {
		return nil, errors.New("open " + path + ": device or resource busy")
	}
	wd.opens++
	wd.open++
	d := &fakeDev{wd: wd}
	wd.pending = append(wd.pending, d)
	return d, nil
}

func (wd *world) set(f func(*world)) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	f(wd)
}

// resize changes the input's size; the device sends a source change.
func (wd *world) resize(w, h int) {
	wd.set(func(wd *world) {
		wd.w, wd.h = w, h
		for _, d := range wd.pending {
			d.changed = wd.events
		}
	})
}

type fakeDev struct {
	wd        *world
	fmt       Format
	streaming bool
	changed   bool
	closed    bool
}

func (d *fakeDev) Formats() ([]PixelFormat, error) {
	d.wd.mu.Lock()
	defer d.wd.mu.Unlock()
	return append([]PixelFormat(nil), d.wd.formats...), nil
}

func (d *fakeDev) SetInput(int) error { return nil }

func (d *fakeDev) DVTimings() (int, int, error) {
	d.wd.mu.Lock()
	defer d.wd.mu.Unlock()
	if !d.wd.dv {
		return 0, 0, ErrNoTimings
	}
	if !d.wd.signal {
		return 0, 0, ErrNoSignal
	}
	return d.wd.w, d.wd.h, nil
}

func (d *fakeDev) SetFormat(f Format) (Format, error) {
	d.wd.mu.Lock()
	defer d.wd.mu.Unlock()
	if d.streaming {
		return Format{}, errors.New("busy")
	}
	if f.Width == 0 {
		f.Width, f.Height = d.wd.w, d.wd.h
	}
	f.Stride = 0
	if f.Pixel == PixYUYV {
		f.Stride = f.Width * 2
	}
	d.fmt = f
	d.wd.lastFmt = f
	return f, nil
}

func (d *fakeDev) SetFPS(int) error { return nil }

func (d *fakeDev) SubscribeSourceChange() error {
	if !d.wd.events {
		return errors.New("no events")
	}
	return nil
}

func (d *fakeDev) Start() error {
	d.wd.mu.Lock()
	defer d.wd.mu.Unlock()
	d.streaming = true
	d.wd.starts++
	return nil
}

func (d *fakeDev) Stop() error { d.streaming = false; return nil }

func (d *fakeDev) Read(timeout time.Duration, fn func([]byte)) (bool, error) {
	d.wd.mu.Lock()
	switch {
	case !d.wd.present:
		d.wd.mu.Unlock()
		return false, errors.New("dequeue: no such device")
	case d.changed:
		d.changed = false
		d.wd.mu.Unlock()
		return true, nil
	case !d.streaming || !d.wd.signal:
		d.wd.mu.Unlock()
		time.Sleep(min(timeout, 10*time.Millisecond))
		return false, ErrTimeout
	}
	f := d.fmt
	var frame []byte
	if f.Pixel.jpeg() {
		frame = d.wd.jpeg
	} else {
		frame = yuyvFrame(f.Width, f.Height)
	}
	d.wd.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	fn(frame)
	return false, nil
}

func (d *fakeDev) Close() error {
	d.wd.mu.Lock()
	defer d.wd.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.wd.open--
	}
	return nil
}

// yuyvFrame is a w x h YUYV frame: Y = x, Cb = 100, Cr = 200.
func yuyvFrame(w, h int) []byte {
	b := make([]byte, w*2*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x += 2 {
			p := b[y*w*2+x*2:]
			p[0], p[1], p[2], p[3] = byte(x), 100, byte(x+1), 200
		}
	}
	return b
}

func testJPEG(t testing.TB, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	m.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// logRecorder keeps the log's records for assertions.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Message == msg {
			n++
		}
	}
	return n
}
