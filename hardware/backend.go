package hardware

import (
	"time"
)

// Backend drives one machine: a simulation, a virtual machine or real
// hardware. It is made of capabilities (Parts), each a small interface of
// this package in the file of the state it serves; a part the backend
// lacks is nil, and the Machine puts the disabled implementation in its
// place (kvmd's atx/disabled), so protocols ask the Machine and never look
// at the backend. What a part supports (reset types, boot targets, media
// slots) comes from the part itself.
//
// A backend is written once per kind of machine (hardware/sim is the worked
// example, docs/backends.md the guide) and registers itself by name
// (registry.go); hardware/backendtest is the contract every backend passes.
type Backend interface {
	// Info is the machine's inventory, static for its life.
	Info() Info
	// Attach is called once, by NewMachine, before any other call but
	// Info: h is where the backend reports what it observes (power
	// changes, boots, events) from then on, from any goroutine, but not
	// from within Attach. It returns the backend's parts.
	Attach(h Host) Parts
	Close() error
}

// Parts are a backend's capabilities. A nil part is disabled: the machine
// has no such thing (a board without ATX wiring has no Power, a VM without
// graphics no Display), and every protocol says so in its own terms.
type Parts struct {
	Power         Power
	Boot          BootControl
	Firmware      FirmwareSettings
	Media         VirtualMedia
	Sensors       SensorReader
	PowerSupplies PowerSupplyReader
	Serial        SerialConsole
	Display       Display
	Keyboard      Keyboard
	Pointer       Pointer
	MassStorage   MassStorage
	Indicator     Indicator
	RestorePolicy RestorePolicyReporter
	Update        FirmwareUpdater
}

// Host is the Machine as its backend sees it: the BMC side of the wires.
// Its methods are safe for concurrent use, and a backend may call them
// with its own locks held: the Machine never calls into the backend while
// it holds its own lock, nor from within these methods (a boot plan that
// changes in Booted is handed later, from another goroutine).
type Host interface {
	// PowerChanged reports a change of the host's power state, after it
	// happened: every change, whoever caused it (a reset, the power
	// button, the OS shutting down).
	PowerChanged(from, to PowerState)
	// Booted reports that the host firmware starts a boot now and returns
	// what it boots, which is the truth for the BMC (LastBoot, the event
	// log) even where it differs from a plan the backend already wrote
	// (the VM was started before a new plan was handed): the Machine applies staged firmware, BIOS settings
	// and RAID changes, then picks the device as a UEFI firmware with a
	// BMC does and consumes a one-time override (see Machine.Boot). Call
	// it exactly once per boot observed: the simulation when its firmware
	// reads the boot flags, a VM backend when it sees the VM start.
	Booted() BootResult
	// LogEvent adds an event only the backend observed to the machine's
	// event log, of one of the kinds in events.go (the Machine logs power
	// changes, resets, boots and media itself: do not log those again).
	// A new kind of event (a button pressed by hand, a fault) comes with
	// the backend that sees it, with its Redfish message and SEL code.
	LogEvent(e Event)
}

// BootResult is what the firmware decided to boot.
type BootResult struct {
	Source BootSource
	Mode   BootMode
	Image  string // media image URL when booting virtual media
	// Option is the boot option booted; zero when the backend declares
	// none, or for targets that are not options (BiosSetup, Diags).
	Option BootOption
	Time   time.Time
	// BiosVersion is the BIOS that runs this boot (a staged BIOS update
	// has just been activated).
	BiosVersion string
}
