package capture

import (
	"errors"
	"fmt"
	"time"
)

// PixelFormat is a V4L2 pixel format's FourCC (videodev2.h,
// V4L2_PIX_FMT_*).
type PixelFormat uint32

// The pixel formats capture uses.
const (
	PixYUYV  PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24 // V4L2_PIX_FMT_YUYV
	PixUYVY  PixelFormat = 'U' | 'Y'<<8 | 'V'<<16 | 'Y'<<24 // V4L2_PIX_FMT_UYVY
	PixMJPEG PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24 // V4L2_PIX_FMT_MJPEG
	PixJPEG  PixelFormat = 'J' | 'P'<<8 | 'E'<<16 | 'G'<<24 // V4L2_PIX_FMT_JPEG
)

// String is the FourCC as text ("YUYV").
func (p PixelFormat) String() string {
	b := []byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// jpeg reports a format whose frames are JPEG pictures.
func (p PixelFormat) jpeg() bool { return p == PixMJPEG || p == PixJPEG }

// Format is a capture format (struct v4l2_pix_format, the fields capture
// uses): size in pixels, bytes per line (0: packed), pixel format.
type Format struct {
	Pixel         PixelFormat
	Width, Height int
	Stride        int
}

func (f Format) String() string {
	return fmt.Sprintf("%s %dx%d", f.Pixel, f.Width, f.Height)
}

// Errors of a Device.
var (
	// ErrTimeout: Read found neither frame nor event in its time.
	ErrTimeout = errors.New("capture: no frame in time")
	// ErrNoSignal: the input has no signal, or one the device cannot
	// lock on (VIDIOC_QUERY_DV_TIMINGS said ENOLINK, ENOLCK or ERANGE).
	ErrNoSignal = errors.New("capture: no signal")
	// ErrNoTimings: the device has no DV timings (a UVC dongle, a
	// webcam): its size is set with S_FMT.
	ErrNoTimings = errors.New("capture: device has no DV timings")
)

// Device is a V4L2 capture device as capture uses it: the go4vl adapter
// on Linux with cgo, fakes in tests. It is used by one goroutine at a
// time.
type Device interface {
	// Formats lists the pixel formats the device offers
	// (VIDIOC_ENUM_FMT).
	Formats() ([]PixelFormat, error)
	// SetInput selects the video input by index (VIDIOC_S_INPUT).
	SetInput(index int) error
	// DVTimings queries the input's digital video timings and sets them
	// (VIDIOC_QUERY_DV_TIMINGS, VIDIOC_S_DV_TIMINGS), returning the active
	// size. Errors: ErrNoTimings when the device has none, ErrNoSignal
	// when there is no stable signal.
	DVTimings() (width, height int, err error)
	// SetFormat asks for f (VIDIOC_S_FMT; a zero size keeps the device's)
	// and returns the format the driver chose (VIDIOC_G_FMT).
	SetFormat(f Format) (Format, error)
	// SetFPS asks for a frame rate (VIDIOC_S_PARM); drivers may ignore it.
	SetFPS(fps int) error
	// SubscribeSourceChange asks for V4L2_EVENT_SOURCE_CHANGE events;
	// an error means the device has none (capture then relies on
	// timeouts).
	SubscribeSourceChange() error
	// Start allocates and queues the buffers and starts streaming
	// (VIDIOC_REQBUFS, QBUF, STREAMON).
	Start() error
	// Read waits up to timeout for the next frame or event. For a frame
	// it calls fn with the frame's bytes, valid only during the call,
	// and requeues the buffer; it returns sourceChange true for a
	// V4L2_EVENT_SOURCE_CHANGE. Errors: ErrTimeout; any other error means
	// the stream is broken (the device is gone, or the driver stopped).
	Read(timeout time.Duration, fn func(frame []byte)) (sourceChange bool, err error)
	// Stop stops streaming and frees the buffers (STREAMOFF, REQBUFS 0).
	Stop() error
	// Close closes the device (stopping it first).
	Close() error
}

// Opener opens the capture device at path. Errors: the device is missing
// or busy (capture retries), or is no capture device.
type Opener func(path string) (Device, error)
