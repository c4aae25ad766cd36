package hardware

import (
	"context"
	"time"
)

// Origin is who asked the machine for something: the protocol, the
// account and the client's address. Protocols put it in the context of the
// call (WithOrigin); the Machine records it with what it changes.
type Origin struct {
	// Protocol is "Redfish", "IPMI", "Console"; "" for bmcd itself (a
	// timer, start-up) or a caller that did not say.
	Protocol string `json:"protocol,omitempty"`
	User     string `json:"user,omitempty"`
	Address  string `json:"address,omitempty"` // the client's IP address
}

// Protocols that act on a machine, as Origin.Protocol names them.
const (
	ProtocolRedfish = "Redfish"
	ProtocolIPMI    = "IPMI"
	ProtocolConsole = "Console"
)

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf is the Origin ctx carries; zero if none.
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// ResetRecord is one reset the machine carried out: what, when, and by
// whom.
type ResetRecord struct {
	Type   ResetType `json:"type,omitempty"`
	Time   time.Time `json:"time,omitempty"`
	Origin Origin    `json:"origin,omitempty"`
}

// powersOn reports whether r, sent to a host that is off, turns it on.
func (r ResetType) powersOn() bool {
	switch r {
	case ResetForceOff, ResetGracefulShutdown, ResetNmi:
		return false
	}
	return true
}

// LastResetRecord is the last reset carried out (not an NMI), zero if
// none: its type, time and origin. It survives a bmcd restart, as the
// last reset time outlives a BMC reboot. IPMI's Get System Restart Cause
// and Redfish's LastResetTime read it.
func (m *Machine) LastResetRecord() ResetRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return ResetRecord{Type: m.st.LastResetType, Time: m.st.LastReset, Origin: m.st.LastResetBy}
}

// PowerOnCause is the reset that applied the power now on; ok is false
// when the power is off, or came on otherwise (the power button pressed at
// the machine, a VM started from its hypervisor). A reset that keeps the
// power applied (a warm reset, an NMI) leaves it as it is; a power cycle
// applies it anew. IPMI's "last power-up via IPMI command" reads it.
func (m *Machine) PowerOnCause() (ResetRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.PowerOnBy == nil {
		return ResetRecord{}, false
	}
	return *m.st.PowerOnBy, true
}
