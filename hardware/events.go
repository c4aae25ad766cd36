package hardware

import (
	"time"

	"github.com/bmcd/bmcd/internal/queue"
)

// Severity of an event log entry.
type Severity string

// Severities, as Redfish and the SEL both know them.
const (
	SeverityOK       Severity = "OK"
	SeverityWarning  Severity = "Warning"
	SeverityCritical Severity = "Critical"
)

// EventKind classifies an event so protocols can render it (an IPMI SEL
// record needs a sensor type and offset, Redfish a MessageId).
type EventKind string

// Event kinds.
const (
	EventPowerOn  EventKind = "PowerOn"
	EventPowerOff EventKind = "PowerOff"
	EventReset    EventKind = "Reset" // the management controller was reset
	// EventHostReset: a restart of the host was requested (ResetType:
	// GracefulRestart, ForceRestart, PowerCycle); the power events it
	// brings, if any, follow it.
	EventHostReset    EventKind = "HostReset"
	EventBoot         EventKind = "Boot"
	EventNmi          EventKind = "Nmi"
	EventMediaInsert  EventKind = "MediaInserted"
	EventMediaEject   EventKind = "MediaEjected"
	EventBootOverride EventKind = "BootOverride"
	// EventBootOrderSet: a client set the UEFI BootOrder (BootOrder).
	EventBootOrderSet EventKind = "BootOrderSet"
	// EventBootOrderReset: the backend's default boot order was restored
	// (BootOrder is that order).
	EventBootOrderReset EventKind = "BootOrderReset"
	// EventBootNext: BootNext was set (BootOption) or cleared (BootOption
	// empty) by a client; the firmware consuming it at boot is part of the
	// Boot event.
	EventBootNext EventKind = "BootNext"
	// EventBootOptionEnabled: a boot option was enabled or disabled
	// (BootOption, BootOptionEnabled).
	EventBootOptionEnabled EventKind = "BootOptionEnabled"
	// EventBootOrder is any of the four above as bmcd logged them before
	// entries carried their details: a Message only.
	EventBootOrder  EventKind = "BootOrder"
	EventLogCleared EventKind = "LogCleared"
	EventSettings   EventKind = "SettingsApplied"
)

// Event is one entry of the machine's event log. Besides the human-readable
// Message, an entry carries what it is about in fields of its own, so every
// protocol can state it in its own terms (a Redfish MessageId and its
// arguments, an IPMI sensor offset). Fields that do not apply to a kind are
// empty; entries logged before a field existed lack it too.
type Event struct {
	ID       uint64    `json:"id"`
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Severity Severity  `json:"severity"`
	Message  string    `json:"message"`

	// Slot is the virtual media slot (MediaInserted, MediaEjected), or the
	// empty slot a Boot fell through from to the disk.
	Slot string `json:"slot,omitempty"`
	// Image is the virtual media image URL, its password redacted
	// (MediaInserted, MediaEjected, a Boot from a medium), or a firmware
	// image's source (FirmwareStaged, FirmwareUpdated).
	Image string `json:"image,omitempty"`
	// Source is the device booted from (Boot) or the override target
	// (BootOverride); Mode is the boot mode of either.
	Source BootSource `json:"source,omitempty"`
	Mode   BootMode   `json:"mode,omitempty"`
	// Enabled is the override's duration (BootOverride).
	Enabled BootEnabled `json:"enabled,omitempty"`
	// BootOrder is the UEFI boot order, option references in boot order
	// (BootOrderSet: as set, possibly empty; BootOrderReset: the default
	// restored).
	BootOrder []string `json:"boot_order,omitempty"`
	// BootOption is an option reference, "Boot0005": BootNext's new value
	// (BootNext; empty when cleared) or the option enabled or disabled
	// (BootOptionEnabled), whose new state is BootOptionEnabled.
	BootOption        string `json:"boot_option,omitempty"`
	BootOptionEnabled bool   `json:"boot_option_enabled,omitempty"`
	// Detail is how the firmware chose (Boot): the boot option booted, the
	// rule that chose it, and what it skipped, e.g. `Boot0002 "UEFI SATA
	// disk", by BootOrder (boot override Cd skipped: no medium in CD)`.
	Detail string `json:"detail,omitempty"`
	// ResetType is the kind of reset (Reset, HostReset).
	ResetType ResetType `json:"reset_type,omitempty"`
	// Component is the firmware component (FirmwareStaged,
	// FirmwareUpdated), Version the version its image carries; Image then
	// says where the image came from (a redacted URL or a file name).
	Component string `json:"component,omitempty"`
	Version   string `json:"version,omitempty"`
	// Volume is the ID of the RAID volume created or deleted
	// (VolumeCreated, VolumeDeleted).
	Volume string `json:"volume,omitempty"`
}

// MaxEvents is how many entries the log keeps; the oldest go first, as a
// SEL in overwrite mode does.
const MaxEvents = 1024

// MachineEvent is an event as a subscriber receives it: the entry and the
// machine that logged it.
type MachineEvent struct {
	Machine string
	Event
}

// Subscribe makes the machine push every event it logs from now on to q,
// in log order, once the entry is durable (or its write has failed and been
// reported). Pushing never blocks the machine: a full queue drops its oldest
// entry (see queue.Queue). One queue may serve many machines; each call
// pushes once per event. cancel stops
// the pushes; calling it twice is harmless.
//
// This is the machine model's only publisher: the event log, the IPMI SEL
// and every protocol's event stream see the same entries.
func (m *Machine) Subscribe(q *queue.Queue[MachineEvent]) (cancel func()) {
	token := &subscriber{q: q}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs == nil {
		m.subs = map[*subscriber]struct{}{}
	}
	m.subs[token] = struct{}{}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, token)
	}
}

// subscriber is one Subscribe call.
type subscriber struct{ q *queue.Queue[MachineEvent] }

// publishLocked hands e to every subscriber. The caller holds m.mu, so
// events reach each queue in ID order.
func (m *Machine) publishLocked(e Event) {
	for s := range m.subs {
		s.q.Push(MachineEvent{Machine: m.id, Event: e})
	}
}
