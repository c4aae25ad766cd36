package capture

import (
	"fmt"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// DefaultDevice is the capture device used when Config.Device is empty.
const DefaultDevice = "/dev/video0"

// Formats of Config.Format.
const (
	FormatAuto  = "auto"  // MJPEG when the device offers it, else YUYV, else UYVY
	FormatMJPEG = "mjpeg" // Motion-JPEG (also V4L2's JPEG), passed through
	FormatYUYV  = "yuyv"  // YUYV 4:2:2, encoded once by the console
	FormatUYVY  = "uyvy"  // UYVY 4:2:2 (HDMI-to-CSI bridges), likewise
)

// Config is the board's `capture:` block (docs/board.md, "HDMI
// capture"). Width, Height and FPS are hints: a device with DV timings
// (an HDMI bridge such as the TC358743) takes the size of its input
// instead, and the driver may round any of them to what it supports.
type Config struct {
	// Device is the V4L2 capture node (DefaultDevice when empty).
	Device string `yaml:"device" validate:"omitempty,startswith=/,max=255"`
	// Format is auto (the default: MJPEG, else YUYV, else UYVY), mjpeg,
	// yuyv or uyvy.
	Format string `yaml:"format" validate:"omitempty,oneof=auto mjpeg yuyv uyvy"`
	// Input selects the device's video input by index (VIDIOC_S_INPUT);
	// nil leaves the driver's current input (a dongle has one).
	Input *int `yaml:"input" validate:"omitempty,min=0,max=255"`
	// Width and Height in pixels, FPS in frames a second: 0 keeps the
	// device's own.
	Width  int `yaml:"width" validate:"min=0,max=8192"`
	Height int `yaml:"height" validate:"min=0,max=8192"`
	FPS    int `yaml:"fps" validate:"min=0,max=240"`
	// NoSignalAfter is how long without a frame means "no signal" (2 s
	// when zero).
	NoSignalAfter time.Duration `yaml:"no_signal_after" validate:"min=0,max=1m"`
	// Linger is how long capture goes on after the last watcher left
	// (5 s when zero), so that a page reload does not reopen the device.
	Linger time.Duration `yaml:"linger" validate:"min=0,max=10m"`
}

// Defaults of Config's durations.
const (
	DefaultNoSignalAfter = 2 * time.Second
	DefaultLinger        = 5 * time.Second
)

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Format == "" {
		c.Format = FormatAuto
	}
	if c.NoSignalAfter <= 0 {
		c.NoSignalAfter = DefaultNoSignalAfter
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	return c
}

// Check reports what the validate tags cannot: a width without a height
// (or the reverse), an odd width (YUYV carries pixels in pairs). Errors
// name the key ("capture.width: ...") and wrap ErrInvalid.
func (c Config) Check() error {
	if (c.Width == 0) != (c.Height == 0) {
		return fmt.Errorf("capture.width: give both width and height, or neither: %w", hardware.ErrInvalid)
	}
	if c.Width%2 != 0 {
		return fmt.Errorf("capture.width: %d is odd; YUYV and UYVY pack two pixels together, and HDMI modes are even: %w", c.Width, hardware.ErrInvalid)
	}
	if c.NoSignalAfter < 0 || (c.NoSignalAfter > 0 && c.NoSignalAfter < 100*time.Millisecond) {
		return fmt.Errorf("capture.no_signal_after: %s is below 100ms: %w", c.NoSignalAfter, hardware.ErrInvalid)
	}
	return nil
}
