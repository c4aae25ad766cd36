package redfish

import (
	"strconv"
	"strings"

	"github.com/bmcd/bmcd/hardware"
)

// The registries events are stated in.
var (
	resourceEventRegistry = registryByPrefix("ResourceEvent")
	logServiceRegistry    = registryByPrefix("LogService")
	managerEventRegistry  = registryByPrefix("ManagerEvent")
	bmcdRegistry          = registryByPrefix("Bmcd")
)

// eventSubject is a registry message about a resource: what an event
// record and a log entry say.
type eventSubject struct {
	registryText
	Origin       string // OriginOfCondition: the URI the event is about
	ResourceType string // its schema name, e.g. "ComputerSystem"
}

func eventLogPath(sys string) string { return systemPath(sys) + "/LogServices/EventLog" }

// machineMessage states an entry of system sys's event log in registry
// terms. The same statement feeds the LogEntry (redfish/logservices.go) and
// the event sent to subscribers, while IPMI renders the same entry as a SEL
// record (ipmi/sel.go): every protocol tells the same story. ok is false
// for an entry logged before entries carried the details its message needs.
func machineMessage(sys string, e hardware.Event) (eventSubject, bool) {
	system := eventSubject{Origin: systemPath(sys), ResourceType: "ComputerSystem"}
	with := func(s eventSubject, reg *messageRegistry, key string, args ...string) (eventSubject, bool) {
		s.registryText = reg.fill(key, args...)
		return s, true
	}
	switch e.Kind {
	case hardware.EventPowerOn:
		return with(system, resourceEventRegistry, "ResourcePoweredOn", systemPath(sys))
	case hardware.EventPowerOff:
		return with(system, resourceEventRegistry, "ResourcePoweredOff", systemPath(sys))
	case hardware.EventBoot:
		switch {
		case e.Source == "" || e.Mode == "":
		case e.Slot != "":
			return with(system, bmcdRegistry, "HostBootFellThrough", e.Slot, string(e.Source), string(e.Mode))
		case e.Image != "":
			return with(system, bmcdRegistry, "HostBootStartedFromImage", string(e.Source), e.Image, string(e.Mode))
		default:
			return with(system, bmcdRegistry, "HostBootStarted", string(e.Source), string(e.Mode))
		}
	case hardware.EventNmi:
		return with(system, bmcdRegistry, "DiagnosticInterruptSent")
	case hardware.EventBootOverride:
		if e.Source != "" && e.Enabled != "" && e.Mode != "" {
			return with(system, bmcdRegistry, "BootSourceOverrideSet", string(e.Source), string(e.Enabled), string(e.Mode))
		}
	case hardware.EventBootOrderSet:
		return with(system, bmcdRegistry, "BootOrderSet", strings.Join(e.BootOrder, ", "))
	case hardware.EventBootOrderReset:
		return with(system, bmcdRegistry, "BootOrderReset", strings.Join(e.BootOrder, ", "))
	case hardware.EventBootNext:
		if e.BootOption == "" {
			return with(system, bmcdRegistry, "BootNextCleared")
		}
		return with(system, bmcdRegistry, "BootNextSet", e.BootOption)
	case hardware.EventBootOptionEnabled:
		if e.BootOption == "" {
			break
		}
		opt := eventSubject{Origin: systemPath(sys) + "/BootOptions/" + e.BootOption, ResourceType: "BootOption"}
		return with(opt, bmcdRegistry, "BootOptionEnabledChanged", e.BootOption, strconv.FormatBool(e.BootOptionEnabled))
	case hardware.EventSettings:
		return with(eventSubject{Origin: systemPath(sys) + "/Bios", ResourceType: "Bios"}, bmcdRegistry, "BiosSettingsApplied")
	case hardware.EventMediaInsert, hardware.EventMediaEject:
		if e.Slot == "" {
			break
		}
		slot := eventSubject{Origin: managerPath(sys) + "/VirtualMedia/" + e.Slot, ResourceType: "VirtualMedia"}
		if e.Kind == hardware.EventMediaInsert {
			return with(slot, bmcdRegistry, "VirtualMediaInserted", e.Image, e.Slot)
		}
		return with(slot, bmcdRegistry, "VirtualMediaEjected", e.Image, e.Slot)
	case hardware.EventLogCleared:
		return with(eventSubject{Origin: eventLogPath(sys), ResourceType: "LogService"}, logServiceRegistry, "LogCleared", eventLogPath(sys))
	case hardware.EventFirmwareStaged, hardware.EventFirmwareUpdated:
		if e.Component == "" {
			break
		}
		// The Update registry, as in the update's Task: staged images
		// await the host reset that activates them.
		fw := eventSubject{Origin: componentPath(sys, e.Component), ResourceType: "SoftwareInventory"}
		if e.Kind == hardware.EventFirmwareStaged {
			return with(fw, updateRegistry, "AwaitToActivate", e.Image, fw.Origin)
		}
		return with(fw, updateRegistry, "UpdateSuccessful", fw.Origin, e.Image)
	case hardware.EventVolumeCreated, hardware.EventVolumeDeleted:
		if e.Volume == "" {
			break
		}
		vol := eventSubject{Origin: volumePath(sys, e.Volume), ResourceType: "Volume"}
		if e.Kind == hardware.EventVolumeCreated {
			return with(vol, resourceEventRegistry, "ResourceCreated")
		}
		return with(vol, resourceEventRegistry, "ResourceRemoved")
	case hardware.EventReset:
		if e.ResetType != "" {
			return with(eventSubject{Origin: managerPath(sys), ResourceType: "Manager"}, managerEventRegistry,
				"ManagerReset", managerPath(sys), string(e.ResetType))
		}
	case hardware.EventHostReset:
		if e.ResetType != "" {
			return with(system, bmcdRegistry, "HostResetRequested", string(e.ResetType))
		}
	}
	return eventSubject{}, false
}
