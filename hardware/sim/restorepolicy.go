package sim

import "github.com/bmcd/bmcd/hardware"

// PowerRestorePolicy implements hardware.RestorePolicyReporter: a
// simulated machine comes up in its configured initial state whenever bmcd
// starts, i.e. always on or always off.
func (m *Machine) PowerRestorePolicy() hardware.PowerRestorePolicy {
	if m.cfg.PoweredOn {
		return hardware.RestoreAlwaysOn
	}
	return hardware.RestoreAlwaysOff
}
