package hardware

// The console's capabilities, as the Machine hands them to protocols. A
// backend without one gets the disabled implementation, so callers never
// check for nil and never look at the backend.

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

// consoleParts are the console capabilities of a Machine.
type consoleParts struct {
	Display     Display
	Keyboard    Keyboard
	Pointer     Pointer
	MassStorage MassStorage
}

// discoverConsole finds b's console capabilities: a backend offers one by
// a method of the capability's name returning it (Display() Display), and
// may return nil for a part it lacks in this configuration.
func discoverConsole(b Backend) consoleParts {
	p := consoleParts{DisabledDisplay{}, DisabledKeyboard{}, DisabledPointer{}, DisabledMassStorage{}}
	if x, ok := b.(interface{ Display() Display }); ok && x.Display() != nil {
		p.Display = x.Display()
	}
	if x, ok := b.(interface{ Keyboard() Keyboard }); ok && x.Keyboard() != nil {
		p.Keyboard = x.Keyboard()
	}
	if x, ok := b.(interface{ Pointer() Pointer }); ok && x.Pointer() != nil {
		p.Pointer = x.Pointer()
	}
	if x, ok := b.(interface{ MassStorage() MassStorage }); ok && x.MassStorage() != nil {
		p.MassStorage = x.MassStorage()
	}
	return p
}
