package redfish

import (
	"errors"
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

func (s *Service) systemRoutes() {
	s.handle("/redfish/v1/Systems", &resource{get: func(*http.Request) (any, error) {
		ids := s.ids()
		for i, id := range ids {
			ids[i] = systemPath(id)
		}
		return collection("ComputerSystemCollection", "Computer System Collection", "/redfish/v1/Systems", ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}", &resource{
		get:       s.getSystem,
		version:   s.machineVersion,
		patch:     s.patchSystem,
		patchPriv: auth.PrivConfigureComponents,
	})
	s.handle("/redfish/v1/Systems/{sys}/Actions/ComputerSystem.Reset", &resource{
		post:     s.resetSystem,
		postPriv: auth.PrivConfigureComponents,
	})
	s.handle("/redfish/v1/Systems/{sys}/ResetActionInfo", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		return resetActionInfo(systemPath(m.ID())+"/ResetActionInfo", m.Capabilities().ResetTypes), nil
	}})
}

func resetActionInfo(path string, types []hardware.ResetType) M {
	return M{
		"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
		"@odata.id":   path,
		"Id":          "ResetActionInfo",
		"Name":        "Reset Action Info",
		"Parameters": []M{{
			"Name":            "ResetType",
			"Required":        true,
			"DataType":        "String",
			"AllowableValues": types,
		}},
	}
}

// powerStatus is a system's Status for its power state; post says the
// firmware is running its POST (with the power On after a warm reset).
func powerStatus(p hardware.PowerState, post bool) M {
	switch {
	case p == hardware.PowerOn && post:
		return status("Starting", "OK")
	case p == hardware.PowerOn:
		return enabledStatus()
	case p == hardware.PowerPoweringOn:
		return status("Starting", "OK")
	case p == hardware.PowerPoweringOff:
		return status("Disabled", "OK")
	}
	return status("StandbyOffline", "OK")
}

func bootProgress(p hardware.PowerState, post bool) string {
	switch {
	case p == hardware.PowerPoweringOn, p == hardware.PowerOn && post:
		return "PrimaryProcessorInitializationStarted"
	case p == hardware.PowerOn:
		return "OSRunning"
	}
	return "None"
}

// powerState is m's power state, and the PowerState property's value:
// null when the machine cannot tell (no power control: a board with only
// its USB gadget), which the schema allows (Resource.PowerState or null).
func powerState(r *http.Request, m *hardware.Machine) (hardware.PowerState, any, error) {
	ps, err := m.PowerState(r.Context())
	switch {
	case errors.Is(err, hardware.ErrNotSupported):
		return "", nil, nil
	case err != nil:
		return "", nil, err
	}
	return ps, ps, nil
}

func (s *Service) getSystem(r *http.Request) (any, error) {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return nil, err
	}
	ps, psv, err := powerState(r, m)
	if err != nil {
		return nil, err
	}
	post := m.InPOST()
	info, caps, id := m.Info(), m.Capabilities(), m.ID()
	path := systemPath(id)
	ov := m.BootOverride()
	boot := M{
		"BootSourceOverrideTarget":  ov.Target,
		"BootSourceOverrideEnabled": ov.Enabled,
		"BootSourceOverrideMode":    ov.Mode,
	}
	// What the machine accepts is what a PATCH may send (its refusals are
	// mapped by bootErrors).
	allow := m.BootAllowable()
	bootOem := M{"BootOverrideSupported": allow.Supported()}
	if allow.Supported() {
		boot["BootSourceOverrideTarget@Redfish.AllowableValues"] = allow.Targets
		boot["BootSourceOverrideEnabled@Redfish.AllowableValues"] = allow.Enabled
		boot["BootSourceOverrideMode@Redfish.AllowableValues"] = allow.Modes
	} else {
		// Honest about a backend wired only to power: an override PATCH is
		// accepted (as PiKVM does) and changes nothing.
		boot["BootSourceOverrideTarget"] = hardware.BootNone
		boot["BootSourceOverrideEnabled"] = hardware.BootDisabled
	}
	addBootOrder(boot, m, path)
	addWriteable(boot, bootWriteable(m)...)
	threads := info.ThreadsPerCore
	if threads == 0 {
		threads = 1
	}
	sys := M{
		"@odata.type":  "#ComputerSystem.v1_27_0.ComputerSystem",
		"@odata.id":    path,
		"Id":           id,
		"Name":         systemName(id, info),
		"SystemType":   "Physical",
		"Manufacturer": info.Manufacturer,
		"Model":        info.Model,
		"SerialNumber": info.SerialNumber,
		"SKU":          info.SKU,
		"PartNumber":   info.PartNumber,
		"UUID":         info.UUID,
		"HostName":     info.HostName,
		"BiosVersion":  info.BiosVersion,
		"PowerState":   psv,
		"Status":       powerStatus(ps, post),
		"BootProgress": M{"LastState": bootProgress(ps, post)},
		"Boot":         boot,
		"ProcessorSummary": M{
			"Count":                 info.ProcessorCount,
			"Model":                 info.ProcessorModel,
			"CoreCount":             info.ProcessorCount * info.CoresPerProcessor,
			"LogicalProcessorCount": info.ProcessorCount * info.CoresPerProcessor * threads,
		},
		// No Status in the summaries: deprecated since v1_16_0 in favour of
		// the root Status (its Conditions).
		"MemorySummary": M{
			"TotalSystemMemoryGiB": info.MemoryGiB,
		},
		"Bios":               link{path + "/Bios"},
		"Processors":         link{path + "/Processors"},
		"Memory":             link{path + "/Memory"},
		"EthernetInterfaces": link{path + "/EthernetInterfaces"},
		"Storage":            link{path + "/Storage"},
		"SimpleStorage":      link{path + "/SimpleStorage"},
		"VirtualMedia":       link{path + "/VirtualMedia"},
		"LogServices":        link{path + "/LogServices"},
		"Links": M{
			"Chassis":   []link{{chassisPath(id)}},
			"ManagedBy": []link{{managerPath(id)}},
		},
		"Actions": M{
			"#ComputerSystem.Reset": M{
				"target":                            path + "/Actions/ComputerSystem.Reset",
				"@Redfish.ActionInfo":               path + "/ResetActionInfo",
				"ResetType@Redfish.AllowableValues": caps.ResetTypes,
			},
		},
		"Oem": oem("ComputerSystem", bootOem),
	}
	if _, ok := boot["BootOrder"]; ok {
		sys["Actions"].(M)["#ComputerSystem.SetDefaultBootOrder"] = M{"target": path + "/Actions/ComputerSystem.SetDefaultBootOrder"}
	}
	if caps.SecureBoot {
		sys["SecureBoot"] = link{path + "/SecureBoot"}
	}
	addIndicator(sys, m)
	if port, ok := s.ipmiPort(id); ok && m.Console().Available() {
		// The host serial line, reachable as IPMI Serial over LAN.
		sys["SerialConsole"] = M{
			"MaxConcurrentSessions": 1,
			"IPMI":                  M{"ServiceEnabled": true, "Port": port, "HotKeySequenceDisplay": "Enter ~. to end the session"},
		}
	}
	if _, ok := s.vncPort(m); ok {
		sys["GraphicalConsole"] = s.graphicalConsole(m, true)
	}
	if p, ok := m.PowerRestorePolicy(); ok {
		sys["PowerRestorePolicy"] = p
	}
	if t := m.LastReset(); !t.IsZero() {
		sys["LastResetTime"] = t.UTC().Format(timeFormat)
	}
	return sys, nil
}

const timeFormat = "2006-01-02T15:04:05Z07:00"

type systemPatch struct {
	IndicatorLED            *string `json:"IndicatorLED" validate:"omitempty,oneof=Lit Blinking Off"`
	LocationIndicatorActive *bool   `json:"LocationIndicatorActive"`

	Boot *bootPatch `json:"Boot"` // see bootoptions.go
}

// systemReadOnly are ComputerSystem properties that exist but that clients
// cannot set, for PropertyNotWritable.
var systemReadOnly = map[string]bool{
	"Id": true, "Name": true, "PowerState": true, "Status": true, "UUID": true, "SerialNumber": true,
	"Manufacturer": true, "Model": true, "SKU": true, "PartNumber": true, "HostName": true,
	"BiosVersion": true, "ProcessorSummary": true, "MemorySummary": true, "SystemType": true,
	"Links": true, "Actions": true, "BootProgress": true, "LastResetTime": true,
}

// patchSystem checks the whole body, then applies it as one machine
// Change: a refused value leaves the LED and the boot override as they
// were.
func (s *Service) patchSystem(r *http.Request) error {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return err
	}
	var p systemPatch
	top, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return systemReadOnly[n] }})
	if err != nil {
		return err
	}
	// Validate everything, then apply it as one change.
	var c hardware.Change
	if c.Identify, err = identifySetting(m, p.IndicatorLED, p.LocationIndicatorActive); err != nil {
		return err
	}
	if p.Boot != nil {
		bc, err := p.Boot.change(top["Boot"])
		if err != nil {
			return err
		}
		c.Boot = &bc
	}
	return bootErrors(m.Apply(c))
}

type resetBody struct {
	ResetType *string `json:"ResetType" validate:"required,oneof=On ForceOff GracefulShutdown GracefulRestart ForceRestart Nmi ForceOn PushPowerButton PowerCycle Suspend Pause Resume FullPowerCycle"`
}

func (s *Service) resetSystem(w http.ResponseWriter, r *http.Request) error {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return err
	}
	const action = "ComputerSystem.Reset"
	var b resetBody
	if _, err := decodeBody(r, &b, bodyKind{action: action}); err != nil {
		return err
	}
	rt := hardware.ResetType(*b.ResetType)
	if !m.Capabilities().CanReset(rt) {
		return apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", string(rt), "ResetType", action)
	}
	if err := m.Reset(hardware.WithOrigin(r.Context(), originOf(r)), rt); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// systemName is a System's Name: the machine's own (a VM's), else
// "System <Id>".
func systemName(id string, info hardware.Info) string {
	if info.Name != "" {
		return info.Name
	}
	return "System " + id
}
