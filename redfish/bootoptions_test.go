package redfish

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func bootOf(t *testing.T, e *env, path string) map[string]any {
	t.Helper()
	return e.get(path).obj()["Boot"].(map[string]any)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestBootOptionsResources: the system's Boot object names its options
// and order; each option says what it boots and links to it.
func TestBootOptionsResources(t *testing.T) {
	e := newEnv(t)
	boot := bootOf(t, e, sys0)
	order := strs(boot["BootOrder"])
	if len(order) != 10 || order[0] != "Boot0001" || boot["BootNext"] != nil || boot["UefiTargetBootSourceOverride"] != nil {
		t.Fatalf("Boot %v", boot)
	}
	if at(boot, "BootOptions", "@odata.id") != sys0+"/BootOptions" {
		t.Errorf("BootOptions link %v", boot["BootOptions"])
	}
	if !slices.Equal(strs(boot["BootNext@Redfish.AllowableValues"]), order) {
		t.Errorf("BootNext allowable %v", boot["BootNext@Redfish.AllowableValues"])
	}
	for _, v := range []string{"UefiTarget", "UefiBootNext"} {
		if !contains(strs(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]), v) {
			t.Errorf("%s not an allowable target", v)
		}
	}
	paths := strs(boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"])
	if len(paths) != 10 {
		t.Errorf("UefiTarget allowable %v", paths)
	}
	sys := e.get(sys0).obj()
	if at(sys, "Actions", "#ComputerSystem.SetDefaultBootOrder", "target") != sys0+"/Actions/ComputerSystem.SetDefaultBootOrder" {
		t.Errorf("Actions %v", sys["Actions"])
	}
	coll := e.get(sys0 + "/BootOptions").obj()
	if coll["Members@odata.count"] != float64(10) || coll["@odata.type"] != "#BootOptionCollection.BootOptionCollection" {
		t.Fatalf("collection %v", coll)
	}
	aliases := map[string]int{}
	for i, mem := range coll["Members"].([]any) {
		p := mem.(map[string]any)["@odata.id"].(string)
		o := e.get(p).obj()
		if o["Id"] != order[i] || o["BootOptionReference"] != order[i] || o["BootOptionEnabled"] != true ||
			o["UefiDevicePath"] != paths[i] || o["DisplayName"] == "" || o["Name"] != o["DisplayName"] {
			t.Errorf("%s: %v", p, o)
		}
		aliases[o["Alias"].(string)]++
		switch o["Alias"] {
		case "UefiShell":
			if o["RelatedItem"] != nil {
				t.Errorf("%s: RelatedItem %v", p, o["RelatedItem"])
			}
		default:
			rel, _ := at(o, "RelatedItem", 0, "@odata.id").(string)
			if rel == "" || o["RelatedItem@odata.count"] != float64(1) {
				t.Fatalf("%s: RelatedItem %v", p, o["RelatedItem"])
			}
			e.get(rel).want(http.StatusOK)
			want := map[string]string{"Hdd": "/Drives/", "Cd": "/VirtualMedia/CD", "Usb": "/VirtualMedia/USB", "Pxe": "/EthernetInterfaces/", "UefiHttp": "/EthernetInterfaces/"}[o["Alias"].(string)]
			if !strings.Contains(rel, want) {
				t.Errorf("%s: %s related to %s", p, o["Alias"], rel)
			}
		}
	}
	if aliases["Hdd"] != 3 || aliases["Pxe"] != 2 || aliases["UefiHttp"] != 2 || aliases["Cd"] != 1 || aliases["Usb"] != 1 || aliases["UefiShell"] != 1 {
		t.Errorf("aliases %v", aliases)
	}
	e.get(sys0+"/BootOptions/Boot00FF").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get("/redfish/v1/Systems/9/BootOptions").wantError(http.StatusNotFound, "ResourceNotFound")
}

// TestBootOrderAndBootNext: a PATCHed order and BootNext are what the
// firmware boots by, and what GET shows.
func TestBootOrderAndBootNext(t *testing.T) {
	e := newEnv(t)
	m := e.machines["0"]
	e.patch(sys0, M{"Boot": M{"BootOrder": []string{"Boot0005", "Boot0001"}}}).want(http.StatusNoContent)
	if got := strs(bootOf(t, e, sys0)["BootOrder"]); !slices.Equal(got, []string{"Boot0005", "Boot0001"}) {
		t.Fatalf("BootOrder %v", got)
	}
	if got := strs(bootOf(t, e, "/redfish/v1/Systems/1")["BootOrder"]); len(got) != 10 {
		t.Errorf("system 1 order %v", got)
	}
	// UefiBootNext with BootNext, in one PATCH.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once", "BootNext": "Boot0009"}}).
		want(http.StatusNoContent)
	b := bootOf(t, e, sys0)
	if b["BootNext"] != "Boot0009" || b["BootSourceOverrideTarget"] != "UefiBootNext" || b["BootSourceOverrideEnabled"] != "Once" {
		t.Fatalf("Boot %v", b)
	}
	e.powerOn("0")
	eventually(t, "the UefiBootNext boot", func() bool { return !m.LastBoot().Time.IsZero() })
	if lb := m.LastBoot(); lb.Option.Reference != "Boot0009" || lb.Source != hardware.BootUefiShell {
		t.Errorf("booted %+v", lb)
	}
	b = bootOf(t, e, sys0)
	if b["BootNext"] != nil || b["BootSourceOverrideTarget"] != "None" || b["BootSourceOverrideEnabled"] != "Disabled" {
		t.Errorf("after the boot: %v", b)
	}
	// BootNext alone boots once too; then the order applies.
	e.patch(sys0, M{"Boot": M{"BootNext": "Boot0002"}}).want(http.StatusNoContent)
	e.post(reset0, M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	eventually(t, "the BootNext boot", func() bool { return m.LastBoot().Option.Reference == "Boot0002" })
	e.post(reset0, M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	eventually(t, "the BootOrder boot", func() bool { return m.LastBoot().Option.Reference == "Boot0005" })
	// null clears BootNext; the default order comes back.
	e.patch(sys0, M{"Boot": M{"BootNext": "Boot0003"}}).want(http.StatusNoContent)
	e.patch(sys0, M{"Boot": M{"BootNext": nil}}).want(http.StatusNoContent)
	if b := bootOf(t, e, sys0); b["BootNext"] != nil {
		t.Errorf("BootNext %v after null", b["BootNext"])
	}
	e.post(sys0+"/Actions/ComputerSystem.SetDefaultBootOrder", "").want(http.StatusNoContent)
	if got := strs(bootOf(t, e, sys0)["BootOrder"]); len(got) != 10 || got[0] != "Boot0001" {
		t.Errorf("default order %v", got)
	}
	e.post(sys0+"/Actions/ComputerSystem.SetDefaultBootOrder", M{"Now": true}).wantError(http.StatusBadRequest, "ActionParameterUnknown")
	// UefiTarget with a device path from the allowable values.
	path := strs(bootOf(t, e, sys0)["UefiTargetBootSourceOverride@Redfish.AllowableValues"])[4]
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "UefiTarget", "BootSourceOverrideEnabled": "Continuous",
		"UefiTargetBootSourceOverride": path}}).want(http.StatusNoContent)
	if b := bootOf(t, e, sys0); b["UefiTargetBootSourceOverride"] != path || b["BootSourceOverrideTarget"] != "UefiTarget" {
		t.Errorf("Boot %v", b)
	}
	if m.BootOverrideDevice() != hardware.BootPxe {
		t.Errorf("UefiTarget resolves to %s", m.BootOverrideDevice())
	}
}

// TestPatchBootOrderErrors: every bad boot property gets the Base message
// that names it; nothing of a refused PATCH applies, IndicatorLED included.
func TestPatchBootOrderErrors(t *testing.T) {
	e := newEnv(t)
	m := e.machines["0"]
	for _, tc := range []struct {
		name string
		body any
		want []string
	}{
		{"unknown option", M{"Boot": M{"BootOrder": []string{"Boot0001", "Boot00FF"}}},
			[]string{"PropertyValueNotInList Boot00FF|/Boot/BootOrder/1"}},
		{"duplicate", M{"Boot": M{"BootOrder": []string{"Boot0001", "Boot0002", "Boot0001"}}},
			[]string{"PropertyValueConflict /Boot/BootOrder/2|/Boot/BootOrder/0"}},
		{"several at once", M{"Boot": M{"BootOrder": []string{"x", "Boot0001", "Boot0001"}, "BootNext": "y"}},
			[]string{"PropertyValueNotInList x|/Boot/BootOrder/0", "PropertyValueConflict /Boot/BootOrder/2|/Boot/BootOrder/1",
				"PropertyValueNotInList y|/Boot/BootNext"}},
		{"order not an array", M{"Boot": M{"BootOrder": "Boot0001"}}, []string{"PropertyValueTypeError Boot0001|/Boot/BootOrder"}},
		{"order of numbers", M{"Boot": M{"BootOrder": []int{1}}}, []string{"PropertyValueTypeError [1]|/Boot/BootOrder"}},
		{"order null", M{"Boot": M{"BootOrder": nil}}, []string{"PropertyValueTypeError null|/Boot/BootOrder"}},
		{"unknown BootNext", M{"Boot": M{"BootNext": "Boot9999"}}, []string{"PropertyValueNotInList Boot9999|/Boot/BootNext"}},
		{"BootNext a number", M{"Boot": M{"BootNext": 5}}, []string{"PropertyValueTypeError 5|/Boot/BootNext"}},
		{"UefiBootNext Continuous", M{"Boot": M{"BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Continuous", "BootNext": "Boot0005"}},
			[]string{"PropertyValueConflict /Boot/BootSourceOverrideTarget|/Boot/BootSourceOverrideEnabled"}},
		{"UefiBootNext without BootNext", M{"Boot": M{"BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once"}},
			[]string{"PropertyMissing /Boot/BootNext"}},
		{"UefiTarget without path", M{"Boot": M{"BootSourceOverrideTarget": "UefiTarget", "BootSourceOverrideEnabled": "Once"}},
			[]string{"PropertyMissing /Boot/UefiTargetBootSourceOverride"}},
		{"unknown device path", M{"Boot": M{"UefiTargetBootSourceOverride": "PciRoot(0x9)"}},
			[]string{"PropertyValueNotInList PciRoot(0x9)|/Boot/UefiTargetBootSourceOverride"}},
		{"indicator not lit by a refused PATCH", M{"IndicatorLED": "Lit", "Boot": M{"BootOrder": []string{"Boot0001", "Boot0001"}}},
			[]string{"PropertyValueConflict /Boot/BootOrder/1|/Boot/BootOrder/0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).patch(sys0, tc.body).want(http.StatusBadRequest).wantMessages(tc.want...)
		})
	}
	if m.Identify().On() || m.BootNext() != "" || m.BootOverride().Target != hardware.BootNone || len(m.BootOrder()) != 10 || m.BootOrder()[0] != "Boot0001" {
		t.Errorf("refused PATCHes changed something: identify %v, BootNext %q, override %+v, order %v",
			m.Identify().On(), m.BootNext(), m.BootOverride(), m.BootOrder())
	}
	// A BootNext that UefiBootNext needs cannot be cleared under it.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once", "BootNext": "Boot0005"}}).want(http.StatusNoContent)
	e.patch(sys0, M{"Boot": M{"BootNext": nil}}).want(http.StatusBadRequest).wantMessages("PropertyValueConflict /Boot/BootNext|/Boot/BootSourceOverrideTarget")
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideEnabled": "Continuous"}}).want(http.StatusBadRequest).
		wantMessages("PropertyValueConflict /Boot/BootSourceOverrideEnabled|/Boot/BootSourceOverrideTarget")
}

// TestBootOptionEnabled: BootOptionEnabled is the one writable property
// of a BootOption; a disabled option stays in the order and is skipped.
func TestBootOptionEnabled(t *testing.T) {
	e := newEnv(t)
	const opt = sys0 + "/BootOptions/Boot0001"
	e.patch(opt, M{"BootOptionEnabled": false}).want(http.StatusNoContent)
	if v := e.get(opt).obj()["BootOptionEnabled"]; v != false {
		t.Errorf("BootOptionEnabled %v", v)
	}
	if got := strs(bootOf(t, e, sys0)["BootOrder"]); got[0] != "Boot0001" {
		t.Errorf("a disabled option left the order: %v", got)
	}
	if res := e.machines["0"].Boot(); res.Option.Reference != "Boot0002" {
		t.Errorf("booted %s past a disabled first option", res.Option.Reference)
	}
	e.patch(opt, M{"DisplayName": "x"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(opt, M{"BootOptionEnabled": "no"}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	e.patch(opt, M{"Frob": 1}).wantError(http.StatusBadRequest, "PropertyUnknown")
	e.patch(sys0+"/BootOptions/Boot00FF", M{"BootOptionEnabled": true}).wantError(http.StatusNotFound, "ResourceNotFound")
	e.patch(opt, M{"BootOptionEnabled": true}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(opt, M{"BootOptionEnabled": true}, asOperator()).want(http.StatusNoContent)
}

// TestBootLogEntries: boot manager changes made over Redfish are log
// entries that state them with Bmcd registry messages, about the system or
// the boot option.
func TestBootLogEntries(t *testing.T) {
	e := newEnv(t)
	const opt = sys0 + "/BootOptions/Boot0005"
	e.patch(sys0, M{"Boot": M{"BootOrder": []string{"Boot0005", "Boot0002", "Boot0001"}, "BootNext": "Boot0007"}}).want(http.StatusNoContent)
	e.patch(opt, M{"BootOptionEnabled": false}).want(http.StatusNoContent)
	e.patch(sys0, M{"Boot": M{"BootNext": nil}}).want(http.StatusNoContent)
	e.post(sys0+"/Actions/ComputerSystem.SetDefaultBootOrder", "").want(http.StatusNoContent)
	def := strings.Join(e.machines["0"].BootOrder(), ", ")

	type entry struct{ id, args, origin string }
	want := []entry{
		{"Bmcd.1.0.BootOrderSet", "[Boot0005, Boot0002, Boot0001]", sys0},
		{"Bmcd.1.0.BootNextSet", "[Boot0007]", sys0},
		{"Bmcd.1.0.BootOptionEnabledChanged", "[Boot0005 false]", opt},
		{"Bmcd.1.0.BootNextCleared", "[]", sys0},
		{"Bmcd.1.0.BootOrderReset", "[" + def + "]", sys0},
	}
	var got []entry
	for _, m := range e.get(sys0 + "/LogServices/EventLog/Entries?$expand=.").obj()["Members"].([]any) {
		v := m.(map[string]any)
		id := fmt.Sprint(v["MessageId"])
		if !strings.HasPrefix(id, "Bmcd.1.0.Boot") || id == "Bmcd.1.0.BootSourceOverrideSet" {
			continue
		}
		got = append(got, entry{id, fmt.Sprint(v["MessageArgs"]), fmt.Sprint(at(v, "Links", "OriginOfCondition", "@odata.id"))})
		if msg := fmt.Sprint(v["Message"]); strings.Contains(msg, "%") || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: message %q", id, msg)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("boot log entries\n%v\nwant\n%v", got, want)
	}
}

// TestNoBootOptions: a backend that does not show its firmware's options
// has no boot order, BootNext or BootOptions, and refuses references.
func TestNoBootOptions(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	const p = "/redfish/v1/Systems/pkvm"
	sys := e.get(p).obj()
	b := sys["Boot"].(map[string]any)
	for _, k := range []string{"BootOrder", "BootNext", "BootOptions", "UefiTargetBootSourceOverride"} {
		if _, ok := b[k]; ok {
			t.Errorf("Boot has %s: %v", k, b)
		}
	}
	if _, ok := sys["Actions"].(map[string]any)["#ComputerSystem.SetDefaultBootOrder"]; ok {
		t.Error("SetDefaultBootOrder advertised")
	}
	e.get(p+"/BootOptions").wantError(http.StatusNotFound, "ResourceNotFound")
	e.post(p+"/Actions/ComputerSystem.SetDefaultBootOrder", "").wantError(http.StatusNotFound, "ResourceNotFound")
	e.patch(p, M{"Boot": M{"BootOrder": []string{"Boot0001"}}}).want(http.StatusBadRequest).
		wantMessages("PropertyValueNotInList Boot0001|/Boot/BootOrder/0")
}
