// Package capture is the Linux board's HDMI capture (issue 10): a V4L2
// capture device (a USB dongle, an HDMI-to-CSI bridge such as the
// TC358743) as the machine's hardware.Display.
//
// MJPEG frames go out as they come (hardware.Frame.JPEG, no Image: the
// console decodes only when it needs pixels); YUYV frames are
// de-interleaved into an *image.YCbCr (4:2:2) that the console encodes
// once (UYVY, the TC358743's, likewise). Capture runs only while someone
// watches. A source change
// (V4L2_EVENT_SOURCE_CHANGE) or no frame for Config.NoSignalAfter stops
// the stream, queries the input again (DV timings when the device has
// them) and restarts at the new size; meanwhile the picture is a
// generated "NO SIGNAL" frame. A device that is missing or busy is
// opened again with backoff.
//
// The device is reached through the Device interface: go4vl on Linux
// with cgo (v4l2_linux.go), a stub that refuses elsewhere (stub.go).
package capture

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Backoff of reopening a device that is missing, busy or broken.
var (
	RetryMin = 250 * time.Millisecond
	RetryMax = 5 * time.Second
)

// readSlice is the longest a Read waits, so that a stop is seen soon.
const readSlice = 200 * time.Millisecond

// Display is a capture device as a hardware.Display and LiveDisplay.
type Display struct {
	cfg  Config
	open Opener
	log  *slog.Logger

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	run      *run // the capture goroutine while it runs
	prevDone <-chan struct{}
	linger   *time.Timer
	frame    hardware.Frame
	live     bool // frame is the device's state as it is now
	signal   bool // frame is a picture (not "no signal")
	closed   bool
}

type watcher struct{ ch chan struct{} }

type run struct {
	quit chan struct{}
	done chan struct{}
}

var (
	_ hardware.Display     = (*Display)(nil)
	_ hardware.LiveDisplay = (*Display)(nil)
)

// New makes the Display of cfg whose device open opens; nothing is
// opened before the first Watch. log nil: slog.Default(). Errors:
// ErrInvalid for a configuration Check refuses.
func New(cfg Config, open Opener, log *slog.Logger) (*Display, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Display{cfg: cfg.withDefaults(), open: open, log: log, watchers: map[*watcher]struct{}{}}, nil
}

// Watch implements hardware.Display: capture starts (if it is not
// running) and runs until every watcher stopped and Config.Linger
// passed.
func (d *Display) Watch() (<-chan struct{}, func()) {
	w := &watcher{ch: make(chan struct{}, 1)}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return w.ch, func() {}
	}
	d.watchers[w] = struct{}{}
	if d.linger != nil {
		d.linger.Stop()
		d.linger = nil
	}
	if d.run == nil {
		r := &run{quit: make(chan struct{}), done: make(chan struct{})}
		d.run = r
		prev := d.prevDone
		d.prevDone = r.done
		go d.loop(r, prev)
	}
	var once sync.Once
	return w.ch, func() { once.Do(func() { d.unwatch(w) }) }
}

func (d *Display) unwatch(w *watcher) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.watchers, w)
	if len(d.watchers) > 0 || d.run == nil || d.linger != nil {
		return
	}
	r := d.run
	d.linger = time.AfterFunc(d.cfg.Linger, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.run == r && len(d.watchers) == 0 {
			d.stopLocked()
		}
	})
}

// stopLocked ends the running capture; its goroutine closes the device.
func (d *Display) stopLocked() {
	if d.linger != nil {
		d.linger.Stop()
		d.linger = nil
	}
	if d.run != nil {
		close(d.run.quit)
		d.run = nil
	}
	d.live = false
}

// Frame implements hardware.Display: the last frame, never blocking. It
// is the "no signal" picture while the input has none, and Frame{}
// before capture first ran.
func (d *Display) Frame() hardware.Frame {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame
}

// Live implements hardware.LiveDisplay: capture runs and Frame is what
// it saw last (a picture or "no signal").
func (d *Display) Live() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.run != nil && d.live
}

// Close stops capture and waits until the device is closed. Watchers
// keep their channels, which receive nothing more.
func (d *Display) Close() error {
	d.mu.Lock()
	d.closed = true
	d.stopLocked()
	done := d.prevDone
	d.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// publish makes f (its Seq and Time set here) the current frame and
// wakes the watchers, if r still runs; say, when not nil, is called
// first, with the lock held, told whether a signal was shown before.
func (d *Display) publish(r *run, f hardware.Frame, signal bool, say func(wasSignal bool)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != r {
		return false
	}
	f.Seq = d.frame.Seq + 1
	if f.Time.IsZero() {
		f.Time = time.Now()
	}
	wasSignal := d.signal && d.live
	d.frame, d.live, d.signal = f, true, signal
	if say != nil {
		// Before the watchers hear of the frame: whoever sees it can
		// find its log line.
		say(wasSignal)
	}
	for w := range d.watchers {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	return true
}

// noSignal publishes the "no signal" picture unless it is already shown,
// sized like the last picture, and says so in the log once.
func (d *Display) noSignal(r *run, why string) {
	d.mu.Lock()
	already := d.live && !d.signal && d.run == r && d.frame.Image != nil
	size := d.frame.Size()
	if d.frame.Image == nil && d.frame.JPEG != nil {
		size = jpegSize(d.frame.JPEG)
	}
	d.mu.Unlock()
	if already {
		return
	}
	d.publish(r, hardware.Frame{Image: NoSignalPicture(size, d.cfg.Device)}, false, func(bool) {
		d.log.Info("capture no signal", "device", d.cfg.Device, "reason", why)
	})
}

// stopped reports whether r was told to stop.
func stopped(r *run) bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// sleep waits for dt or r's stop; false when stopped.
func sleep(r *run, dt time.Duration) bool {
	t := time.NewTimer(dt)
	defer t.Stop()
	select {
	case <-r.quit:
		return false
	case <-t.C:
		return true
	}
}

// loop is one capture run: open the device (with backoff), stream until
// stopped or broken, again.
func (d *Display) loop(r *run, prev <-chan struct{}) {
	defer close(r.done)
	if prev != nil {
		<-prev // the previous run has closed the device
	}
	backoff := RetryMin
	failing := ""
	// warn logs err once per kind of failure, not per retry.
	warn := func(what string, err error) {
		if msg := err.Error(); msg != failing {
			failing = msg
			d.log.Warn(what, "device", d.cfg.Device, "err", err)
		}
	}
	// retry shows "no signal" and waits the backoff; false once r stops.
	retry := func(why string) bool {
		d.noSignal(r, why)
		if !sleep(r, backoff) {
			return false
		}
		backoff = min(backoff*2, RetryMax)
		return true
	}
	for !stopped(r) {
		dev, err := d.open(d.cfg.Device)
		if err != nil {
			warn("capture device unavailable, retrying", err)
			if !retry("device unavailable") {
				return
			}
			continue
		}
		streamed, err := d.stream(r, dev)
		dev.Close()
		if stopped(r) {
			return
		}
		if streamed {
			backoff, failing = RetryMin, ""
		}
		if err != nil {
			warn("capture stopped, retrying", err)
		}
		if !retry("device lost") {
			return
		}
	}
}

// stream configures dev and captures until r stops (nil) or the device
// breaks (the error; dev is then closed and opened again). streamed
// reports whether a frame came.
func (d *Display) stream(r *run, dev Device) (streamed bool, err error) {
	if d.cfg.Input != nil {
		if err := dev.SetInput(*d.cfg.Input); err != nil {
			return false, fmt.Errorf("select input %d: %w", *d.cfg.Input, err)
		}
	}
	pix, err := d.choosePixel(dev)
	if err != nil {
		return false, err
	}
	events := dev.SubscribeSourceChange() == nil
	for !stopped(r) {
		f, err := d.configure(r, dev, pix)
		if errors.Is(err, ErrNoSignal) {
			d.noSignal(r, "no DV timings")
			if !d.waitSource(r, dev, events) {
				return streamed, nil
			}
			continue
		}
		if err != nil {
			return streamed, err
		}
		if err := dev.Start(); err != nil {
			return streamed, fmt.Errorf("start streaming %s: %w", f, err)
		}
		d.log.Info("capture started", "device", d.cfg.Device, "format", f.Pixel.String(), "size", fmt.Sprintf("%dx%d", f.Width, f.Height))
		got, err := d.frames(r, dev, f)
		streamed = streamed || got
		dev.Stop()
		if err != nil {
			return streamed, err
		}
	}
	return streamed, nil
}

// waitSource waits, while there is no signal, for a source-change event
// (or a second, without events). false: stopped.
func (d *Display) waitSource(r *run, dev Device, events bool) bool {
	if !events {
		return sleep(r, time.Second)
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if stopped(r) {
			return false
		}
		changed, err := dev.Read(readSlice, func([]byte) {})
		if changed || (err != nil && !errors.Is(err, ErrTimeout)) {
			return !stopped(r)
		}
	}
	return !stopped(r)
}

// choosePixel picks the pixel format of the configuration among those
// the device offers.
func (d *Display) choosePixel(dev Device) (PixelFormat, error) {
	offered, err := dev.Formats()
	if err != nil {
		return 0, fmt.Errorf("list formats: %w", err)
	}
	has := map[PixelFormat]bool{}
	for _, p := range offered {
		has[p] = true
	}
	var want []PixelFormat
	switch d.cfg.Format {
	case FormatMJPEG:
		want = []PixelFormat{PixMJPEG, PixJPEG}
	case FormatYUYV:
		want = []PixelFormat{PixYUYV}
	case FormatUYVY:
		want = []PixelFormat{PixUYVY}
	default:
		want = []PixelFormat{PixMJPEG, PixJPEG, PixYUYV, PixUYVY}
	}
	for _, p := range want {
		if has[p] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("the device offers %v, none of format %s: %w", offered, d.cfg.Format, hardware.ErrNotSupported)
}

// configure sets the capture format: the input's DV timings when the
// device has them, else the configured size (or the device's own).
// Errors: ErrNoSignal.
func (d *Display) configure(r *run, dev Device, pix PixelFormat) (Format, error) {
	want := Format{Pixel: pix, Width: d.cfg.Width, Height: d.cfg.Height}
	w, h, err := dev.DVTimings()
	switch {
	case err == nil:
		want.Width, want.Height = w, h
	case errors.Is(err, ErrNoTimings):
	default:
		return Format{}, err
	}
	got, err := dev.SetFormat(want)
	if err != nil {
		return Format{}, fmt.Errorf("set format %s: %w", want, err)
	}
	if got.Pixel != pix {
		return Format{}, fmt.Errorf("asked for %s, the driver chose %s: %w", want, got, hardware.ErrNotSupported)
	}
	if got.Width <= 0 || got.Height <= 0 {
		return Format{}, fmt.Errorf("the driver chose %s: %w", got, ErrNoSignal)
	}
	if d.cfg.FPS > 0 {
		dev.SetFPS(d.cfg.FPS) // a hint: drivers of HDMI bridges refuse it
	}
	return got, nil
}

// frames reads frames until r stops (nil), the source changes (nil: the
// caller configures again) or the stream breaks. got reports a frame.
func (d *Display) frames(r *run, dev Device, f Format) (got bool, err error) {
	last := time.Now()
	var convErr error
	badFrame := false
	for !stopped(r) {
		var out hardware.Frame
		changed, err := dev.Read(readSlice, func(b []byte) {
			out, convErr = convert(f, b)
		})
		switch {
		case changed:
			d.log.Info("capture source changed", "device", d.cfg.Device)
			return got, nil
		case errors.Is(err, ErrTimeout):
			if time.Since(last) >= d.cfg.NoSignalAfter {
				d.noSignal(r, "no frame")
				return got, nil // query the input again
			}
			continue
		case err != nil:
			return got, err
		}
		if convErr != nil || (out.Image == nil && out.JPEG == nil) {
			// A broken or empty frame (drivers send them around a signal
			// change): skipped, said once per stream.
			if convErr != nil && !badFrame {
				badFrame = true
				d.log.Warn("capture frame skipped", "device", d.cfg.Device, "format", f.String(), "err", convErr)
			}
			continue
		}
		last = time.Now()
		got = true
		d.publish(r, out, true, func(wasSignal bool) {
			if !wasSignal {
				d.log.Info("capture signal", "device", d.cfg.Device, "size", fmt.Sprintf("%dx%d", f.Width, f.Height))
			}
		})
	}
	return got, nil
}

// convert makes a frame of b in format f: MJPEG kept as it is (a copy:
// b is the device's buffer; the standard Huffman tables added when the
// frame has none), YUYV and UYVY de-interleaved. An empty b or a JPEG
// without its SOI marker is an error.
func convert(f Format, b []byte) (hardware.Frame, error) {
	switch {
	case f.Pixel.jpeg():
		if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
			return hardware.Frame{}, fmt.Errorf("capture: a frame of %d bytes that is no JPEG", len(b))
		}
		if j, added := WithHuffmanTables(b); added {
			return hardware.Frame{JPEG: j}, nil
		}
		return hardware.Frame{JPEG: append([]byte(nil), b...)}, nil
	case f.Pixel == PixYUYV, f.Pixel == PixUYVY:
		conv := YUYVToYCbCr
		if f.Pixel == PixUYVY {
			conv = UYVYToYCbCr
		}
		m, err := conv(b, f.Width, f.Height, f.Stride)
		if err != nil {
			return hardware.Frame{}, err
		}
		return hardware.Frame{Image: m}, nil
	}
	return hardware.Frame{}, fmt.Errorf("capture: pixel format %s: %w", f.Pixel, hardware.ErrNotSupported)
}

// jpegSize reads a JPEG's size from its header, zero when it cannot.
func jpegSize(b []byte) image.Point {
	c, err := decodeJPEGConfig(b)
	if err != nil {
		return image.Point{}
	}
	return image.Pt(c.Width, c.Height)
}
