package hardware

import (
	"context"
	"fmt"
)

// Power is the host's power control: ATX pins, a hypervisor's power
// operations, the simulation's timers. A machine without one has
// DisabledPower: its state is unknown and no reset applies.
type Power interface {
	// ResetTypes are the resets Reset carries out, in a stable order.
	ResetTypes() []ResetType
	// PowerState is the present power state. Backends keep it current
	// from what they observe and report every change (Host.PowerChanged);
	// this call does not wait for the hardware.
	PowerState(ctx context.Context) (PowerState, error)
	// Reset carries out r, one of ResetTypes, and ends where the Redfish
	// ResetType says, from any state: On, ForceOn, GracefulRestart,
	// ForceRestart and PowerCycle end On (from Off they power on);
	// ForceOff and GracefulShutdown end Off (from Off they succeed and
	// change nothing); PushPowerButton turns a host that is off on and
	// one that is on off; Nmi changes nothing. It may return before the
	// state is reached (a graceful shutdown takes the OS's time); every
	// change is reported (Host.PowerChanged). A reset that boots the host
	// makes the backend report the boot (Host.Booted) when it happens,
	// now or later (at the end of a power cycle). Errors: ErrPoweredOff
	// (it wraps ErrState) when r needs the host running and it is off (an
	// NMI: Redfish answers ResourceInStandby); ErrState when r does not
	// apply in the present state otherwise; ErrBusy while a button press
	// runs; ErrUnavailable when the hypervisor or device cannot be
	// reached (Redfish answers 503 with Retry-After, IPMI node busy).
	// Protocols map any other error to an internal error.
	Reset(ctx context.Context, r ResetType) error
}

// PowerResumer is implemented by a Power whose host runs inside bmcd (the
// simulation), so that it would otherwise stop whenever bmcd does. A
// restart of the BMC is not a loss of mains power: real servers keep
// running while their BMC reboots. When bmcd starts, the Machine hands it
// the power state recorded before it stopped (post: the firmware was
// running its POST, see POSTReporter), right after Attach; the backend
// takes the host up in that state without a new boot (a POST in progress
// goes on and boots once) and reports no change for it. Backends that
// observe a real host do not implement it: they report what they see, and
// the Machine logs any difference from the record (Machine.CheckPower).
// Errors: ErrInvalid for a state the backend cannot take up.
type PowerResumer interface {
	ResumePower(s PowerState, post bool) error
}

// POSTReporter is implemented by a Power that knows when the host
// firmware is running its power-on self test: while powering on, and with
// the power still applied (PowerOn) after a warm reset, until the firmware
// picks its boot device.
type POSTReporter interface {
	InPOST() bool
}

// DisabledPower is the power control of a machine the BMC cannot switch
// (a console-only board): no reset types, state unknown.
type DisabledPower struct{}

// ResetTypes implements Power: none.
func (DisabledPower) ResetTypes() []ResetType { return nil }

// PowerState implements Power: ErrNotSupported.
func (DisabledPower) PowerState(context.Context) (PowerState, error) {
	return "", fmt.Errorf("power state: %w", ErrNotSupported)
}

// Reset implements Power: ErrNotSupported.
func (DisabledPower) Reset(_ context.Context, r ResetType) error {
	return fmt.Errorf("reset %s: %w", r, ErrNotSupported)
}

// PowerSupply is one power supply unit: what its label says and, when the
// backend can read them, its live figures. Units: V, W.
type PowerSupply struct {
	ID   string // stable identifier, e.g. "PSU1"
	Name string // e.g. "Power Supply 1"
	// Bay is the 1-based bay the unit sits in, 0 if unknown.
	Bay             int
	Manufacturer    string
	Model           string
	SerialNumber    string
	PartNumber      string
	FirmwareVersion string
	// CapacityWatts is the rated output power.
	CapacityWatts float64
	// InputType is "AC" or "DC"; NominalVoltage the input range in the
	// Redfish NominalVoltageType vocabulary ("AC200To240V", "AC100To240V",
	// "DC380V", ...); MinVoltage and MaxVoltage its bounds.
	InputType      string
	NominalVoltage string
	MinVoltage     float64
	MaxVoltage     float64
	HotPluggable   bool

	// Available is false when the readings below cannot be had (the unit
	// is absent, unplugged, or the backend cannot read it).
	Available    bool
	InputVoltage float64
	InputWatts   float64
	OutputWatts  float64
}

// PowerSupplyReader is the power supplies' monitoring, for backends that
// report them; without it the machine lists none.
type PowerSupplyReader interface {
	PowerSupplies(ctx context.Context) ([]PowerSupply, error)
}

// PowerSupplies returns the backend's power supplies in bay order, or none.
func (m *Machine) PowerSupplies(ctx context.Context) ([]PowerSupply, error) {
	if m.parts.PowerSupplies == nil {
		return nil, nil
	}
	return m.parts.PowerSupplies.PowerSupplies(ctx)
}
