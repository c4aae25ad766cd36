package redfish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		status int      // 0: valid
		key    string   // Base message of the error
		args   []string // its MessageArgs
		check  func(q query) bool
	}{
		{raw: "", check: func(q query) bool { return q.empty() }},
		{raw: "unknown=1&other", check: func(q query) bool { return q.empty() }},
		{raw: "only", check: func(q query) bool { return q.only }},
		{raw: "only=", check: func(q query) bool { return q.only }},
		{raw: "excerpt", check: func(q query) bool { return q.excerpt && !q.only }},
		{raw: "$expand=*", check: func(q query) bool { return q.expand == expandAll && q.levels == 1 }},
		{raw: "$expand=.", check: func(q query) bool { return q.expand == expandNoLinks && q.levels == 1 }},
		{raw: "$expand=~", check: func(q query) bool { return q.expand == expandLinks && q.levels == 1 }},
		{raw: "$expand=.($levels=1)", check: func(q query) bool { return q.expand == expandNoLinks && q.levels == 1 }},
		{raw: "%24expand=%2A%28%24levels%3D6%29", check: func(q query) bool { return q.expand == expandAll && q.levels == 6 }},
		{raw: "$skip=0&$top=0", check: func(q query) bool { return q.skip == 0 && q.top == 0 }},
		{raw: "$skip=5&$top=30", check: func(q query) bool { return q.skip == 5 && q.top == 30 && len(q.keep) == 0 }},
		{raw: "$select=Name,Status/State", check: func(q query) bool {
			return q.sel.children["Name"].whole && !q.sel.children["Status"].whole && q.sel.children["Status"].children["State"].whole
		}},
		{raw: "$select=Members@odata.count,Actions/%23ComputerSystem.Reset", check: func(q query) bool {
			return q.sel.children["Actions"].children["#ComputerSystem.Reset"].whole
		}},
		{raw: "$select=UUID&$expand=.&$top=2", check: func(q query) bool {
			return q.sel != nil && q.expand == expandNoLinks && q.top == 2 && reflect.DeepEqual(q.keep, []string{"$select=UUID", "$expand=."})
		}},

		{raw: "$rpvunknown", status: 501, key: "QueryParameterUnsupported", args: []string{"$rpvunknown"}},
		{raw: "$filter=SystemType%20eq%20'Physical'", status: 501, key: "QueryParameterUnsupported", args: []string{"$filter"}},
		{raw: "$levels=2", status: 501, key: "QueryParameterUnsupported", args: []string{"$levels"}},
		{raw: "$expand=foo", status: 400, key: "QueryParameterValueFormatError", args: []string{"foo", "$expand"}},
		{raw: "$expand=", status: 400, key: "QueryParameterValueFormatError", args: []string{"", "$expand"}},
		{raw: "$expand=.(levels=2)", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$expand=.($levels=2", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$expand=.($levels=0)", status: 400, key: "QueryParameterOutOfRange", args: []string{"0", "$levels", "1-6"}},
		{raw: "$expand=.($levels=7)", status: 400, key: "QueryParameterOutOfRange", args: []string{"7", "$levels", "1-6"}},
		{raw: "$expand=.($levels=-1)", status: 400, key: "QueryParameterOutOfRange"},
		{raw: "$expand=.($levels=two)", status: 400, key: "QueryParameterValueTypeError", args: []string{"two", "$levels"}},
		{raw: "$top=-1", status: 400, key: "QueryParameterOutOfRange", args: []string{"-1", "$top", fmt.Sprintf("0-%d", maxInt)}},
		{raw: "$top=99999999999999999999", status: 400, key: "QueryParameterOutOfRange"},
		{raw: "$skip=abc", status: 400, key: "QueryParameterValueTypeError", args: []string{"abc", "$skip"}},
		{raw: "$skip=", status: 400, key: "QueryParameterValueTypeError"},
		{raw: "$top=1.5", status: 400, key: "QueryParameterValueTypeError"},
		{raw: "$top=+1", status: 400, key: "QueryParameterValueTypeError"},
		{raw: "only=foo", status: 400, key: "QueryParameterValueFormatError", args: []string{"foo", "only"}},
		{raw: "excerpt=foo", status: 400, key: "QueryParameterValueFormatError", args: []string{"foo", "excerpt"}},
		{raw: "$select=", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$select=Name,,Id", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$select=Status/", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$select=Na%20me", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$select=" + strings.Repeat("a,", maxSelectProperties) + "a", status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$select=" + strings.Repeat("a", maxSelectLength+1), status: 400, key: "QueryParameterValueFormatError"},
		{raw: "$top=1&$top=2", status: 400, key: "QueryCombinationInvalid"},
		{raw: "$top=1&$top=1", check: func(q query) bool { return q.top == 1 }},
		// gofish appends "?$expand=." to a next link that has a query.
		{raw: "$expand=.&$skip=1000?$expand=.", check: func(q query) bool {
			return q.expand == expandNoLinks && q.skip == 1000 && reflect.DeepEqual(q.keep, []string{"$expand=."})
		}},
		{raw: "$skip=1000?$expand=~", check: func(q query) bool { return q.expand == expandLinks && q.skip == 1000 }},
		{raw: "only&$top=1", status: 400, key: "QueryCombinationInvalid"},
		{raw: "$expand=.&only", status: 400, key: "QueryCombinationInvalid"},
		{raw: "$top=%zz", status: 400, key: "QueryParameterValueFormatError", args: []string{"%zz", "$top"}},
		{raw: "$top=%1", status: 400, key: "QueryParameterValueFormatError", args: []string{"%1", "$top"}},
		{raw: "%24top%zz=1", status: 501, key: "QueryParameterUnsupported"},
		{raw: "0000=%1&a%zz=%zz", check: func(q query) bool { return q.empty() }},
	} {
		q, err := parseQuery(tc.raw)
		if tc.status == 0 {
			if err != nil {
				t.Errorf("%q: %v", tc.raw, err)
			} else if !tc.check(q) {
				t.Errorf("%q: parsed as %+v", tc.raw, q)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: no error, want %d %s", tc.raw, tc.status, tc.key)
			continue
		}
		m := err.msgs[0]
		if err.status != tc.status || m.MessageID != baseMessagePrefix+tc.key {
			t.Errorf("%q: %d %s, want %d %s", tc.raw, err.status, m.MessageID, tc.status, tc.key)
		}
		if tc.args != nil && !reflect.DeepEqual(m.MessageArgs, tc.args) {
			t.Errorf("%q: MessageArgs %q, want %q", tc.raw, m.MessageArgs, tc.args)
		}
	}
}

// TestQueryErrors drives the parse errors, and the errors that depend on
// the resource, through the service.
func TestQueryErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		key          string
	}{
		{"GET", "/redfish/v1/?$rpvunknown", 501, "QueryParameterUnsupported"},
		{"GET", "/redfish/v1/Systems?$filter=Id%20eq%20'0'", 501, "QueryParameterUnsupported"},
		{"GET", "/redfish/v1/Systems?$expand=.($levels=0)", 400, "QueryParameterOutOfRange"},
		{"GET", "/redfish/v1/Systems?$top=-1", 400, "QueryParameterOutOfRange"},
		{"GET", "/redfish/v1/Systems?$skip=abc", 400, "QueryParameterValueTypeError"},
		{"GET", "/redfish/v1/Systems?$expand=foo", 400, "QueryParameterValueFormatError"},
		{"GET", "/redfish/v1/?excerpt=foo", 400, "QueryParameterValueFormatError"},
		{"GET", "/redfish/v1/SessionService/Sessions?only=foo", 400, "QueryParameterValueFormatError"},
		// Collection parameters on a resource that is not a collection.
		{"GET", "/redfish/v1/Systems/0?$top=1", 400, "QueryNotSupportedOnResource"},
		{"GET", "/redfish/v1/Systems/0?$skip=1", 400, "QueryNotSupportedOnResource"},
		{"GET", "/redfish/v1/Systems/0?only", 400, "QueryNotSupportedOnResource"},
		{"HEAD", "/redfish/v1/?only", 400, ""},
		// Query parameters are for GET only.
		{"PATCH", "/redfish/v1/Systems/0?$expand=.", 400, "QueryNotSupportedOnOperation"},
		{"POST", "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset?$select=Id", 400, "QueryNotSupportedOnOperation"},
		{"DELETE", "/redfish/v1/AccountService/Accounts/3?only", 400, "QueryNotSupportedOnOperation"},
		{"PATCH", "/redfish/v1/Systems/0?$bogus", 501, "QueryParameterUnsupported"},
	} {
		var body any
		if tc.method == "PATCH" || tc.method == "POST" {
			body = M{"IndicatorLED": "Lit"}
		}
		r := e.do(tc.method, tc.path, body).want(tc.status)
		if tc.key != "" {
			r.wantError(tc.status, tc.key)
		}
	}
	if e.machines["0"].Identify().On() {
		t.Error("a request refused for its query changed the system")
	}
	// Unknown parameters without "$" are ignored.
	e.get("/redfish/v1/Systems?foo=bar&excerpt_not=1").want(http.StatusOK)
}

// TestQueryAuthentication: a public resource answers its query without
// credentials, but $expand reads resources that need them; a query error
// on a protected resource comes after authentication.
func TestQueryAuthentication(t *testing.T) {
	e := newEnv(t)
	e.get("/redfish/v1?$select=Name", anonymous()).want(http.StatusOK)
	e.get("/redfish/v1?$expand=.", anonymous()).wantError(http.StatusUnauthorized, "NoValidSession")
	e.get("/redfish/v1?$expand=bogus", anonymous()).wantError(http.StatusBadRequest, "QueryParameterValueFormatError")
	e.get("/redfish/v1?$top=bogus", anonymous()).wantError(http.StatusBadRequest, "QueryParameterValueTypeError")
	e.get("/redfish/v1/Systems?$top=bogus", anonymous()).wantError(http.StatusUnauthorized, "NoValidSession")
	e.get("/redfish/v1?$expand=.", asReader()).want(http.StatusOK)
}

// decoded GETs path and decodes the body.
func (e *env) decoded(path string, opts ...reqOpt) map[string]any {
	e.tb.Helper()
	return e.get(path, opts...).want(http.StatusOK).obj()
}

// TestExpandEqualsSeparateGets: every expanded member is what its own GET
// answers, @odata.etag included, for the principal who asked.
func TestExpandEqualsSeparateGets(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.login(operUser, operPass)
	e.login(roUser, roPass)
	for _, tc := range []struct {
		path string
		opts []reqOpt
	}{
		{"/redfish/v1/Systems?$expand=.", nil},
		{"/redfish/v1/Systems?$expand=*($levels=1)", nil},
		{"/redfish/v1/Chassis/0/Sensors?$expand=.", nil},
		{"/redfish/v1/AccountService/Accounts?$expand=.", nil},
		// The operator sees its own session only, expanded or not.
		{"/redfish/v1/SessionService/Sessions?$expand=.", []reqOpt{token(tok)}},
	} {
		coll := e.decoded(tc.path, tc.opts...)
		plain := e.decoded(strings.Split(tc.path, "?")[0], tc.opts...)
		members := coll["Members"].([]any)
		if len(members) == 0 || len(members) != len(plain["Members"].([]any)) {
			t.Fatalf("%s: %d members, plain GET %d", tc.path, len(members), len(plain["Members"].([]any)))
		}
		if coll["@odata.etag"] != plain["@odata.etag"] {
			t.Errorf("%s: @odata.etag %v, the collection's own is %v", tc.path, coll["@odata.etag"], plain["@odata.etag"])
		}
		for _, m := range members {
			id := m.(map[string]any)["@odata.id"].(string)
			if own := e.decoded(id, tc.opts...); !reflect.DeepEqual(own, m) {
				t.Errorf("%s: member %s differs from its GET:\n%v\n%v", tc.path, id, m, own)
			}
		}
	}
}

func TestExpandOptionsAndLevels(t *testing.T) {
	e := newEnv(t)
	isExpanded := func(v any) bool { o, ok := v.(map[string]any); return ok && len(o) > 1 }
	const sys = "/redfish/v1/Systems/0"

	dot := e.decoded(sys + "?$expand=.")
	if !isExpanded(dot["Bios"]) || !isExpanded(dot["Processors"]) {
		t.Errorf(".: Bios %v, Processors %v not expanded", dot["Bios"], dot["Processors"])
	}
	if isExpanded(at(dot, "Links", "Chassis", 0)) {
		t.Error(".: expanded a link under Links")
	}
	if isExpanded(at(dot, "Processors", "Members", 0)) {
		t.Error(".: level 1 expanded a second level")
	}

	tilde := e.decoded(sys + "?$expand=~")
	if isExpanded(tilde["Bios"]) || !isExpanded(at(tilde, "Links", "Chassis", 0)) || !isExpanded(at(tilde, "Links", "ManagedBy", 0)) {
		t.Errorf("~: Bios %v, Links %v", tilde["Bios"], tilde["Links"])
	}

	star := e.decoded(sys + "?$expand=*")
	if !isExpanded(star["Bios"]) || !isExpanded(at(star, "Links", "Chassis", 0)) {
		t.Errorf("*: Bios %v, Links %v", star["Bios"], star["Links"])
	}

	two := e.decoded(sys + "?$expand=.($levels=2)")
	if !isExpanded(at(two, "Processors", "Members", 0)) {
		t.Errorf("levels=2: Processors members %v", at(two, "Processors", "Members"))
	}
	if got := at(two, "Processors", "Members", 0, "Name"); got != "Processor CPU1" {
		t.Errorf("levels=2: first processor %v", at(two, "Processors", "Members", 0))
	}
	// @Redfish.Settings is a payload annotation: "." expands it too.
	if !isExpanded(at(two, "Bios", "@Redfish.Settings", "SettingsObject")) {
		t.Errorf("levels=2: Bios settings %v", at(two, "Bios", "@Redfish.Settings"))
	}

	// Links lead back to the system: that link stays a reference.
	cyc := e.decoded(sys + "?$expand=~($levels=6)")
	back := at(cyc, "Links", "Chassis", 0, "Links", "ComputerSystems", 0)
	if o, _ := back.(map[string]any); len(o) != 1 || o["@odata.id"] != sys {
		t.Errorf("the link back to %s: %v", sys, back)
	}
	if !isExpanded(at(cyc, "Links", "Chassis", 0, "Links", "ManagedBy", 0)) {
		t.Errorf("level 2 under Links: %v", at(cyc, "Links", "Chassis", 0, "Links"))
	}

	// The whole tree, six levels deep, answers (and is bounded).
	e.get("/redfish/v1?$expand=*($levels=6)").want(http.StatusOK)
}

func TestExpandETag(t *testing.T) {
	e := newEnv(t)
	const coll = "/redfish/v1/Systems?$expand=."
	r := e.get(coll).want(http.StatusOK)
	tag := r.Header.Get("ETag")
	if tag == "" || tag == r.obj()["@odata.etag"] {
		t.Fatalf("expanded answer's ETag %q: want its own, not the collection's", tag)
	}
	e.get(coll, header("If-None-Match", tag)).want(http.StatusNotModified)
	// A member changes: the collection's own tag does not, the answer's does.
	e.patch("/redfish/v1/Systems/1", M{"IndicatorLED": "Lit"}).want(http.StatusNoContent)
	r2 := e.get(coll, header("If-None-Match", tag)).want(http.StatusOK)
	if r2.Header.Get("ETag") == tag || r2.obj()["@odata.etag"] != r.obj()["@odata.etag"] {
		t.Errorf("after a member changed: ETag %s (was %s), @odata.etag %v (was %v)",
			r2.Header.Get("ETag"), tag, r2.obj()["@odata.etag"], r.obj()["@odata.etag"])
	}
	// $select derives from the resource alone: the resource's tag.
	s := e.get("/redfish/v1/Systems/0?$select=PowerState").want(http.StatusOK)
	if s.Header.Get("ETag") != e.get("/redfish/v1/Systems/0").Header.Get("ETag") {
		t.Error("$select answer's ETag is not the resource's")
	}
	e.do(http.MethodHead, coll, nil).want(http.StatusOK)
}

func TestExpandTooLarge(t *testing.T) {
	e := newEnv(t)
	e.svc.expand.maxBytes = 2000
	e.get("/redfish/v1/Systems?$expand=.").wantError(http.StatusInsufficientStorage, "InsufficientStorage")
	e.get("/redfish/v1/Systems/0/Storage?$expand=.").want(http.StatusOK)
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestSelect(t *testing.T) {
	e := newEnv(t)
	full := e.decoded("/redfish/v1/Systems/0")
	for _, tc := range []struct {
		sel  string
		want []string // top-level keys
		sub  map[string][]string
	}{
		{"PowerState", []string{"@odata.etag", "@odata.id", "@odata.type", "PowerState"}, nil},
		{"Status/State,Name", []string{"@odata.etag", "@odata.id", "@odata.type", "Name", "Status"},
			map[string][]string{"Status": {"State"}}},
		// A property's annotations come with it.
		{"Boot/BootSourceOverrideTarget", []string{"@odata.etag", "@odata.id", "@odata.type", "Boot"},
			map[string][]string{"Boot": {"BootSourceOverrideTarget", "BootSourceOverrideTarget@Redfish.AllowableValues"}}},
		// Arrays: the path applies to each element.
		{"Links/Chassis/@odata.id", []string{"@odata.etag", "@odata.id", "@odata.type", "Links"}, nil},
		{"NoSuchProperty", []string{"@odata.etag", "@odata.id", "@odata.type"}, nil},
		{"Id,Id", []string{"@odata.etag", "@odata.id", "@odata.type", "Id"}, nil},
	} {
		got := e.decoded("/redfish/v1/Systems/0?$select=" + tc.sel)
		if !reflect.DeepEqual(keys(got), tc.want) {
			t.Errorf("$select=%s: keys %v, want %v", tc.sel, keys(got), tc.want)
		}
		for _, k := range []string{"@odata.id", "@odata.type", "@odata.etag"} {
			if got[k] != full[k] {
				t.Errorf("$select=%s: %s %v, want %v", tc.sel, k, got[k], full[k])
			}
		}
		for k, want := range tc.sub {
			if ks := keys(got[k].(map[string]any)); !reflect.DeepEqual(ks, want) {
				t.Errorf("$select=%s: %s keys %v, want %v", tc.sel, k, ks, want)
			}
		}
	}

	// DSP0266's example: the UUIDs of all systems in one request.
	uu := e.decoded("/redfish/v1/Systems?$select=UUID&$expand=.($levels=1)")
	if !reflect.DeepEqual(keys(uu), []string{"@odata.etag", "@odata.id", "@odata.type", "Members", "Members@odata.count"}) {
		t.Errorf("UUIDs: collection keys %v", keys(uu))
	}
	for i, m := range uu["Members"].([]any) {
		mm := m.(map[string]any)
		if !reflect.DeepEqual(keys(mm), []string{"@odata.etag", "@odata.id", "@odata.type", "UUID"}) || mm["UUID"] == "" {
			t.Errorf("UUIDs: member %d %v", i, mm)
		}
	}
	// Naming Members selects by path instead.
	mp := e.decoded("/redfish/v1/Systems?$select=Members/PowerState&$expand=.")
	if !reflect.DeepEqual(keys(mp), []string{"@odata.etag", "@odata.id", "@odata.type", "Members", "Members@odata.count"}) ||
		at(mp, "Members", 1, "PowerState") == nil || at(mp, "Members", 1, "UUID") != nil {
		t.Errorf("Members/PowerState: %v", mp)
	}
	// Without $expand, Members are references: select them like any property.
	refs := e.decoded("/redfish/v1/Systems?$select=Members")
	if len(refs["Members"].([]any)) != 2 || refs["Name"] != nil {
		t.Errorf("$select=Members: %v", refs)
	}
	// $select with a deeper $expand narrows the expanded resources by path.
	deep := e.decoded("/redfish/v1/Systems/0?$expand=.&$select=Bios/Attributes/BootMode")
	if !reflect.DeepEqual(keys(at(deep, "Bios").(map[string]any)), []string{"@odata.etag", "@odata.id", "@odata.type", "Attributes"}) ||
		at(deep, "Bios", "Attributes", "BootMode") == nil {
		t.Errorf("Bios/Attributes/BootMode: %v", deep["Bios"])
	}
}

func TestTopSkipAndPaging(t *testing.T) {
	e := newEnv(t)
	const accts = "/redfish/v1/AccountService/Accounts"
	all := e.decoded(accts)["Members"].([]any)
	if len(all) != 3 {
		t.Fatalf("%d accounts", len(all))
	}
	for _, tc := range []struct {
		q    string
		want []any
	}{
		{"$top=1", all[:1]},
		{"$skip=1", all[1:]},
		{"$skip=1&$top=1", all[1:2]},
		{"$top=1&$skip=1", all[1:2]},
		{"$skip=3", []any{}},
		{"$skip=99", []any{}},
		{"$top=0", []any{}},
		{"$top=99", all},
	} {
		got := e.decoded(accts + "?" + tc.q)
		if !reflect.DeepEqual(got["Members"], tc.want) || got["Members@odata.count"] != float64(3) || got["Members@odata.nextLink"] != nil {
			t.Errorf("%s: %v", tc.q, got)
		}
	}

	// Pages of two: every page links to the next; following the links
	// gives every member once; Members@odata.count is the total.
	e.svc.pageSize = 2
	for _, start := range []string{accts, accts + "?$expand=.", accts + "?$skip=1", accts + "?$top=2"} {
		var seen []any
		next := start
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatalf("%s: too many pages", start)
			}
			p := e.decoded(next)
			if p["Members@odata.count"] != float64(3) || len(p["Members"].([]any)) > 2 {
				t.Fatalf("%s: page %v", next, p)
			}
			seen = append(seen, p["Members"].([]any)...)
			next, _ = p["Members@odata.nextLink"].(string)
			if strings.Contains(start, "$expand") && next != "" && !strings.Contains(next, "$expand=.") {
				t.Errorf("nextLink %s lost $expand", next)
			}
		}
		want := all
		switch {
		case strings.Contains(start, "$skip=1"):
			want = all[1:]
		case strings.Contains(start, "$top=2"):
			want = all[:2]
		}
		if len(seen) != len(want) {
			t.Errorf("%s: pages held %d members, want %d", start, len(seen), len(want))
		}
		for i := range want {
			id := func(v any) any { return v.(map[string]any)["@odata.id"] }
			if i < len(seen) && id(seen[i]) != id(want[i]) {
				t.Errorf("%s: member %d is %v, want %v", start, i, id(seen[i]), id(want[i]))
			}
		}
	}
	// Members rendered inline (log entries) page the same way.
	e.powerOn("0")
	const entries = "/redfish/v1/Systems/0/LogServices/EventLog/Entries"
	if n := len(e.decoded(entries)["Members"].([]any)); n < 2 {
		t.Fatalf("%d log entries", n)
	}
	if p := e.decoded(entries + "?$top=1"); len(p["Members"].([]any)) != 1 || at(p, "Members", 0, "Message") == nil {
		t.Errorf("log entries $top=1: %v", p)
	}
	// The first page of an unqueried GET is bounded too.
	if p := e.decoded(accts); len(p["Members"].([]any)) != 2 || p["Members@odata.nextLink"] != accts+"?$skip=2" {
		t.Errorf("first page: %v", p)
	}
}

func TestOnly(t *testing.T) {
	e := newEnv(t)
	r := e.get("/redfish/v1/Systems/0/Storage?only").want(http.StatusOK)
	own := e.get("/redfish/v1/Systems/0/Storage/1")
	if string(r.Body) != string(own.Body) || r.Header.Get("ETag") != own.Header.Get("ETag") || r.Header.Get("Link") != own.Header.Get("Link") {
		t.Errorf("only on a one-member collection:\n%s\nthe member:\n%s", r.Body, own.Body)
	}
	// Two members: the collection, as without only.
	if got := e.decoded("/redfish/v1/Systems?only"); got["@odata.id"] != "/redfish/v1/Systems" {
		t.Errorf("only with two members: %v", got)
	}
	e.get("/redfish/v1/Systems/0?only").wantError(http.StatusBadRequest, "QueryNotSupportedOnResource")
}

func TestExcerpt(t *testing.T) {
	e := newEnv(t)
	sensors := e.decoded("/redfish/v1/Chassis/0/Sensors")["Members"].([]any)
	id := sensors[0].(map[string]any)["@odata.id"].(string)
	full := e.decoded(id)
	ex := e.decoded(id + "?excerpt")
	allowed := map[string]bool{"Id": true, "Name": true}
	for _, p := range excerptProperties["Sensor"] {
		allowed[p] = true
	}
	for k := range ex {
		if base, _, _ := strings.Cut(k, "@"); !reservedProperties[k] && !allowed[base] {
			t.Errorf("excerpt of %s has %s", id, k)
		}
	}
	if ex["Reading"] == nil && full["Reading"] != nil {
		t.Errorf("excerpt of %s lost Reading: %v", id, ex)
	}
	if len(ex) >= len(full) {
		t.Errorf("excerpt of %s is not a subset: %d of %d properties", id, len(ex), len(full))
	}
	// No property of ComputerSystem is an excerpt: the whole resource.
	if sys := e.get("/redfish/v1/Systems/0?excerpt"); string(sys.Body) != string(e.get("/redfish/v1/Systems/0").Body) {
		t.Errorf("excerpt of a system is not the whole system:\n%s\n%s", sys.Body, e.get("/redfish/v1/Systems/0").Body)
	}
}

// TestExcerptPropertiesMatchSchemas keeps excerptProperties equal to the
// Excerpt terms of the schemas in schemas/.
func TestExcerptPropertiesMatchSchemas(t *testing.T) {
	files, err := filepath.Glob("../schemas/*.v*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("schemas: %v %d", err, len(files))
	}
	want := map[string][]string{}
	for _, f := range files {
		var s struct {
			Definitions map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"definitions"`
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := schemaName(filepath.Base(f))
		for p, def := range s.Definitions[name].Properties {
			if _, ok := def["excerpt"]; ok {
				want[name] = append(want[name], p)
			}
		}
	}
	for _, ps := range want {
		sort.Strings(ps)
	}
	if !reflect.DeepEqual(want, excerptProperties) {
		t.Errorf("excerptProperties = %v\nschemas say %v", excerptProperties, want)
	}
}
