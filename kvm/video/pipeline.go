// Package video is one machine's video pipeline: it takes the pictures of a
// hardware.Display while someone watches, encodes each one to JPEG at most
// once whatever the number of viewers, and hands every viewer only the
// latest picture, so a slow viewer drops frames instead of building up lag.
// It serves them over HTTP as µStreamer does (http.go): a
// multipart/x-mixed-replace MJPEG stream, JPEG and PNG snapshots, and a
// JSON state.
//
// JPEG comes from TurboJPEG (libjpeg-turbo, through cgo) when built with
// the tag turbojpeg, and from Go's image/jpeg otherwise (CGO_ENABLED=0
// builds).
package video

import (
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Defaults and bounds of Options and the run-time setters.
const (
	DefaultQuality = 80
	DefaultFPS     = 30
	MaxFPS         = 60
)

// Options configure a Pipeline.
type Options struct {
	// Quality is the JPEG quality, 1..100; 0 means DefaultQuality, values
	// outside the range are clamped into it.
	Quality int
	// FPS is the most frames per second delivered to one viewer, 1..60; 0
	// means DefaultFPS, values outside the range are clamped into it.
	FPS int
	// Log receives the pipeline's messages; nil discards them.
	Log *slog.Logger
}

// Pipeline is one machine's video: frames from a hardware.Display, each
// encoded at most once whatever the number of viewers. Its methods are safe
// for concurrent use. No goroutine runs while no one watches.
type Pipeline struct {
	d        hardware.Display
	log      *slog.Logger
	disabled bool // a DisabledDisplay: never a picture, nothing to wait for

	quality atomic.Int32
	fps     atomic.Int32
	// encode is the JPEG encoder (the build's; tests count calls through it).
	encode func(img image.Image, quality int) ([]byte, error)

	mu      sync.Mutex
	latest  *Frame
	changed chan struct{} // closed, and replaced, when latest changes
	viewers int
	run     *capture // the running capture, nil while no one watches
	sentSeq uint64   // the newest Seq handed to a viewer
	// encoding is the newest frame whose JPEG is being encoded, nil when
	// none is (see Viewer.nextJPEG).
	encoding *Frame
	capRate  rate // frames taken from the source
	sentRat  rate // distinct frames handed to viewers
}

// capture is one run of the capture goroutine, from the first Watch to the
// last Close.
type capture struct {
	stop   func()        // the Display watch's stop
	quit   chan struct{} // closed to end the goroutine
	exited chan struct{} // closed by the goroutine when it returns
}

// New returns the pipeline of display d. Nothing runs until the first
// Watch.
func New(d hardware.Display, o Options) *Pipeline {
	if d == nil {
		d = hardware.DisabledDisplay{}
	}
	p := &Pipeline{
		d:       d,
		log:     o.Log,
		encode:  encodeJPEG,
		changed: make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	_, p.disabled = d.(hardware.DisabledDisplay)
	p.quality.Store(int32(clamp(o.Quality, DefaultQuality, 1, 100)))
	p.fps.Store(int32(clamp(o.FPS, DefaultFPS, 1, MaxFPS)))
	p.latest = p.newFrame(hardware.Frame{})
	return p
}

func clamp(v, def, lo, hi int) int {
	switch {
	case v == 0:
		return def
	case v < lo:
		return lo
	case v > hi:
		return hi
	}
	return v
}

// Watch adds a viewer. The first viewer starts capture (Display.Watch);
// the last Viewer.Close stops it.
func (p *Pipeline) Watch() *Viewer {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.viewers++
	if p.viewers == 1 {
		changed, stop := p.d.Watch()
		c := &capture{stop: stop, quit: make(chan struct{}), exited: make(chan struct{})}
		p.run = c
		now := time.Now()
		p.capRate.reset(now)
		p.sentRat.reset(now)
		p.log.Debug("video capture started", "encoder", encoderName)
		go p.capture(c, changed)
	}
	return &Viewer{p: p, closed: make(chan struct{})}
}

// release is a viewer leaving; the last one stops capture and waits for
// the capture goroutine to return.
func (p *Pipeline) release() {
	p.mu.Lock()
	p.viewers--
	var c *capture
	if p.viewers == 0 {
		c, p.run = p.run, nil
	}
	p.mu.Unlock()
	if c != nil {
		c.stop()
		close(c.quit)
		<-c.exited
		p.log.Debug("video capture stopped")
	}
}

// capture takes a frame from the display after each change until quit.
func (p *Pipeline) capture(c *capture, changed <-chan struct{}) {
	defer close(c.exited)
	p.refresh()
	for {
		select {
		case <-c.quit:
			return
		case <-changed:
			p.refresh()
		}
	}
}

// refresh reads the display's current frame and publishes it when it is
// newer than the latest; it returns the latest.
func (p *Pipeline) refresh() *Frame {
	hf := p.d.Frame()
	p.mu.Lock()
	defer p.mu.Unlock()
	if hf.Seq > p.latest.Seq {
		p.latest = p.newFrame(hf)
		p.capRate.add(time.Now())
		close(p.changed)
		p.changed = make(chan struct{})
	}
	return p.latest
}

// Latest returns the current frame (Seq 0 and no picture before the
// source has one). It never blocks on capture: it asks the display for
// its last picture, which, when no one watches, may be old or absent.
func (p *Pipeline) Latest() *Frame {
	return p.refresh()
}

// SetQuality sets the JPEG quality, 1..100, of the frames encoded from
// now on. Outside the range it returns an error wrapping
// hardware.ErrInvalid.
func (p *Pipeline) SetQuality(q int) error {
	if q < 1 || q > 100 {
		return fmt.Errorf("video: JPEG quality %d is outside 1..100: %w", q, hardware.ErrInvalid)
	}
	p.quality.Store(int32(q))
	return nil
}

// SetFPS sets the most frames per second delivered to each viewer, 1..60.
// Outside the range it returns an error wrapping hardware.ErrInvalid.
func (p *Pipeline) SetFPS(n int) error {
	if n < 1 || n > MaxFPS {
		return fmt.Errorf("video: %d frames per second is outside 1..%d: %w", n, MaxFPS, hardware.ErrInvalid)
	}
	p.fps.Store(int32(n))
	return nil
}

// Stats is a pipeline's state, as the State handler serves it.
type Stats struct {
	// Width and Height of the current picture in pixels, zero without one.
	Width, Height int
	// Online: the source has a picture.
	Online bool
	// CapturedFPS: new frames taken from the source per second, and
	// SentFPS: distinct frames handed to at least one viewer per second,
	// both averaged over the last few seconds.
	CapturedFPS, SentFPS float64
	// Viewers watching now.
	Viewers int
	// Quality (JPEG, 1..100) and FPS (most frames per second per viewer)
	// in force.
	Quality, FPS int
	// Encoder is the JPEG encoder built in: "turbojpeg" or "image/jpeg".
	Encoder string
}

// Stats returns the pipeline's state now.
func (p *Pipeline) Stats() Stats {
	f := p.Latest()
	size := f.Size()
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Width:       size.X,
		Height:      size.Y,
		Online:      f.hasPicture(),
		CapturedFPS: p.capRate.perSecond(now),
		SentFPS:     p.sentRat.perSecond(now),
		Viewers:     p.viewers,
		Quality:     int(p.quality.Load()),
		FPS:         int(p.fps.Load()),
		Encoder:     encoderName,
	}
}
