// Package atxsim is a simulated server behind a front-panel header: the
// four lines an ATX part drives and reads, in their active sense, with the
// server's behaviour at the other end. It stands in for GPIO where a
// machine has none (no gpio-sim in Debian's kernel), so the board backend
// runs whole, in-process or in a VM, with presses and LEDs as a real ATX
// server gives them:
//
//   - Off: a press of the power button (released after at least MinPress)
//     turns the server on after OnDelay; the power LED lights.
//   - On: holding the power button for ForceOffHold (4 s, the ATX
//     override) turns it off at once, while still held; a shorter press
//     is the OS's ACPI shutdown, off after ShutdownDelay.
//   - On: a reset press counts a reset (the LED stays lit), and lights the
//     HDD LED for HDDActivity, as the boot's disk reads would.
//
// Line offsets: 0 power button, 1 reset button (outputs), 2 power LED,
// 3 HDD LED (inputs).
package atxsim

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/board/atx"
)

// The line offsets of a Server's chip.
const (
	PowerButton = iota
	ResetButton
	PowerLED
	HDDLED
)

// Timings of the simulated server; zero fields take the defaults.
type Timings struct {
	MinPress      time.Duration // shortest press the server notices (50 ms)
	ForceOffHold  time.Duration // power button held to force off (4 s)
	OnDelay       time.Duration // press released to LED lit (300 ms)
	ShutdownDelay time.Duration // ACPI shutdown's length (1 s)
	HDDActivity   time.Duration // HDD LED lit after power-on or reset (300 ms)
}

func (t Timings) withDefaults() Timings {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.MinPress, 50*time.Millisecond)
	def(&t.ForceOffHold, 4*time.Second)
	def(&t.OnDelay, 300*time.Millisecond)
	def(&t.ShutdownDelay, time.Second)
	def(&t.HDDActivity, 300*time.Millisecond)
	return t
}

// Press is one button press the server saw.
type Press struct {
	Line int           // PowerButton or ResetButton
	Held time.Duration // how long it was held
}

// Server is the simulated server. Its methods are safe for concurrent use.
type Server struct {
	t   Timings
	log *slog.Logger

	mu        sync.Mutex
	on        bool
	gen       uint64 // bumps at each state change: stale timers do nothing
	pressedAt [2]time.Time
	held      [2]bool
	forced    bool // the held power press has forced the power off
	hdd       bool
	presses   []Press
	resets    int
	watch     [4]func(atx.Edge)
	timers    []*time.Timer
	// edges carries LED edges to the watchers in order, from a goroutine
	// of its own, as the kernel's line events come: never from within
	// the ATX part's SetValue, whose lock the watcher takes.
	edges  chan func()
	closed bool
}

// New is a server that is off, or on when on is set, logging each press
// and change to log (nil: none).
func New(t Timings, on bool, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{t: t.withDefaults(), log: log, on: on, edges: make(chan func(), 64)}
	go func() {
		for f := range s.edges {
			f()
		}
	}()
	return s
}

// emit queues f, an edge report; the caller holds s.mu.
func (s *Server) emitLocked(f func()) {
	if !s.closed {
		s.edges <- f
	}
}

// On reports whether the server is on.
func (s *Server) On() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on
}

// Presses is every press seen so far, in order.
func (s *Server) Presses() []Press {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Press(nil), s.presses...)
}

// Resets is the number of reset presses seen while on.
func (s *Server) Resets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resets
}

// SetPower switches the server by hand (its own case buttons, or the
// OS): the LED follows at once.
func (s *Server) SetPower(on bool) {
	s.mu.Lock()
	s.setLocked(on)
	s.mu.Unlock()
}

// Lines are the chip's four lines as the ATX part uses them.
func (s *Server) Lines() atx.Lines {
	return atx.Lines{
		PowerButton: &line{s: s, off: PowerButton}, ResetButton: &line{s: s, off: ResetButton},
		PowerLED: &line{s: s, off: PowerLED}, HDDLED: &line{s: s, off: HDDLED},
	}
}

// Line is the chip's line at offset (0 to 3), for atx.RegisterChip.
func (s *Server) Line(offset int, output bool) (atx.Line, error) {
	if offset < 0 || offset > HDDLED {
		return nil, fmt.Errorf("atxsim: no line %d (0-3)", offset)
	}
	if output != (offset <= ResetButton) {
		return nil, fmt.Errorf("atxsim: line %d is an %s", offset, map[bool]string{true: "output", false: "input"}[offset <= ResetButton])
	}
	return &line{s: s, off: offset}, nil
}

// Close stops the server's pending changes.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	s.gen++
	if !s.closed {
		s.closed = true
		close(s.edges)
	}
}

// setLocked changes the state and reports the LED's edge.
func (s *Server) setLocked(on bool) {
	if s.on == on {
		return
	}
	s.on = on
	s.gen++
	s.log.Info("atxsim power", "state", map[bool]string{true: "on", false: "off"}[on])
	v := 0
	if on {
		v = 1
	}
	s.edgeLocked(PowerLED, v)
	if on {
		s.hddLocked()
	}
}

// edgeLocked reports line off's new level to its watcher.
func (s *Server) edgeLocked(off, v int) {
	if w := s.watch[off]; w != nil {
		s.emitLocked(func() { w(atx.Edge{Value: v}) })
	}
}

// hddLocked lights the HDD LED for HDDActivity.
func (s *Server) hddLocked() {
	if s.hdd {
		return
	}
	s.hdd = true
	s.edgeLocked(HDDLED, 1)
	s.timers = append(s.timers, time.AfterFunc(s.t.HDDActivity, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.hdd && !s.closed {
			s.hdd = false
			s.edgeLocked(HDDLED, 0)
		}
	}))
}

// afterLocked runs f under the lock after d unless the state changed in
// between.
func (s *Server) afterLocked(d time.Duration, f func()) {
	gen := s.gen
	s.timers = append(s.timers, time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gen == gen && !s.closed {
			f()
		}
	}))
}

// button is a change of an output line.
func (s *Server) button(off int, pressed bool) {
	s.mu.Lock()
	now := time.Now()
	if pressed == s.held[off] {
		s.mu.Unlock()
		return
	}
	s.held[off] = pressed
	if pressed {
		s.pressedAt[off] = now
		if off == PowerButton && s.on {
			s.forced = false
			s.afterLocked(s.t.ForceOffHold, func() {
				if s.held[PowerButton] {
					s.forced = true
					s.setLocked(false)
				}
			})
		}
		s.mu.Unlock()
		return
	}
	held := now.Sub(s.pressedAt[off])
	s.presses = append(s.presses, Press{Line: off, Held: held})
	name := map[int]string{PowerButton: "power", ResetButton: "reset"}[off]
	s.log.Info("atxsim press", "button", name, "held", held.Round(time.Millisecond))
	switch {
	case held < s.t.MinPress:
	case off == ResetButton:
		if s.on {
			s.resets++
			s.hddLocked()
		}
	case s.forced:
		s.forced = false
	case !s.on:
		s.afterLocked(s.t.OnDelay, func() { s.setLocked(true) })
	default:
		s.afterLocked(s.t.ShutdownDelay, func() { s.setLocked(false) })
	}
	s.mu.Unlock()
}

// line is one line of the chip, in its active sense.
type line struct {
	s   *Server
	off int
}

func (l *line) SetValue(v int) error {
	if l.off > ResetButton {
		return fmt.Errorf("atxsim: line %d is an input: %w", l.off, hardware.ErrInvalid)
	}
	l.s.button(l.off, v != 0)
	return nil
}

func (l *line) Value() (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	var on bool
	switch l.off {
	case PowerButton, ResetButton:
		on = l.s.held[l.off]
	case PowerLED:
		on = l.s.on
	case HDDLED:
		on = l.s.hdd
	}
	if on {
		return 1, nil
	}
	return 0, nil
}

func (l *line) Watch(f func(atx.Edge)) {
	if l.off <= ResetButton {
		return
	}
	l.s.mu.Lock()
	l.s.watch[l.off] = f
	l.s.mu.Unlock()
}

func (l *line) Close() error {
	if l.off > ResetButton {
		l.s.mu.Lock()
		l.s.watch[l.off] = nil
		l.s.mu.Unlock()
	} else {
		l.s.button(l.off, false)
	}
	return nil
}
