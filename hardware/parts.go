package hardware

// withDefaults puts the disabled implementation in place of every part
// the backend lacks, so the Machine and protocols never check for nil.
func (p Parts) withDefaults() Parts {
	if p.Power == nil {
		p.Power = DisabledPower{}
	}
	if p.Boot == nil {
		p.Boot = DisabledBootControl{}
	}
	if p.Firmware == nil {
		p.Firmware = DisabledFirmwareSettings{}
	}
	if p.Media == nil {
		p.Media = DisabledVirtualMedia{}
	}
	if p.Serial == nil {
		p.Serial = DisabledSerialConsole{}
	}
	if p.Display == nil {
		p.Display = DisabledDisplay{}
	}
	if p.Keyboard == nil {
		p.Keyboard = DisabledKeyboard{}
	}
	if p.Pointer == nil {
		p.Pointer = DisabledPointer{}
	}
	if p.MassStorage == nil {
		p.MassStorage = DisabledMassStorage{}
	}
	if p.Indicator == nil {
		p.Indicator = DisabledIndicator{}
	}
	return p
}

// disabled reports whether part is a disabled implementation.
func disabled(part any) bool {
	switch part.(type) {
	case nil, DisabledPower, DisabledBootControl, DisabledFirmwareSettings,
		DisabledVirtualMedia, DisabledSerialConsole, DisabledDisplay,
		DisabledKeyboard, DisabledPointer, DisabledMassStorage, DisabledIndicator:
		return true
	}
	return false
}

// Capabilities summarises the parts for the protocols: every field comes
// from the part that does the work, so it cannot disagree with it.
func (p Parts) Capabilities() Capabilities {
	p = p.withDefaults()
	return Capabilities{
		ResetTypes:  p.Power.ResetTypes(),
		BootTargets: p.Boot.BootTargets(),
		BootModes:   p.Boot.BootModes(),
		BootOptions: p.Boot.BootOptions(),
		MediaSlots:  p.Media.Slots(),
		SecureBoot:  p.Firmware.SecureBootToggle(),
		Display:     !disabled(p.Display),
		Keyboard:    !disabled(p.Keyboard),
		Pointer:     !disabled(p.Pointer),
	}
}

// The console's capabilities, as the Machine hands them to protocols: the
// disabled implementation when the machine lacks one.

// Display is the machine's screen (DisabledDisplay when it has none).
func (m *Machine) Display() Display { return m.parts.Display }

// Keyboard is the machine's keyboard (DisabledKeyboard when it has none).
func (m *Machine) Keyboard() Keyboard { return m.parts.Keyboard }

// Pointer is the machine's mouse or tablet (DisabledPointer when it has
// none).
func (m *Machine) Pointer() Pointer { return m.parts.Pointer }

// MassStorage is the machine's USB mass-storage device
// (DisabledMassStorage when it has none).
func (m *Machine) MassStorage() MassStorage { return m.parts.MassStorage }
