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

// RestorePolicyReporter is implemented by backends that know their power
// restore policy.
type RestorePolicyReporter interface {
	PowerRestorePolicy() PowerRestorePolicy
}

// PowerRestorePolicy returns the backend's power restore policy; ok is
// false when the backend does not report one.
func (m *Machine) PowerRestorePolicy() (PowerRestorePolicy, bool) {
	if r, ok := m.backend.(RestorePolicyReporter); ok {
		return r.PowerRestorePolicy(), true
	}
	return "", false
}
