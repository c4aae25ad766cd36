//go:build linux && cgo

package capture

/*
#include <stddef.h>
#include <linux/videodev2.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/vladimirvivien/go4vl/v4l2"
	"golang.org/x/sys/unix"

	"github.com/bmcd/bmcd/hardware"
)

// The Go decoders (v4l2types.go) read the kernel's structs at these
// sizes and offsets; a mismatch fails the build.
var (
	_ = [1]struct{}{}[C.sizeof_struct_v4l2_dv_timings-dvTimingsSize]
	_ = [1]struct{}{}[C.V4L2_EVENT_SOURCE_CHANGE-eventSourceChange]
	_ = [1]struct{}{}[C.V4L2_EVENT_SRC_CH_RESOLUTION-eventSrcChResolution]
)

// Built reports whether this binary can capture: true, go4vl is linked.
const Built = true

// Open makes the Display of cfg on a V4L2 device through go4vl. The
// device itself is opened on the first Watch (and again whenever it
// went away). Errors: ErrInvalid for a configuration Check refuses.
func Open(cfg Config, log *slog.Logger) (*Display, error) {
	return New(cfg, OpenV4L2, log)
}

// bufferCount is how many buffers are asked for (REQBUFS): one being
// converted, one being filled, and slack for a slow reader.
const bufferCount = 4

// v4l2Device is Device over go4vl's v4l2 package (format listing, G/S_FMT,
// S_PARM, REQBUFS, mmap, QBUF/DQBUF, STREAMON/OFF) and a few ioctls go4vl
// lacks (DV timings, events, S_INPUT), made here with x/sys/unix. It does
// not use go4vl's device.Device, whose stream loop panics on a dequeue
// error (a dongle pulled out).
type v4l2Device struct {
	path      string
	fd        uintptr
	bufs      [][]byte
	count     uint32
	streaming bool
}

// OpenV4L2 opens a V4L2 single-planar capture device with streaming I/O.
// Errors wrap hardware.ErrUnavailable for a missing or busy device, and
// hardware.ErrNotSupported for a node that is no such device.
func OpenV4L2(path string) (Device, error) {
	fd, err := v4l2.OpenDevice(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("capture: open %s: %w: %w", path, hardware.ErrUnavailable, err)
	}
	c, err := v4l2.GetCapability(fd)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("capture: %s: query capabilities: %w: %w", path, hardware.ErrUnavailable, err)
	}
	caps := c.GetCapabilities()
	if caps&v4l2.CapVideoCapture == 0 || caps&v4l2.CapStreaming == 0 {
		unix.Close(int(fd))
		return nil, fmt.Errorf("capture: %s (%s) is no single-planar streaming capture device: %w", path, c.Card, hardware.ErrNotSupported)
	}
	return &v4l2Device{path: path, fd: fd}, nil
}

// ioctl runs one ioctl, again after EINTR.
func ioctl(fd uintptr, req uint, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		default:
			return e
		}
	}
}

func (d *v4l2Device) Formats() ([]PixelFormat, error) {
	descs, err := v4l2.GetAllFormatDescriptions(d.fd)
	if err != nil && len(descs) == 0 {
		return nil, err
	}
	out := make([]PixelFormat, len(descs))
	for i, f := range descs {
		out[i] = PixelFormat(f.PixelFormat)
	}
	return out, nil
}

func (d *v4l2Device) SetInput(index int) error {
	i := C.int(index)
	return ioctl(d.fd, C.VIDIOC_S_INPUT, unsafe.Pointer(&i))
}

func (d *v4l2Device) DVTimings() (int, int, error) {
	var t C.struct_v4l2_dv_timings
	err := ioctl(d.fd, C.VIDIOC_QUERY_DV_TIMINGS, unsafe.Pointer(&t))
	switch {
	case errors.Is(err, unix.ENOTTY), errors.Is(err, unix.ENODATA), errors.Is(err, unix.EINVAL):
		return 0, 0, ErrNoTimings
	case errors.Is(err, unix.ENOLINK), errors.Is(err, unix.ENOLCK), errors.Is(err, unix.ERANGE):
		return 0, 0, fmt.Errorf("%w: %w", ErrNoSignal, err)
	case err != nil:
		return 0, 0, fmt.Errorf("query DV timings: %w", err)
	}
	bt, err := ParseDVTimings(unsafe.Slice((*byte)(unsafe.Pointer(&t)), dvTimingsSize))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrNoSignal, err)
	}
	if err := ioctl(d.fd, C.VIDIOC_S_DV_TIMINGS, unsafe.Pointer(&t)); err != nil {
		return 0, 0, fmt.Errorf("set DV timings %dx%d: %w", bt.Width, bt.Height, err)
	}
	return int(bt.Width), int(bt.Height), nil // the frame's height, interlaced or not
}

func (d *v4l2Device) SetFormat(f Format) (Format, error) {
	pf, err := v4l2.GetPixFormat(d.fd)
	if err != nil {
		return Format{}, err
	}
	pf.PixelFormat = uint32(f.Pixel)
	if f.Width > 0 && f.Height > 0 {
		pf.Width, pf.Height = uint32(f.Width), uint32(f.Height)
	}
	// The driver fills these in. (go4vl's PixFormat has one field more
	// than struct v4l2_pix_format: zeros keep the copy harmless.)
	pf.Field, pf.BytesPerLine, pf.SizeImage, pf.Priv, pf.Flags = 0, 0, 0, 0, 0
	pf.Colorspace, pf.YcbcrEnc, pf.HSVEnc, pf.Quantization, pf.XferFunc = 0, 0, 0, 0, 0
	if err := v4l2.SetPixFormat(d.fd, pf); err != nil {
		return Format{}, err
	}
	if pf, err = v4l2.GetPixFormat(d.fd); err != nil {
		return Format{}, err
	}
	return Format{Pixel: PixelFormat(pf.PixelFormat), Width: int(pf.Width), Height: int(pf.Height), Stride: int(pf.BytesPerLine)}, nil
}

func (d *v4l2Device) SetFPS(fps int) error {
	return v4l2.SetStreamParam(d.fd, v4l2.BufTypeVideoCapture, v4l2.StreamParam{
		Capture: v4l2.CaptureParam{TimePerFrame: v4l2.Fract{Numerator: 1, Denominator: uint32(fps)}},
	})
}

func (d *v4l2Device) SubscribeSourceChange() error {
	var id C.int
	if err := ioctl(d.fd, C.VIDIOC_G_INPUT, unsafe.Pointer(&id)); err != nil {
		id = 0
	}
	var sub C.struct_v4l2_event_subscription
	sub._type = C.V4L2_EVENT_SOURCE_CHANGE
	sub.id = C.__u32(id)
	return ioctl(d.fd, C.VIDIOC_SUBSCRIBE_EVENT, unsafe.Pointer(&sub))
}

func (d *v4l2Device) Start() error {
	if d.streaming {
		return nil
	}
	d.count = bufferCount
	req, err := v4l2.InitBuffers(d.stream())
	if err != nil {
		return err
	}
	if req.Count == 0 {
		return fmt.Errorf("capture: the driver gave no buffers")
	}
	d.count = req.Count
	if d.bufs, err = v4l2.MapMemoryBuffers(d.stream()); err != nil {
		v4l2.ResetBuffers(d.stream())
		d.bufs = nil
		return err
	}
	for i := uint32(0); i < d.count; i++ {
		if _, err := v4l2.QueueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, i); err != nil {
			d.release()
			return err
		}
	}
	if err := v4l2.StreamOn(d.stream()); err != nil {
		d.release()
		return err
	}
	d.streaming = true
	return nil
}

// release unmaps and frees the buffers.
func (d *v4l2Device) release() {
	if d.bufs != nil {
		v4l2.UnmapMemoryBuffers(d.stream())
		d.bufs = nil
	}
	v4l2.ResetBuffers(d.stream())
}

func (d *v4l2Device) Stop() error {
	if !d.streaming {
		return nil
	}
	d.streaming = false
	err := v4l2.StreamOff(d.stream())
	d.release()
	return err
}

func (d *v4l2Device) Read(timeout time.Duration, fn func([]byte)) (bool, error) {
	if !d.streaming { // poll says POLLERR on a stopped queue: look for events only
		deadline := time.Now().Add(timeout)
		for {
			if ch, err := d.dequeueEvents(); ch || err != nil {
				return ch, err
			}
			if time.Now().After(deadline) {
				return false, ErrTimeout
			}
			time.Sleep(min(50*time.Millisecond, timeout))
		}
	}
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN | unix.POLLPRI}}
	n, err := unix.Poll(fds, int(timeout/time.Millisecond))
	if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
		return false, ErrTimeout
	}
	if err != nil {
		return false, fmt.Errorf("poll: %w", err)
	}
	ev := fds[0].Revents
	if ev&unix.POLLPRI != 0 {
		if ch, err := d.dequeueEvents(); ch || err != nil {
			return ch, err
		}
	}
	if ev&(unix.POLLIN|unix.POLLERR|unix.POLLHUP) == 0 {
		return false, ErrTimeout
	}
	buf, err := v4l2.DequeueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture)
	if errors.Is(err, unix.EAGAIN) {
		if ev&(unix.POLLERR|unix.POLLHUP) != 0 {
			return false, fmt.Errorf("capture: the stream of %s failed (poll events %#x)", d.path, ev)
		}
		return false, ErrTimeout
	}
	if err != nil {
		return false, err
	}
	if int(buf.Index) >= len(d.bufs) {
		return false, fmt.Errorf("capture: the driver dequeued buffer %d of %d", buf.Index, len(d.bufs))
	}
	if buf.Flags&v4l2.BufFlagError == 0 && buf.BytesUsed > 0 {
		b := d.bufs[buf.Index]
		fn(b[:min(int(buf.BytesUsed), len(b))])
	}
	if _, err := v4l2.QueueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, buf.Index); err != nil {
		return false, err
	}
	return false, nil
}

// dequeueEvents reads the pending events (VIDIOC_DQEVENT), reporting
// whether one was a source change.
func (d *v4l2Device) dequeueEvents() (bool, error) {
	changed := false
	for {
		var e C.struct_v4l2_event
		err := ioctl(d.fd, C.VIDIOC_DQEVENT, unsafe.Pointer(&e))
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return changed, nil
		}
		if err != nil {
			return changed, fmt.Errorf("dequeue event: %w", err)
		}
		ev, err := ParseEvent(unsafe.Slice((*byte)(unsafe.Pointer(&e)), C.sizeof_struct_v4l2_event), int(unsafe.Offsetof(e.u)))
		if err == nil && ev.SourceChange() {
			changed = true
		}
	}
}

func (d *v4l2Device) Close() error {
	d.Stop()
	return unix.Close(int(d.fd))
}

// stream is the device as go4vl's buffer functions want it.
func (d *v4l2Device) stream() v4l2.StreamingDevice { return streamDev{d} }

type streamDev struct{ d *v4l2Device }

func (s streamDev) Name() string                { return s.d.path }
func (s streamDev) Fd() uintptr                 { return s.d.fd }
func (s streamDev) Capability() v4l2.Capability { return v4l2.Capability{} }
func (s streamDev) MemIOType() v4l2.IOType      { return v4l2.IOTypeMMAP }
func (s streamDev) GetOutput() <-chan []byte    { return nil }
func (s streamDev) SetInput(<-chan []byte)      {}
func (s streamDev) Close() error                { return nil }
func (s streamDev) Buffers() [][]byte           { return s.d.bufs }
func (s streamDev) BufferType() v4l2.BufType    { return v4l2.BufTypeVideoCapture }
func (s streamDev) BufferCount() uint32         { return s.d.count }
func (s streamDev) Start(context.Context) error { return nil }
func (s streamDev) Stop() error                 { return nil }
