package redfish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// extMessage is one @Message.ExtendedInfo entry as a test reads it.
type extMessage struct {
	ID         string   `json:"MessageId"`
	Args       []string `json:"MessageArgs"`
	Resolution string   `json:"Resolution"`
}

// messages returns every ExtendedInfo message, keys without the prefix.
func (r *resp) messages() []extMessage {
	r.tb.Helper()
	var v struct {
		Error struct {
			Info []extMessage `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		r.tb.Fatalf("%s %s: %v\n%s", r.method, r.path, err, r.Body)
	}
	for i := range v.Error.Info {
		v.Error.Info[i].ID = strings.TrimPrefix(v.Error.Info[i].ID, baseMessagePrefix)
	}
	return v.Error.Info
}

// wantMessages fails unless the messages are exactly want, as "Key arg|arg".
func (r *resp) wantMessages(want ...string) []extMessage {
	r.tb.Helper()
	ms := r.messages()
	got := make([]string, len(ms))
	for i, m := range ms {
		got[i] = m.ID + " " + strings.Join(m.Args, "|")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		r.tb.Errorf("%s %s: messages\n%s\nwant\n%s", r.method, r.path, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return ms
}

// TestBiosAttributeValidation: a PATCH of Bios/Settings is checked against
// the attribute registry; each bad attribute gets the Base message that
// names it and nothing is staged.
func TestBiosAttributeValidation(t *testing.T) {
	e := newEnv(t)
	const settings = sys0 + "/Bios/Settings"
	for _, tc := range []struct {
		name  string
		attrs M
		want  []string
		res   string // in the first message's Resolution
	}{
		{"not in list", M{"ProcTurboMode": "Maybe"}, []string{"PropertyValueNotInList Maybe|/Attributes/ProcTurboMode"}, ""},
		{"case matters", M{"ProcTurboMode": "enabled"}, []string{"PropertyValueNotInList enabled|/Attributes/ProcTurboMode"}, ""},
		{"number for enumeration", M{"ProcTurboMode": 1}, []string{"PropertyValueTypeError 1|/Attributes/ProcTurboMode"}, ""},
		{"null", M{"ProcTurboMode": nil}, []string{"PropertyValueTypeError null|/Attributes/ProcTurboMode"}, ""},
		{"object", M{"AssetTag": M{"a": 1}}, []string{`PropertyValueTypeError {"a":1}|/Attributes/AssetTag`}, ""},
		{"unknown", M{"NoSuch": "x"}, []string{"PropertyUnknown /Attributes/NoSuch"}, ""},
		{"unknown, escaped", M{"a/b~c": 1}, []string{"PropertyUnknown /Attributes/a~1b~0c"}, ""},
		{"read-only", M{"SystemBiosVersion": "9"}, []string{"PropertyNotWritable /Attributes/SystemBiosVersion"}, ""},
		{"above bound", M{"PxeNicIndex": 5}, []string{"PropertyValueOutOfRange 5|/Attributes/PxeNicIndex"}, ""},
		{"below bound", M{"PxeNicIndex": -1}, []string{"PropertyValueOutOfRange -1|/Attributes/PxeNicIndex"}, ""},
		{"fraction", M{"PxeNicIndex": 0.5}, []string{"PropertyValueTypeError 0.5|/Attributes/PxeNicIndex"}, ""},
		{"string for integer", M{"PxeNicIndex": "1"}, []string{"PropertyValueTypeError 1|/Attributes/PxeNicIndex"}, ""},
		{"too long", M{"AssetTag": strings.Repeat("x", 33)}, []string{"PropertyValueOutOfRange " + strings.Repeat("x", 33) + "|/Attributes/AssetTag"}, ""},
		{"string for boolean", M{"SriovGlobalEnable": "true"}, []string{"PropertyValueTypeError true|/Attributes/SriovGlobalEnable"}, ""},
		{"BootMode not a mode", M{"BootMode": "BIOS"}, []string{"PropertyValueNotInList BIOS|/Attributes/BootMode"}, ""},
		{"every bad one, by name, good ones not staged",
			M{"ProcTurboMode": "Maybe", "NoSuch": 1, "AssetTag": "ok", "PxeNicIndex": 9, "SerialConsole": "COM2"},
			[]string{"PropertyUnknown /Attributes/NoSuch", "PropertyValueNotInList Maybe|/Attributes/ProcTurboMode",
				"PropertyValueOutOfRange 9|/Attributes/PxeNicIndex"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).patch(settings, M{"Attributes": tc.attrs}).want(http.StatusBadRequest)
			ms := r.wantMessages(tc.want...)
			if tc.res != "" && (len(ms) == 0 || !strings.Contains(ms[0].Resolution, tc.res)) {
				t.Errorf("Resolution %q lacks %q", ms[0].Resolution, tc.res)
			}
			if n := len(e.get(settings).obj()["Attributes"].(map[string]any)); n != 0 {
				t.Errorf("%d attributes staged", n)
			}
		})
	}
	// Good values of every type are staged as sent.
	e.patch(settings, M{"Attributes": M{"SriovGlobalEnable": true, "PxeNicIndex": 1, "AssetTag": strings.Repeat("é", 32), "BootMode": "Legacy"}}).
		want(http.StatusNoContent)
	p := e.get(settings).obj()["Attributes"].(map[string]any)
	if p["SriovGlobalEnable"] != true || p["PxeNicIndex"] != float64(1) || p["BootMode"] != "Legacy" || len(p) != 4 {
		t.Errorf("pending %v", p)
	}
	bios := e.get(sys0 + "/Bios").obj()
	if at(bios, "@Redfish.Settings", "SupportedApplyTimes", 0) != "OnReset" {
		t.Errorf("@Redfish.Settings %v", bios["@Redfish.Settings"])
	}
}

// TestAttributeRegistry: the registry Bios.AttributeRegistry names is
// listed under /redfish/v1/Registries and describes every attribute the
// Bios resource shows, with the rules the PATCH enforces.
func TestAttributeRegistry(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	bios := e.get(sys0 + "/Bios").obj()
	id, _ := bios["AttributeRegistry"].(string)
	if id != "BiosAttributeRegistryS1.1.0.0" {
		t.Fatalf("AttributeRegistry %q", bios["AttributeRegistry"])
	}
	if other := e.get("/redfish/v1/Systems/1/Bios").obj()["AttributeRegistry"]; other != id {
		t.Errorf("system 1 uses %v", other)
	}
	pk := e.get("/redfish/v1/Systems/pkvm/Bios").obj()["AttributeRegistry"].(string)
	coll := e.get("/redfish/v1/Registries").obj()
	var members []string
	for _, m := range coll["Members"].([]any) {
		members = append(members, m.(map[string]any)["@odata.id"].(string))
	}
	// The message registries first (Base, ..., Update), then the
	// attribute registries.
	want := []string{"/redfish/v1/Registries/" + id, "/redfish/v1/Registries/" + pk}
	if len(members) < 3 || members[0] != "/redfish/v1/Registries/Base" || !slices.Contains(members, "/redfish/v1/Registries/Update") ||
		strings.Join(members[len(members)-2:], " ") != strings.Join(want, " ") || coll["Members@odata.count"] != float64(len(members)) {
		t.Fatalf("Registries members %v, want %v", members, want)
	}
	file := e.get("/redfish/v1/Registries/" + id).obj()
	uri, _ := at(file, "Location", 0, "Uri").(string)
	if file["Id"] != id || file["Registry"] != "BiosAttributeRegistryS1.1.0" || at(file, "Location", 0, "Language") != "en" || uri == "" {
		t.Fatalf("registry file %v", file)
	}
	doc := e.get(uri).obj()
	if doc["@odata.type"] != "#AttributeRegistry.v1_4_0.AttributeRegistry" || doc["Id"] != id || doc["Language"] != "en" ||
		doc["RegistryVersion"] != "1.0.0" || doc["OwningEntity"] != "bmcd" || at(doc, "SupportedSystems", 0, "ProductName") != "Simulated Server S1" {
		t.Errorf("registry %v", doc)
	}
	entries := map[string]map[string]any{}
	for _, a := range at(doc, "RegistryEntries", "Attributes").([]any) {
		a := a.(map[string]any)
		entries[a["AttributeName"].(string)] = a
	}
	cur := bios["Attributes"].(map[string]any)
	if len(entries) != len(cur) {
		t.Errorf("%d attributes in the registry, %d in Bios", len(entries), len(cur))
	}
	for name := range cur {
		a := entries[name]
		if a == nil || a["Type"] == nil || a["DisplayName"] == "" || a["HelpText"] == "" || a["ResetRequired"] != true {
			t.Errorf("%s: %v", name, a)
		}
	}
	if v := entries["ProcTurboMode"]; v["Type"] != "Enumeration" || v["DefaultValue"] != "Enabled" ||
		at(v, "Value", 1, "ValueName") != "Disabled" || at(v, "Value", 1, "ValueDisplayName") != "Disabled" {
		t.Errorf("ProcTurboMode %v", v)
	}
	if v := entries["PxeNicIndex"]; v["Type"] != "Integer" || v["LowerBound"] != float64(0) || v["UpperBound"] != float64(1) || v["ScalarIncrement"] != float64(1) {
		t.Errorf("PxeNicIndex %v", v)
	}
	if v := entries["AssetTag"]; v["Type"] != "String" || v["MaxLength"] != float64(32) || v["MinLength"] != float64(0) {
		t.Errorf("AssetTag %v", v)
	}
	// An empty factory value is omitted, not served as "".
	if v, ok := entries["AssetTag"]["DefaultValue"]; ok {
		t.Errorf("AssetTag DefaultValue %q", v)
	}
	if v := entries["SriovGlobalEnable"]; v["Type"] != "Boolean" || v["DefaultValue"] != false {
		t.Errorf("SriovGlobalEnable %v", v)
	}
	if v := entries["SystemBiosVersion"]; v["ReadOnly"] != true || v["DefaultValue"] != cur["SystemBiosVersion"] {
		t.Errorf("SystemBiosVersion %v", v)
	}
	// The power-only backend's firmware has only BootMode, read-only.
	pkDoc := e.get("/redfish/v1/Registries/" + pk + "/" + strings.Split(pk, ".")[0]).obj()
	if n := len(at(pkDoc, "RegistryEntries", "Attributes").([]any)); n != 1 || at(pkDoc, "RegistryEntries", "Attributes", 0, "ReadOnly") != true {
		t.Errorf("power-only registry %v", pkDoc)
	}
	e.get("/redfish/v1/Registries/Nope").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get("/redfish/v1/Registries/"+id+"/Other").wantError(http.StatusNotFound, "ResourceMissingAtURI")
	e.get("/redfish/v1/Registries/Base/Base").want(http.StatusOK)
}

// TestBiosSettingsApplied: once staged settings take effect at a boot,
// the Bios's @Redfish.Settings says when (Time) and how (Messages: Base
// Success naming the attributes set), as sushy's update_status reads it;
// before that it has neither.
func TestBiosSettingsApplied(t *testing.T) {
	e := newEnv(t)
	const bios = sys0 + "/Bios"
	if s := at(e.get(bios).obj(), "@Redfish.Settings").(map[string]any); s["Time"] != nil || s["Messages"] != nil {
		t.Fatalf("before any apply: %v", s)
	}
	e.patch(bios+"/Settings", M{"Attributes": M{"ProcTurboMode": "Disabled", "PxeNicIndex": 1}}).want(http.StatusNoContent)
	e.machines["0"].Boot()
	s := at(e.get(bios).obj(), "@Redfish.Settings").(map[string]any)
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(s["Time"])); err != nil {
		t.Errorf("Time %v: %v", s["Time"], err)
	}
	if id := at(s, "Messages", 0, "MessageId"); id != baseMessagePrefix+"Success" {
		t.Errorf("Messages %v", s["Messages"])
	}
	if rel := fmt.Sprint(at(s, "Messages", 0, "RelatedProperties")); rel != "[/Attributes/ProcTurboMode /Attributes/PxeNicIndex]" {
		t.Errorf("RelatedProperties %s", rel)
	}
}
