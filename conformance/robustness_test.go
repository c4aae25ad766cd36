package conformance

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/schemacheck"
)

// TestKillDurability kills bmcd with SIGKILL right after it acknowledges a
// change, restarts it on the same state directory, and checks that every
// acknowledged change survived.
func TestKillDurability(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	img := serveImage(t)
	certBefore := certFingerprint(t, b.Addr)
	uuidBefore := b.Get(t, "/redfish/v1")["UUID"]
	sysUUIDBefore := b.Get(t, "/redfish/v1/Systems/0")["UUID"]

	restart := func(after string) {
		t.Helper()
		b.Kill()
		b.Start()
		t.Logf("SIGKILL after %s; restarted on %s", after, b.Addr)
	}
	wantBoot := func() {
		t.Helper()
		boot := b.Get(t, "/redfish/v1/Systems/0")["Boot"].(map[string]any)
		if boot["BootSourceOverrideTarget"] != "Usb" || boot["BootSourceOverrideEnabled"] != "Continuous" ||
			boot["BootSourceOverrideMode"] != "Legacy" {
			t.Errorf("the acknowledged boot override was lost: %v", boot)
		}
	}
	wantMedia := func() {
		t.Helper()
		vm := b.Get(t, "/redfish/v1/Managers/0/VirtualMedia/CD")
		if vm["Inserted"] != true || vm["Image"] != img.URL || vm["WriteProtected"] != false {
			t.Errorf("the acknowledged media insert was lost: Inserted %v, Image %v, WriteProtected %v",
				vm["Inserted"], vm["Image"], vm["WriteProtected"])
		}
	}
	var account string
	wantAccount := func() {
		t.Helper()
		a := b.Get(t, account)
		if a["UserName"] != "durable" || a["RoleId"] != "Operator" {
			t.Errorf("the acknowledged account was lost: %v", a)
		}
		r, err := (&bmc{User: "durable", Password: "Durable-pw1", URL: b.URL, client: b.client}).Do(
			request{Method: http.MethodGet, Path: "/redfish/v1/Systems"})
		if err != nil || r.Status != http.StatusOK {
			t.Errorf("the acknowledged account cannot log in: %v %v", r, err)
		}
	}

	b.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0", Body: map[string]any{
		"Boot": map[string]any{"BootSourceOverrideTarget": "Usb", "BootSourceOverrideEnabled": "Continuous", "BootSourceOverrideMode": "Legacy"},
	}})
	restart("PATCH Boot (204)")
	wantBoot()

	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		Body: map[string]any{"Image": img.URL, "WriteProtected": false}})
	restart("InsertMedia (204)")
	wantMedia()
	// An image attached but not inserted is kept as such.
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Managers/0/VirtualMedia/CD",
		Body: map[string]any{"Inserted": false}})
	restart("PATCH Inserted false (204)")
	if vm := b.Get(t, "/redfish/v1/Managers/0/VirtualMedia/CD"); vm["Inserted"] != false || vm["Image"] != img.URL {
		t.Errorf("the image kept without a medium was lost: Inserted %v, Image %v", vm["Inserted"], vm["Image"])
	}
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Managers/0/VirtualMedia/CD",
		Body: map[string]any{"Inserted": true}})
	restart("PATCH Inserted true (204)")
	wantMedia()

	r := b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "durable", "Password": "Durable-pw1", "RoleId": "Operator"}})
	account = r.Header.Get("Location")
	if account == "" {
		t.Fatal("201 Created without a Location")
	}
	restart("POST Accounts (201)")
	wantAccount()

	// All three together, acknowledged back to back, then one more kill.
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/VirtualMedia/USB/Actions/VirtualMedia.InsertMedia",
		Body: map[string]any{"Image": img.URL}})
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0/Bios/Settings",
		Body: map[string]any{"Attributes": map[string]any{"ProcVirtualization": "Disabled"}}})
	b.Must(t, http.StatusNoContent, request{Method: http.MethodDelete, Path: account})
	restart("InsertMedia USB + PATCH Bios/Settings + DELETE account")
	wantBoot()
	wantMedia()
	if usb := b.Get(t, "/redfish/v1/Systems/0/VirtualMedia/USB"); usb["Inserted"] != true {
		t.Errorf("the USB insert was lost: %v", usb)
	}
	if s := b.Get(t, "/redfish/v1/Systems/0/Bios/Settings")["Attributes"].(map[string]any); s["ProcVirtualization"] != "Disabled" {
		t.Errorf("the pending BIOS setting was lost: %v", s)
	}
	if r, err := b.Do(request{Method: http.MethodGet, Path: account}); err != nil || r.Status != http.StatusNotFound {
		t.Errorf("the deleted account came back: %v %v", r, err)
	}

	// Identity survives restarts too.
	if got := b.Get(t, "/redfish/v1")["UUID"]; got != uuidBefore {
		t.Errorf("service UUID changed across restarts: %v -> %v", uuidBefore, got)
	}
	if got := b.Get(t, "/redfish/v1/Systems/0")["UUID"]; got != sysUUIDBefore {
		t.Errorf("system UUID changed across restarts: %v -> %v", sysUUIDBefore, got)
	}
	if got := certFingerprint(t, b.Addr); got != certBefore {
		t.Error("the TLS certificate changed across restarts")
	}
}

func certFingerprint(t *testing.T, addr string) [32]byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatal("no peer certificate")
	}
	return sha256.Sum256(certs[0].Raw)
}

// TestSIGTERM checks that SIGTERM stops bmcd cleanly, exit status 0,
// within 2 s: idle, and with a client connection open and a request in
// flight that is waiting on an image server that never answers.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	const limit = 2 * time.Second

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		b := startBMC(t, bmcOpts{Systems: 1})
		b.Get(t, "/redfish/v1/Systems/0") // leaves a keep-alive connection open
		took, code := b.Terminate(5 * time.Second)
		if code != 0 || took > limit {
			t.Errorf("SIGTERM: exit %d after %s; want 0 within %s\n%s", code, took.Round(time.Millisecond), limit, b.Output())
		}
		t.Logf("exit %d after %s", code, took.Round(time.Millisecond))
		if !strings.Contains(b.Output(), "shutting down") {
			t.Errorf("no shutdown logged:\n%s", b.Output())
		}
	})

	t.Run("request in flight", func(t *testing.T) {
		t.Parallel()
		b := startBMC(t, bmcOpts{Systems: 1})
		arrived, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(arrived) })
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(hang.Close)
		t.Cleanup(func() { close(release) })
		go func() {
			// Fails one way or another when bmcd goes away; that is expected.
			_, _ = b.Do(request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
				Body: map[string]any{"Image": hang.URL + "/slow.iso"}})
		}()
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("bmcd never fetched the image")
		}
		took, code := b.Terminate(5 * time.Second)
		if code != 0 || took > limit {
			t.Errorf("SIGTERM with a request in flight: exit %d after %s; want 0 within %s\n%s",
				code, took.Round(time.Millisecond), limit, b.Output())
		}
		t.Logf("exit %d after %s", code, took.Round(time.Millisecond))
	})
}

var generatedPassword = regexp.MustCompile(`(?m)^\s*password:\s+(\S+)\s*$`)

// TestGeneratedAdminPassword starts bmcd without -user/-password: it must
// create "admin" with a random password, print it once, and accept it;
// a second start must not print it again.
func TestGeneratedAdminPassword(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1, NoAdmin: true})
	first := b.Output()
	m := generatedPassword.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("the first start printed no generated password:\n%s", first)
	}
	b.User, b.Password = "admin", m[1]
	if n := strings.Count(first, m[1]); n != 1 {
		t.Errorf("the password appears %d times in the output, want exactly once:\n%s", n, first)
	}
	b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: "/redfish/v1/Systems"})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions",
		Body: map[string]any{"UserName": "admin", "Password": m[1]}, NoAuth: true})

	if _, code := b.Terminate(5 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	b.Start()
	second := b.Output()
	if generatedPassword.MatchString(second) || strings.Contains(second, m[1]) {
		t.Errorf("the second start printed the password again:\n%s", second)
	}
	b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: "/redfish/v1/Systems"})
	wrong := &bmc{User: "admin", Password: m[1] + "x", URL: b.URL, client: b.client}
	if r, err := wrong.Do(request{Method: http.MethodGet, Path: "/redfish/v1/Systems"}); err != nil || r.Status != http.StatusUnauthorized {
		t.Errorf("a wrong password: %v %v, want 401", r, err)
	}
}

// TestMalformedRequests throws malformed bodies, headers, paths and
// methods at bmcd: none may get a 5xx, every Redfish error must be a valid
// error document, and the service must still work afterwards.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	v, err := schemacheck.Load(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	b := startBMC(t, bmcOpts{Systems: 1})
	spare := b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "spare", "Password": "Spare-pass1", "RoleId": "ReadOnly"}}).Header.Get("Location")

	long := strings.Repeat("a", 10000)
	bodies := []string{
		"", " ", "{", "}", "{{}", "null", "[]", "[{}]", "0", "-1e999", `"x"`, "true", `{"a":}`, `{,}`, `{"a" 1}`,
		`{"Boot":null}`, `{"Boot":[]}`, `{"Boot":"Pxe"}`, `{"Boot":{"BootSourceOverrideTarget":null}}`,
		`{"Boot":{"BootSourceOverrideTarget":1e400}}`, `{"Boot":{"BootSourceOverrideTarget":"Pxe","Extra":1}}`,
		`{"Boot":{"BootSourceOverrideEnabled":"Once","BootSourceOverrideTarget":"UefiTarget","UefiTargetBootSourceOverride":7}}`,
		`{"ResetType":null}`, `{"ResetType":["On"]}`, `{"ResetType":{"x":1}}`, `{"ResetType":"On\u0000"}`,
		`{"ResetType":"Bogus","ResetType":"Sideways"}`, `{"ResetType":"` + long + `"}`,
		`{"Image":null}`, `{"Image":""}`, `{"Image":"http://"}`, `{"Image":"http://[::1"}`, `{"Image":"file:///etc/passwd"}`,
		`{"Image":"http://127.0.0.1:1/x.iso"}`, `{"Image":"http://127.0.0.1:1/` + long + `"}`, `{"Image":"http://127.0.0.1:1/x.iso","Inserted":false}`,
		`{"Image":"http://127.0.0.1:1/x.iso","TransferProtocolType":"NFS"}`, `{"Image":"http://127.0.0.1:1/x.iso","UserName":"u","Password":"p"}`,
		`{"Inserted":1}`, `{"WriteProtected":"false"}`, `{"MediaType":"Floppy"}`,
		`{"UserName":null,"Password":null,"RoleId":null}`, `{"UserName":"` + long + `","Password":"Passw0rd-1","RoleId":"Operator"}`,
		`{"UserName":"x\u0000y","Password":"Passw0rd-1","RoleId":"Operator"}`, `{"UserName":"` + "\xff\xfe" + `","Password":"Passw0rd-1","RoleId":"Operator"}`,
		`{"UserName":"ok1","Password":"short","RoleId":"Operator"}`, `{"UserName":"ok2","Password":"Passw0rd-1","RoleId":"Root"}`,
		`{"RoleId":"Administrator","Locked":true}`, `{"Enabled":"no"}`,
		`{"Attributes":null}`, `{"Attributes":{"BootMode":null}}`, `{"Attributes":{"":1}}`, `{"Attributes":[1,2]}`,
		`{"Attributes":{"BootMode":"Sideways"}}`, `{"Attributes":{"PxeNicIndex":"0"}}`, `{"Attributes":{"Nope":1}}`,
		`{"SecureBootEnable":"yes"}`, `{"SessionTimeout":-1}`, `{"SessionTimeout":1e20}`, `{"SessionTimeout":"600"}`, `{"SessionTimeout":29}`,
		`{"@odata.id":"/x"}`, `{"@odata.etag":"x","@Redfish.Settings":{}}`, `{"Id":"7","Name":"x"}`,
		strings.Repeat("[", 100000), strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		"\xef\xbb\xbf{}", "{\"a\":\"\xc3\x28\"}", "\x00\x01\x02", `{"a":1}garbage`, `{"a":1}{"b":2}`,
		strings.Repeat(" ", 1<<20) + "{}",
	}
	endpoints := []struct {
		method, path string
		noAuth       bool
	}{
		{"PATCH", "/redfish/v1/Systems/0", false},
		{"POST", "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", false},
		{"POST", "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia", false},
		{"POST", "/redfish/v1/Systems/0/VirtualMedia/USB/Actions/VirtualMedia.EjectMedia", false},
		{"PATCH", "/redfish/v1/Managers/0/VirtualMedia/CD", false},
		{"POST", "/redfish/v1/AccountService/Accounts", false},
		{"PATCH", spare, false},
		{"POST", "/redfish/v1/SessionService/Sessions", true},
		{"PATCH", "/redfish/v1/SessionService", false},
		{"PATCH", "/redfish/v1/Systems/0/Bios/Settings", false},
		{"PATCH", "/redfish/v1/Systems/0/SecureBoot", false},
		{"POST", "/redfish/v1/Systems/0/Bios/Actions/Bios.ResetBios", false},
		{"POST", "/redfish/v1/Managers/0/Actions/Manager.Reset", false},
	}
	var reqs []request
	for _, e := range endpoints {
		for _, body := range bodies {
			reqs = append(reqs, request{Method: e.method, Path: e.path, Body: body, NoAuth: e.noAuth})
		}
	}
	// Headers.
	for _, h := range []map[string]string{
		{"Content-Type": "text/plain"}, {"Content-Type": "application/xml"}, {"Content-Type": "multipart/form-data; boundary=x"},
		{"Content-Encoding": "gzip"}, {"If-Match": "*"}, {"If-Match": `W/"x"`}, {"If-Match": `"unterminated`}, {"If-Match": ","},
		{"If-None-Match": "*"}, {"Prefer": "respond-async"}, {"Accept": "application/xml"}, {"OData-Version": "9.9"},
		{"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"}, {"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon"))},
		{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(":"))}, {"X-Auth-Token": long[:4000]}, {"X-Auth-Token": "\t"},
	} {
		for _, e := range endpoints[:3] {
			reqs = append(reqs, request{Method: e.method, Path: e.path, Body: `{"Boot":{"BootSourceOverrideTarget":"Hdd"}}`, Header: h})
		}
		reqs = append(reqs, request{Method: "GET", Path: "/redfish/v1/Systems/0", Header: h})
	}
	// Paths and methods.
	for _, p := range []string{
		"/redfish/v1/Systems/%2e%2e", "/redfish/v1/Systems/0/../../..", "/redfish/v1/Systems/" + long[:7000], "/redfish/v1/Systems/0%00",
		"/redfish/v1/Systems/0/VirtualMedia/%ff", "/redfish/v1/AccountService/Accounts/-1", "/redfish/v1/AccountService/Accounts/99999999999999999999999",
		"/redfish/v1/AccountService/Accounts/0x2", "/redfish/v1/Systems/0/LogServices/EventLog/Entries/18446744073709551616",
		"/redfish/v1/Systems/0/LogServices/EventLog/Entries/-0", "/redfish/v1/Systems/0/Processors/CPU0", "/redfish/v1/Systems/0/Processors/CPU+1",
		"/redfish/v1/Systems/0/Memory/DIMM-1", "/redfish/v1/Systems/0/Memory/DIMM99999999999999999999", "/redfish/v1/TaskService/Tasks/abc/Monitor",
		"/redfish/v1/TaskService/Tasks/-1", "/redfish/v1/SessionService/Sessions/..", "/redfish/v1/AccountService/Roles/..%2fAdministrator",
		"/redfish/v1/$metadata?$expand=*", "/redfish/v1/Systems?$top=-1&$skip=x&$filter=(", "/redfish/v1/Systems?$expand=.($levels=99999)",
		"//redfish//v1//Systems", "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset/extra", "/redfish/v1/Chassis/0/Sensors/%00",
	} {
		for _, m := range []string{"GET", "HEAD", "PATCH", "POST", "DELETE", "PUT", "OPTIONS", "TRACE", "FOO"} {
			reqs = append(reqs, request{Method: m, Path: p, Body: `{}`})
		}
	}

	bad := 0
	counts := map[int]int{}
	for _, req := range reqs {
		r, err := b.Do(req)
		label := fmt.Sprintf("%s %.80s body %.60q headers %v", req.Method, req.Path, fmt.Sprint(req.Body), req.Header)
		if err != nil {
			t.Errorf("%s: %v", label, err)
			bad++
		} else {
			counts[r.Status]++
			switch {
			case r.Status >= 500:
				t.Errorf("%s: %d\n%s", label, r.Status, r.Body)
				bad++
			case r.Status >= 400 && req.Method != "HEAD" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
				if err := v.Validate(r.Body); err != nil {
					t.Errorf("%s: the %d body is not a valid Redfish error: %v\n%s", label, r.Status, err, r.Body)
					bad++
				}
			}
		}
		if bad > 20 {
			t.Fatal("too many failures; stopping")
		}
	}

	// Below HTTP: raw protocol garbage over TLS.
	for _, raw := range []string{
		"GET /redfish/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /redfish/v1/SessionService/Sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /redfish/v1 HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"GET /redfish/v1/Systems/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \x00\x01\r\n\r\n",
	} {
		status := rawExchange(t, b.Addr, raw)
		counts[status]++
		if status >= 500 {
			t.Errorf("raw request %.60q: %d", raw, status)
		}
	}
	t.Logf("%d requests; statuses: %v", len(reqs), counts)

	// Still serving, still sane.
	b.Get(t, "/redfish/v1/Systems/0")
	if boot := b.Get(t, "/redfish/v1/Systems/0")["Boot"].(map[string]any); boot["BootSourceOverrideTarget"] == nil {
		t.Errorf("Boot lost its target: %v", boot)
	}
}

// rawExchange writes raw bytes over TLS and returns the response status (0
// if the server just closed the connection).
func rawExchange(t *testing.T, addr, raw string) int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
