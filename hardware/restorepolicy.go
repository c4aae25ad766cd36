package hardware

// PowerRestorePolicy is what a machine does when mains power returns. For
// a machine behind bmcd that is when bmcd (re)starts it. The values are
// the Redfish PowerRestorePolicyTypes.
type PowerRestorePolicy string

// Power restore policies.
const (
	RestoreAlwaysOff PowerRestorePolicy = "AlwaysOff"
	RestoreAlwaysOn  PowerRestorePolicy = "AlwaysOn"
	RestoreLastState PowerRestorePolicy = "LastState"
)

// RestorePolicyReporter is the power restore policy of backends that know
// theirs; without it the machine reports none.
type RestorePolicyReporter interface {
	PowerRestorePolicy() PowerRestorePolicy
}

// PowerRestorePolicy returns the backend's power restore policy; ok is
// false when the backend does not report one.
func (m *Machine) PowerRestorePolicy() (PowerRestorePolicy, bool) {
	if r := m.parts.RestorePolicy; r != nil {
		return r.PowerRestorePolicy(), true
	}
	return "", false
}
