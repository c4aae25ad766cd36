package hardware

import "context"

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

// PowerSupplyReader is implemented by backends that report their power
// supplies.
type PowerSupplyReader interface {
	PowerSupplies(ctx context.Context) ([]PowerSupply, error)
}

// PowerSupplies returns the backend's power supplies in bay order, or none.
func (m *Machine) PowerSupplies(ctx context.Context) ([]PowerSupply, error) {
	if r, ok := m.backend.(PowerSupplyReader); ok {
		return r.PowerSupplies(ctx)
	}
	return nil, nil
}
