// Package videotest provides a hardware.Display for tests and benchmarks
// of the console: pictures are shown on demand, and the display counts how
// it is used.
package videotest

import (
	"image"
	"image/color"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Display is a hardware.Display whose picture changes when Show (or
// ShowJPEG, NoSignal) is called. Safe for concurrent use.
type Display struct {
	// OnFirstWatch, when set, is called (without locks held) when the
	// first watcher arrives: a capture device that starts capturing then.
	OnFirstWatch func(*Display)

	// Watches counts calls to Watch, FrameCalls calls to Frame.
	Watches, FrameCalls atomic.Int64

	mu       sync.Mutex
	frame    hardware.Frame
	watchers map[chan struct{}]struct{}
}

var _ hardware.Display = (*Display)(nil)

// Watch implements hardware.Display.
func (d *Display) Watch() (<-chan struct{}, func()) {
	d.Watches.Add(1)
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	if d.watchers == nil {
		d.watchers = map[chan struct{}]struct{}{}
	}
	d.watchers[ch] = struct{}{}
	first := len(d.watchers) == 1
	d.mu.Unlock()
	if first && d.OnFirstWatch != nil {
		d.OnFirstWatch(d)
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.watchers, ch)
			d.mu.Unlock()
		})
	}
}

// Frame implements hardware.Display.
func (d *Display) Frame() hardware.Frame {
	d.FrameCalls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame
}

// Watching is the number of watchers now.
func (d *Display) Watching() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.watchers)
}

// Show makes img the picture (the caller no longer modifies it) and
// returns its Seq.
func (d *Display) Show(img image.Image) uint64 { return d.set(hardware.Frame{Image: img}) }

// ShowJPEG makes the picture a JPEG-only frame, as an MJPEG capture device
// gives, and returns its Seq.
func (d *Display) ShowJPEG(b []byte) uint64 { return d.set(hardware.Frame{JPEG: b}) }

// NoSignal makes the picture absent (host off) and returns the frame's Seq.
func (d *Display) NoSignal() uint64 { return d.set(hardware.Frame{}) }

func (d *Display) set(f hardware.Frame) uint64 {
	d.mu.Lock()
	f.Seq = d.frame.Seq + 1
	f.Time = time.Now()
	d.frame = f
	for ch := range d.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
	return f.Seq
}

// Screen draws picture number n of a w×h console-like screen: a dark
// background, lines of text-like glyphs, a gradient panel, and a box and a
// counter whose place depends on n, so consecutive pictures differ as a
// busy screen's do.
func Screen(w, h, n int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{0x10, 0x18, 0x30, 0xff}
	fg := color.RGBA{0xd0, 0xd0, 0xd0, 0xff}
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = bg.R, bg.G, bg.B, 0xff
	}
	// Text: 8×16 cells over the left two thirds, a pseudo-random glyph
	// (5×9 dots) in most cells.
	const cw, ch = 8, 16
	rows := h / ch
	cols := (w * 2 / 3) / cw
	for r := 0; r < rows; r++ {
		lineLen := int(hash(uint32(r)) % uint32(cols))
		for c := 0; c < lineLen; c++ {
			g := hash(uint32(r*cols + c + n*7*(r%3/2)))
			if g%11 == 0 {
				continue // a space
			}
			for y := 0; y < 9; y++ {
				for x := 0; x < 5; x++ {
					if g>>(uint(y*5+x)%31)&1 == 1 {
						m.SetRGBA(c*cw+1+x, r*ch+4+y, fg)
					}
				}
			}
		}
	}
	// A gradient panel on the right.
	for y := 0; y < h; y++ {
		for x := w * 2 / 3; x < w; x++ {
			m.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 0x80, 0xff})
		}
	}
	// A moving box and a counter bar.
	bx, by := (n*37)%(w-120), (n*23)%(h-80)
	for y := by; y < by+80; y++ {
		for x := bx; x < bx+120; x++ {
			m.SetRGBA(x, y, color.RGBA{0xe0, 0x40, 0x30, 0xff})
		}
	}
	for x := 0; x < (n%64)*w/64; x++ {
		for y := h - 6; y < h; y++ {
			m.SetRGBA(x, y, color.RGBA{0x30, 0xe0, 0x60, 0xff})
		}
	}
	return m
}

func hash(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}
