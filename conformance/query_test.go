package conformance

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/bmcd/bmcd/conformance/schemacheck"
)

// wantError fails unless r is status with the Base message key first.
func wantError(t *testing.T, r *response, status int, key string) {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &body)
	if r.Status != status || !strings.HasSuffix(body.Error.Code, "."+key) {
		t.Errorf("status %d %s, want %d %s\n%s", r.Status, body.Error.Code, status, key, r.Body)
	}
}

func (b *bmc) do(t *testing.T, req request) *response {
	t.Helper()
	r, err := b.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return r
}

// TestProtocolRules checks, over HTTPS against the real binary, the rules
// the DMTF Protocol Validator asserts that bmcd once missed: OData-Version,
// NoOperation, POST to Members, Allow on every 405, the Link header, and
// the query parameter errors.
func TestProtocolRules(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	get := func(path string, hdr map[string]string) *response {
		return b.do(t, request{Method: http.MethodGet, Path: path, Header: hdr})
	}

	// REQ_HEADERS_ODATA_VERSION: 4.0 is served, anything else is 412.
	if r := get("/redfish/v1/", map[string]string{"OData-Version": "4.0"}); r.Status != http.StatusOK {
		t.Errorf("OData-Version 4.0: %d", r.Status)
	}
	wantError(t, get("/redfish/v1/", map[string]string{"OData-Version": "4.1"}), http.StatusPreconditionFailed, "HeaderInvalid")

	// REQ_PATCH_ODATA_PROPS: annotations only -> 400 NoOperation.
	tag := get("/redfish/v1/Systems/0", nil).Header.Get("ETag")
	wantError(t, b.do(t, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0",
		Body: map[string]any{"@odata.etag": tag}}), http.StatusBadRequest, "NoOperation")

	// REQ_POST_CREATE_TO_MEMBERS_PROP: POST to Members creates too.
	r := b.do(t, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions/Members", NoAuth: true,
		Header: map[string]string{"OData-Version": "4.0"},
		Body:   map[string]any{"UserName": b.User, "Password": b.Password}})
	if r.Status != http.StatusCreated || r.Header.Get("Location") == "" || r.Header.Get("X-Auth-Token") == "" {
		t.Errorf("POST Sessions/Members: %d %v\n%s", r.Status, r.Header, r.Body)
	} else if d := b.do(t, request{Method: http.MethodDelete, Path: r.Header.Get("Location")}); d.Status != http.StatusNoContent {
		t.Errorf("DELETE the session made through Members: %d", d.Status)
	}
	r = b.do(t, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts/Members",
		Body: map[string]any{"UserName": "members1", "Password": "Members-pw1", "RoleId": "ReadOnly"}})
	if r.Status != http.StatusCreated || !strings.HasPrefix(r.Header.Get("Location"), "/redfish/v1/AccountService/Accounts/") {
		t.Errorf("POST Accounts/Members: %d %v\n%s", r.Status, r.Header, r.Body)
	}

	// RESP_HEADERS_ALLOW_METHOD_NOT_ALLOWED, for chi's own 405 too.
	for _, tc := range []struct{ method, path, allow string }{
		{"FAKEMETHODFORTEST", "/redfish/v1/", "GET, HEAD"},
		{"FOO", "/redfish/v1/Systems/0", "GET, HEAD, PATCH"},
		{http.MethodPut, "/redfish/v1/Systems/0", "GET, HEAD, PATCH"},
		{http.MethodDelete, "/redfish/v1/", "GET, HEAD"},
		{http.MethodPost, "/redfish/v1/", "GET, HEAD"},
	} {
		r := b.do(t, request{Method: tc.method, Path: tc.path})
		wantError(t, r, http.StatusMethodNotAllowed, "OperationNotAllowed")
		if r.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, r.Header.Get("Allow"), tc.allow)
		}
	}

	// RESP_HEADERS_LINK_REL_DESCRIBED_BY and _SCHEMA_VER_MATCH, on the
	// URIs the validator uses, for GET and HEAD.
	for _, p := range []string{"/redfish/v1/", "/redfish/v1/SessionService/Sessions", "/redfish/v1/Managers/0/NetworkProtocol",
		"/redfish/v1/Systems", "/redfish/v1/AccountService/Accounts", "/redfish/v1/AccountService"} {
		g := get(p, nil)
		var doc struct {
			Type string `json:"@odata.type"`
		}
		_ = json.Unmarshal(g.Body, &doc)
		checkDescribedBy(t, p, g.Header.Get("Link"), doc.Type)
		h := b.do(t, request{Method: http.MethodHead, Path: p})
		if h.Status != http.StatusOK || h.Header.Get("Link") != g.Header.Get("Link") || len(h.Body) != 0 {
			t.Errorf("HEAD %s: %d, Link %q (GET %q), %d bytes", p, h.Status, h.Header.Get("Link"), g.Header.Get("Link"), len(h.Body))
		}
	}

	// REQ_QUERY_UNSUPPORTED_DOLLAR_PARAMS, REQ_QUERY_INVALID_VALUES.
	wantError(t, get("/redfish/v1/?$rpvunknown", nil), http.StatusNotImplemented, "QueryParameterUnsupported")
	wantError(t, get("/redfish/v1/?excerpt=foo", nil), http.StatusBadRequest, "QueryParameterValueFormatError")
	wantError(t, get("/redfish/v1/SessionService/Sessions?only=foo", nil), http.StatusBadRequest, "QueryParameterValueFormatError")
	wantError(t, get("/redfish/v1/Systems?$expand=.($levels=0)", nil), http.StatusBadRequest, "QueryParameterOutOfRange")
	wantError(t, get("/redfish/v1/Systems?$top=-1", nil), http.StatusBadRequest, "QueryParameterOutOfRange")
	wantError(t, get("/redfish/v1/Systems?$skip=abc", nil), http.StatusBadRequest, "QueryParameterValueTypeError")
	wantError(t, get("/redfish/v1/Systems?$expand=foo", nil), http.StatusBadRequest, "QueryParameterValueFormatError")
	wantError(t, get("/redfish/v1/Systems?$filter=Id%20eq%20'0'", nil), http.StatusNotImplemented, "QueryParameterUnsupported")
	wantError(t, get("/redfish/v1/Systems/0?$top=2", nil), http.StatusBadRequest, "QueryNotSupportedOnResource")
	wantError(t, b.do(t, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0?$expand=.",
		Body: map[string]any{"IndicatorLED": "Lit"}}), http.StatusBadRequest, "QueryNotSupportedOnOperation")
	if r := get("/redfish/v1/?unknown=1", nil); r.Status != http.StatusOK {
		t.Errorf("an unknown parameter without $: %d", r.Status)
	}
}

// checkDescribedBy checks a Link header as the Protocol Validator does,
// and that it names a schema file bmcd's tree is validated against.
func checkDescribedBy(t *testing.T, path, link, odataType string) {
	t.Helper()
	uri, ok := strings.CutSuffix(link, ">; rel=describedby")
	if !ok || !strings.HasPrefix(uri, "<") {
		t.Errorf("GET %s: Link %q", path, link)
		return
	}
	file := uri[strings.LastIndex(uri, "/")+1:]
	if _, err := os.Stat(filepath.Join(schemaDir, file)); err != nil {
		t.Errorf("GET %s: Link names %s, not in %s", path, file, schemaDir)
	}
	parts := strings.Split(strings.TrimPrefix(odataType, "#"), ".")
	fparts := strings.Split(strings.TrimSuffix(file, ".json"), ".")
	if len(fparts) == 2 && (len(parts) != 3 || parts[1] != fparts[1]) {
		t.Errorf("GET %s: Link version %s, @odata.type %s", path, file, odataType)
	}
}

// TestQueryParameters drives $expand, $select, $top/$skip, only and
// excerpt over HTTPS and checks the answers against separate GETs and
// the DMTF schemas.
func TestQueryParameters(t *testing.T) {
	t.Parallel()
	v, err := schemacheck.Load(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	b := startBMC(t, bmcOpts{Systems: 3})
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	b.WaitPower(t, "1", "On")

	root := b.Get(t, "/redfish/v1/")
	pfs := root["ProtocolFeaturesSupported"].(map[string]any)
	want := map[string]any{
		"ExpandQuery": map[string]any{"ExpandAll": true, "Levels": true, "MaxLevels": float64(6), "Links": true, "NoLinks": true},
		"SelectQuery": true, "TopSkipQuery": true, "OnlyMemberQuery": true, "ExcerptQuery": true, "FilterQuery": false,
	}
	for k, w := range want {
		if !reflect.DeepEqual(pfs[k], w) {
			t.Errorf("ProtocolFeaturesSupported.%s = %v, want %v", k, pfs[k], w)
		}
	}

	// Every expanded member is its own GET, @odata.etag included, and
	// valid against its schema.
	coll := b.Get(t, "/redfish/v1/Systems?$expand=.($levels=1)")
	members := coll["Members"].([]any)
	if len(members) != 3 {
		t.Fatalf("%d expanded systems", len(members))
	}
	for _, m := range members {
		id := m.(map[string]any)["@odata.id"].(string)
		if own := b.Get(t, id); !reflect.DeepEqual(own, m) {
			t.Errorf("expanded %s differs from its GET", id)
		}
		raw, _ := json.Marshal(m)
		if err := v.Validate(raw); err != nil {
			t.Errorf("expanded %s: %v", id, err)
		}
	}
	// Levels: a system with its subordinate collections, and their members.
	sys := b.Get(t, "/redfish/v1/Systems/0?$expand=.($levels=2)")
	procs, _ := sys["Processors"].(map[string]any)
	first, _ := procs["Members"].([]any)[0].(map[string]any)
	if first["@odata.type"] == nil {
		t.Errorf("levels=2: Processors %v", procs)
	}
	// ~ expands Links only.
	tl := b.Get(t, "/redfish/v1/Systems/0?$expand=~")
	if ch := tl["Links"].(map[string]any)["Chassis"].([]any)[0].(map[string]any); ch["ChassisType"] == nil {
		t.Errorf("~: Links.Chassis %v", ch)
	}
	if len(tl["Bios"].(map[string]any)) != 1 {
		t.Errorf("~ expanded Bios: %v", tl["Bios"])
	}

	// DSP0266's example: the UUIDs of every system.
	uu := b.Get(t, "/redfish/v1/Systems?$select=UUID&$expand=.($levels=1)")
	for _, m := range uu["Members"].([]any) {
		mm := m.(map[string]any)
		own := b.Get(t, mm["@odata.id"].(string))
		if mm["UUID"] != own["UUID"] || len(mm) != 4 {
			t.Errorf("UUID selection %v", mm)
		}
	}
	sel := b.Get(t, "/redfish/v1/Systems/1?$select=PowerState,Status/State")
	if sel["PowerState"] != "On" || len(sel) != 5 || len(sel["Status"].(map[string]any)) != 1 {
		t.Errorf("$select=PowerState,Status/State: %v", sel)
	}

	page := b.Get(t, "/redfish/v1/Systems?$skip=1&$top=1")
	if ms := page["Members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["@odata.id"] != "/redfish/v1/Systems/1" ||
		page["Members@odata.count"] != float64(3) {
		t.Errorf("$skip=1&$top=1: %v", page)
	}
	only := b.Get(t, "/redfish/v1/Systems/2/Storage?only")
	if only["@odata.id"] != "/redfish/v1/Systems/2/Storage/1" {
		t.Errorf("only: %v", only)
	}
	sensors := b.Get(t, "/redfish/v1/Chassis/0/Sensors")["Members"].([]any)
	sensor := sensors[0].(map[string]any)["@odata.id"].(string)
	ex := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: sensor + "?excerpt"})
	if err := v.Validate(ex.Body); err != nil {
		t.Errorf("excerpt of %s: %v", sensor, err)
	}
	if exd := ex.JSON(t); exd["Status"] != nil || len(exd) >= len(b.Get(t, sensor)) {
		t.Errorf("excerpt of %s: %v", sensor, exd)
	}
}

// countingTransport counts the requests a client sends, by path.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.n {
		if strings.HasPrefix(p, prefix) {
			n += k
		}
	}
	return n
}

// TestGofishExpandAndPaging: gofish with AutoExpand reads ProtocolFeatures
// Supported and asks collections with $expand=.; with 1,002 systems it
// gets every system in two requests (the second following
// Members@odata.nextLink) instead of 1,003. Plain gofish follows the next
// link too.
func TestGofishExpandAndPaging(t *testing.T) {
	t.Parallel()
	const n = 1002
	b := startBMC(t, bmcOpts{Systems: n})
	first := b.Get(t, "/redfish/v1/Systems")
	if len(first["Members"].([]any)) != 1000 || first["Members@odata.count"] != float64(n) ||
		first["Members@odata.nextLink"] != "/redfish/v1/Systems?$skip=1000" {
		t.Errorf("first page: %d members, count %v, nextLink %v",
			len(first["Members"].([]any)), first["Members@odata.count"], first["Members@odata.nextLink"])
	}

	for _, expand := range []bool{true, false} {
		ct := &countingTransport{n: map[string]int{}, base: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // bmcd's self-signed certificate
			Proxy:           nil,
		}}
		c, err := gofish.Connect(gofish.ClientConfig{
			Endpoint: b.URL, Username: b.User, Password: b.Password,
			HTTPClient: &http.Client{Transport: ct, Timeout: 60 * time.Second}, AutoExpand: expand,
		})
		if err != nil {
			t.Fatalf("gofish.Connect (AutoExpand %v): %v", expand, err)
		}
		systems, err := c.GetService().Systems()
		if err != nil {
			t.Fatalf("Systems (AutoExpand %v): %v", expand, err)
		}
		if len(systems) != n {
			t.Errorf("AutoExpand %v: %d systems, want %d", expand, len(systems), n)
		}
		ids := map[string]bool{}
		for _, s := range systems {
			ids[s.ID] = true
			if s.PowerState != schemas.OffPowerState || !uuidRE.MatchString(s.UUID) {
				t.Errorf("AutoExpand %v: system %s PowerState %q UUID %q", expand, s.ID, s.PowerState, s.UUID)
				break
			}
		}
		if len(ids) != n {
			t.Errorf("AutoExpand %v: %d distinct systems", expand, len(ids))
		}
		coll, each := ct.count("/redfish/v1/Systems"), ct.count("/redfish/v1/Systems/")
		t.Logf("AutoExpand %v: %d requests under /redfish/v1/Systems", expand, coll)
		if expand && (each != 0 || coll != 2) {
			t.Errorf("AutoExpand: %d collection requests and %d system GETs, want 2 and 0", coll-each, each)
		}
		if !expand && each != n {
			t.Errorf("plain gofish: %d system GETs, want %d", each, n)
		}
		// A system read through the expanded collection acts as any other.
		s := systems[0]
		if err := s.SetBoot(&schemas.Boot{BootSourceOverrideTarget: schemas.PxeBootSource,
			BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled}); err != nil {
			t.Errorf("SetBoot on %s: %v", s.ID, err)
		}
		c.Logout()
	}
}

// TestSushyQuery runs clients/sushy_query.py: sushy reads
// ProtocolFeaturesSupported, then a fleet tool on sushy's connector reads
// systems with $expand and builds sushy resources from the members.
func TestSushyQuery(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 3})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_query.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--systems", "3")
	if code != 0 || !strings.Contains(out, "OK: sushy query parameters passed") {
		t.Fatalf("sushy_query.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	t.Logf("sushy:\n%s", out)
}
