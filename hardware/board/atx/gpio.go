package atx

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/warthog618/go-gpiocdev"
)

// Open requests cfg's lines from the kernel's GPIO character device
// (go-gpiocdev: chip and offset, or a line name found on any chip) and
// makes the ATX part of them with the real clock. Buttons are outputs,
// released at start; LEDs are inputs watched on both edges, with the
// kernel's debounce when InputDebounce is set and the driver supports it.
// Errors: ErrInvalid for a bad configuration, ErrUnavailable when a line
// cannot be had (no chip, line busy, no such name).
func Open(cfg Config) (*ATX, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	var lines Lines
	var opened []Line
	fail := func(err error) (*ATX, error) {
		for _, l := range opened {
			_ = l.Close()
		}
		return nil, err
	}
	for _, x := range []struct {
		key string
		p   *Pin
		out bool
		dst *Line
	}{
		{"power_button", cfg.PowerButton, true, &lines.PowerButton},
		{"reset_button", cfg.ResetButton, true, &lines.ResetButton},
		{"power_led", cfg.PowerLED, false, &lines.PowerLED},
		{"hdd_led", cfg.HDDLED, false, &lines.HDDLED},
	} {
		if x.p == nil {
			continue
		}
		l, err := openLine(cfg.Chip, *x.p, x.out, cfg.InputDebounce)
		if err != nil {
			return fail(fmt.Errorf("atx.%s: %w: %w", x.key, hardware.ErrUnavailable, err))
		}
		opened = append(opened, l)
		*x.dst = l
	}
	a, err := New(lines, cfg.Timings(), nil)
	if err != nil {
		return fail(err)
	}
	return a, nil
}

// gpioLine is a Line on a go-gpiocdev line request.
type gpioLine struct {
	l       *gpiocdev.Line
	handler atomic.Pointer[func(Edge)]
}

// ChipFunc opens line offset of a chip that is not the kernel's: output
// for a button, input for a LED. The line is in its active sense.
type ChipFunc func(offset int, output bool) (Line, error)

var (
	chipsMu sync.Mutex
	chips   = map[string]ChipFunc{}
)

// RegisterChip makes Open take the lines of chip name from open instead
// of the kernel's GPIO character device: a simulated front panel
// (hardware/board/atx/atxsim, in binaries built with the atxsim tag) for
// tests where the machine has no GPIO. Pins of such a chip are named by
// offset, and active_low does not apply. It panics on a second name.
func RegisterChip(name string, open ChipFunc) {
	chipsMu.Lock()
	defer chipsMu.Unlock()
	if _, dup := chips[name]; dup {
		panic("atx: chip " + name + " registered twice")
	}
	chips[name] = open
}

func openLine(defChip string, p Pin, out bool, debounce time.Duration) (Line, error) {
	chip := p.Chip
	if chip == "" {
		chip = defChip
	}
	if chip == "" {
		chip = "gpiochip0"
	}
	chipsMu.Lock()
	open := chips[chip]
	chipsMu.Unlock()
	if open != nil {
		if p.Offset == nil {
			return nil, fmt.Errorf("chip %q: pins are named by offset", chip)
		}
		return open(*p.Offset, out)
	}
	offset := 0
	if p.Offset != nil {
		offset = *p.Offset
	} else {
		c, o, err := gpiocdev.FindLine(p.Name)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", p.Name, err)
		}
		chip, offset = c, o
	}
	g := &gpioLine{}
	opts := []gpiocdev.LineReqOption{gpiocdev.WithConsumer("bmcd-atx")}
	if p.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	if out {
		l, err := gpiocdev.RequestLine(chip, offset, append(opts, gpiocdev.AsOutput(0))...)
		if err != nil {
			return nil, err
		}
		g.l = l
		return g, nil
	}
	opts = append(opts, gpiocdev.AsInput, gpiocdev.WithBothEdges, gpiocdev.WithEventHandler(g.event))
	var l *gpiocdev.Line
	var err error
	if debounce > 0 {
		l, err = gpiocdev.RequestLine(chip, offset, append(opts, gpiocdev.WithDebounce(debounce))...)
		if err != nil && !errors.Is(err, gpiocdev.ErrPermissionDenied) {
			// An old kernel (uAPI v1) or a driver without debounce: ours suffices.
			l, err = gpiocdev.RequestLine(chip, offset, opts...)
		}
	} else {
		l, err = gpiocdev.RequestLine(chip, offset, opts...)
	}
	if err != nil {
		return nil, err
	}
	g.l = l
	return g, nil
}

func (g *gpioLine) event(e gpiocdev.LineEvent) {
	f := g.handler.Load()
	if f == nil {
		return
	}
	v := 0
	if e.Type == gpiocdev.LineEventRisingEdge { // active, after active-low
		v = 1
	}
	(*f)(Edge{Value: v})
}

func (g *gpioLine) SetValue(v int) error { return g.l.SetValue(v) }
func (g *gpioLine) Value() (int, error)  { return g.l.Value() }
func (g *gpioLine) Watch(f func(Edge))   { g.handler.Store(&f) }
func (g *gpioLine) Close() error         { return g.l.Close() }
