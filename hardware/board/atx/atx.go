// Package atx is a server's front panel wired to a Linux board's GPIO
// lines, as PiKVM wires it: the power and reset buttons driven as outputs
// (through optocouplers or relays, in parallel with the case's buttons),
// the power and HDD LEDs read as inputs. ATX implements hardware.Power.
//
// The power state is the power LED's, debounced: the state follows the
// LED only once the LED has held its new level for Timings.LEDDebounce
// (2 s by default). A LED that blinks faster than that (S3 sleep on many
// boards) leaves the state where it was: a server that goes to sleep stays
// On. A server switched on or off by hand is seen the same way, and every
// change is reported (hardware.Host.PowerChanged) once.
package atx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Lines are the ATX part's GPIO lines. PowerButton and PowerLED are
// required; ResetButton and HDDLED may be nil.
type Lines struct {
	PowerButton, ResetButton Line // outputs
	PowerLED, HDDLED         Line // inputs
}

// ATX is the power control of a server through its front-panel pins. Its
// methods are safe for concurrent use.
type ATX struct {
	lines Lines
	t     Timings
	clk   Clock

	mu       sync.Mutex
	host     hardware.Host
	state    hardware.PowerState // debounced from the power LED
	led      int                 // the power LED's last level
	ledGen   uint64              // bumps at each LED edge: stale debounce timers do nothing
	ledTimer Timer
	hdd      int
	busy     bool // a press sequence runs
	// aim is the state the running sequence forces ("": none, or one the
	// OS decides); ended is closed when it ends. A reset that aims at the
	// same state waits for it instead of being refused as busy.
	aim   hardware.PowerState
	ended chan struct{}
	// expect is the state the last press sequence forced (a press that
	// powers an off server on, a long press that forces it off), until
	// the debounced LED shows it or settleWindow after LEDDebounce has
	// passed, or the LED settles at all ("": none). It is the power state
	// meanwhile, and the next
	// reset's presses are chosen from it, so an On right after an On (the
	// LED not yet debounced) does not press again and shut down a server
	// that is booting. An ACPI shutdown sets none: the OS may ignore it.
	expect      hardware.PowerState
	expectGen   uint64
	expectTimer Timer
	reported    hardware.PowerState // the state last reported to the host
	timer       Timer               // the press sequence's pending step
	pressed     Line                // the button held now, released at Close
	done        chan<- error        // the running Reset's answer
	closed      bool
}

// New makes the ATX part of lines, with timings t (zero: defaults) and
// clk (nil: the real clock). It reads the LEDs once for the initial
// state. Errors: ErrInvalid for missing lines or timings out of order,
// ErrUnavailable when a LED cannot be read.
func New(lines Lines, t Timings, clk Clock) (*ATX, error) {
	if lines.PowerButton == nil || lines.PowerLED == nil {
		return nil, fmt.Errorf("atx: power button and power LED lines are required: %w", hardware.ErrInvalid)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	if clk == nil {
		clk = RealClock{}
	}
	a := &ATX{lines: lines, t: t.withDefaults(), clk: clk, state: hardware.PowerOff}
	a.mu.Lock()
	defer a.mu.Unlock()
	v, err := lines.PowerLED.Value()
	if err != nil {
		return nil, fmt.Errorf("atx: power LED: %w: %w", hardware.ErrUnavailable, err)
	}
	a.led = v
	if v != 0 {
		a.state = hardware.PowerOn
	}
	a.reported = a.state
	lines.PowerLED.Watch(a.powerLEDEdge)
	if lines.HDDLED != nil {
		if a.hdd, err = lines.HDDLED.Value(); err != nil {
			return nil, fmt.Errorf("atx: HDD LED: %w: %w", hardware.ErrUnavailable, err)
		}
		lines.HDDLED.Watch(a.hddLEDEdge)
	}
	return a, nil
}

// Attach makes a report every later power change to h.
func (a *ATX) Attach(h hardware.Host) {
	a.mu.Lock()
	a.host = h
	a.mu.Unlock()
}

// ResetTypes implements hardware.Power: On, ForceOn, ForceOff,
// GracefulShutdown, PushPowerButton, PowerCycle, and ForceRestart when a
// reset button is wired.
func (a *ATX) ResetTypes() []hardware.ResetType {
	rt := []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOn, hardware.ResetForceOff, hardware.ResetGracefulShutdown}
	if a.lines.ResetButton != nil {
		rt = append(rt, hardware.ResetForceRestart)
	}
	return append(rt, hardware.ResetPushPowerButton, hardware.ResetPowerCycle)
}

// PowerState implements hardware.Power: the debounced power LED, On or
// Off, or the state the last press sequence forced until the LED shows it
// (see ATX.expect).
func (a *ATX) PowerState(context.Context) (hardware.PowerState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.effectiveLocked(), nil
}

// HDDActive reports whether the HDD LED is lit now (false without one).
func (a *ATX) HDDActive() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hdd != 0
}

// settleWindow is how long, beyond LEDDebounce, a press sequence's
// expected state stands in for a LED that has not shown it yet (a server
// that takes long to light it, an OS that takes long to shut down).
const settleWindow = 10 * time.Second

// effectiveLocked is the state the next reset starts from: the expected
// one while it stands, else the debounced LED's.
func (a *ATX) effectiveLocked() hardware.PowerState {
	if a.expect != "" {
		return a.expect
	}
	return a.state
}

// forced is the state reset r forces from s ("": none, or one the OS
// decides: an ACPI shutdown).
func forced(r hardware.ResetType, s hardware.PowerState) hardware.PowerState {
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn, hardware.ResetPowerCycle, hardware.ResetForceRestart:
		return hardware.PowerOn
	case hardware.ResetForceOff:
		return hardware.PowerOff
	case hardware.ResetPushPowerButton:
		if s == hardware.PowerOff {
			return hardware.PowerOn
		}
	}
	return ""
}

// notifyLocked returns the report of a change of the effective state
// since the last one (nil: none), to be called without the lock.
func (a *ATX) notifyLocked() func() {
	from, to := a.reported, a.effectiveLocked()
	if from == to || a.host == nil {
		return nil
	}
	a.reported = to
	h := a.host
	return func() { h.PowerChanged(from, to) }
}

// expectLocked makes want the expected state for LEDDebounce plus
// settleWindow, or until the LED shows it. The caller reports the change
// (notifyLocked).
func (a *ATX) expectLocked(want hardware.PowerState) {
	if a.expectTimer != nil {
		a.expectTimer.Stop()
		a.expectTimer = nil
	}
	a.expectGen++
	if want == "" || want == a.state {
		a.expect = ""
		return
	}
	a.expect = want
	gen := a.expectGen
	a.expectTimer = a.clk.AfterFunc(a.t.LEDDebounce+settleWindow, func() {
		a.mu.Lock()
		var notify func()
		if gen == a.expectGen && !a.closed {
			a.expect, a.expectTimer = "", nil
			notify = a.notifyLocked()
		}
		a.mu.Unlock()
		if notify != nil {
			notify()
		}
	})
}

// step is one button press: hold line for d, then wait gap.
type step struct {
	line Line
	hold time.Duration
	gap  time.Duration
}

// presses is the press sequence r takes from state s; none when the
// state is already where r ends.
func (a *ATX) presses(r hardware.ResetType, s hardware.PowerState) ([]step, error) {
	on := s != hardware.PowerOff
	short := step{line: a.lines.PowerButton, hold: a.t.ShortPress}
	long := step{line: a.lines.PowerButton, hold: a.t.LongPress}
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn:
		if on {
			return nil, nil
		}
		return []step{short}, nil
	case hardware.ResetForceOff:
		if !on {
			return nil, nil
		}
		return []step{long}, nil
	case hardware.ResetGracefulShutdown:
		if !on {
			return nil, nil
		}
		return []step{short}, nil
	case hardware.ResetPushPowerButton:
		return []step{short}, nil
	case hardware.ResetPowerCycle:
		if !on {
			return []step{short}, nil
		}
		long.gap = a.t.PowerCycleDelay
		return []step{long, short}, nil
	case hardware.ResetForceRestart:
		if a.lines.ResetButton == nil {
			break
		}
		if !on {
			return []step{short}, nil // from Off it powers on
		}
		return []step{{line: a.lines.ResetButton, hold: a.t.ResetPress}}, nil
	}
	return nil, fmt.Errorf("atx: reset %s: %w", r, hardware.ErrNotSupported)
}

// Reset implements hardware.Power. It presses the buttons r needs from
// the present state (see the package doc's table in docs/board.md) and
// returns once they are released, or when ctx ends (the press then runs
// to its end all the same). The power state follows the LED afterwards.
// A reset that forces the state the running sequence forces (an On
// while an On or a PowerCycle runs, a ForceOff while a ForceOff runs: a
// client's retry) waits for it and presses nothing. Errors: ErrBusy while
// another press runs, ErrNotSupported for a type not in ResetTypes,
// ErrUnavailable when a line cannot be driven or the part is closed.
func (a *ATX) Reset(ctx context.Context, r hardware.ResetType) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return fmt.Errorf("atx: closed: %w", hardware.ErrUnavailable)
	}
	if a.busy {
		if aim := forced(r, a.effectiveLocked()); aim != "" && aim == a.aim {
			ended := a.ended
			a.mu.Unlock()
			select {
			case <-ended:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		a.mu.Unlock()
		return fmt.Errorf("atx: a button press is running: %w", hardware.ErrBusy)
	}
	from := a.effectiveLocked()
	steps, err := a.presses(r, from)
	if err != nil || len(steps) == 0 {
		a.mu.Unlock()
		return err
	}
	a.busy, a.aim, a.ended = true, forced(r, from), make(chan struct{})
	done := make(chan error, 1)
	a.pressLocked(steps, a.aim, done)
	a.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pressLocked presses steps[0] and schedules its release and the rest;
// after the last, want becomes the expected state.
func (a *ATX) pressLocked(steps []step, want hardware.PowerState, done chan<- error) {
	if a.closed {
		a.endLocked()
		done <- fmt.Errorf("atx: closed: %w", hardware.ErrUnavailable)
		return
	}
	a.done = done
	s := steps[0]
	if err := s.line.SetValue(1); err != nil {
		_ = s.line.SetValue(0)
		a.endLocked()
		done <- fmt.Errorf("atx: press: %w: %w", hardware.ErrUnavailable, err)
		return
	}
	a.pressed = s.line
	a.timer = a.clk.AfterFunc(s.hold, func() {
		// The host hears of the change before Reset returns: whoever
		// reads the new state finds its event logged.
		var notify func()
		finished := false
		a.mu.Lock()
		defer func() {
			a.mu.Unlock()
			if notify != nil {
				notify()
			}
			if finished {
				done <- nil
			}
		}()
		if a.closed {
			return // Close released it and answered
		}
		a.pressed = nil
		if err := s.line.SetValue(0); err != nil {
			a.endLocked()
			done <- fmt.Errorf("atx: release: %w: %w", hardware.ErrUnavailable, err)
			return
		}
		if len(steps) == 1 {
			a.endLocked()
			if want != "" { // an ACPI shutdown leaves what stood
				a.expectLocked(want)
			}
			notify, finished = a.notifyLocked(), true
			return
		}
		a.timer = a.clk.AfterFunc(s.gap, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.closed {
				return
			}
			a.pressLocked(steps[1:], want, done)
		})
	})
}

// endLocked ends the running sequence: no longer busy, its waiters go.
func (a *ATX) endLocked() {
	a.busy, a.aim = false, ""
	if a.ended != nil {
		close(a.ended)
		a.ended = nil
	}
}

// powerLEDEdge debounces the power LED (see the package doc).
func (a *ATX) powerLEDEdge(e Edge) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.led = e.Value
	a.ledGen++
	if a.ledTimer != nil {
		a.ledTimer.Stop()
		a.ledTimer = nil
	}
	if (e.Value != 0) == (a.state == hardware.PowerOn) {
		return // back to the debounced level within the window: a flap
	}
	gen := a.ledGen
	a.ledTimer = a.clk.AfterFunc(a.t.LEDDebounce, func() { a.ledSettled(gen) })
}

// ledSettled makes the state follow a LED level held for the window.
func (a *ATX) ledSettled(gen uint64) {
	a.mu.Lock()
	if a.closed || gen != a.ledGen {
		a.mu.Unlock()
		return
	}
	a.ledTimer = nil
	to := hardware.PowerOff
	if a.led != 0 {
		to = hardware.PowerOn
	}
	a.state = to
	// The LED speaks again: whatever was expected, it says how things
	// are now.
	a.expectLocked("")
	notify := a.notifyLocked()
	a.mu.Unlock()
	if notify != nil {
		notify()
	}
}

func (a *ATX) hddLEDEdge(e Edge) {
	a.mu.Lock()
	a.hdd = e.Value
	a.mu.Unlock()
}

// Close releases a held button and every line. A Reset waiting for its
// press returns ErrUnavailable. The lines are closed after the lock is
// released: closing a watched line waits for its event handler, which
// takes the lock.
func (a *ATX) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	for _, t := range []Timer{a.timer, a.ledTimer, a.expectTimer} {
		if t != nil {
			t.Stop()
		}
	}
	if a.busy {
		a.endLocked()
		a.done <- fmt.Errorf("atx: closed during a press: %w", hardware.ErrUnavailable)
	}
	var errs []error
	if a.pressed != nil {
		errs = append(errs, a.pressed.SetValue(0))
	}
	a.mu.Unlock()
	for _, l := range []Line{a.lines.PowerButton, a.lines.ResetButton, a.lines.PowerLED, a.lines.HDDLED} {
		if l != nil {
			errs = append(errs, l.Close())
		}
	}
	return errors.Join(errs...)
}
