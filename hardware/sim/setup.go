package sim

import (
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func init() {
	hardware.Register("sim", setup)
	// bmcd -check-config: the block decoded as setup does.
	hardware.RegisterCheck("sim", func(c hardware.BackendConfig) error { var p Params; return c.Decode(&p) })
}

// Params is a simulated system's `sim:` block in the configuration file.
// Every key is optional; a zero delay takes the default (DefaultPowerOnDelay,
// DefaultPowerOffDelay, DefaultShutdownDelay).
type Params struct {
	PowerOnDelay  time.Duration `yaml:"power_on_delay" validate:"min=0"`  // Off -> On (POST)
	PowerOffDelay time.Duration `yaml:"power_off_delay" validate:"min=0"` // off time in a power cycle
	ShutdownDelay time.Duration `yaml:"shutdown_delay" validate:"min=0"`  // ACPI graceful shutdown
	// PoweredOn starts a machine first created On (see Config.PoweredOn).
	PoweredOn bool `yaml:"powered_on"`
}

// setup is the sim backend's hardware.SetupFunc.
func setup(s hardware.Setup) (hardware.Backend, error) {
	var p Params
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	return New(Config{
		ID: s.ID, Seed: s.Seed,
		PowerOnDelay:  p.PowerOnDelay,
		PowerOffDelay: p.PowerOffDelay,
		ShutdownDelay: p.ShutdownDelay,
		PoweredOn:     p.PoweredOn,
	}), nil
}
