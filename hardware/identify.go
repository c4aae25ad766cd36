package hardware

import (
	"fmt"
	"time"
)

// IdentifyMode is how the chassis identify indication (the LED, or beep,
// that helps someone find the machine in a rack) shows. The names are
// those of the Redfish IndicatorLED enumeration.
type IdentifyMode string

// Identify modes.
const (
	IdentifyOff      IdentifyMode = "Off"
	IdentifyLit      IdentifyMode = "Lit"      // on, steady
	IdentifyBlinking IdentifyMode = "Blinking" // on, flashing
)

// IdentifyModes lists the modes in a stable order (Redfish publishes them
// as IndicatorLED@Redfish.AllowableValues).
var IdentifyModes = []IdentifyMode{IdentifyLit, IdentifyBlinking, IdentifyOff}

// Valid reports whether x is one of the modes.
func (x IdentifyMode) Valid() bool {
	return x == IdentifyOff || x == IdentifyLit || x == IdentifyBlinking
}

// IdentifyState is the present identify indication. It is volatile, as on
// real hardware: it does not survive a restart of bmcd.
type IdentifyState struct {
	Mode IdentifyMode
	// Until is when a temporary indication goes off; zero when the
	// indication is off or on until changed.
	Until time.Time
}

// On reports whether the indication is on (Lit or Blinking).
func (s IdentifyState) On() bool { return s.Mode == IdentifyLit || s.Mode == IdentifyBlinking }

// Indefinite reports whether the indication is on with no timeout.
func (s IdentifyState) Indefinite() bool { return s.On() && s.Until.IsZero() }

// IdentifySetting asks for an identify indication: Mode, for For when For
// is positive (then it goes off by itself, as IPMI's Chassis Identify
// interval does), or until changed when For is zero. For is ignored when
// Mode is Off.
type IdentifySetting struct {
	Mode IdentifyMode
	For  time.Duration
}

func (s IdentifySetting) check() error {
	if !s.Mode.Valid() {
		return fmt.Errorf("identify mode %q: %w", s.Mode, ErrInvalid)
	}
	if s.For < 0 {
		return fmt.Errorf("identify duration %s: %w", s.For, ErrInvalid)
	}
	return nil
}

// Indicator is the chassis identify LED the BMC lights: a GPIO line, a
// front-panel LED, the simulation's lamp. The Machine keeps the mode and
// its timeout, and calls the Indicator with each change (Off when a
// timed indication ends). A machine without one has DisabledIndicator: the
// BMC still keeps and reports the indication (Redfish IndicatorLED, IPMI
// Chassis Identify), so a client's request never fails for it, but
// nothing lights.
type Indicator interface {
	SetIndicator(mode IdentifyMode) error
}

// DisabledIndicator is the identify LED of a machine that has none.
type DisabledIndicator struct{}

// SetIndicator implements Indicator: ErrNotSupported.
func (DisabledIndicator) SetIndicator(IdentifyMode) error {
	return fmt.Errorf("identify indicator: %w", ErrNotSupported)
}

// SetIdentify sets the identify indication. Errors: ErrInvalid for an
// unknown mode or a negative duration. Setting what is already in force
// (an indefinite indication in the same mode, or off) changes nothing, so
// Generation stays as it is.
func (m *Machine) SetIdentify(s IdentifySetting) error {
	return m.Apply(Change{Identify: &s})
}

// setIdentifyLocked applies a checked setting; the caller holds m.mu.
func (m *Machine) setIdentifyLocked(s IdentifySetting) {
	if s.Mode == IdentifyOff {
		s.For = 0
	}
	cur := m.identifyLocked()
	if s.For == 0 && cur.Until.IsZero() && cur.Mode == s.Mode {
		return // already so
	}
	if m.identifyTimer != nil {
		m.identifyTimer.Stop()
		m.identifyTimer = nil
	}
	m.identifyMode, m.identifyUntil = s.Mode, time.Time{}
	if s.Mode != IdentifyOff && s.For > 0 {
		m.identifyUntil = time.Now().Add(s.For)
		// Observers that cache by Generation see the indication end.
		m.identifyTimer = time.AfterFunc(s.For, func() {
			m.gen.Add(1)
			m.light()
		})
	}
	m.gen.Add(1)
	m.log.Debug("identify", "mode", s.Mode, "for", s.For)
}

// light brings the backend's LED to the present indication, without
// m.mu held (the backend's Indicator may take its own locks, under which it
// calls Host). Concurrent calls converge on the last state. A failure is
// logged; the indication the BMC reports stays what was asked (the LED is
// the backend's to fix).
func (m *Machine) light() {
	if disabled(m.parts.Indicator) {
		return
	}
	m.litMu.Lock()
	defer m.litMu.Unlock()
	mode := m.Identify().Mode
	if mode == m.lit {
		return
	}
	if err := m.parts.Indicator.SetIndicator(mode); err != nil {
		m.log.Warn("identify indicator", "mode", mode, "err", err)
		return
	}
	m.lit = mode
}

// Identify returns the present identify state.
func (m *Machine) Identify() IdentifyState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.identifyLocked()
}

func (m *Machine) identifyLocked() IdentifyState {
	switch {
	case m.identifyMode == "" || m.identifyMode == IdentifyOff:
	case m.identifyUntil.IsZero():
		return IdentifyState{Mode: m.identifyMode}
	case time.Now().Before(m.identifyUntil):
		return IdentifyState{Mode: m.identifyMode, Until: m.identifyUntil}
	}
	return IdentifyState{Mode: IdentifyOff}
}
