package hardware

import (
	"image"
	"time"
)

// Display is the machine's screen as a video source: a simulated
// framebuffer, a virtual machine's graphics console, an HDMI capture
// device. The console (kvm/) encodes and sends its frames; a backend with
// no screen has DisabledDisplay.
//
// A source may capture only while someone watches: Watch starts it, and it
// may stop once every watcher called stop.
type Display interface {
	// Watch registers a watcher and returns a channel that receives a
	// value after each change of the picture (capacity 1: changes that
	// come faster than the watcher reads coalesce into one), and stop,
	// which the watcher calls exactly once when it leaves. A disabled
	// display returns a channel that never receives.
	Watch() (changed <-chan struct{}, stop func())
	// Frame returns the current picture. It does not block on capture: it
	// gives the last picture captured, or a Frame without Image when
	// there is none (no signal, machine off, nobody watching yet).
	Frame() Frame
}

// LiveDisplay is implemented by a Display whose picture is kept current
// only at times: a VM's screen read over a VNC connection that is open
// only while someone watches. Live reports whether Frame is the picture
// as it is now; when it is not, a caller that wants the picture now (a
// snapshot) watches until a new frame comes. A Display without it is
// always current (the simulation's framebuffer).
type LiveDisplay interface {
	Live() bool
}

// Frame is one picture of a Display.
type Frame struct {
	// Seq numbers the pictures: it grows with every change, so a viewer
	// that already sent Seq sends nothing new. Zero is "no picture yet".
	Seq uint64
	// Image is the picture; nil when the source has no signal (the host
	// is off, or no cable). Frames are immutable: a change comes as a new
	// Frame with a new Image, so callers may keep and read an Image
	// without locking but must not modify it.
	Image image.Image
	// JPEG is the same picture already encoded, when the source gives JPEG
	// (an MJPEG capture device); nil otherwise. A pipeline sends it as it
	// is instead of encoding Image again.
	JPEG []byte
	// Dirty lists the areas (in Image coordinates) that differ from the
	// frame numbered DirtySince; nil means unknown: treat the whole
	// picture as changed. A viewer whose last sent frame is not
	// DirtySince repaints everything.
	Dirty      []image.Rectangle
	DirtySince uint64
	// Time is when the picture was captured or drawn.
	Time time.Time
}

// Size is the picture's size in pixels, zero without a picture.
func (f Frame) Size() image.Point {
	if f.Image == nil {
		return image.Point{}
	}
	return f.Image.Bounds().Size()
}

// DisabledDisplay is the display of a machine without a screen: no
// picture, ever.
type DisabledDisplay struct{}

// Watch implements Display: the channel never receives.
func (DisabledDisplay) Watch() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }

// Frame implements Display: always no picture.
func (DisabledDisplay) Frame() Frame { return Frame{} }
