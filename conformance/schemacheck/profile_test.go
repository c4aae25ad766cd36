package schemacheck

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeProfile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadProfileRefusesWhatItCannotCheck(t *testing.T) {
	for name, body := range map[string]string{
		"conditional":     `{"Resources": {"Chassis": {"PropertyRequirements": {"X": {"ConditionalRequirements": []}}}}}`,
		"use cases":       `{"Resources": {"Chassis": {"UseCases": []}}}`,
		"comparison":      `{"Resources": {"Chassis": {"PropertyRequirements": {"X": {"Comparison": "GreaterThan", "Values": [1]}}}}}`,
		"read level":      `{"Resources": {"Chassis": {"ReadRequirement": "Conditional"}}}`,
		"nested level":    `{"Resources": {"Chassis": {"PropertyRequirements": {"X": {"PropertyRequirements": {"Y": {"ReadRequirement": "Sometimes"}}}}}}}`,
		"parameter level": `{"Resources": {"Chassis": {"ActionRequirements": {"Reset": {"Parameters": {"ResetType": {"ReadRequirement": "Often"}}}}}}}`,
		"not JSON":        `{`,
	} {
		if _, err := LoadProfile(writeProfile(t, body)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := LoadProfile(filepath.Join(t.TempDir(), "nope.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

// profileDocs makes a service of documents (by path) to check a profile
// against, with the Allow header of some.
func profileDocs(t *testing.T, docs map[string]string, allow map[string]string) ([]ProfileDocument, func(string) (map[string]any, bool)) {
	t.Helper()
	byPath := map[string]map[string]any{}
	var out []ProfileDocument
	for p, body := range docs {
		var d map[string]any
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		byPath[p] = d
		h := http.Header{}
		if a, ok := allow[p]; ok {
			h.Set("Allow", a)
		}
		out = append(out, ProfileDocument{Path: p, Header: h, Doc: d})
	}
	return out, func(p string) (map[string]any, bool) { d, ok := byPath[p]; return d, ok }
}

func TestProfileCheck(t *testing.T) {
	profile := `{
		"Protocol": {"MinVersion": "1.6.0"},
		"Registries": {"Base": {"MinVersion": "1.0.0", "Messages": {"Success": {}}}},
		"Resources": {
			"ServiceRoot": {"PropertyRequirements": {"Systems": {"Comparison": "LinkToResource", "Values": ["ComputerSystemCollection"]},
				"Chassis": {"Comparison": "LinkToResource", "Values": ["ChassisCollection"]}}},
			"ComputerSystem": {
				"MinVersion": "1.20.0",
				"PropertyRequirements": {
					"Boot": {"PropertyRequirements": {
						"BootSourceOverrideTarget": {"WriteRequirement": "Mandatory", "MinSupportValues": ["Pxe", "Cd"]},
						"BootSourceOverrideMode": {"WriteRequirement": "Mandatory"}}},
					"IndicatorLED": {"ReadRequirement": "Recommended", "Values": ["Lit", "Blinking"]},
					"PowerState": {},
					"BiosVersion": {"ReadRequirement": "Recommended"},
					"Model": {"ReadRequirement": "IfImplemented"},
					"Links": {"PropertyRequirements": {"ManagedBy": {"MinCount": 2}}},
					"Status": {"PropertyRequirements": {"State": {"Comparison": "Equal", "Values": ["Enabled"]}}}
				},
				"ActionRequirements": {"Reset": {"Parameters": {
					"ResetType": {"ParameterValues": ["On", "ForceOff"], "RecommendedValues": ["Nmi"]},
					"Delay": {"ReadRequirement": "Recommended"}}},
					"Decommission": {"ReadRequirement": "Recommended"}}
			},
			"Storage": {"PropertyRequirements": {
				"Controllers": {"ReplacesProperty": "StorageControllers"},
				"StorageControllers": {"ReadRequirement": "IfImplemented", "ReplacedByProperty": "Controllers",
					"PropertyRequirements": {"SupportedRAIDTypes": {}}},
				"Volumes": {},
				"SupportedApplyTimes": {"MinSupportValues": ["OnReset"]}}},
			"Thermal": {"PropertyRequirements": {"Fans": {"PropertyRequirements": {"Reading": {}, "SerialNumber": {"ReadRequirement": "Recommended"}}}}},
			"SecureBoot": {"ReadRequirement": "Recommended"},
			"Drive": {"ReadRequirement": "IfImplemented"},
			"EthernetInterface": {"URIs": ["/redfish/v1/Systems/{ComputerSystemId}/EthernetInterfaces/{EthernetInterfaceId}"],
				"PropertyRequirements": {"MACAddress": {}}}
		}
	}`
	p, err := LoadProfile(writeProfile(t, profile))
	if err != nil {
		t.Fatal(err)
	}
	docs, get := profileDocs(t, map[string]string{
		"/redfish/v1": `{"@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot", "RedfishVersion": "1.5.0",
			"Systems": {"@odata.id": "/redfish/v1/Systems"}, "Chassis": {"@odata.id": "/redfish/v1/Systems/0"}}`,
		"/redfish/v1/Systems": `{"@odata.type": "#ComputerSystemCollection.ComputerSystemCollection"}`,
		"/redfish/v1/Registries/Base": `{"@odata.type": "#MessageRegistry.v1_6_3.MessageRegistry", "RegistryPrefix": "Base",
			"RegistryVersion": "1.22.1", "Messages": {"Other": {}}}`,
		"/redfish/v1/Systems/0": `{"@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
			"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe", "Hdd"],
				"BootSourceOverrideMode": "UEFI", "@Redfish.WriteableProperties": ["BootSourceOverrideTarget"]},
			"IndicatorLED": "Off", "PowerState": "On", "Status": {"State": "Disabled"},
			"Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/0"}]},
			"Actions": {"#ComputerSystem.Reset": {"target": "x", "@Redfish.ActionInfo": "/redfish/v1/Systems/0/ResetActionInfo"}}}`,
		"/redfish/v1/Systems/0/ResetActionInfo": `{"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
			"Parameters": [{"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]}]}`,
		"/redfish/v1/Systems/0/Storage/1": `{"@odata.type": "#Storage.v1_19_0.Storage", "StorageControllers": [{"Name": "c"}],
			"Volumes": {"@odata.id": "/redfish/v1/Systems/0/Storage/1/Volumes"}, "SupportedApplyTimes": ["Immediate", "OnReset"]}`,
		"/redfish/v1/Chassis/0/Thermal":                  `{"@odata.type": "#Thermal.v1_7_3.Thermal", "Fans": [{"Reading": 1, "SerialNumber": "s"}, {"SerialNumber": "t"}]}`,
		"/redfish/v1/Managers/0/EthernetInterfaces/eth0": `{"@odata.type": "#EthernetInterface.v1_12_4.EthernetInterface"}`,
	}, map[string]string{"/redfish/v1/Systems/0": "GET, HEAD, PATCH"})
	var got []string
	for _, f := range p.Check(docs, get) {
		got = append(got, f.String())
	}
	expect := []string{
		"Mandatory Protocol /redfish/v1 RedfishVersion",                                          // 1.5.0 < 1.6.0
		"Mandatory Registries /redfish/v1/Registries/Base Base.Success",                          // message missing
		"Mandatory ServiceRoot /redfish/v1 Chassis: links to a ComputerSystem",                   // LinkToResource type
		"Mandatory ComputerSystem /redfish/v1/Systems/0 @odata.type",                             // MinVersion
		"Mandatory ComputerSystem /redfish/v1/Systems/0 Boot.BootSourceOverrideTarget: supports", // no Cd
		"Mandatory ComputerSystem /redfish/v1/Systems/0 Boot.BootSourceOverrideMode: not in the @Redfish.WriteableProperties",
		"Recommended ComputerSystem  IndicatorLED: values [Off], want AnyOf [Lit Blinking]",
		"Recommended ComputerSystem /redfish/v1/Systems/0 BiosVersion: absent",
		"Mandatory ComputerSystem /redfish/v1/Systems/0 Links.ManagedBy: 1 members",
		"Mandatory ComputerSystem /redfish/v1/Systems/0 Status.State: Disabled, want Equal",
		"Recommended ComputerSystem /redfish/v1/Systems/0 Actions.Reset.ResetType: allows [On ForceOff], recommended [Nmi]",
		"Recommended ComputerSystem /redfish/v1/Systems/0 Actions.Reset.Delay: neither",
		"Recommended ComputerSystem /redfish/v1/Systems/0 Actions.Decommission: action",
		"Recommended Storage /redfish/v1/Systems/0/Storage/1 Controllers: absent; only the property it replaces",
		"Mandatory Storage /redfish/v1/Systems/0/Storage/1 StorageControllers[0].SupportedRAIDTypes: absent",
		"Mandatory Thermal /redfish/v1/Chassis/0/Thermal Fans[1].Reading: absent",
		"Recommended SecureBoot  : no SecureBoot resource",
		"Mandatory EthernetInterface  : no EthernetInterface resource", // the one served is not at the profile's URI
	}
	for _, e := range expect {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, e) {
				found = true
			}
		}
		if !found {
			t.Errorf("no finding %q", e)
		}
	}
	if len(got) != len(expect) || testing.Verbose() {
		t.Errorf("%d findings, want %d:\n%s", len(got), len(expect), strings.Join(got, "\n"))
	}

	// The same service without its faults meets the profile; with
	// Controllers served, StorageControllers is not checked.
	fixed, get := profileDocs(t, map[string]string{
		"/redfish/v1": `{"@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot", "RedfishVersion": "1.20.0",
			"Systems": {"@odata.id": "/redfish/v1/Systems"}, "Chassis": {"@odata.id": "/redfish/v1/Chassis"}}`,
		"/redfish/v1/Systems": `{"@odata.type": "#ComputerSystemCollection.ComputerSystemCollection"}`,
		"/redfish/v1/Chassis": `{"@odata.type": "#ChassisCollection.ChassisCollection"}`,
		"/redfish/v1/Registries/Base": `{"@odata.type": "#MessageRegistry.v1_6_3.MessageRegistry", "RegistryPrefix": "Base",
			"RegistryVersion": "1.22.1", "Messages": {"Success": {}}}`,
		"/redfish/v1/Systems/0": `{"@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
			"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe", "Cd"],
				"BootSourceOverrideMode": "UEFI", "@Redfish.WriteableProperties": ["BootSourceOverrideTarget", "BootSourceOverrideMode"]},
			"IndicatorLED": "Lit", "PowerState": "On", "BiosVersion": "1", "Status": {"State": "Enabled"},
			"Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/0"}], "ManagedBy@odata.count": 2},
			"Actions": {"#ComputerSystem.Reset": {"target": "x", "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "Nmi"],
				"@Redfish.ActionInfo": "/redfish/v1/Systems/0/ResetActionInfo"}, "#ComputerSystem.Decommission": {"target": "y"}}}`,
		"/redfish/v1/Systems/0/ResetActionInfo": `{"@odata.type": "#ActionInfo.v1_5_0.ActionInfo", "Parameters": [{"Name": "Delay"}]}`,
		"/redfish/v1/Systems/0/Storage/1": `{"@odata.type": "#Storage.v1_19_0.Storage", "StorageControllers": [{"Name": "c"}],
			"Controllers": {"@odata.id": "/redfish/v1/Systems/0/Storage/1/Controllers"},
			"Volumes": {"@odata.id": "/redfish/v1/Systems/0/Storage/1/Volumes"}, "SupportedApplyTimes": ["Immediate", "OnReset"]}`,
		"/redfish/v1/Systems/0/SecureBoot":           `{"@odata.type": "#SecureBoot.v1_1_2.SecureBoot"}`,
		"/redfish/v1/Chassis/0/Thermal":              `{"@odata.type": "#Thermal.v1_7_3.Thermal", "Fans": [{"Reading": 1, "SerialNumber": "s"}]}`,
		"/redfish/v1/Systems/0/EthernetInterfaces/1": `{"@odata.type": "#EthernetInterface.v1_12_4.EthernetInterface", "MACAddress": "m"}`,
	}, map[string]string{"/redfish/v1/Systems/0": "GET, HEAD, PATCH"})
	if f := p.Check(fixed, get); len(f) != 0 {
		t.Errorf("a conforming service has findings: %v", f)
	}
	// Without PATCH in Allow, a WriteRequirement fails.
	for i := range fixed {
		if fixed[i].Path == "/redfish/v1/Systems/0" {
			fixed[i].Header = http.Header{"Allow": {"GET, HEAD"}}
		}
	}
	n := 0
	for _, f := range p.Check(fixed, get) {
		if strings.Contains(f.Message, "not writable") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d not-writable findings without PATCH, want 2", n)
	}
}
