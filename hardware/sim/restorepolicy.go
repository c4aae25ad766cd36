package sim

import "github.com/bmcd/bmcd/hardware"

// PowerRestorePolicy implements hardware.RestorePolicyReporter: a
// simulated machine's mains power comes on once, when it is first created
// (a state directory without its power state), and it comes up then in
// its configured initial state, i.e. always on or always off. A restart of
// bmcd is not a loss of mains power: the host resumes as it was
// (ResumePower).
func (m *Machine) PowerRestorePolicy() hardware.PowerRestorePolicy {
	if m.cfg.PoweredOn {
		return hardware.RestoreAlwaysOn
	}
	return hardware.RestoreAlwaysOff
}
