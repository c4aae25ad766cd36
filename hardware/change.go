package hardware

import "fmt"

// Change is a set of settings applied to a machine as one step by Apply.
// Nil fields are left as they are. A protocol request that sets several
// things at once (a Redfish PATCH of IndicatorLED and Boot) builds one
// Change, so that a value the machine refuses leaves everything as it was.
type Change struct {
	// Identify sets the identify indication.
	Identify *IdentifySetting
	// BootOverride sets the boot override; its empty fields keep their
	// current value (as SetBootOverride). Ignored when the backend has no
	// boot control.
	BootOverride *BootOverride
}

// Apply checks every setting of c, then applies them all: either all take
// effect or none does. Errors: ErrInvalid (with what was refused) when a
// setting is outside what the machine accepts; a store error when the new
// persistent state could not be written. In both cases nothing changed.
func (m *Machine) Apply(c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.Identify != nil {
		if err := c.Identify.check(); err != nil {
			return err
		}
	}
	ov, setOverride := m.st.Override, false
	if c.BootOverride != nil {
		if !m.BootOverrideSupported() {
			m.log.Debug("boot override ignored: backend has no boot control", "target", c.BootOverride.Target)
		} else {
			next, err := m.nextOverrideLocked(*c.BootOverride)
			if err != nil {
				return err
			}
			ov, setOverride = next, next != m.st.Override
		}
	}
	// The persistent part first: if it cannot be stored, nothing changed.
	if setOverride {
		if err := m.updateLocked(func(st *state) error { st.Override = ov; return nil }); err != nil {
			return err
		}
		m.addEventLocked(EventBootOverride, SeverityOK,
			fmt.Sprintf("Boot override set: %s %s (%s)", ov.Target, ov.Enabled, ov.Mode))
	}
	if c.Identify != nil {
		m.setIdentifyLocked(*c.Identify)
	}
	return nil
}
