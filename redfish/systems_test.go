package redfish

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

const (
	sys0   = "/redfish/v1/Systems/0"
	reset0 = sys0 + "/Actions/ComputerSystem.Reset"
)

// TestBootAllowableValues: the Boot AllowableValues are the machine's
// (hardware.Machine.BootAllowable), and each value a client reads there
// is accepted by a PATCH; one outside them gets the machine's refusal as
// PropertyValueNotInList.
func TestBootAllowableValues(t *testing.T) {
	e := newEnv(t)
	a := e.machines["0"].BootAllowable()
	b := e.get(sys0).obj()["Boot"].(map[string]any)
	for prop, want := range map[string]any{"BootSourceOverrideTarget": a.Targets, "BootSourceOverrideEnabled": a.Enabled,
		"BootSourceOverrideMode": a.Modes} {
		if got := b[prop+"@Redfish.AllowableValues"]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s AllowableValues %v, want %v", prop, got, want)
		}
	}
	for _, v := range b["BootSourceOverrideTarget@Redfish.AllowableValues"].([]any) {
		boot := M{"BootSourceOverrideTarget": v, "BootSourceOverrideEnabled": "Once"}
		switch v {
		case "UefiBootNext":
			boot["BootNext"] = "Boot0001"
		case "UefiTarget":
			o, _ := e.machines["0"].BootOption("Boot0001")
			boot["UefiTargetBootSourceOverride"] = o.DevicePath
		}
		e.patch(sys0, M{"Boot": boot}).want(http.StatusNoContent)
	}
	for _, v := range b["BootSourceOverrideMode@Redfish.AllowableValues"].([]any) {
		e.patch(sys0, M{"Boot": M{"BootSourceOverrideMode": v}}).want(http.StatusNoContent)
	}
	// Floppy is a Redfish BootSource the sim cannot boot.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Floppy"}}).wantError(http.StatusBadRequest, "PropertyValueNotInList")
}

func TestBootOverrideRoundTrip(t *testing.T) {
	e := newEnv(t)
	b := e.get(sys0).obj()["Boot"].(map[string]any)
	if b["BootSourceOverrideTarget"] != "None" || b["BootSourceOverrideEnabled"] != "Disabled" {
		t.Fatalf("initial Boot %v", b)
	}
	if !contains(b["BootSourceOverrideTarget@Redfish.AllowableValues"].([]any), any("Cd")) {
		t.Errorf("AllowableValues %v", b["BootSourceOverrideTarget@Redfish.AllowableValues"])
	}
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"}}).
		want(http.StatusNoContent)
	b = e.get(sys0).obj()["Boot"].(map[string]any)
	if b["BootSourceOverrideTarget"] != "Cd" || b["BootSourceOverrideEnabled"] != "Once" || b["BootSourceOverrideMode"] != "UEFI" {
		t.Fatalf("Boot after PATCH %v", b)
	}
	// Fields left out keep their values.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideMode": "Legacy"}}).want(http.StatusNoContent)
	b = e.get(sys0).obj()["Boot"].(map[string]any)
	if b["BootSourceOverrideTarget"] != "Cd" || b["BootSourceOverrideMode"] != "Legacy" {
		t.Fatalf("Boot after partial PATCH %v", b)
	}
	// The other system is untouched.
	if b := e.get("/redfish/v1/Systems/1").obj()["Boot"].(map[string]any); b["BootSourceOverrideTarget"] != "None" {
		t.Errorf("system 1 Boot %v", b)
	}
	// Annotations in the body are ignored.
	e.patch(sys0, M{"@odata.etag": "x", "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
		"Boot": M{"BootSourceOverrideEnabled": "Disabled"}}).want(http.StatusNoContent)
	// A one-time override is consumed by the next boot.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"}}).want(http.StatusNoContent)
	e.powerOn("0")
	eventually(t, "override consumed", func() bool {
		return e.machines["0"].BootOverride().Enabled == "Disabled"
	})
	b = e.get(sys0).obj()["Boot"].(map[string]any)
	if b["BootSourceOverrideTarget"] != "None" || b["BootSourceOverrideEnabled"] != "Disabled" {
		t.Errorf("Boot after the one-time boot %v", b)
	}
}

func TestPatchSystemErrors(t *testing.T) {
	e := newEnv(t)
	huge := `{"Boot":{"BootSourceOverrideTarget":"` + strings.Repeat("x", maxRequestBodySize) + `"}}`
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		args []string
	}{
		{"unsupported target", M{"Boot": M{"BootSourceOverrideTarget": "Floppy"}}, 400, "PropertyValueNotInList", []string{"Floppy", "/Boot/BootSourceOverrideTarget"}},
		{"bogus target", M{"Boot": M{"BootSourceOverrideTarget": "Bogus"}}, 400, "PropertyValueNotInList", []string{"Bogus", "/Boot/BootSourceOverrideTarget"}},
		{"bogus enabled", M{"Boot": M{"BootSourceOverrideEnabled": "Twice"}}, 400, "PropertyValueNotInList", []string{"Twice", "/Boot/BootSourceOverrideEnabled"}},
		{"bogus mode", M{"Boot": M{"BootSourceOverrideMode": "BIOS"}}, 400, "PropertyValueNotInList", nil},
		{"read-only PowerState", M{"PowerState": "On"}, 400, "PropertyNotWritable", []string{"/PowerState"}},
		{"read-only Id", M{"Id": "7"}, 400, "PropertyNotWritable", []string{"/Id"}},
		{"unknown property", M{"Frobnicate": true}, 400, "PropertyUnknown", []string{"/Frobnicate"}},
		{"unknown Boot property", M{"Boot": M{"Frobnicate": true}}, 400, "PropertyUnknown", []string{"/Boot/Frobnicate"}},
		{"read-only name nested", M{"Boot": M{"PowerState": "On"}}, 400, "PropertyUnknown", []string{"/Boot/PowerState"}},
		{"unknown beside known", M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}, "Frobnicate": 1}, 400, "PropertyUnknown", []string{"/Frobnicate"}},
		{"wrong type", M{"Boot": M{"BootSourceOverrideTarget": 5}}, 400, "PropertyValueTypeError", []string{"5", "/Boot/BootSourceOverrideTarget"}},
		{"wrong type null string", M{"Boot": "Pxe"}, 400, "PropertyValueTypeError", []string{"Pxe", "/Boot"}},
		{"wrong type array", M{"Boot": []any{}}, 400, "PropertyValueTypeError", nil},
		{"malformed", `{"Boot":`, 400, "MalformedJSON", nil},
		{"malformed trailing", `{"Boot":{}} x`, 400, "MalformedJSON", nil},
		{"not json", `Boot=Pxe`, 400, "MalformedJSON", nil},
		{"empty object", `{}`, 400, "EmptyJSON", nil},
		{"empty body", ``, 400, "EmptyJSON", nil},
		{"whitespace body", " \n\t", 400, "EmptyJSON", nil},
		{"only annotations", M{"@odata.etag": "x"}, 400, "NoOperation", nil},
		{"array", `[{"Boot":{}}]`, 400, "UnrecognizedRequestBody", nil},
		{"string", `"Boot"`, 400, "UnrecognizedRequestBody", nil},
		{"null", `null`, 400, "UnrecognizedRequestBody", nil},
		{"too large", huge, 413, "PayloadTooLarge", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).patch(sys0, tc.body).wantError(tc.code, tc.key)
			if tc.args != nil {
				if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
					t.Errorf("MessageArgs %q, want %q", got, tc.args)
				}
			}
		})
	}
	if ov := e.machines["0"].BootOverride(); ov.Target != "None" || ov.Enabled != "Disabled" {
		t.Errorf("failed PATCHes changed the override: %+v", ov)
	}
	// Just under the limit is read (and then rejected on its merits).
	pad := strings.Repeat(" ", maxRequestBodySize-64)
	e.patch(sys0, `{"Boot":{"BootSourceOverrideTarget":"Pxe"}}`+pad).want(http.StatusNoContent)
}

func TestReset(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		args []string
	}{
		{"no ResetType", `{}`, 400, "ActionParameterMissing", []string{"ComputerSystem.Reset", "ResetType"}},
		{"empty body", ``, 400, "ActionParameterMissing", nil},
		{"null ResetType", M{"ResetType": nil}, 400, "ActionParameterValueTypeError", []string{"null", "ResetType", "ComputerSystem.Reset"}},
		{"bogus", M{"ResetType": "Explode"}, 400, "ActionParameterValueNotInList", []string{"Explode", "ResetType", "ComputerSystem.Reset"}},
		{"valid enum, not supported", M{"ResetType": "Suspend"}, 400, "ActionParameterValueNotInList", []string{"Suspend", "ResetType", "ComputerSystem.Reset"}},
		{"unknown parameter", M{"ResetType": "On", "Force": true}, 400, "ActionParameterUnknown", []string{"ComputerSystem.Reset", "Force"}},
		{"wrong type", M{"ResetType": 1}, 400, "ActionParameterValueTypeError", []string{"1", "ResetType", "ComputerSystem.Reset"}},
		{"malformed", `{"ResetType":"On"`, 400, "MalformedJSON", nil},
		{"array", `["On"]`, 400, "UnrecognizedRequestBody", nil},
		{"Nmi when off", M{"ResetType": "Nmi"}, 409, "ResourceInStandby", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).post(reset0, tc.body).wantError(tc.code, tc.key)
			if tc.args != nil {
				if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
					t.Errorf("MessageArgs %q, want %q", got, tc.args)
				}
			}
		})
	}
	e.waitPower("0", "Off")
	// A restart from Off powers on: on success the schema has PowerState On.
	for _, rt := range []string{"GracefulRestart", "ForceRestart"} {
		e.post(reset0, M{"ResetType": rt}).want(http.StatusNoContent)
		e.waitPower("0", "On")
		e.post(reset0, M{"ResetType": "ForceOff"}).want(http.StatusNoContent)
	}
	e.post(reset0, M{"ResetType": "On"}).want(http.StatusNoContent)
	e.waitPower("0", "On")
	sys := e.get(sys0).obj()
	if sys["PowerState"] != "On" || at(sys, "Status", "State") != "Enabled" || sys["LastResetTime"] == nil {
		t.Errorf("after On: %v %v %v", sys["PowerState"], sys["Status"], sys["LastResetTime"])
	}
	e.post(reset0, M{"ResetType": "Nmi"}).want(http.StatusNoContent)
	e.post(reset0, M{"ResetType": "GracefulRestart"}).want(http.StatusNoContent)
	e.waitPower("0", "On")
	e.post(reset0, M{"ResetType": "ForceOff"}).want(http.StatusNoContent)
	if got := e.get(sys0).obj()["PowerState"]; got != "Off" {
		t.Errorf("after ForceOff: %v", got)
	}
	info := e.get(sys0 + "/ResetActionInfo").obj()
	if vals, _ := at(info, "Parameters", 0, "AllowableValues").([]any); !contains(vals, any("ForceOff")) {
		t.Errorf("ResetActionInfo %v", info)
	}
	e.post("/redfish/v1/Systems/9/Actions/ComputerSystem.Reset", M{"ResetType": "On"}).wantError(http.StatusNotFound, "ResourceNotFound")
}

// A backend wired only to power accepts boot override PATCHes (as PiKVM
// does) and shows that nothing was overridden.
func TestNoBootControl(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	const p = "/redfish/v1/Systems/pkvm"
	e.patch(p, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}).want(http.StatusNoContent)
	e.patch(p, M{"Boot": M{"BootSourceOverrideTarget": "Floppy", "BootSourceOverrideEnabled": "Once"}}).want(http.StatusNoContent)
	sys := e.get(p).obj()
	b := sys["Boot"].(map[string]any)
	if b["BootSourceOverrideTarget"] != "None" || b["BootSourceOverrideEnabled"] != "Disabled" {
		t.Errorf("Boot %v", b)
	}
	if _, ok := b["BootSourceOverrideTarget@Redfish.AllowableValues"]; ok {
		t.Errorf("AllowableValues advertised without boot control: %v", b)
	}
	if got := at(sys, "Oem", "bmcd", "BootOverrideSupported"); got != false {
		t.Errorf("Oem.bmcd.BootOverrideSupported = %v", got)
	}
	if got := at(e.get(sys0).obj(), "Oem", "bmcd", "BootOverrideSupported"); got != true {
		t.Errorf("sim BootOverrideSupported = %v", got)
	}
	// Still strict about what is not a boot override.
	e.patch(p, M{"Boot": M{"BootSourceOverrideTarget": "Bogus"}}).wantError(http.StatusBadRequest, "PropertyValueNotInList")
	e.patch(p, M{"PowerState": "On"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.post(p+"/Actions/ComputerSystem.Reset", M{"ResetType": "On"}).want(http.StatusNoContent)
	e.post(p+"/Actions/ComputerSystem.Reset", M{"ResetType": "PowerCycle"}).wantError(http.StatusBadRequest, "ActionParameterValueNotInList")
	if got := e.get(p).obj()["PowerState"]; got != "On" {
		t.Errorf("PowerState %v", got)
	}
	// No media, no sensors, no Secure Boot: empty, not broken.
	if n := at(e.get(p+"/VirtualMedia").obj(), "Members@odata.count"); n != float64(0) {
		t.Errorf("media %v", n)
	}
	e.get("/redfish/v1/Chassis/pkvm/Thermal").want(http.StatusOK)
	e.get("/redfish/v1/Chassis/pkvm/Sensors").want(http.StatusOK)
	e.get(p + "/SecureBoot").want(http.StatusNotFound)
	e.patch(p+"/SecureBoot", M{"SecureBootEnable": true}).want(http.StatusNotFound)
}

func TestBiosSettings(t *testing.T) {
	e := newEnv(t)
	const bios = sys0 + "/Bios"
	cur := e.get(bios).obj()
	if at(cur, "Attributes", "ProcTurboMode") != "Enabled" || at(cur, "@Redfish.Settings", "SettingsObject", "@odata.id") != bios+"/Settings" {
		t.Fatalf("Bios %v", cur)
	}
	if n := len(e.get(bios + "/Settings").obj()["Attributes"].(map[string]any)); n != 0 {
		t.Errorf("%d pending attributes at start", n)
	}
	e.patch(bios+"/Settings", M{"Attributes": M{"ProcTurboMode": "Disabled", "PxeNicIndex": 1}}).want(http.StatusNoContent)
	pending := e.get(bios + "/Settings").obj()
	if at(pending, "Attributes", "ProcTurboMode") != "Disabled" || at(pending, "Attributes", "PxeNicIndex") != float64(1) {
		t.Fatalf("pending %v", pending)
	}
	if at(e.get(bios).obj(), "Attributes", "ProcTurboMode") != "Enabled" {
		t.Fatal("a pending setting was applied before a reset")
	}
	for _, tc := range []struct {
		body any
		key  string
	}{
		{M{"Attributes": M{"NoSuchAttribute": "x"}}, "PropertyUnknown"},
		{M{"Attributes": M{"ProcTurboMode": 1}}, "PropertyValueTypeError"},
		{M{"Attributes": M{"BootMode": "BIOS"}}, "PropertyValueNotInList"},
		{M{"Attributes": "x"}, "PropertyValueTypeError"},
		{M{"Attributes": nil}, "PropertyValueTypeError"}, // null is not "absent"
		{M{"Id": "x"}, "PropertyNotWritable"},
		{M{"Foo": "x"}, "PropertyUnknown"},
	} {
		e.patch(bios+"/Settings", tc.body).wantError(http.StatusBadRequest, tc.key)
	}
	if r := e.patch(bios+"/Settings", M{"Attributes": nil}); !contains(r.args(), "/Attributes") {
		t.Errorf("PropertyValueTypeError args %q", r.args())
	}
	e.powerOn("0")
	eventually(t, "pending BIOS settings applied", func() bool {
		return at(e.get(bios).obj(), "Attributes", "ProcTurboMode") == "Disabled"
	})
	if n := len(e.get(bios + "/Settings").obj()["Attributes"].(map[string]any)); n != 0 {
		t.Errorf("%d pending attributes after boot", n)
	}
	// ResetBios stages the factory values.
	e.post(bios+"/Actions/Bios.ResetBios", "").want(http.StatusNoContent)
	if at(e.get(bios+"/Settings").obj(), "Attributes", "ProcTurboMode") != "Enabled" {
		t.Error("ResetBios staged nothing")
	}
	e.post(bios+"/Actions/Bios.ResetBios", M{"Now": true}).wantError(http.StatusBadRequest, "ActionParameterUnknown")
}

func TestSecureBoot(t *testing.T) {
	e := newEnv(t)
	const sb = sys0 + "/SecureBoot"
	if v := e.get(sb).obj(); v["SecureBootEnable"] != false || v["SecureBootCurrentBoot"] != "Disabled" {
		t.Fatalf("SecureBoot %v", v)
	}
	e.patch(sb, M{"SecureBootEnable": true}).want(http.StatusNoContent)
	if v := e.get(sb).obj(); v["SecureBootEnable"] != true || v["SecureBootCurrentBoot"] != "Disabled" {
		t.Fatalf("SecureBoot after PATCH %v", v)
	}
	e.powerOn("0")
	eventually(t, "secure boot in effect", func() bool { return e.get(sb).obj()["SecureBootCurrentBoot"] == "Enabled" })
	e.patch(sb, M{"SecureBootEnable": "yes"}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	e.patch(sb, M{"SecureBootCurrentBoot": "Enabled"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(sb, M{"SecureBootEnable": false}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
}

// TestBootModeOneTruth: BootSourceOverrideMode is the mode the next boot
// uses (the BIOS BootMode, pending value included, unless a one-time
// override names another); SecureBoot runs only in UEFI boots and cannot be
// enabled with BIOS BootMode Legacy.
func TestBootModeOneTruth(t *testing.T) {
	e := newEnv(t)
	const sb = sys0 + "/SecureBoot"
	m0 := e.machines["0"]
	mode := func() any { return bootOf(t, e, sys0)["BootSourceOverrideMode"] }
	e.patch(sb, M{"SecureBootEnable": true}).want(http.StatusNoContent)
	// (a) BIOS BootMode Legacy shows at once (pending) and after the boot.
	e.patch(sys0+"/Bios/Settings", M{"Attributes": M{"BootMode": "Legacy"}}).want(http.StatusNoContent)
	if m := mode(); m != "Legacy" {
		t.Fatalf("mode with BootMode Legacy pending: %v", m)
	}
	e.powerOn("0")
	eventually(t, "Legacy boot", func() bool { return m0.LastBoot().Mode == hardware.BootModeLegacy })
	if m := mode(); m != "Legacy" {
		t.Errorf("mode after Legacy boot: %v", m)
	}
	if v := e.get(sb).obj(); v["SecureBootEnable"] != true || v["SecureBootCurrentBoot"] != "Disabled" {
		t.Errorf("SecureBoot in a Legacy boot: %v", v)
	}
	e.patch(sb, M{"SecureBootEnable": false}).want(http.StatusNoContent)
	e.patch(sb, M{"SecureBootEnable": true}).wantMessages("PropertyValueConflict SecureBootEnable|" + sys0 + "/Bios#/Attributes/BootMode")
	// Ironic's set_boot_mode: the mode with the override Disabled is the
	// BIOS's, staged for the next boot, and reads back at once.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideMode": "UEFI", "BootSourceOverrideEnabled": "Disabled"}}).want(http.StatusNoContent)
	if m := mode(); m != "UEFI" {
		t.Errorf("mode after PATCH UEFI: %v", m)
	}
	if _, p := m0.Bios(); p["BootMode"] != "UEFI" {
		t.Errorf("BIOS BootMode pending %v", p)
	}
	e.patch(sb, M{"SecureBootEnable": true}).want(http.StatusNoContent)
	// (b) A one-time Legacy override is that boot's only.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "Legacy"}}).want(http.StatusNoContent)
	if m := mode(); m != "Legacy" {
		t.Errorf("mode with the Legacy override armed: %v", m)
	}
	if _, p := m0.Bios(); p["BootMode"] != "UEFI" {
		t.Errorf("a one-time mode changed the BIOS: %v", p)
	}
	before := m0.LastBoot().Time
	e.post(sys0+"/Actions/ComputerSystem.Reset", M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	eventually(t, "the Pxe boot", func() bool { return m0.LastBoot().Time.After(before) })
	if lb := m0.LastBoot(); lb.Source != hardware.BootPxe || lb.Mode != hardware.BootModeLegacy {
		t.Errorf("booted %+v", lb)
	}
	if m := mode(); m != "UEFI" {
		t.Errorf("mode after the one-time override was consumed: %v", m)
	}
	if v := e.get(sb).obj(); v["SecureBootCurrentBoot"] != "Disabled" {
		t.Errorf("SecureBoot in the Legacy Pxe boot: %v", v)
	}
	before = m0.LastBoot().Time
	e.post(sys0+"/Actions/ComputerSystem.Reset", M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	eventually(t, "the UEFI boot", func() bool { return m0.LastBoot().Time.After(before) })
	if lb := m0.LastBoot(); lb.Mode != hardware.BootModeUEFI || mode() != "UEFI" {
		t.Errorf("booted %+v, mode %v", lb, mode())
	}
	if v := e.get(sb).obj(); v["SecureBootCurrentBoot"] != "Enabled" {
		t.Errorf("SecureBoot in the UEFI boot: %v", v)
	}
}

func TestLogService(t *testing.T) {
	e := newEnv(t)
	const (
		logSvc  = sys0 + "/LogServices/EventLog"
		entries = logSvc + "/Entries"
		clear   = logSvc + "/Actions/LogService.ClearLog"
	)
	e.get(sys0 + "/LogServices").want(http.StatusOK)
	e.get(logSvc).want(http.StatusOK)
	e.powerOn("0")
	// Entries state their event with a registry message, as events do.
	var msgs []string
	eventually(t, "power-on and boot entries", func() bool {
		msgs = nil
		for _, m := range e.get(entries).obj()["Members"].([]any) {
			m := m.(map[string]any)
			msgs = append(msgs, fmt.Sprint(m["MessageId"], ": ", m["Message"], " ", m["MessageArgs"]))
		}
		s := strings.Join(msgs, "\n")
		return strings.Contains(s, "ResourceEvent.1.4.ResourcePoweredOn: The resource '/redfish/v1/Systems/0' has powered on. [/redfish/v1/Systems/0]") &&
			strings.Contains(s, "Bmcd.1.0.HostBootStarted: The host firmware is booting from Hdd in UEFI mode. [Hdd UEFI]")
	})
	first := at(e.get(entries).obj(), "Members", 0).(map[string]any)
	one := e.get(first["@odata.id"].(string)).obj()
	if one["Message"] != first["Message"] || one["Severity"] != "OK" || one["EntryType"] != "Event" {
		t.Errorf("entry %v vs %v", one, first)
	}
	e.post(clear, "{}", asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.post(clear, M{"Bogus": 1}).wantError(http.StatusBadRequest, "ActionParameterUnknown")
	e.post(clear, "").want(http.StatusNoContent)
	c := e.get(entries).obj()
	if at(c, "Members@odata.count") != float64(1) || at(c, "Members", 0, "MessageId") != "LogService.1.1.LogCleared" ||
		at(c, "Members", 0, "Message") != "Log '"+logSvc+"' was cleared." || at(c, "Members", 0, "Links", "OriginOfCondition", "@odata.id") != logSvc {
		t.Errorf("after ClearLog: %v", c["Members"])
	}
	e.get(first["@odata.id"].(string)).wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(entries + "/abc").want(http.StatusNotFound)
}

func TestChassisAndSensors(t *testing.T) {
	e := newEnv(t)
	const ch = "/redfish/v1/Chassis/0"
	e.get("/redfish/v1/Chassis").want(http.StatusOK)
	if v := e.get(ch).obj(); v["ChassisType"] != "RackMount" || at(v, "Links", "ComputerSystems", 0, "@odata.id") != sys0 {
		t.Errorf("chassis %v", v)
	}
	e.powerOn("0")
	sensors := e.get(ch + "/Sensors").obj()
	members, _ := sensors["Members"].([]any)
	if len(members) == 0 {
		t.Fatal("no sensors")
	}
	for _, m := range members {
		s := e.get(m.(map[string]any)["@odata.id"].(string)).obj()
		if s["ReadingType"] == "" || s["ReadingUnits"] == "" || at(s, "Status", "State") == nil {
			t.Errorf("sensor %v", s)
		}
	}
	th := e.get(ch + "/Thermal").obj()
	if len(th["Temperatures"].([]any)) == 0 || len(th["Fans"].([]any)) == 0 {
		t.Errorf("thermal %v", th)
	}
	if at(th, "Temperatures", 0, "ReadingCelsius") == nil {
		t.Errorf("no temperature reading while on: %v", th["Temperatures"])
	}
	pw := e.get(ch + "/Power").obj()
	if len(pw["PowerControl"].([]any)) == 0 {
		t.Errorf("power %v", pw)
	}
	e.get(ch+"/Sensors/Nope").wantError(http.StatusNotFound, "ResourceNotFound")
}

func TestManager(t *testing.T) {
	e := newEnv(t)
	const mgr = "/redfish/v1/Managers/0"
	v := e.get(mgr).obj()
	if v["ManagerType"] != "BMC" || v["FirmwareVersion"] != "test" || v["ServiceEntryPointUUID"] != e.svc.cfg.UUID {
		t.Errorf("manager %v", v)
	}
	if v["UUID"] == e.get("/redfish/v1/Managers/1").obj()["UUID"] {
		t.Error("two managers share a UUID")
	}
	if at(e.get(mgr+"/NetworkProtocol").obj(), "IPMI", "Port") != float64(623) {
		t.Error("NetworkProtocol IPMI port")
	}
	e.post(mgr+"/Actions/Manager.Reset", "").want(http.StatusNoContent)
	e.post(mgr+"/Actions/Manager.Reset", M{"ResetType": "GracefulRestart"}).want(http.StatusNoContent)
	r := e.post(mgr+"/Actions/Manager.Reset", M{"ResetType": "On"}).wantError(http.StatusBadRequest, "ActionParameterValueNotInList")
	if got := r.args(); strings.Join(got, "|") != "On|ResetType|Manager.Reset" {
		t.Errorf("Manager.Reset args %q", got)
	}
	e.post(mgr+"/Actions/Manager.Reset", "{}", asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
}

func TestInventory(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"/Processors", "/Memory", "/EthernetInterfaces"} {
		coll := e.get(sys0 + c).obj()
		members, _ := coll["Members"].([]any)
		if len(members) == 0 {
			t.Errorf("%s empty", c)
		}
		for _, m := range members {
			e.get(m.(map[string]any)["@odata.id"].(string)).want(http.StatusOK)
		}
	}
	for _, p := range []string{"/Processors/CPU0", "/Processors/CPU01", "/Processors/cpu1", "/Memory/DIMM0", "/EthernetInterfaces/NIC9"} {
		e.get(sys0+p).wantError(http.StatusNotFound, "ResourceNotFound")
	}
	for _, p := range []string{"/redfish/v1/AccountService/Roles", "/redfish/v1/AccountService/Roles/Operator",
		"/redfish/v1/Registries", "/redfish/v1/Registries/Base", "/redfish/v1/Registries/Base/Base",
		"/redfish/v1/TaskService", "/redfish/v1/TaskService/Tasks"} {
		e.get(p).want(http.StatusOK)
	}
}

func TestIndicatorLED(t *testing.T) {
	e := newEnv(t)
	const ch0 = "/redfish/v1/Chassis/0"
	for _, p := range []string{sys0, ch0} {
		o := e.get(p).obj()
		if o["IndicatorLED"] != "Off" || o["LocationIndicatorActive"] != false {
			t.Fatalf("%s initial: %v %v", p, o["IndicatorLED"], o["LocationIndicatorActive"])
		}
		if got := fmt.Sprint(o["IndicatorLED@Redfish.AllowableValues"]); got != "[Lit Blinking Off]" {
			t.Errorf("%s IndicatorLED@Redfish.AllowableValues %s", p, got)
		}
	}
	// What was accepted reads back, on both resources, and a repeated
	// PATCH changes nothing: the same ETag, no new Generation.
	for _, tc := range []struct {
		path   string
		body   M
		led    string
		active bool
	}{
		{sys0, M{"IndicatorLED": "Lit"}, "Lit", true},
		{ch0, M{"IndicatorLED": "Blinking"}, "Blinking", true},
		{sys0, M{"LocationIndicatorActive": true}, "Blinking", true}, // keeps the look
		{ch0, M{"IndicatorLED": "Lit", "LocationIndicatorActive": true}, "Lit", true},
		{sys0, M{"LocationIndicatorActive": true}, "Lit", true},
		{ch0, M{"LocationIndicatorActive": false}, "Off", false},
		{sys0, M{"LocationIndicatorActive": true}, "Blinking", true}, // from off: the identify blink
		{sys0, M{"IndicatorLED": "Off"}, "Off", false},
	} {
		e.patch(tc.path, tc.body).want(http.StatusNoContent)
		tags := map[string]string{}
		for _, p := range []string{sys0, ch0} {
			r := e.get(p)
			o := r.obj()
			if o["IndicatorLED"] != tc.led || o["LocationIndicatorActive"] != tc.active {
				t.Errorf("after %s %v: %s shows %v %v, want %s %v", tc.path, tc.body, p, o["IndicatorLED"], o["LocationIndicatorActive"], tc.led, tc.active)
			}
			tags[p] = r.Header.Get("ETag")
		}
		gen := e.machines["0"].Generation()
		e.patch(tc.path, tc.body).want(http.StatusNoContent)
		for _, p := range []string{sys0, ch0} {
			if got := e.get(p).Header.Get("ETag"); got != tags[p] {
				t.Errorf("repeating %s %v changed %s's ETag %s -> %s", tc.path, tc.body, p, tags[p], got)
			}
		}
		if e.machines["0"].Generation() != gen {
			t.Errorf("repeating %s %v changed the machine", tc.path, tc.body)
		}
	}
	// IPMI's Chassis Identify shows too: an interval blinks, force is lit.
	m := e.machines["0"]
	for _, tc := range []struct {
		set hardware.IdentifySetting
		led string
	}{
		{hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: time.Minute}, "Blinking"},
		{hardware.IdentifySetting{Mode: hardware.IdentifyLit}, "Lit"},
	} {
		if err := m.SetIdentify(tc.set); err != nil {
			t.Fatal(err)
		}
		if o := e.get(ch0).obj(); o["IndicatorLED"] != tc.led || o["LocationIndicatorActive"] != true {
			t.Errorf("after %+v: %v %v", tc.set, o["IndicatorLED"], o["LocationIndicatorActive"])
		}
	}
	// A timed indication ends by itself, and the cached GET sees it.
	if err := m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the timed identify to end", func() bool { return e.get(sys0).obj()["IndicatorLED"] == "Off" })

	for _, p := range []string{sys0, ch0} {
		e.patch(p, M{"IndicatorLED": "Dim"}).wantError(http.StatusBadRequest, "PropertyValueNotInList")
		e.patch(p, M{"IndicatorLED": "Off", "LocationIndicatorActive": true}).wantError(http.StatusBadRequest, "PropertyValueConflict")
		e.patch(p, M{"IndicatorLED": "Lit", "LocationIndicatorActive": false}).wantError(http.StatusBadRequest, "PropertyValueConflict")
		e.patch(p, M{"IndicatorLED": "Lit"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	}
	if m.Identify().On() {
		t.Errorf("refused PATCHes turned identify on: %+v", m.Identify())
	}
}

// The summaries carry no Status: ComputerSystem v1_16_0 deprecated it in
// favour of the root Status.
func TestSystemSummariesWithoutStatus(t *testing.T) {
	e := newEnv(t)
	sys := e.get(sys0).obj()
	for _, s := range []string{"ProcessorSummary", "MemorySummary"} {
		sum, ok := sys[s].(map[string]any)
		if !ok || len(sum) == 0 {
			t.Fatalf("%s: %v", s, sys[s])
		}
		if _, ok := sum["Status"]; ok {
			t.Errorf("%s has the deprecated Status: %v", s, sum)
		}
	}
	if at(sys, "Status", "State") == nil {
		t.Errorf("root Status %v", sys["Status"])
	}
}
