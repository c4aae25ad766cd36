package schemacheck

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func loadModel(t *testing.T) *Model {
	t.Helper()
	m, err := LoadModel(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelResource(t *testing.T) {
	m := loadModel(t)
	cases := []struct {
		typ                           string
		uri, deprecatedURI            string // a URI the type allows, and one it deprecates
		insertable, updatable, delete bool
		deprecated                    bool
	}{
		{"#ComputerSystem.v1_27_0.ComputerSystem", "/redfish/v1/Systems/{ComputerSystemId}", "", false, true, true, false},
		{"#ComputerSystemCollection.ComputerSystemCollection", "/redfish/v1/Systems", "", true, false, false, false},
		{"#Power.v1_7_3.Power", "/redfish/v1/Chassis/{ChassisId}/Power", "/redfish/v1/Chassis/{ChassisId}/Power", false, true, false, true},
		{"#VirtualMedia.v1_6_5.VirtualMedia", "/redfish/v1/Systems/{ComputerSystemId}/VirtualMedia/{VirtualMediaId}",
			"/redfish/v1/Managers/{ManagerId}/VirtualMedia/{VirtualMediaId}", false, true, false, false},
		{"#Session.v1_8_0.Session", "/redfish/v1/SessionService/Sessions/{SessionId}", "", false, false, true, false},
	}
	for _, c := range cases {
		info, err := m.Resource(c.typ)
		if err != nil {
			t.Errorf("%s: %v", c.typ, err)
			continue
		}
		if !slices.Contains(info.URIs, c.uri) {
			t.Errorf("%s: URIs %v lack %s", c.typ, info.URIs, c.uri)
		}
		if c.deprecatedURI != "" && !slices.Contains(info.DeprecatedURIs, c.deprecatedURI) {
			t.Errorf("%s: deprecated URIs %v lack %s", c.typ, info.DeprecatedURIs, c.deprecatedURI)
		}
		if c.deprecatedURI == "" && len(info.DeprecatedURIs) > 0 && c.typ != "#ComputerSystem.v1_27_0.ComputerSystem" {
			t.Errorf("%s: deprecated URIs %v", c.typ, info.DeprecatedURIs)
		}
		if info.Insertable != c.insertable || info.Updatable != c.updatable || info.Deletable != c.delete {
			t.Errorf("%s: insertable %v updatable %v deletable %v", c.typ, info.Insertable, info.Updatable, info.Deletable)
		}
		if (info.Deprecated != "") != c.deprecated {
			t.Errorf("%s: deprecated %q", c.typ, info.Deprecated)
		}
	}
	for _, bad := range []string{"#NoSuch.v1_0_0.NoSuch", "#ComputerSystem.v1_27_0.Nope"} {
		if _, err := m.Resource(bad); !errors.Is(err, ErrSchemaNotFound) {
			t.Errorf("%s: err %v, want ErrSchemaNotFound", bad, err)
		}
	}
	if _, err := m.Resource("nonsense"); err == nil {
		t.Error("a malformed @odata.type has a schema")
	}
}

func TestMatchURI(t *testing.T) {
	tpl := []string{"/redfish/v1/Systems", "/redfish/v1/Systems/{ComputerSystemId}", "/redfish/v1/Systems/{ComputerSystemId}/Bios"}
	for uri, want := range map[string]string{
		"/redfish/v1/Systems":          "/redfish/v1/Systems",
		"/redfish/v1/Systems/":         "/redfish/v1/Systems",
		"/redfish/v1/Systems/0":        "/redfish/v1/Systems/{ComputerSystemId}",
		"/redfish/v1/Systems/0/Bios":   "/redfish/v1/Systems/{ComputerSystemId}/Bios",
		"/redfish/v1/Systems/0/Bios/x": "",
		"/redfish/v1/Systems//Bios":    "",
		"/redfish/v1/Chassis/0":        "",
	} {
		if got := MatchURI(tpl, uri); got != want {
			t.Errorf("MatchURI(%s) = %q, want %q", uri, got, want)
		}
	}
}

func TestSchemaVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"v1_2_0", "v1_10_0", true}, {"v1_10_0", "v1_2_0", false}, {"1.6.0", "v1_20_0", true},
		{"1.6.0", "1.6.0", false}, {"v1_0_1", "1.0.1", false}, {"", "v0_0_0", false}, {"", "v1_0_1", true},
	} {
		if got := VersionLess(c.a, c.b); got != c.less {
			t.Errorf("VersionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func props(t *testing.T, m *Model, doc string) map[string]Prop {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]Prop{}
	if err := m.Props(d, func(p Prop) { out[p.Pointer] = p }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestModelProps(t *testing.T) {
	m := loadModel(t)
	sys := props(t, m, `{
		"@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem", "@odata.id": "/redfish/v1/Systems/0", "Id": "0", "Name": "S",
		"IndicatorLED": "Off", "Status": {"State": "Qualified", "Health": "OK"},
		"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe"]},
		"Links": {"Chassis": [{"@odata.id": "/redfish/v1/Chassis/0"}], "ManagedBy": [{"@odata.id": "/redfish/v1/Managers/0"}]},
		"Bios": {"@odata.id": "/redfish/v1/Systems/0/Bios"},
		"Actions": {"#ComputerSystem.Reset": {"target": "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset"}},
		"Oem": {"bmcd": {"@odata.type": "#bmcd.v1_0_0.ComputerSystem", "BootOverrideSupported": true}},
		"Unknown": 1
	}`)
	if why, ok := sys["/IndicatorLED"].Deprecated(); !ok || !strings.Contains(why, "LocationIndicatorActive") {
		t.Errorf("IndicatorLED deprecated: %q %v", why, ok)
	}
	if _, ok := sys["/Name"].Deprecated(); ok || !sys["/Name"].ReadOnly() {
		t.Errorf("Name: %+v", sys["/Name"])
	}
	if why, ok := sys["/Status/State"].ValueDeprecated(); !ok || !strings.Contains(why, "StandbySpare") {
		t.Errorf("State Qualified: %q %v", why, ok)
	}
	if p := sys["/Boot/BootSourceOverrideTarget"]; p.Enum == nil || p.Owner != "ComputerSystem.v1_27_0.json" {
		t.Errorf("BootSourceOverrideTarget: enum %v owner %s", p.Enum != nil, p.Owner)
	}
	for ptr, want := range map[string]string{
		"/Links/Chassis/0":   "Chassis.Chassis",
		"/Links/ManagedBy/0": "Manager.Manager",
		"/Bios":              "Bios.Bios",
	} {
		if p := sys[ptr]; p.Link != want {
			t.Errorf("%s: Link %q, want %q", ptr, p.Link, want)
		}
	}
	if p := sys["/Links/Chassis"]; p.Index != -1 || p.Link != "" {
		t.Errorf("the Links/Chassis array: %+v", p)
	}
	if p := sys["/Links/Chassis/0"]; p.Index != 0 || p.Name != "Chassis" {
		t.Errorf("Links/Chassis/0: %+v", p)
	}
	if p := sys["/Actions/#ComputerSystem.Reset"]; p.Action == nil || p.Action["parameters"] == nil {
		t.Errorf("the Reset action has no definition: %+v", p)
	}
	if _, ok := sys["/Actions/#ComputerSystem.Reset/target"]; !ok {
		t.Error("the action's target is not walked")
	}
	if _, ok := sys["/Oem/bmcd"]; !ok {
		t.Error("Oem.bmcd is not reported")
	}
	if _, ok := sys["/Oem/bmcd/BootOverrideSupported"]; ok {
		t.Error("an OEM property with no JSON schema is reported")
	}
	if _, ok := sys["/Unknown"]; ok {
		t.Error("an undeclared property is reported")
	}
	if _, ok := sys["/Boot/BootSourceOverrideTarget@Redfish.AllowableValues"]; ok {
		t.Error("an annotation is reported")
	}

	power := props(t, m, `{
		"@odata.type": "#Power.v1_7_3.Power", "@odata.id": "/redfish/v1/Chassis/0/Power", "Id": "Power", "Name": "P",
		"PowerControl": [{"@odata.id": "/redfish/v1/Chassis/0/Power#/PowerControl/0", "MemberId": "0", "Name": "x"}]
	}`)
	if p := power["/PowerControl/0/MemberId"]; p.Name != "MemberId" || p.Value != "0" || p.Parent["Name"] != "x" {
		t.Errorf("PowerControl MemberId: %+v", p)
	}
	coll := props(t, m, `{"@odata.type": "#ComputerSystemCollection.ComputerSystemCollection", "@odata.id": "/redfish/v1/Systems",
		"Name": "C", "Members": [{"@odata.id": "/redfish/v1/Systems/0"}], "Members@odata.count": 1}`)
	if p := coll["/Members/0"]; p.Link != "ComputerSystem.ComputerSystem" {
		t.Errorf("collection member: %+v", p)
	}
	if _, ok := coll["/Members@odata.count"]; !ok {
		t.Error("Members@odata.count (a declared property) is not reported")
	}
	acct := props(t, m, `{"@odata.type": "#ManagerAccount.v1_14_1.ManagerAccount", "@odata.id": "/redfish/v1/AccountService/Accounts/1",
		"Id": "1", "Name": "A", "Password": null}`)
	if !acct["/Password"].WriteOnly() {
		t.Error("Password is not write-only")
	}
	if err := m.Props(map[string]any{"@odata.type": "#NoSuch.v1_0_0.NoSuch"}, func(Prop) {}); !errors.Is(err, ErrSchemaNotFound) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestCrawlFollowsValidatorLinks(t *testing.T) {
	docs := map[string]string{
		"/redfish/v1": `{"@odata.id": "/redfish/v1", "Registries": {"@odata.id": "/redfish/v1/Registries"},
			"Systems": {"@odata.id": "/redfish/v1/Systems"}, "JsonSchemas": {"@odata.id": "/redfish/v1/JsonSchemas/X"}}`,
		"/redfish/v1/Registries":      `{"Location": [{"Uri": "/redfish/v1/Registries/Base/Base"}, {"Uri": "https://elsewhere/x"}]}`,
		"/redfish/v1/Systems":         `{"Members": [{"@odata.id": "/redfish/v1/Systems/0"}], "Members@odata.nextLink": "/redfish/v1/Systems?$skip=1"}`,
		"/redfish/v1/Systems?$skip=1": `{"Members": [{"@odata.id": "/redfish/v1/Systems/1#/frag"}]}`,
		"/redfish/v1/Systems/0": `{"Actions": {"#A.B": {"@Redfish.ActionInfo": "/redfish/v1/Systems/0/Info"}},
			"Entry": {"OriginOfCondition": {"@odata.id": "/redfish/v1/Gone"}}}`,
		"/redfish/v1/Systems/0/Info":          `{"@Redfish.Settings": {"SettingsObject": {"@odata.id": "/redfish/v1/Systems/0/Info/Settings"}}}`,
		"/redfish/v1/Systems/0/Info/Settings": `{}`,
		"/redfish/v1/Registries/Base/Base":    `[1]`,
		"/redfish/v1/JsonSchemas/X":           `{"@odata.type": "#JsonSchemaFile.v1_0_0.JsonSchemaFile", "Location": [{"Uri": "/redfish/v1/Nope"}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		body, ok := docs[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	pages, err := Crawl(context.Background(), srv.Client(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pages {
		got = append(got, p.Path)
		if p.Path == "/redfish/v1/Registries/Base/Base" && (p.Err == nil || p.Status != 200) {
			t.Errorf("a non-object body: %+v", p)
		}
		if p.Path == "/redfish/v1/Systems/0" && (p.Err != nil || p.Doc == nil || p.Header == nil) {
			t.Errorf("Systems/0: %+v", p)
		}
		if p.FromAnnotation != (p.Path == "/redfish/v1/Systems/0/Info/Settings") {
			t.Errorf("%s: FromAnnotation %v", p.Path, p.FromAnnotation)
		}
	}
	slices.Sort(got)
	want := []string{"/redfish/v1", "/redfish/v1/JsonSchemas/X", "/redfish/v1/Registries", "/redfish/v1/Registries/Base/Base",
		"/redfish/v1/Systems", "/redfish/v1/Systems/0", "/redfish/v1/Systems/0/Info", "/redfish/v1/Systems/0/Info/Settings", "/redfish/v1/Systems/1", "/redfish/v1/Systems?$skip=1"}
	// Systems/1 is linked only with a fragment: not followed.
	want = slices.DeleteFunc(want, func(s string) bool { return s == "/redfish/v1/Systems/1" })
	if !slices.Equal(got, want) {
		t.Errorf("crawled %v\nwant %v", got, want)
	}
	if _, err := Crawl(context.Background(), nil, "not a url", nil); err == nil {
		t.Error("a relative base URL is accepted")
	}
}
