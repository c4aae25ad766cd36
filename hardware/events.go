package hardware

import "time"

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
	EventPowerOn      EventKind = "PowerOn"
	EventPowerOff     EventKind = "PowerOff"
	EventReset        EventKind = "Reset"
	EventBoot         EventKind = "Boot"
	EventNmi          EventKind = "Nmi"
	EventMediaInsert  EventKind = "MediaInserted"
	EventMediaEject   EventKind = "MediaEjected"
	EventBootOverride EventKind = "BootOverride"
	// EventBootOrder: the boot order, BootNext or an option's enabled
	// state changed.
	EventBootOrder  EventKind = "BootOrder"
	EventLogCleared EventKind = "LogCleared"
	EventSettings   EventKind = "SettingsApplied"
)

// Event is one entry of the machine's event log.
type Event struct {
	ID       uint64    `json:"id"`
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Severity Severity  `json:"severity"`
	Message  string    `json:"message"`
}

// MaxEvents is how many entries the log keeps; the oldest go first, as a
// SEL in overwrite mode does.
const MaxEvents = 1024
