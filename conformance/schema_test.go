package conformance

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/schemacheck"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

// schemaDir is the project's copy of the DMTF Redfish JSON schemas.
const schemaDir = "../schemas"

const remoteServerCertificates = "/redfish/v1/UpdateService/RemoteServerCertificates"

// TestSchemaConformance crawls every resource bmcd serves, with optional
// branches populated (a powered-on system, inserted media, a task, a
// session, an extra account, pending BIOS settings, log entries, trusted
// certificates of a media slot and of the UpdateService's
// RemoteServerCertificates), and validates each document against the
// DMTF schemas; a firmware update adds its task and a staged image.
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
	// A firmware update leaves a Task with Update registry messages and a
	// staged image in the FirmwareInventory.
	fw := serveFirmware(t)
	update := b.Must(t, http.StatusAccepted, post("/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
		map[string]any{"ImageURI": fw.URL + "/firmware/bios-2.5.0.bin", "Targets": []string{"/redfish/v1/Systems/1"}}))
	eventually(t, 10*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: update.Header.Get("Location")})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusNoContent, fmt.Sprintf("update task monitor answers %d: %s", r.Status, r.Body)
	})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions",
		Body: map[string]any{"UserName": b.User, "Password": b.Password}, NoAuth: true})
	// A trusted certificate for a media slot, with verification on.
	b.Must(t, http.StatusCreated, post("/redfish/v1/Systems/0/VirtualMedia/CD/Certificates",
		map[string]any{"CertificateString": fetchtest.NewCA(t, "Schema walk CA").PEM, "CertificateType": "PEM"}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Managers/0/VirtualMedia/CD", map[string]any{"VerifyCertificate": true}))
	// The UpdateService's trusted certificate, with verification on.
	b.Must(t, http.StatusCreated, post(remoteServerCertificates,
		map[string]any{"CertificateString": fetchtest.NewCA(t, "Schema walk update CA").PEM, "CertificateType": "PEM"}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/UpdateService", map[string]any{"VerifyRemoteServerCertificate": true}))
	b.Must(t, http.StatusCreated, post("/redfish/v1/AccountService/Accounts",
		map[string]any{"UserName": "operator1", "Password": "Operator-pw1", "RoleId": "Operator"}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1/Bios/Settings",
		map[string]any{"Attributes": map[string]any{"ProcTurboMode": "Disabled"}}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1",
		map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}))
	// A boot order, BootNext, a UefiTarget and a disabled boot option.
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1",
		map[string]any{"Boot": map[string]any{"BootOrder": []string{"Boot0005", "Boot0001"}, "BootNext": "Boot0003",
			"UefiTargetBootSourceOverride": b.Get(t, "/redfish/v1/Systems/1/BootOptions/Boot0002")["UefiDevicePath"]}}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1/BootOptions/Boot0002", map[string]any{"BootOptionEnabled": false}))
	b.WaitPower(t, "0", "On")
	// A RAID volume, and a deletion of it staged for the next boot (a
	// Pending task).
	raid := map[string]any{"RAIDType": "RAID1", "Links": map[string]any{"Drives": []map[string]any{
		{"@odata.id": "/redfish/v1/Chassis/0/Drives/Disk1"}, {"@odata.id": "/redfish/v1/Chassis/0/Drives/Disk2"}}}}
	volume := b.Must(t, http.StatusCreated, post("/redfish/v1/Systems/0/Storage/1/Volumes", raid)).Header.Get("Location")
	b.Must(t, http.StatusAccepted, request{Method: http.MethodDelete, Path: volume,
		Body: map[string]any{"@Redfish.OperationApplyTime": "OnReset"}})
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
		"BootOptionCollection", "BootOption",
		"EthernetInterface", "Processor", "Memory", "Manager", "ManagerNetworkProtocol",
		"VirtualMediaCollection", "VirtualMedia", "CertificateCollection", "Certificate", "Chassis", "Power", "Thermal", "Sensor",
		"SessionService", "Session", "AccountService", "ManagerAccount", "Role",
		"MessageRegistryFileCollection", "MessageRegistryFile", "TaskService", "Task",
		"LogService", "LogEntryCollection", "LogEntry",
		"ThermalSubsystem", "FanCollection", "Fan", "ThermalMetrics",
		"PowerSubsystem", "PowerSupplyCollection", "PowerSupply", "PowerSupplyMetrics",
		"Storage", "DriveCollection", "Drive", "StorageControllerCollection", "StorageController", "VolumeCollection", "Volume",
		"SimpleStorage",
		"EventService", "EventDestinationCollection",
		"UpdateService", "SoftwareInventoryCollection", "SoftwareInventory",
	} {
		if types[want] == 0 {
			t.Errorf("the crawl validated no %s document", want)
		}
	}
	// Certificate collections hang under several resources; each must
	// have been reached and validated, with its member.
	validated := map[string]string{}
	for _, r := range results {
		if r.Err == nil {
			validated[strings.TrimSuffix(r.Path, "/")] = typeName(r.Type)
		}
	}
	for path, typ := range map[string]string{
		"/redfish/v1/Systems/0/VirtualMedia/CD/Certificates":   "CertificateCollection",
		"/redfish/v1/Systems/0/VirtualMedia/CD/Certificates/1": "Certificate",
		remoteServerCertificates:                               "CertificateCollection",
		remoteServerCertificates + "/1":                        "Certificate",
		"/redfish/v1/Chassis/0/Drives":                         "DriveCollection",
		"/redfish/v1/Chassis/0/Drives/Disk1":                   "Drive",
		volume:                                                 "Volume",
	} {
		if validated[path] != typ {
			t.Errorf("the crawl did not validate %s as a %s (got %q)", path, typ, validated[path])
		}
	}
	if types["EventDestination"] != 2 {
		t.Errorf("the crawl validated %d EventDestinations, want the subscription and the stream", types["EventDestination"])
	}
	checkMetadata(t, b, results)
	checkRegistryDocuments(t, b, v)

	// Every resource names itself by the URI it is served at, and its
	// @odata.etag is its ETag header. Every Oem object has an @odata.type
	// that the OEM CSDL $metadata references defines, as the DMTF Service
	// Validator resolves it.
	oemTypes := localOemTypes(t, b)
	oems := 0
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		r, err := b.Do(request{Method: http.MethodGet, Path: res.Path})
		if err != nil {
			t.Fatal(err)
		}
		// A Task whose operation is under way (a staged volume change
		// waits for a reset) answers 202 with its body; all else 200.
		if want := http.StatusOK; r.Status != want && !(r.Status == http.StatusAccepted && typeName(res.Type) == "Task") {
			t.Errorf("GET %s: status %d, want %d", res.Path, r.Status, want)
			continue
		}
		doc := r.JSON(t)
		oems += checkOem(t, res.Path, doc, oemTypes)
		if id, _ := doc["@odata.id"].(string); strings.TrimSuffix(id, "/") != strings.TrimSuffix(res.Path, "/") {
			t.Errorf("%s: @odata.id is %q", res.Path, id)
		}
		if tag, ok := doc["@odata.etag"].(string); ok && r.Header.Get("ETag") != tag {
			t.Errorf("%s: @odata.etag %s, ETag header %s", res.Path, tag, r.Header.Get("ETag"))
		}
	}

	if oems == 0 {
		t.Error("the crawl met no Oem object")
	}
	var seen []string
	for k, n := range types {
		seen = append(seen, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(seen)
	t.Logf("validated %d documents: %s", len(results), strings.Join(seen, " "))
}

// checkRegistryDocuments validates the registries themselves, which the
// crawl does not reach (a MessageRegistryFile's Location.Uri is not an
// @odata.id): the Base message registry and every BIOS attribute registry,
// each the one its Bios resource names.
func checkRegistryDocuments(t *testing.T, b *bmc, v *schemacheck.Validator) {
	t.Helper()
	types := map[string]int{}
	var names []string
	for _, m := range b.Get(t, "/redfish/v1/Registries")["Members"].([]any) {
		file := b.Get(t, m.(map[string]any)["@odata.id"].(string))
		for _, loc := range file["Location"].([]any) {
			uri, _ := loc.(map[string]any)["Uri"].(string)
			r := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: uri})
			if err := v.Validate(r.Body); err != nil {
				t.Errorf("registry %s does not validate: %v", uri, err)
			}
			doc := r.JSON(t)
			typ := typeName(doc["@odata.type"].(string))
			types[typ]++
			if typ == "MessageRegistry" && !strings.HasPrefix(fmt.Sprint(doc["Id"]), fmt.Sprint(file["Id"])+".") {
				t.Errorf("registry %s is %v %v", uri, doc["@odata.type"], doc["Id"])
			}
			names = append(names, doc["Id"].(string))
		}
	}
	// Base, the audit log's (AccountSecurity, LogService, ManagerEvent,
	// ResourceEvent), the events' (Bmcd) and the firmware update Tasks'
	// (Update); one BIOS attribute registry.
	if types["MessageRegistry"] < 7 || types["AttributeRegistry"] != 1 {
		t.Errorf("registries served: %v", types)
	}
	for _, id := range []string{"Base.1.22.1", "Update.1.3.0"} {
		if !slices.Contains(names, id) {
			t.Errorf("registry %s not served: %v", id, names)
		}
	}
	for _, sys := range []string{"0", "1"} {
		if id := b.Get(t, "/redfish/v1/Systems/"+sys+"/Bios")["AttributeRegistry"]; !slices.Contains(names, id.(string)) {
			t.Errorf("system %s's Bios names registry %v; served: %v", sys, id, names)
		}
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
		{"SimpleUpdate without ImageURI", request{Method: "POST", Path: "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
			Body: map[string]any{}}, 400, "ActionParameterMissing"},
		{"SimpleUpdate of the BMC", request{Method: "POST", Path: "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
			Body: map[string]any{"ImageURI": "http://127.0.0.1:9/bmc-2.0.bin", "Targets": []string{"/redfish/v1/UpdateService/FirmwareInventory/BMC"}}},
			400, "ActionParameterValueNotInList"},
		{"unknown firmware", request{Method: "GET", Path: "/redfish/v1/UpdateService/FirmwareInventory/Tape_0"}, 404, "ResourceNotFound"},
		{"certificate not PEM", request{Method: "POST", Path: "/redfish/v1/Systems/0/VirtualMedia/CD/Certificates",
			Body: map[string]any{"CertificateString": "not a certificate", "CertificateType": "PEM"}}, 400, "PropertyValueFormatError"},
		{"VerifyCertificate not a boolean", request{Method: "PATCH", Path: "/redfish/v1/Managers/0/VirtualMedia/CD",
			Body: map[string]any{"VerifyCertificate": "yes"}}, 400, "PropertyValueTypeError"},
		{"remote server certificate not PEM", request{Method: "POST", Path: remoteServerCertificates,
			Body: map[string]any{"CertificateString": "not a certificate", "CertificateType": "PEM"}}, 400, "PropertyValueFormatError"},
		{"RemoteServerCertificates not writable", request{Method: "PATCH", Path: "/redfish/v1/UpdateService",
			Body: map[string]any{"RemoteServerCertificates": map[string]any{"@odata.id": remoteServerCertificates}}}, 400, "PropertyNotWritable"},
		{"duplicate account", request{Method: "POST", Path: "/redfish/v1/AccountService/Accounts",
			Body: map[string]any{"UserName": adminUser, "Password": "Another-pw1", "RoleId": "ReadOnly"}}, 409, "ResourceAlreadyExists"},
		{"NMI to a host that is off", request{Method: "POST", Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
			Body: map[string]any{"ResetType": "Nmi"}}, 409, "ResourceInStandby"},
		{"delete the last administrator", request{Method: "DELETE", Path: "/redfish/v1/AccountService/Accounts/2"}, 409, "ResourceCannotBeDeleted"},
		{"demote the last administrator", request{Method: "PATCH", Path: "/redfish/v1/AccountService/Accounts/2",
			Body: map[string]any{"RoleId": "Operator"}}, 409, "PropertyValueResourceConflict"},
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
		for _, m := range info {
			m, _ := m.(map[string]any)
			id, _ := m["MessageId"].(string)
			if res, _ := m["Resolution"].(string); res != baseResolutions[id[strings.LastIndexByte(id, '.')+1:]] {
				t.Errorf("%s: %s Resolution %q is not the Base registry's", c.name, id, res)
			}
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

// baseResolutions is each Base registry message's Resolution, read from
// the registry bmcd serves.
var baseResolutions = func() map[string]string {
	raw, err := os.ReadFile("../redfish/registry/Base.1.22.1.json")
	if err != nil {
		panic(err)
	}
	var reg struct {
		Messages map[string]struct{ Resolution string }
	}
	if err := json.Unmarshal(raw, &reg); err != nil {
		panic(err)
	}
	out := map[string]string{}
	for k, m := range reg.Messages {
		out[k] = m.Resolution
	}
	return out
}()

// localOemTypes downloads the schema files $metadata references on the
// service itself (as the DMTF Service Validator does) and returns the
// properties of each ComplexType derived from Resource.OemObject, keyed by
// "Namespace.Name".
func localOemTypes(t *testing.T, b *bmc) map[string]map[string]bool {
	t.Helper()
	meta := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: "/redfish/v1/$metadata", NoAuth: true})
	var edmx struct {
		References []struct {
			URI string `xml:"Uri,attr"`
		} `xml:"Reference"`
	}
	if err := xml.Unmarshal(meta.Body, &edmx); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, ref := range edmx.References {
		if !strings.HasPrefix(ref.URI, "/") {
			continue
		}
		r := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: ref.URI, NoAuth: true})
		var csdl struct {
			Schemas []struct {
				Namespace string `xml:"Namespace,attr"`
				Types     []struct {
					Name  string `xml:"Name,attr"`
					Base  string `xml:"BaseType,attr"`
					Props []struct {
						Name string `xml:"Name,attr"`
					} `xml:"Property"`
				} `xml:"ComplexType"`
			} `xml:"DataServices>Schema"`
		}
		if err := xml.Unmarshal(r.Body, &csdl); err != nil {
			t.Fatalf("%s: %v", ref.URI, err)
		}
		for _, sch := range csdl.Schemas {
			for _, ct := range sch.Types {
				if ct.Base != "Resource.OemObject" {
					continue
				}
				props := map[string]bool{}
				for _, p := range ct.Props {
					props[p.Name] = true
				}
				out[sch.Namespace+"."+ct.Name] = props
			}
		}
	}
	return out
}

// checkOem checks every Oem object in v and returns how many it saw.
func checkOem(t *testing.T, path string, v any, types map[string]map[string]bool) int {
	t.Helper()
	n := 0
	switch x := v.(type) {
	case map[string]any:
		if o, ok := x["Oem"].(map[string]any); ok {
			for vendor, ext := range o {
				n++
				obj, _ := ext.(map[string]any)
				typ, _ := obj["@odata.type"].(string)
				props, ok := types[strings.TrimPrefix(typ, "#")]
				if !ok {
					t.Errorf("%s: Oem.%s has @odata.type %q, which no local schema of $metadata defines", path, vendor, typ)
					continue
				}
				for k := range obj {
					if k != "@odata.type" && !props[k] {
						t.Errorf("%s: Oem.%s.%s is not declared in %s", path, vendor, k, typ)
					}
				}
			}
		}
		for _, c := range x {
			n += checkOem(t, path, c, types)
		}
	case []any:
		for _, c := range x {
			n += checkOem(t, path, c, types)
		}
	}
	return n
}
