package redfish

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

func TestODataVersionAndCacheHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/redfish", "/redfish/v1", "/redfish/v1/Systems/0", "/redfish/v1/nope"} {
		r := e.get(path) // do checks OData-Version on every response
		if path != "/redfish/v1/nope" && r.Header.Get("Cache-Control") == "" {
			t.Errorf("GET %s: no Cache-Control", path)
		}
	}
}

func TestETagAndIfNoneMatch(t *testing.T) {
	e := newEnv(t)
	const sys = "/redfish/v1/Systems/0"
	r := e.get(sys).want(http.StatusOK)
	tag := r.Header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) {
		t.Fatalf("ETag %q is not a quoted strong tag", tag)
	}
	if e.get(sys).Header.Get("ETag") != tag {
		t.Fatal("ETag of an unchanged resource changed")
	}
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		r := e.get(sys, header("If-None-Match", inm)).want(http.StatusNotModified)
		if len(r.Body) != 0 {
			t.Errorf("If-None-Match %s: 304 with a body", inm)
		}
		if r.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: 304 ETag %q, want %q", inm, r.Header.Get("ETag"), tag)
		}
	}
	e.get(sys, header("If-None-Match", `"stale"`)).want(http.StatusOK)
	// A change gives a new tag, and the old one no longer matches.
	e.patch(sys, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}).want(http.StatusNoContent)
	r = e.get(sys, header("If-None-Match", tag)).want(http.StatusOK)
	if r.Header.Get("ETag") == tag {
		t.Fatal("ETag unchanged after PATCH")
	}
}

func TestIfMatch(t *testing.T) {
	e := newEnv(t)
	const sys = "/redfish/v1/Systems/0"
	boot := func() map[string]any { return e.get(sys).obj()["Boot"].(map[string]any) }
	stale := e.get(sys).Header.Get("ETag")
	e.patch(sys, M{"Boot": M{"BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Continuous"}}).want(http.StatusNoContent)
	before := boot()

	e.patch(sys, M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}}, header("If-Match", stale)).
		wantError(http.StatusPreconditionFailed, "PreconditionFailed")
	if got := boot(); got["BootSourceOverrideTarget"] != before["BootSourceOverrideTarget"] {
		t.Fatalf("a PATCH that failed its precondition changed the target to %v", got["BootSourceOverrideTarget"])
	}

	targets := []string{"Pxe", "Cd", "Usb", "Hdd"}
	for i, form := range []string{"strong", "weak", "star", "list"} {
		cur := e.get(sys).Header.Get("ETag")
		im := map[string]string{"strong": cur, "weak": "W/" + cur, "star": "*", "list": `"nope", ` + cur}[form]
		e.patch(sys, M{"Boot": M{"BootSourceOverrideTarget": targets[i]}}, header("If-Match", im)).want(http.StatusNoContent)
		if got := boot()["BootSourceOverrideTarget"]; got != targets[i] {
			t.Errorf("If-Match %s: target %v, want %s", form, got, targets[i])
		}
	}
	// If-Match on other resources too: account and SessionService.
	acct := accountPath(e.ids[roUser])
	old := e.get(acct).Header.Get("ETag")
	e.patch(acct, M{"Enabled": true}, header("If-Match", `"0000000000000000"`)).wantError(http.StatusPreconditionFailed, "PreconditionFailed")
	e.patch(acct, M{"Enabled": true}, header("If-Match", old)).want(http.StatusNoContent)
}

func TestTrailingSlash(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/redfish/v1", "/redfish/v1/Systems", "/redfish/v1/Systems/0", "/redfish/v1/SessionService"} {
		a := e.get(p).want(http.StatusOK)
		b := e.get(p + "/").want(http.StatusOK)
		if string(a.Body) != string(b.Body) {
			t.Errorf("%s and %s/ differ:\n%s\n%s", p, p, a.Body, b.Body)
		}
	}
	e.get("/redfish/").want(http.StatusOK)
	e.get("/redfish/v1/", anonymous()).want(http.StatusOK)
	e.patch("/redfish/v1/Systems/0/", M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}}).want(http.StatusNoContent)
	e.post("/redfish/v1/SessionService/Sessions/", M{"UserName": adminUser, "Password": adminPass}, anonymous()).want(http.StatusCreated)
}

func TestUnknownURL(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/redfish/v1/Nope", "/redfish/v1/Systems/9", "/redfish/v1/Systems/0/Nope",
		"/redfish/v2", "/", "/redfish/v1/Systems/0/Processors/CPU9", "/redfish/v1/Systems/0/Memory/DIMM01",
		"/redfish/v1/Systems/0/VirtualMedia/Floppy", "/redfish/v1/Chassis/0/Sensors/Nope",
		"/redfish/v1/AccountService/Accounts/99", "/redfish/v1/AccountService/Accounts/abc",
		"/redfish/v1/AccountService/Roles/Root", "/redfish/v1/TaskService/Tasks/1",
		"/redfish/v1/Systems/0/LogServices/EventLog/Entries/99999", "/redfish/v1/SessionService/Sessions/0"} {
		r := e.get(p).want(http.StatusNotFound)
		if ids := messageIDs(r.Body); len(ids) == 0 {
			t.Errorf("GET %s: 404 without a message", p)
		}
	}
	e.get("/redfish/v1/Nope").wantError(http.StatusNotFound, "ResourceMissingAtURI")
	e.get("/redfish/v1/Systems/9").wantError(http.StatusNotFound, "ResourceNotFound")
}

func TestPublicAndUnauthenticated(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata"} {
		r := e.get(p, anonymous()).want(http.StatusOK)
		if len(r.Body) == 0 {
			t.Errorf("GET %s: empty", p)
		}
	}
	md := e.get("/redfish/v1/$metadata", anonymous())
	if !strings.Contains(md.Header.Get("Content-Type"), "xml") || !strings.Contains(string(md.Body), "<edmx:Edmx") {
		t.Errorf("$metadata: %s %q", md.Header.Get("Content-Type"), md.Body[:min(len(md.Body), 80)])
	}
	var od struct {
		Context string           `json:"@odata.context"`
		Value   []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(e.get("/redfish/v1/odata", anonymous()).Body, &od); err != nil || len(od.Value) == 0 {
		t.Errorf("odata service document: %v %+v", err, od)
	}
	for _, p := range []string{"/redfish/v1/Systems", "/redfish/v1/Systems/0", "/redfish/v1/SessionService/Sessions",
		"/redfish/v1/AccountService", "/redfish/v1/Registries/Base/Base"} {
		e.get(p, anonymous()).wantError(http.StatusUnauthorized, "NoValidSession")
		e.get(p, basic(adminUser, "wrong-password")).wantError(http.StatusUnauthorized, "AccessUnauthorized")
		e.get(p, basic("ghost", adminPass)).wantError(http.StatusUnauthorized, "AccessUnauthorized")
		e.get(p, token("0123456789abcdef")).wantError(http.StatusUnauthorized, "NoValidSession")
	}
	e.patch("/redfish/v1/Systems/0", M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}}, anonymous()).want(http.StatusUnauthorized)
	e.post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", M{"ResetType": "On"}, anonymous()).want(http.StatusUnauthorized)
	e.delete("/redfish/v1/AccountService/Accounts/2", anonymous()).want(http.StatusUnauthorized)
	if e.machines["0"].BootOverride().Target != "None" {
		t.Error("an unauthenticated PATCH changed the boot override")
	}
}

// linkKeys are the properties whose string values name another URI.
var linkKeys = map[string]bool{"@odata.id": true, "target": true, "@Redfish.ActionInfo": true,
	"TaskMonitor": true, "Uri": true, "url": true, "v1": true, "MultipartHttpPushUri": true}

func collectLinks(v any, out func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && linkKeys[k] && strings.HasPrefix(s, "/redfish") {
				out(s)
			}
			collectLinks(c, out)
		}
	case []any:
		for _, c := range x {
			collectLinks(c, out)
		}
	}
}

var publicPaths = map[string]bool{"/redfish": true, "/redfish/v1": true, "/redfish/v1/odata": true, "/redfish/v1/$metadata": true,
	oemSchemaURI: true}

// TestWalk follows every link from the service root and, for every URI it
// reaches, checks GET (Allow, ETag, If-None-Match, HEAD), an unsupported
// method (405 with Allow and OperationNotAllowed) and the request without
// credentials (401 with WWW-Authenticate, or 200 for the public ones). It
// ends by checking that the walk reached every route the router has.
func TestWalk(t *testing.T) {
	e := newEnv(t, withBackend("raid", &raidBackend{})) // a machine with a Volume
	img := newImageServer(t)
	// Make the URIs that exist only sometimes: a session, a task, log
	// entries, trusted certificates (a media slot's, the UpdateService's).
	e.login(roUser, roPass)
	e.post(sysCD+"/Certificates", M{"CertificateString": fetchtest.NewCA(t, "Walk CA").PEM, "CertificateType": "PEM"}).
		want(http.StatusCreated)
	e.post("/redfish/v1/UpdateService/RemoteServerCertificates", M{"CertificateString": fetchtest.NewCA(t, "Walk update CA").PEM,
		"CertificateType": "PEM"}).want(http.StatusCreated)
	e.post("/redfish/v1/Managers/1/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		M{"Image": img.URL + "/ok.iso"}, header("Prefer", "respond-async")).want(http.StatusAccepted)
	e.powerOn("0")
	e.post(subscriptionsPath, M{"Destination": "http://127.0.0.1:9/events", "Protocol": "Redfish"}).want(http.StatusCreated)

	// A drive's deprecated Storage URI, which no link names any more,
	// still answers (drives.go).
	queue := []string{"/redfish", "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/$metadata", sys0 + "/Storage/1/Drives/Disk0"}
	seen := map[string]bool{}
	for _, p := range queue {
		seen[p] = true
	}
	// The event stream never ends, so a GET cannot walk it: TestSSE* cover it.
	patterns := map[string]bool{sseURI: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		rctx := chi.NewRouteContext()
		if !e.svc.mux.Match(rctx, http.MethodGet, p) {
			t.Errorf("%s: linked but not routed", p)
			continue
		}
		patterns[rctx.RoutePattern()] = true

		g := e.get(p)
		allow := g.Header.Get("Allow")
		methods := strings.Split(allow, ", ")
		switch g.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
			if !contains(methods, "GET") || !contains(methods, "HEAD") {
				t.Errorf("GET %s: %d but Allow %q", p, g.Code, allow)
			}
		case http.StatusMethodNotAllowed:
			g.wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
			if contains(methods, "GET") {
				t.Errorf("GET %s: 405 but Allow %q", p, allow)
			}
		default:
			t.Errorf("GET %s: %d\n%s", p, g.Code, g.Body)
			continue
		}
		if g.Code == http.StatusOK && p == "/redfish/v1/$metadata" {
			// $metadata links the schema files the service serves itself.
			for _, m := range regexp.MustCompile(`Uri="(/redfish/[^"]+)"`).FindAllStringSubmatch(string(g.Body), -1) {
				if !seen[m[1]] {
					seen[m[1]] = true
					queue = append(queue, m[1])
				}
			}
		}
		if g.Code == http.StatusOK && strings.HasPrefix(g.Header.Get("Content-Type"), "application/json") {
			var v any
			if err := json.Unmarshal(g.Body, &v); err != nil {
				t.Errorf("GET %s: %v", p, err)
			}
			collectLinks(v, func(l string) {
				l, _, _ = strings.Cut(l, "#")
				if len(l) > 1 {
					l = strings.TrimRight(l, "/")
				}
				if !seen[l] {
					seen[l] = true
					queue = append(queue, l)
				}
			})
			if tag := g.Header.Get("ETag"); tag != "" {
				// 304, unless the resource changed in between (DateTime).
				if r := e.get(p, header("If-None-Match", tag)); r.Code != http.StatusNotModified &&
					(r.Code != http.StatusOK || r.Header.Get("ETag") == tag) {
					t.Errorf("GET %s If-None-Match: %d", p, r.Code)
				}
			}
			if h := e.do(http.MethodHead, p, nil); h.Code != http.StatusOK || len(h.Body) != 0 {
				t.Errorf("HEAD %s: %d with %d bytes", p, h.Code, len(h.Body))
			}
		}

		for _, m := range []string{http.MethodPut, "OPTIONS", "TRACE", "FOO"} {
			r := e.do(m, p, "{}").wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
			if r.Header.Get("Allow") != allow {
				t.Errorf("%s %s: Allow %q, GET said %q", m, p, r.Header.Get("Allow"), allow)
			}
		}
		for _, m := range []string{http.MethodPatch, http.MethodPost, http.MethodDelete} {
			if !contains(methods, m) {
				e.do(m, p, "{}").wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
			}
		}

		first := methods[0]
		if first == "GET" {
			if publicPaths[p] {
				e.get(p, anonymous()).want(http.StatusOK)
				continue
			}
		}
		e.do(first, p, "{}", anonymous()).wantError(http.StatusUnauthorized, "NoValidSession")
	}

	var missed []string
	_ = chi.Walk(e.svc.mux, func(_ string, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !patterns[route] && !contains(missed, route) {
			missed = append(missed, route)
		}
		return nil
	})
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("routes no link leads to: %v", missed)
	}
	if len(seen) < 80 {
		t.Errorf("walk reached only %d URIs", len(seen))
	}
	t.Logf("walked %d URIs over %d routes", len(seen), len(patterns))
}

func TestODataVersionRequestHeader(t *testing.T) {
	e := newEnv(t)
	for _, v := range []string{"4.1", "3.0", "", "4.0, 4.1"} {
		r := e.get("/redfish/v1/Systems/0", header("OData-Version", v)).wantError(http.StatusPreconditionFailed, "HeaderInvalid")
		if got := r.args()[0]; got != "OData-Version: "+v {
			t.Errorf("OData-Version %q: MessageArgs %q", v, got)
		}
	}
	e.get("/redfish/v1/", header("OData-Version", "4.1"), anonymous()).want(http.StatusPreconditionFailed)
	e.patch("/redfish/v1/Systems/0", M{"IndicatorLED": "Lit"}, header("OData-Version", "4.1")).want(http.StatusPreconditionFailed)
	if e.machines["0"].Identify().On() {
		t.Error("a PATCH refused for its OData-Version changed the system")
	}
	e.get("/redfish/v1/Systems/0", header("OData-Version", "4.0")).want(http.StatusOK)
}

func TestPatchAnnotationsOnly(t *testing.T) {
	e := newEnv(t)
	tag := e.get("/redfish/v1/Systems/0").Header.Get("ETag")
	for _, path := range []string{"/redfish/v1/Systems/0", "/redfish/v1/SessionService", accountPath(e.ids[roUser]),
		"/redfish/v1/Managers/0/VirtualMedia/CD", "/redfish/v1/Chassis/0"} {
		e.patch(path, M{"@odata.etag": tag}).wantError(http.StatusBadRequest, "NoOperation")
		e.patch(path, M{"@odata.type": "#X.X", "@Redfish.Foo": 1}).wantError(http.StatusBadRequest, "NoOperation")
		e.patch(path, M{}).wantError(http.StatusBadRequest, "EmptyJSON")
	}
}

func TestPostToMembers(t *testing.T) {
	e := newEnv(t)
	r := e.post("/redfish/v1/SessionService/Sessions/Members", M{"UserName": roUser, "Password": roPass}, anonymous()).
		want(http.StatusCreated)
	if !strings.HasPrefix(r.Header.Get("Location"), "/redfish/v1/SessionService/Sessions/") || r.Header.Get("X-Auth-Token") == "" {
		t.Errorf("session created through Members: Location %q", r.Header.Get("Location"))
	}
	e.get(r.Header.Get("Location")).want(http.StatusOK)
	a := e.post("/redfish/v1/AccountService/Accounts/Members/", M{"UserName": "viamembers", "Password": "Members-pw1", "RoleId": "ReadOnly"}).
		want(http.StatusCreated)
	e.get(a.Header.Get("Location")).want(http.StatusOK)
	e.post("/redfish/v1/AccountService/Accounts/Members", M{"UserName": "x"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	// Only collections that create members have a Members URI to POST to.
	e.post("/redfish/v1/Systems/Members", M{}).want(http.StatusMethodNotAllowed) // Systems/{sys}: GET, PATCH
	e.post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset/Members", M{"ResetType": "On"}).want(http.StatusNotFound)
	e.get("/redfish/v1/SessionService/Sessions/Members").want(http.StatusNotFound)
}

func TestMethodNotAllowedAllow(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"FOO", "/redfish/v1/", "GET, HEAD"},
		{"FAKEMETHODFORTEST", "/redfish/v1/Systems/0", "GET, HEAD, PATCH"},
		{http.MethodPut, "/redfish/v1/Systems/0", "GET, HEAD, PATCH"},
		{http.MethodDelete, "/redfish/v1/", "GET, HEAD"},
		{http.MethodPost, "/redfish/v1/Systems", "GET, HEAD"},
		{"FOO", "/redfish/v1/AccountService/Accounts", "GET, HEAD, POST"},
		{http.MethodGet, "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", "POST"},
	} {
		r := e.do(tc.method, tc.path, nil).wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	e.do("FOO", "/redfish/v1/Nope", nil).wantError(http.StatusNotFound, "ResourceMissingAtURI")
}

func TestLinkHeader(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, link string }{
		{"/redfish/v1/", "<http://redfish.dmtf.org/schemas/v1/ServiceRoot.v1_20_0.json>; rel=describedby"},
		{"/redfish/v1/Systems", "<http://redfish.dmtf.org/schemas/v1/ComputerSystemCollection.json>; rel=describedby"},
		{"/redfish/v1/Systems/0", "<http://redfish.dmtf.org/schemas/v1/ComputerSystem.v1_27_0.json>; rel=describedby"},
		{"/redfish/v1/AccountService/Accounts/2", "<http://redfish.dmtf.org/schemas/v1/ManagerAccount.v1_14_1.json>; rel=describedby"},
	} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			if got := e.do(m, tc.path, nil).want(http.StatusOK).Header.Get("Link"); got != tc.link {
				t.Errorf("%s %s: Link %q, want %q", m, tc.path, got, tc.link)
			}
		}
	}
	tag := e.get("/redfish/v1/Systems/0").Header.Get("ETag")
	if e.get("/redfish/v1/Systems/0", header("If-None-Match", tag)).want(http.StatusNotModified).Header.Get("Link") == "" {
		t.Error("304 without Link")
	}
	if l := e.get("/redfish/v1/$metadata").Header.Get("Link"); l != "" {
		t.Errorf("$metadata: Link %q", l)
	}
}
