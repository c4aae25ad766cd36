package redfish

import (
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

func (s *Service) systemRoutes() {
	s.handle("/redfish/v1/Systems", &resource{get: func(*http.Request) (any, error) {
		ids := make([]string, len(s.order))
		for i, id := range s.order {
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

func powerStatus(p hardware.PowerState) M {
	switch p {
	case hardware.PowerOn:
		return enabledStatus()
	case hardware.PowerPoweringOn:
		return status("Starting", "OK")
	case hardware.PowerPoweringOff:
		return status("Disabled", "OK")
	}
	return status("StandbyOffline", "OK")
}

func bootProgress(p hardware.PowerState) string {
	switch p {
	case hardware.PowerOn:
		return "OSRunning"
	case hardware.PowerPoweringOn:
		return "PrimaryProcessorInitializationStarted"
	}
	return "None"
}

func (s *Service) getSystem(r *http.Request) (any, error) {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return nil, err
	}
	ps, err := m.PowerState(r.Context())
	if err != nil {
		return nil, err
	}
	info, caps, id := m.Info(), m.Capabilities(), m.ID()
	path := systemPath(id)
	ov := m.BootOverride()
	boot := M{
		"BootSourceOverrideTarget":  ov.Target,
		"BootSourceOverrideEnabled": ov.Enabled,
		"BootSourceOverrideMode":    ov.Mode,
	}
	bootOem := M{"BootOverrideSupported": m.BootOverrideSupported()}
	if m.BootOverrideSupported() {
		boot["BootSourceOverrideTarget@Redfish.AllowableValues"] = append([]hardware.BootSource{hardware.BootNone}, caps.BootTargets...)
		boot["BootSourceOverrideEnabled@Redfish.AllowableValues"] = []hardware.BootEnabled{hardware.BootDisabled, hardware.BootOnce, hardware.BootContinuous}
		boot["BootSourceOverrideMode@Redfish.AllowableValues"] = caps.BootModes
	} else {
		// Honest about a backend wired only to power: an override PATCH is
		// accepted (as PiKVM does) and changes nothing.
		boot["BootSourceOverrideTarget"] = hardware.BootNone
		boot["BootSourceOverrideEnabled"] = hardware.BootDisabled
	}
	threads := info.ThreadsPerCore
	if threads == 0 {
		threads = 1
	}
	sys := M{
		"@odata.type":  "#ComputerSystem.v1_27_0.ComputerSystem",
		"@odata.id":    path,
		"Id":           id,
		"Name":         "System " + id,
		"SystemType":   "Physical",
		"Manufacturer": info.Manufacturer,
		"Model":        info.Model,
		"SerialNumber": info.SerialNumber,
		"SKU":          info.SKU,
		"PartNumber":   info.PartNumber,
		"UUID":         info.UUID,
		"HostName":     info.HostName,
		"BiosVersion":  info.BiosVersion,
		"PowerState":   ps,
		"Status":       powerStatus(ps),
		"BootProgress": M{"LastState": bootProgress(ps)},
		"Boot":         boot,
		"ProcessorSummary": M{
			"Count":                 info.ProcessorCount,
			"Model":                 info.ProcessorModel,
			"CoreCount":             info.ProcessorCount * info.CoresPerProcessor,
			"LogicalProcessorCount": info.ProcessorCount * info.CoresPerProcessor * threads,
			"Status":                enabledStatus(),
		},
		"MemorySummary": M{
			"TotalSystemMemoryGiB": info.MemoryGiB,
			"Status":               enabledStatus(),
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
	if caps.SecureBoot {
		sys["SecureBoot"] = link{path + "/SecureBoot"}
	}
	sys["IndicatorLED"], sys["LocationIndicatorActive"] = indicator(m)
	if port, ok := s.cfg.IPMIPorts[id]; ok && m.Console().Available() {
		// The host serial line, reachable as IPMI Serial over LAN.
		sys["SerialConsole"] = M{
			"MaxConcurrentSessions": 1,
			"IPMI":                  M{"ServiceEnabled": true, "Port": port, "HotKeySequenceDisplay": "Enter ~. to end the session"},
		}
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

// indicator renders the identify LED, which blinks while on.
func indicator(m *hardware.Machine) (led string, active bool) {
	if m.Identify().On {
		return "Blinking", true
	}
	return "Off", false
}

// setIndicator applies IndicatorLED / LocationIndicatorActive from a PATCH:
// Lit and Blinking both turn the identify indication on until turned off.
func setIndicator(m *hardware.Machine, led *string, active *bool) {
	switch {
	case led != nil && *led == "Off", active != nil && !*active:
		m.SetIdentify(0)
	case led != nil, active != nil:
		m.SetIdentify(-1)
	}
}

type systemPatch struct {
	IndicatorLED            *string `json:"IndicatorLED" validate:"omitempty,oneof=Lit Blinking Off"`
	LocationIndicatorActive *bool   `json:"LocationIndicatorActive"`

	Boot *struct {
		BootSourceOverrideTarget     *string `json:"BootSourceOverrideTarget" validate:"omitempty,oneof=None Pxe Floppy Cd Usb Hdd BiosSetup Utilities Diags UefiShell UefiTarget SDCard UefiHttp RemoteDrive UefiBootNext Recovery"`
		BootSourceOverrideEnabled    *string `json:"BootSourceOverrideEnabled" validate:"omitempty,oneof=Disabled Once Continuous"`
		BootSourceOverrideMode       *string `json:"BootSourceOverrideMode" validate:"omitempty,oneof=UEFI Legacy"`
		UefiTargetBootSourceOverride *string `json:"UefiTargetBootSourceOverride"`
	} `json:"Boot"`
}

// systemReadOnly are ComputerSystem properties that exist but that clients
// cannot set, for PropertyNotWritable.
var systemReadOnly = map[string]bool{
	"Id": true, "Name": true, "PowerState": true, "Status": true, "UUID": true, "SerialNumber": true,
	"Manufacturer": true, "Model": true, "SKU": true, "PartNumber": true, "HostName": true,
	"BiosVersion": true, "ProcessorSummary": true, "MemorySummary": true, "SystemType": true,
	"Links": true, "Actions": true, "BootProgress": true, "LastResetTime": true,
}

func (s *Service) patchSystem(r *http.Request) error {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return err
	}
	var p systemPatch
	if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return systemReadOnly[n] }}); err != nil {
		return err
	}
	if p.IndicatorLED != nil && p.LocationIndicatorActive != nil && (*p.IndicatorLED == "Off") == *p.LocationIndicatorActive {
		return apiErr(http.StatusBadRequest, "PropertyValueConflict", "IndicatorLED", "LocationIndicatorActive")
	}
	setIndicator(m, p.IndicatorLED, p.LocationIndicatorActive)
	if p.Boot == nil {
		return nil
	}
	var ov hardware.BootOverride
	if b := p.Boot; b.BootSourceOverrideTarget != nil {
		ov.Target = hardware.BootSource(*b.BootSourceOverrideTarget)
	}
	if b := p.Boot; b.BootSourceOverrideEnabled != nil {
		ov.Enabled = hardware.BootEnabled(*b.BootSourceOverrideEnabled)
	}
	if b := p.Boot; b.BootSourceOverrideMode != nil {
		ov.Mode = hardware.BootMode(*b.BootSourceOverrideMode)
	}
	if m.BootOverrideSupported() {
		caps := m.Capabilities()
		if ov.Target != "" && !caps.CanBoot(ov.Target) {
			return apiErr(http.StatusBadRequest, "PropertyValueNotInList", string(ov.Target), "/Boot/BootSourceOverrideTarget")
		}
		if ov.Mode != "" && !containsMode(caps.BootModes, ov.Mode) {
			return apiErr(http.StatusBadRequest, "PropertyValueNotInList", string(ov.Mode), "/Boot/BootSourceOverrideMode")
		}
	}
	return m.SetBootOverride(ov)
}

func containsMode(ms []hardware.BootMode, x hardware.BootMode) bool {
	for _, m := range ms {
		if m == x {
			return true
		}
	}
	return false
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
	if err := m.Reset(r.Context(), rt); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
