package hardware

import "time"

// IdentifyState is the chassis identify indication: the blinking LED (or
// beep) that helps someone find the machine in a rack. It is volatile, as
// on real hardware: it does not survive a restart of bmcd.
type IdentifyState struct {
	On bool
	// Until is when a timed indication goes off; zero when the
	// indication is off or on indefinitely.
	Until time.Time
}

// Indefinite reports whether the indication is on with no timeout.
func (s IdentifyState) Indefinite() bool { return s.On && s.Until.IsZero() }

// SetIdentify turns the identify indication on for d when d > 0, on
// indefinitely when d < 0, and off when d == 0.
func (m *Machine) SetIdentify(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.identifyTimer != nil {
		m.identifyTimer.Stop()
		m.identifyTimer = nil
	}
	m.identifyUntil, m.identifyForever = time.Time{}, false
	switch {
	case d < 0:
		m.identifyForever = true
	case d > 0:
		m.identifyUntil = time.Now().Add(d)
		// Observers that cache by Generation see the indication end.
		m.identifyTimer = time.AfterFunc(d, func() { m.gen.Add(1) })
	}
	m.gen.Add(1)
	m.log.Debug("identify", "on", d != 0, "duration", d)
}

// Identify returns the present identify state.
func (m *Machine) Identify() IdentifyState {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.identifyForever:
		return IdentifyState{On: true}
	case time.Now().Before(m.identifyUntil):
		return IdentifyState{On: true, Until: m.identifyUntil}
	}
	return IdentifyState{}
}
