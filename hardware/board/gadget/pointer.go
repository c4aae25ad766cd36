package gadget

import (
	"fmt"
	"io"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// Pointer is hardware.Pointer on the gadget's mouse functions: absolute
// events go to the tablet (7-byte reports: buttons, X and Y
// little-endian 0..hardware.PointerMax as they are, the descriptor's
// logical range being the same, wheel, horizontal pan), relative ones to
// the relative mouse when the gadget has it (5-byte reports: buttons,
// DX, DY, wheel, pan).
type Pointer struct {
	mu       sync.Mutex
	abs, rel io.WriteCloser
	// A report that failed is written again (see resend): the absolute
	// one as it was, the relative one as its buttons without motion.
	absRetry, relRetry resend
	closed             bool
}

var _ hardware.Pointer = (*Pointer)(nil)

// OpenPointer opens the tablet's device node (AbsoluteDevice,
// /dev/hidg1) and, with RelativeMouse, the relative mouse's
// (RelativeDevice, /dev/hidg2). Errors: ErrUnavailable.
func (g *Gadget) OpenPointer() (*Pointer, error) {
	abs, err := openDevice(g.cfg.AbsoluteDevice)
	if err != nil {
		return nil, err
	}
	var rel io.WriteCloser
	if g.cfg.RelativeMouse {
		f, err := openDevice(g.cfg.RelativeDevice)
		if err != nil {
			abs.Close()
			return nil, err
		}
		rel = f
	}
	return NewPointer(abs, rel), nil
}

// NewPointer writes absolute reports to abs and relative ones to rel;
// either may be nil (that mode is then missing).
func NewPointer(abs, rel io.WriteCloser) *Pointer { return &Pointer{abs: abs, rel: rel} }

// PointerModes implements hardware.Pointer.
func (p *Pointer) PointerModes() (absolute, relative bool) { return p.abs != nil, p.rel != nil }

// Point implements hardware.Pointer. Errors: ErrInvalid (see
// PointerEvent.Check; a mode the gadget lacks; DX, DY, Wheel or HWheel
// outside -127..127); ErrUnavailable when the report cannot be written.
func (p *Pointer) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	r, err := Report(e)
	if err != nil {
		return err
	}
	dev := p.rel
	if e.Absolute {
		dev = p.abs
	}
	if dev == nil {
		mode := "relative"
		if e.Absolute {
			mode = "absolute"
		}
		return fmt.Errorf("pointer: no %s mouse in the gadget: %w", mode, hardware.ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("pointer closed: %w", hardware.ErrUnavailable)
	}
	retry, again := &p.relRetry, []byte{r[0], 0, 0, 0, 0}
	if e.Absolute {
		retry, again = &p.absRetry, append(r[:5:5], 0, 0) // no wheel turned twice
	}
	retry.stop()
	err = writeReport(dev, r)
	retry.after(err, &p.mu, func() error { return writeReportWithin(dev, again, RetryWriteTimeout) })
	return err
}

// Report is e's input report: AbsoluteReportLength bytes for an absolute
// event, RelativeReportLength for a relative one. Errors: ErrInvalid.
func Report(e hardware.PointerEvent) ([]byte, error) {
	if err := e.Check(); err != nil {
		return nil, err
	}
	in := func(name string, v int) error {
		if v < -127 || v > 127 {
			return fmt.Errorf("pointer %s %d outside -127..127: %w", name, v, hardware.ErrInvalid)
		}
		return nil
	}
	for _, x := range []struct {
		n string
		v int
	}{{"wheel", e.Wheel}, {"hwheel", e.HWheel}} {
		if err := in(x.n, x.v); err != nil {
			return nil, err
		}
	}
	b := byte(e.Buttons) & 0x1F
	if e.Absolute {
		return []byte{b, byte(e.X), byte(e.X >> 8), byte(e.Y), byte(e.Y >> 8), byte(int8(e.Wheel)), byte(int8(e.HWheel))}, nil
	}
	if err := in("dx", e.DX); err != nil {
		return nil, err
	}
	if err := in("dy", e.DY); err != nil {
		return nil, err
	}
	return []byte{b, byte(int8(e.DX)), byte(int8(e.DY)), byte(int8(e.Wheel)), byte(int8(e.HWheel))}, nil
}

// Close closes the device nodes.
func (p *Pointer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.absRetry.stop()
	p.relRetry.stop()
	var err error
	for _, d := range []io.WriteCloser{p.abs, p.rel} {
		if d != nil {
			if e := d.Close(); err == nil {
				err = e
			}
		}
	}
	return err
}
