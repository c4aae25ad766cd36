package hardware

// Change is a set of settings applied to a machine as one step by Apply.
// Nil fields are left as they are. A protocol request that sets several
// things at once (a Redfish PATCH of IndicatorLED and Boot) builds one
// Change, so that a value the machine refuses leaves everything as it was.
type Change struct {
	// Identify sets the identify indication.
	Identify *IdentifySetting
	// Boot changes the boot override, BootOrder and BootNext, checked as
	// ChangeBoot checks them; its empty fields keep their current value.
	// Override changes are ignored when the backend has no boot control.
	Boot *BootChange
}

// Apply checks every setting of c, then applies them all: either all take
// effect or none does. Errors: ErrInvalid (with what was refused) when a
// setting is outside what the machine accepts; a store error when the new
// persistent state could not be written. In both cases nothing changed.
func (m *Machine) Apply(c Change) error {
	err := m.apply(c)
	if err == nil && c.Identify != nil {
		m.light() // without the lock: the backend may take its own
	}
	return err
}

func (m *Machine) apply(c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.Identify != nil {
		if err := c.Identify.check(); err != nil {
			return err
		}
	}
	var next state
	if c.Boot != nil {
		var errs BootErrors
		if next, errs = m.checkBootLocked(*c.Boot); len(errs) > 0 {
			return errs
		}
		if !m.BootOverrideSupported() && c.Boot.Target != "" {
			m.log.Debug("boot override ignored: backend has no boot control", "target", c.Boot.Target)
		}
		// The persistent part first: if it cannot be stored, nothing changed.
		if err := m.applyBootLocked(next); err != nil {
			return err
		}
	}
	if c.Identify != nil {
		m.setIdentifyLocked(*c.Identify)
	}
	return nil
}
