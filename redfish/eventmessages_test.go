package redfish

import (
	"slices"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestMachineMessage(t *testing.T) {
	const img = "http://127.0.0.1/x.iso"
	for _, tc := range []struct {
		e            hardware.Event
		id           string
		args         []string
		text, origin string
	}{
		{hardware.Event{Kind: hardware.EventPowerOn}, "ResourceEvent.1.4.ResourcePoweredOn", []string{"/redfish/v1/Systems/7"},
			"The resource '/redfish/v1/Systems/7' has powered on.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventPowerOff}, "ResourceEvent.1.4.ResourcePoweredOff", []string{"/redfish/v1/Systems/7"},
			"The resource '/redfish/v1/Systems/7' has powered off.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBoot, Source: hardware.BootPxe, Mode: hardware.BootModeLegacy}, "Bmcd.1.0.HostBootStarted",
			[]string{"Pxe", "Legacy"}, "The host firmware is booting from Pxe in Legacy mode.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBoot, Source: hardware.BootCd, Mode: hardware.BootModeUEFI, Image: img}, "Bmcd.1.0.HostBootStartedFromImage",
			[]string{"Cd", img, "UEFI"}, "The host firmware is booting from Cd image " + img + " in UEFI mode.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBoot, Source: hardware.BootHdd, Mode: hardware.BootModeUEFI, Slot: "USB"}, "Bmcd.1.0.HostBootFellThrough",
			[]string{"USB", "Hdd", "UEFI"}, "The host firmware found no medium in USB and is booting from Hdd in UEFI mode.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventNmi}, "Bmcd.1.0.DiagnosticInterruptSent", []string{},
			"A diagnostic interrupt (NMI) was sent to the host.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootOverride, Source: hardware.BootPxe, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI},
			"Bmcd.1.0.BootSourceOverrideSet", []string{"Pxe", "Once", "UEFI"}, "The boot source override is now Pxe (Once) in UEFI mode.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootOrderSet, BootOrder: []string{"Boot0005", "Boot0002", "Boot0001"}}, "Bmcd.1.0.BootOrderSet",
			[]string{"Boot0005, Boot0002, Boot0001"}, "The boot order is now: Boot0005, Boot0002, Boot0001.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootOrderSet}, "Bmcd.1.0.BootOrderSet", []string{""}, "The boot order is now: .", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootOrderReset, BootOrder: []string{"Boot0001", "Boot0002"}}, "Bmcd.1.0.BootOrderReset",
			[]string{"Boot0001, Boot0002"}, "The boot order was reset to the default: Boot0001, Boot0002.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootNext, BootOption: "Boot0007"}, "Bmcd.1.0.BootNextSet", []string{"Boot0007"},
			"The host firmware will boot once from boot option Boot0007 at the next boot.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootNext}, "Bmcd.1.0.BootNextCleared", []string{},
			"The one-time boot option (BootNext) was cleared.", "/redfish/v1/Systems/7"},
		{hardware.Event{Kind: hardware.EventBootOptionEnabled, BootOption: "Boot0005"}, "Bmcd.1.0.BootOptionEnabledChanged", []string{"Boot0005", "false"},
			"The BootOptionEnabled property of boot option Boot0005 is now false.", "/redfish/v1/Systems/7/BootOptions/Boot0005"},
		{hardware.Event{Kind: hardware.EventBootOptionEnabled, BootOption: "Boot0005", BootOptionEnabled: true}, "Bmcd.1.0.BootOptionEnabledChanged",
			[]string{"Boot0005", "true"}, "The BootOptionEnabled property of boot option Boot0005 is now true.", "/redfish/v1/Systems/7/BootOptions/Boot0005"},
		{hardware.Event{Kind: hardware.EventSettings}, "Bmcd.1.0.BiosSettingsApplied", []string{},
			"Pending BIOS settings were applied at boot.", "/redfish/v1/Systems/7/Bios"},
		{hardware.Event{Kind: hardware.EventMediaInsert, Slot: "CD", Image: img}, "Bmcd.1.0.VirtualMediaInserted", []string{img, "CD"},
			"Virtual media image " + img + " was inserted into CD.", "/redfish/v1/Managers/7/VirtualMedia/CD"},
		{hardware.Event{Kind: hardware.EventMediaEject, Slot: "CD", Image: img}, "Bmcd.1.0.VirtualMediaEjected", []string{img, "CD"},
			"Virtual media image " + img + " was ejected from CD.", "/redfish/v1/Managers/7/VirtualMedia/CD"},
		{hardware.Event{Kind: hardware.EventLogCleared}, "LogService.1.1.LogCleared", []string{"/redfish/v1/Systems/7/LogServices/EventLog"},
			"Log '/redfish/v1/Systems/7/LogServices/EventLog' was cleared.", "/redfish/v1/Systems/7/LogServices/EventLog"},
		{hardware.Event{Kind: hardware.EventReset, ResetType: hardware.ResetForceRestart}, "ManagerEvent.1.0.ManagerReset",
			[]string{"/redfish/v1/Managers/7", "ForceRestart"}, "Manager `/redfish/v1/Managers/7` performed a 'ForceRestart' type of reset.", "/redfish/v1/Managers/7"},
		{hardware.Event{Kind: hardware.EventHostReset, ResetType: hardware.ResetPowerCycle}, "Bmcd.1.0.HostResetRequested",
			[]string{"PowerCycle"}, "A PowerCycle reset of the host was requested.", "/redfish/v1/Systems/7"},
	} {
		got, ok := machineMessage("7", tc.e)
		if !ok || got.ID != tc.id || !slices.Equal(got.Args, tc.args) || got.Message != tc.text || got.Origin != tc.origin || got.ResourceType == "" {
			t.Errorf("%s: %+v, %v\nwant %s %q %q %s", tc.e.Kind, got, ok, tc.id, tc.args, tc.text, tc.origin)
		}
	}
	// Entries logged before they carried details keep their plain text.
	for _, e := range []hardware.Event{
		{Kind: hardware.EventBoot}, {Kind: hardware.EventBootOverride}, {Kind: hardware.EventMediaInsert},
		{Kind: hardware.EventReset}, {Kind: hardware.EventHostReset}, {Kind: hardware.EventBootOrder}, {Kind: hardware.EventBootOptionEnabled}, {Kind: "Future"},
	} {
		if got, ok := machineMessage("7", e); ok {
			t.Errorf("%+v stated as %+v", e, got)
		}
	}
}
