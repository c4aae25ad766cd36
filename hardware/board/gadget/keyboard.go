package gadget

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// WriteTimeout bounds one report's write to a /dev/hidgN node: the
// kernel's f_hid holds a write until the host has fetched the previous
// report, which a host that is off or has not enumerated the device
// never does.
var WriteTimeout = 500 * time.Millisecond

// ErrorRollOver is the usage a boot keyboard reports in every key slot
// while more keys are down than its six slots hold (HID Usage Tables
// 1.4 §10, "Keyboard ErrorRollOver"; HID 1.11 Appendix C).
const ErrorRollOver = 0x01

// openDevice opens a /dev/hidgN node read-write. Errors: ErrUnavailable
// (no such node: the gadget not created, usb_f_hid not loaded).
func openDevice(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("hid device %s: %w: %w", path, hardware.ErrUnavailable, err)
	}
	return f, nil
}

// writeReport writes one report, within WriteTimeout where dev can have
// a deadline. Errors: ErrUnavailable (a timeout, the function disabled
// while unbound: ESHUTDOWN, any I/O error).
func writeReport(dev io.Writer, report []byte) error {
	return writeReportWithin(dev, report, WriteTimeout)
}

// writeReportWithin is writeReport within timeout.
func writeReportWithin(dev io.Writer, report []byte, timeout time.Duration) error {
	if d, ok := dev.(interface{ SetWriteDeadline(time.Time) error }); ok {
		_ = d.SetWriteDeadline(time.Now().Add(timeout))
	}
	if _, err := dev.Write(report); err != nil {
		why := "write"
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			why = "host not reading reports"
		case errors.Is(err, syscall.ESHUTDOWN):
			why = "gadget not bound"
		}
		return fmt.Errorf("hid report: %s: %w: %w", why, hardware.ErrUnavailable, err)
	}
	return nil
}

// Keyboard is hardware.Keyboard on the gadget's boot keyboard function:
// each Key writes the 8-byte input report of the keys then down (byte 0
// the modifier bits, byte 1 reserved, bytes 2..7 up to six key usages in
// the order pressed). With more than six non-modifier keys down, the six
// slots all hold ErrorRollOver, as the boot protocol says, until enough
// are released. The LEDs are the output reports the host writes (bit 0
// Num Lock, 1 Caps Lock, 2 Scroll Lock), read by a goroutine until
// Close.
type Keyboard struct {
	dev io.ReadWriteCloser

	mu       sync.Mutex
	mods     byte
	keys     []hardware.KeyCode // non-modifier keys down, in press order
	leds     hardware.KeyboardLEDs
	watchers map[chan struct{}]struct{}
	closed   bool
	done     chan struct{}
	// retry rewrites the present report after a write that failed.
	retry resend
}

// OpenKeyboard opens the keyboard function's device node (the gadget's
// KeyboardDevice, /dev/hidg0). Errors: ErrUnavailable.
func (g *Gadget) OpenKeyboard() (*Keyboard, error) {
	f, err := openDevice(g.cfg.KeyboardDevice)
	if err != nil {
		return nil, err
	}
	return NewKeyboard(f), nil
}

// NewKeyboard drives the keyboard on dev: reports are written to it,
// LED output reports read from it until Close (which closes dev).
func NewKeyboard(dev io.ReadWriteCloser) *Keyboard {
	k := &Keyboard{dev: dev, watchers: map[chan struct{}]struct{}{}, done: make(chan struct{})}
	go k.readLEDs()
	return k
}

var _ hardware.Keyboard = (*Keyboard)(nil)

// readLEDs reads the host's output reports: one byte each (a report
// with a report ID would be two; the last byte holds the LEDs either
// way).
func (k *Keyboard) readLEDs() {
	defer close(k.done)
	buf := make([]byte, 64)
	for {
		n, err := k.dev.Read(buf)
		if n > 0 {
			b := buf[n-1]
			k.setLEDs(hardware.KeyboardLEDs{NumLock: b&1 != 0, CapsLock: b&2 != 0, ScrollLock: b&4 != 0})
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, fs.ErrClosed) || k.isClosed() {
				return
			}
			// A disabled function (ESHUTDOWN while unbound) or another
			// transient error: try again shortly.
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (k *Keyboard) isClosed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.closed
}

func (k *Keyboard) setLEDs(l hardware.KeyboardLEDs) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l == k.leds {
		return
	}
	k.leds = l
	for c := range k.watchers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Key implements hardware.Keyboard. Errors: ErrInvalid for a code that
// is not Valid; ErrUnavailable when the report cannot be written (the
// key's state is kept, and the report is written again shortly and by
// the next Key, so that a release that failed does not leave the key
// down on the host).
func (k *Keyboard) Key(code hardware.KeyCode, down bool) error {
	if !code.Valid() {
		return fmt.Errorf("key usage 0x%02x: %w", uint16(code), hardware.ErrInvalid)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return fmt.Errorf("keyboard closed: %w", hardware.ErrUnavailable)
	}
	if code.Modifier() {
		bit := byte(1) << (code - hardware.KeyLeftCtrl)
		if down {
			k.mods |= bit
		} else {
			k.mods &^= bit
		}
	} else {
		i := -1
		for j, c := range k.keys {
			if c == code {
				i = j
			}
		}
		switch {
		case down && i < 0:
			k.keys = append(k.keys, code)
		case !down && i >= 0:
			k.keys = append(k.keys[:i], k.keys[i+1:]...)
		}
	}
	return k.writeLocked()
}

// writeLocked writes the present report; when that fails, it is written
// again later (see resend) and the error returned.
func (k *Keyboard) writeLocked() error {
	k.retry.stop()
	err := writeReport(k.dev, k.report())
	k.retry.after(err, &k.mu, func() error { return writeReportWithin(k.dev, k.report(), RetryWriteTimeout) })
	return err
}

// report is the input report of the keys down now.
func (k *Keyboard) report() []byte {
	r := make([]byte, KeyboardReportLength)
	r[0] = k.mods
	if len(k.keys) > 6 {
		for i := 2; i < 8; i++ {
			r[i] = ErrorRollOver
		}
		return r
	}
	for i, c := range k.keys {
		r[2+i] = byte(c)
	}
	return r
}

// ReleaseAll releases every key with one report (a console that lost
// its client). Errors: as Key.
func (k *Keyboard) ReleaseAll() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mods, k.keys = 0, nil
	if k.closed {
		return fmt.Errorf("keyboard closed: %w", hardware.ErrUnavailable)
	}
	return k.writeLocked()
}

// LEDs implements hardware.Keyboard.
func (k *Keyboard) LEDs() hardware.KeyboardLEDs {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.leds
}

// WatchLEDs implements hardware.Keyboard.
func (k *Keyboard) WatchLEDs() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	k.mu.Lock()
	k.watchers[c] = struct{}{}
	k.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			k.mu.Lock()
			delete(k.watchers, c)
			k.mu.Unlock()
		})
	}
}

// Close closes the device and waits for the LED reader to end.
func (k *Keyboard) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	k.retry.stop()
	k.mu.Unlock()
	err := k.dev.Close()
	<-k.done
	return err
}
