package conformance

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/schemacheck"
)

// schemaDir is the project's copy of the DMTF Redfish JSON schemas.
const schemaDir = "../schemas"

// TestSchemaConformance crawls every resource bmcd serves, with optional
// branches populated (a powered-on system, inserted media, a task, a
// session, an extra account, pending BIOS settings, log entries), and
// validates each document against the DMTF schemas.
func TestSchemaConformance(t *testing.T) {
	t.Parallel()
	v, err := schemacheck.Load(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	// IPMI on, so the properties that describe it (NetworkProtocol.IPMI,
	// SerialConsole) are in the tree too.
	b := startBMC(t, bmcOpts{Systems: 2, IPMI: true})
	img := serveImage(t)

	post := func(path string, body any) request { return request{Method: http.MethodPost, Path: path, Body: body} }
	patch := func(path string, body any) request { return request{Method: http.MethodPatch, Path: path, Body: body} }

	b.Must(t, http.StatusNoContent, post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}))
	b.Must(t, http.StatusNoContent, post("/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": img.URL, "Inserted": true, "WriteProtected": true}))
	// An asynchronous insert leaves a Task behind.
	async := post("/redfish/v1/Systems/1/VirtualMedia/USB/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": img.URL})
	async.Header = map[string]string{"Prefer": "respond-async"}
	monitor := b.Must(t, http.StatusAccepted, async).Header.Get("Location")
	if monitor == "" {
		t.Fatal("202 Accepted without a Location (task monitor)")
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: monitor})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusNoContent, fmt.Sprintf("task monitor answers %d: %s", r.Status, r.Body)
	})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions",
		Body: map[string]any{"UserName": b.User, "Password": b.Password}, NoAuth: true})
	b.Must(t, http.StatusCreated, post("/redfish/v1/AccountService/Accounts",
		map[string]any{"UserName": "operator1", "Password": "Operator-pw1", "RoleId": "Operator"}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1/Bios/Settings",
		map[string]any{"Attributes": map[string]any{"ProcTurboMode": "Disabled"}}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1",
		map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}))
	b.WaitPower(t, "0", "On")
	// A push subscription, and an SSE stream, whose EventDestination the
	// walk finds in the subscriptions collection.
	sub := newEventSink(t)
	b.Must(t, http.StatusCreated, post("/redfish/v1/EventService/Subscriptions", map[string]any{
		"Destination": sub.URL, "Protocol": "Redfish", "Context": "schema walk", "RegistryPrefixes": []string{"ResourceEvent"},
		"OriginResources": []map[string]any{{"@odata.id": "/redfish/v1/Systems/0"}}, "HttpHeaders": []map[string]string{{"X-Walk": "1"}}}))
	stream := openEventStream(t, b, "", nil)
	defer stream.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	results, err := v.Walk(ctx, b.client, b.URL, func(r *http.Request) { r.SetBasicAuth(b.User, b.Password) })
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	var failures []string
	types := map[string]int{}
	for _, r := range results {
		if r.Err != nil {
			failures = append(failures, fmt.Sprintf("%s [HTTP %d, %s]: %v", r.Path, r.Status, r.Type, r.Err))
			continue
		}
		types[typeName(r.Type)]++
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d documents do not validate against %s:\n%s",
			len(failures), len(results), schemaDir, strings.Join(failures, "\n"))
	}
	// The optional branches must really have been crawled.
	for _, want := range []string{
		"ServiceRoot", "ComputerSystemCollection", "ComputerSystem", "ActionInfo", "Bios", "SecureBoot",
		"EthernetInterface", "Processor", "Memory", "Manager", "ManagerNetworkProtocol",
		"VirtualMediaCollection", "VirtualMedia", "Chassis", "Power", "Thermal", "Sensor",
		"SessionService", "Session", "AccountService", "ManagerAccount", "Role",
		"MessageRegistryFileCollection", "MessageRegistryFile", "TaskService", "Task",
		"LogService", "LogEntryCollection", "LogEntry", "EventService", "EventDestinationCollection",
	} {
		if types[want] == 0 {
			t.Errorf("the crawl validated no %s document", want)
		}
	}
	if types["EventDestination"] != 2 {
		t.Errorf("the crawl validated %d EventDestinations, want the subscription and the stream", types["EventDestination"])
	}
	checkRegistries(t, v, b, results)
	checkMetadata(t, b, results)

	// Every resource names itself by the URI it is served at, and its
	// @odata.etag is its ETag header.
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		r := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: res.Path})
		doc := r.JSON(t)
		if id, _ := doc["@odata.id"].(string); strings.TrimSuffix(id, "/") != strings.TrimSuffix(res.Path, "/") {
			t.Errorf("%s: @odata.id is %q", res.Path, id)
		}
		if tag, ok := doc["@odata.etag"].(string); ok && r.Header.Get("ETag") != tag {
			t.Errorf("%s: @odata.etag %s, ETag header %s", res.Path, tag, r.Header.Get("ETag"))
		}
	}

	var seen []string
	for k, n := range types {
		seen = append(seen, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(seen)
	t.Logf("validated %d documents: %s", len(results), strings.Join(seen, " "))
}

// checkRegistries fetches the registry each MessageRegistryFile locates
// (not a resource, so not crawled) and validates it as a MessageRegistry.
func checkRegistries(t *testing.T, v *schemacheck.Validator, b *bmc, results []schemacheck.Result) {
	t.Helper()
	n := 0
	for _, res := range results {
		if typeName(res.Type) != "MessageRegistryFile" || res.Err != nil {
			continue
		}
		file := b.Get(t, res.Path)
		locs, _ := file["Location"].([]any)
		for _, l := range locs {
			uri, _ := l.(map[string]any)["Uri"].(string)
			r := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: uri})
			if err := v.Validate(r.Body); err != nil {
				t.Errorf("registry %s does not validate: %v", uri, err)
			}
			doc := r.JSON(t)
			if typeName(fmt.Sprint(doc["@odata.type"])) != "MessageRegistry" || !strings.HasPrefix(fmt.Sprint(doc["Id"]), fmt.Sprint(file["Id"])+".") {
				t.Errorf("registry %s is %v %v", uri, doc["@odata.type"], doc["Id"])
			}
			n++
		}
	}
	if n < 5 {
		t.Errorf("validated %d registries, want Base, ResourceEvent, LogService, ManagerEvent and Bmcd", n)
	}
}

// checkMetadata checks the OData documents against what the crawl saw:
// $metadata must be CSDL that includes the namespace of every @odata.type
// served (as the Redfish specification requires), each with a JSON schema
// in the project's copy, and the service document must list the service
// root's top-level resources.
func checkMetadata(t *testing.T, b *bmc, results []schemacheck.Result) {
	t.Helper()
	r := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: "/redfish/v1/$metadata", NoAuth: true})
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("$metadata Content-Type %q, want application/xml", ct)
	}
	var edmx struct {
		XMLName    xml.Name `xml:"Edmx"`
		Version    string   `xml:"Version,attr"`
		References []struct {
			URI      string `xml:"Uri,attr"`
			Includes []struct {
				Namespace string `xml:"Namespace,attr"`
			} `xml:"Include"`
		} `xml:"Reference"`
		Container []struct {
			Name    string `xml:"Name,attr"`
			Extends string `xml:"Extends,attr"`
		} `xml:"DataServices>Schema>EntityContainer"`
	}
	if err := xml.Unmarshal(r.Body, &edmx); err != nil {
		t.Fatalf("$metadata is not XML: %v", err)
	}
	if edmx.Version != "4.0" || len(edmx.Container) != 1 {
		t.Errorf("$metadata: Version %q, %d EntityContainers; want 4.0 and one", edmx.Version, len(edmx.Container))
	}
	included := map[string]bool{}
	for _, ref := range edmx.References {
		for _, inc := range ref.Includes {
			included[inc.Namespace] = true
			base, _, _ := strings.Cut(inc.Namespace, ".")
			if want := "/" + base + "_v1.xml"; !strings.HasSuffix(ref.URI, want) {
				t.Errorf("$metadata: namespace %s included from %s", inc.Namespace, ref.URI)
			}
		}
	}
	for _, res := range results {
		if res.Type == "" {
			continue
		}
		ns := strings.TrimPrefix(res.Type[:strings.LastIndexByte(res.Type, '.')], "#")
		if !included[ns] {
			t.Errorf("%s is served (%s) but $metadata does not include namespace %s", res.Type, res.Path, ns)
			included[ns] = true // once
		}
		if !fileExists(schemaDir + "/" + ns + ".json") {
			t.Errorf("%s: no %s.json in %s", res.Type, ns, schemaDir)
		}
	}

	svc := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: "/redfish/v1/odata", NoAuth: true}).JSON(t)
	urls := map[string]bool{}
	values, _ := svc["value"].([]any)
	for _, v := range values {
		e, _ := v.(map[string]any)
		u, _ := e["url"].(string)
		urls[strings.TrimSuffix(u, "/")] = true
	}
	root := b.Get(t, "/redfish/v1")
	for k, v := range root {
		if l, ok := v.(map[string]any); ok && k != "Links" {
			if id, ok := l["@odata.id"].(string); ok && !urls[strings.TrimSuffix(id, "/")] {
				t.Errorf("the OData service document does not list %s (%s)", k, id)
			}
		}
	}
}

// typeName turns "#ComputerSystem.v1_27_0.ComputerSystem" into "ComputerSystem".
func typeName(odataType string) string {
	i := strings.LastIndexByte(odataType, '.')
	return odataType[i+1:]
}

// TestErrorResponsesConformance checks that error replies are Redfish error
// documents (redfish-error schema) carrying the Base message that says
// what went wrong.
func TestErrorResponsesConformance(t *testing.T) {
	t.Parallel()
	v, err := schemacheck.Load(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	b := startBMC(t, bmcOpts{Systems: 1})
	cases := []struct {
		name   string
		req    request
		status int
		msgID  string // Base message key the first message must carry
	}{
		{"unknown system", request{Method: "GET", Path: "/redfish/v1/Systems/nope"}, 404, "ResourceNotFound"},
		{"unknown URI", request{Method: "GET", Path: "/redfish/v1/NoSuchThing"}, 404, "ResourceMissingAtURI"},
		{"unknown virtual media slot", request{Method: "GET", Path: "/redfish/v1/Managers/0/VirtualMedia/Floppy9"}, 404, "ResourceNotFound"},
		{"PATCH unknown property", request{Method: "PATCH", Path: "/redfish/v1/Systems/0", Body: map[string]any{"Bogus": 1}}, 400, "PropertyUnknown"},
		{"PATCH read-only property", request{Method: "PATCH", Path: "/redfish/v1/Systems/0", Body: map[string]any{"PowerState": "On"}}, 400, "PropertyNotWritable"},
		{"PATCH value not in list", request{Method: "PATCH", Path: "/redfish/v1/Systems/0",
			Body: map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Tape"}}}, 400, "PropertyValueNotInList"},
		{"PATCH malformed JSON", request{Method: "PATCH", Path: "/redfish/v1/Systems/0", Body: `{"Boot": `}, 400, "MalformedJSON"},
		{"reset type not in list", request{Method: "POST", Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
			Body: map[string]any{"ResetType": "Sideways"}}, 400, "ActionParameterValueNotInList"},
		{"reset without type", request{Method: "POST", Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
			Body: map[string]any{}}, 400, "ActionParameterMissing"},
		{"DELETE a collection", request{Method: "DELETE", Path: "/redfish/v1/Systems"}, 405, "OperationNotAllowed"},
		{"POST to a system", request{Method: "POST", Path: "/redfish/v1/Systems/0", Body: map[string]any{}}, 405, "OperationNotAllowed"},
		{"PUT a system", request{Method: "PUT", Path: "/redfish/v1/Systems/0", Body: map[string]any{}}, 405, "OperationNotAllowed"},
		{"no credentials", request{Method: "GET", Path: "/redfish/v1/Systems", NoAuth: true}, 401, ""},
		{"stale If-Match", request{Method: "PATCH", Path: "/redfish/v1/Systems/0", Header: map[string]string{"If-Match": `"0000000000000000"`},
			Body: map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Pxe"}}}, 412, "PreconditionFailed"},
		{"duplicate account", request{Method: "POST", Path: "/redfish/v1/AccountService/Accounts",
			Body: map[string]any{"UserName": adminUser, "Password": "Another-pw1", "RoleId": "ReadOnly"}}, 409, "ResourceAlreadyExists"},
	}
	for _, c := range cases {
		r, err := b.Do(c.req)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r.Status != c.status {
			t.Errorf("%s: %s %s answered %d, want %d; body: %s", c.name, c.req.Method, c.req.Path, r.Status, c.status, r.Body)
			continue
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want application/json", c.name, ct)
		}
		if err := v.Validate(r.Body); err != nil {
			t.Errorf("%s: the %d body does not validate: %v\n%s", c.name, r.Status, err, r.Body)
			continue
		}
		doc := r.JSON(t)
		e, _ := doc["error"].(map[string]any)
		info, _ := e["@Message.ExtendedInfo"].([]any)
		if len(info) == 0 {
			t.Errorf("%s: no @Message.ExtendedInfo: %s", c.name, r.Body)
			continue
		}
		if c.msgID != "" {
			first, _ := info[0].(map[string]any)
			id, _ := first["MessageId"].(string)
			if !strings.HasPrefix(id, "Base.") || !strings.HasSuffix(id, "."+c.msgID) {
				t.Errorf("%s: MessageId %q, want Base.x.y.%s", c.name, id, c.msgID)
			}
		}
		if r.Status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" && c.req.Path != "/redfish/v1/NoSuchThing" {
			t.Errorf("%s: 405 without an Allow header", c.name)
		}
		if r.Status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
}
