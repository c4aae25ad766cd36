package redfish

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// fwServer serves update images on 127.0.0.1: /fw/NAME is firmware,
// /html/NAME a web page, /auth/NAME wants user fw password pw, /gone/NAME
// answers 410, /broken/NAME 500, /bad/NAME 400, anything else 404.
type fwServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newFwServer(tb testing.TB, tls bool) *fwServer {
	fs := &fwServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		switch {
		case strings.HasPrefix(r.URL.Path, "/fw/"):
			_, _ = w.Write([]byte{0x7f, 'F', 'W', 0, 1, 2, 3})
		case strings.HasPrefix(r.URL.Path, "/gone/"):
			http.Error(w, "gone", http.StatusGone)
		case strings.HasPrefix(r.URL.Path, "/broken/"):
			http.Error(w, "oops", http.StatusInternalServerError)
		case strings.HasPrefix(r.URL.Path, "/bad/"):
			http.Error(w, "bad request", http.StatusBadRequest)
		case strings.HasPrefix(r.URL.Path, "/html/"):
			_, _ = w.Write([]byte("<html><body>login</body></html>"))
		case strings.HasPrefix(r.URL.Path, "/auth/"):
			if u, p, ok := r.BasicAuth(); !ok || u != "fw" || p != "pw" {
				w.Header().Set("WWW-Authenticate", `Basic realm="fw"`)
				http.Error(w, "who?", http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte{0x7f, 'F', 'W', 0})
		default:
			http.NotFound(w, r)
		}
	})
	fs.Server = httptest.NewUnstartedServer(h)
	fs.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes refused on purpose
	if tls {
		fs.StartTLS()
	} else {
		fs.Start()
	}
	tb.Cleanup(fs.Close)
	return fs
}

const (
	updateAction = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate"
	fwInventory  = "/redfish/v1/UpdateService/FirmwareInventory"
)

// runTask starts an update, checks the 202, waits for its monitor to end
// and returns the monitor's last answer and the task.
func (e *env) runTask(r *resp) (*resp, map[string]any) {
	e.tb.Helper()
	r.want(http.StatusAccepted)
	loc := r.Header.Get("Location")
	body := r.obj()
	if loc == "" || body["TaskMonitor"] != loc || body["TaskState"] != "Running" {
		e.tb.Fatalf("202 without a task monitor: Location %q, body %s", loc, r.Body)
	}
	var mon *resp
	eventually(e.tb, "the task to end", func() bool {
		mon = e.get(loc)
		return mon.Code != http.StatusAccepted
	})
	task := e.get(body["@odata.id"].(string)).want(http.StatusOK).obj()
	return mon, task
}

// taskMessageIDs lists a task's MessageIds, checking each message is what
// its registry says.
func taskMessageIDs(tb testing.TB, task map[string]any) []string {
	tb.Helper()
	var ids []string
	for _, m := range task["Messages"].([]any) {
		msg := m.(map[string]any)
		id := msg["MessageId"].(string)
		ids = append(ids, id)
		var rm registryMessage
		var ok bool
		if key, isBase := strings.CutPrefix(id, baseMessagePrefix); isBase {
			rm, ok = baseMessages[key]
		} else if key, isUpdate := strings.CutPrefix(id, updateMessagePrefix); isUpdate {
			rm, ok = updateRegistry.messages[key]
		}
		args, _ := msg["MessageArgs"].([]any)
		if !ok || len(args) != rm.NumberOfArgs || strings.Contains(msg["Message"].(string), "%1") {
			tb.Errorf("task message %v does not match its registry", msg)
		}
	}
	return ids
}

func hasAll(have []string, want ...string) bool {
	for _, w := range want {
		if !contains(have, w) {
			return false
		}
	}
	return true
}

func TestUpdateServiceResources(t *testing.T) {
	e := newEnv(t, withBackend("atx", &noBootBackend{}))
	root := e.get("/redfish/v1").want(http.StatusOK).obj()
	if at(root, "UpdateService", "@odata.id") != "/redfish/v1/UpdateService" {
		t.Errorf("ServiceRoot.UpdateService %v", root["UpdateService"])
	}
	us := e.get("/redfish/v1/UpdateService").want(http.StatusOK).obj()
	act := at(us, "Actions", "#UpdateService.SimpleUpdate").(map[string]any)
	if us["ServiceEnabled"] != true || at(us, "FirmwareInventory", "@odata.id") != fwInventory ||
		act["target"] != updateAction || us["VerifyRemoteServerCertificate"] != false ||
		us["MaxImageSizeBytes"] != float64(hardware.MaxFirmwareImageSize) || us["MultipartHttpPushUri"] != multipartPushPath {
		t.Errorf("UpdateService %v", us)
	}
	info := e.get(act["@Redfish.ActionInfo"].(string)).want(http.StatusOK).obj()
	params := map[string]map[string]any{}
	for _, p := range info["Parameters"].([]any) {
		params[p.(map[string]any)["Name"].(string)] = p.(map[string]any)
	}
	if params["ImageURI"]["Required"] != true || len(params["TransferProtocol"]["AllowableValues"].([]any)) != 2 {
		t.Errorf("ActionInfo %v", info)
	}
	targets := params["Targets"]["AllowableValues"].([]any)
	for _, want := range []string{"/redfish/v1/Systems/0", fwInventory + "/BIOS_0", fwInventory + "/Disk0_1"} {
		if !contains(targets, any(want)) {
			t.Errorf("Targets allow %v, not %s", targets, want)
		}
	}
	for _, not := range []string{"/redfish/v1/Systems/atx", fwInventory + "/BIOS_atx", fwInventory + "/BMC"} {
		if contains(targets, any(not)) {
			t.Errorf("Targets allow %s", not)
		}
	}

	coll := e.get(fwInventory).want(http.StatusOK).obj()
	var members []string
	for _, m := range coll["Members"].([]any) {
		members = append(members, m.(map[string]any)["@odata.id"].(string))
	}
	want := []string{"BMC", "BIOS_0", "NIC_0", "Disk0_0", "BIOS_1", "NIC_1", "Disk0_1"}
	if len(members) != len(want) {
		t.Fatalf("members %v", members)
	}
	for i, w := range want {
		if members[i] != fwInventory+"/"+w {
			t.Errorf("member %d: %s, want %s", i, members[i], w)
		}
	}

	bios := e.get(fwInventory + "/BIOS_0").want(http.StatusOK).obj()
	sys := e.get("/redfish/v1/Systems/0").want(http.StatusOK).obj()
	if bios["Version"] != sys["BiosVersion"] || bios["Updateable"] != true || bios["ResetRequiredOnUpdate"] != true ||
		at(bios, "RelatedItem", 0, "@odata.id") != "/redfish/v1/Systems/0" || bios["SoftwareId"] == nil || bios["ReleaseDate"] == nil {
		t.Errorf("BIOS_0 %v; BiosVersion %v", bios, sys["BiosVersion"])
	}
	nic := e.get(fwInventory + "/NIC_1").want(http.StatusOK).obj()
	if at(nic, "RelatedItem", 1, "@odata.id") != "/redfish/v1/Systems/1/EthernetInterfaces/NIC2" {
		t.Errorf("NIC_1 %v", nic)
	}
	disk := e.get(fwInventory + "/Disk0_0").want(http.StatusOK).obj()
	if at(disk, "RelatedItem", 0, "@odata.id") != "/redfish/v1/Chassis/0/Drives/Disk0" || disk["ResetRequiredOnUpdate"] != false {
		t.Errorf("Disk0_0 %v", disk)
	}
	bmc := e.get(fwInventory + "/BMC").want(http.StatusOK).obj()
	mgr := e.get("/redfish/v1/Managers/0").want(http.StatusOK).obj()
	if bmc["Version"] != mgr["FirmwareVersion"] || bmc["Updateable"] != false || bmc["RelatedItem@odata.count"] != float64(3) {
		t.Errorf("BMC %v", bmc)
	}
	for _, id := range []string{"BIOS", "BIOS_9", "Tape_0", "Staged_BIOS_0", "BIOS_atx_", "_0", "bmc"} {
		e.get(fwInventory+"/"+id).wantError(http.StatusNotFound, "ResourceNotFound")
	}
	for _, p := range []string{"/redfish/v1/Registries/Update", "/redfish/v1/Registries/Update/Update"} {
		e.get(p).want(http.StatusOK)
	}
}

func TestSimpleUpdateRejected(t *testing.T) {
	e := newEnv(t, withBackend("atx", &noBootBackend{}))
	fs := newFwServer(t, false)
	img := fs.URL + "/fw/bios-2.5.0.bin"
	e.post(updateAction, M{"ImageURI": img}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	for _, c := range []struct {
		name string
		body any
		key  string
	}{
		{"no ImageURI", M{}, "ActionParameterMissing"},
		{"ImageURI not a string", M{"ImageURI": 5}, "ActionParameterValueTypeError"},
		{"unknown parameter", M{"ImageURI": img, "Image": img}, "ActionParameterUnknown"},
		{"ftp URI", M{"ImageURI": "ftp://127.0.0.1/bios-2.5.0.bin"}, "ActionParameterValueFormatError"},
		{"no host", M{"ImageURI": "http:///bios-2.5.0.bin"}, "ActionParameterValueFormatError"},
		{"protocol not in the schema", M{"ImageURI": img, "TransferProtocol": "Pigeon"}, "ActionParameterValueNotInList"},
		{"unsupported protocol for a bare URI", M{"ImageURI": "127.0.0.1/bios-2.5.0.bin", "TransferProtocol": "TFTP"}, "ActionParameterValueNotInList"},
		{"unknown target", M{"ImageURI": img, "Targets": []string{"/redfish/v1/Systems/9"}}, "ActionParameterValueNotInList"},
		{"the BMC", M{"ImageURI": img, "Targets": []string{fwInventory + "/BMC"}}, "ActionParameterValueNotInList"},
		{"not updateable", M{"ImageURI": img, "Targets": []string{fwInventory + "/BIOS_atx"}}, "ActionParameterValueNotInList"},
		{"system that cannot update", M{"ImageURI": img, "Targets": []string{"/redfish/v1/Systems/atx"}}, "ActionParameterValueNotInList"},
		{"a chassis", M{"ImageURI": img, "Targets": []string{"/redfish/v1/Chassis/0"}}, "ActionParameterValueNotInList"},
		{"Targets not an array", M{"ImageURI": img, "Targets": "/redfish/v1/Systems/0"}, "ActionParameterValueTypeError"},
		{"Stage", M{"ImageURI": img, "Stage": true}, "ActionParameterNotSupported"},
		{"LocalImage", M{"ImageURI": img, "LocalImage": true}, "ActionParameterNotSupported"},
		{"ExcludeTargets", M{"ImageURI": img, "ExcludeTargets": []string{"/redfish/v1/Systems/1"}}, "ActionParameterNotSupported"},
		{"malformed", `{"ImageURI":`, "MalformedJSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).post(updateAction, c.body).wantError(http.StatusBadRequest, c.key)
		})
	}
	if n := len(e.svc.tasks.list()); n != 0 {
		t.Errorf("%d tasks from rejected requests", n)
	}
	if n := fs.hits.Load(); n != 0 {
		t.Errorf("rejected requests fetched %d images", n)
	}
}

// TestSimpleUpdateBIOS is Ironic's flow: SimpleUpdate targeted at the
// system, a Task that completes with the image staged, a reset, and the
// new BiosVersion.
func TestSimpleUpdateBIOS(t *testing.T) {
	e := newEnv(t)
	fs := newFwServer(t, false)
	old := e.get("/redfish/v1/Systems/1").obj()["BiosVersion"]
	// sushy sends TransferProtocol HTTP whatever the URI's scheme.
	mon, task := e.runTask(e.post(updateAction, M{"ImageURI": fs.URL + "/fw/bios-2.5.0.bin", "TransferProtocol": "HTTPS",
		"Targets": []string{"/redfish/v1/Systems/1/"}}))
	mon.want(http.StatusNoContent)
	if task["TaskState"] != "Completed" || task["TaskStatus"] != "OK" || task["PercentComplete"] != float64(100) {
		t.Fatalf("task %v", task)
	}
	ids := taskMessageIDs(t, task)
	if !hasAll(ids, updateMessagePrefix+"TransferringToComponent", updateMessagePrefix+"TargetDetermined",
		updateMessagePrefix+"VerifyingAtComponent", updateMessagePrefix+"AwaitToActivate", baseMessagePrefix+"ResetRequired",
		baseMessagePrefix+"Success") {
		t.Errorf("task messages %v", ids)
	}
	if v := e.get("/redfish/v1/Systems/1").obj()["BiosVersion"]; v != old {
		t.Errorf("BiosVersion %v before the reset", v)
	}
	// The staged image shows its version as the running BIOS does,
	// "SIM <version> (<release date>)", with that date: the day it came,
	// since the image does not say.
	staged := e.get(fwInventory + "/Staged_BIOS_1").want(http.StatusOK).obj()
	released, _ := staged["ReleaseDate"].(string)
	want := "SIM 2.5.0 (" + released[:min(len(released), 10)] + ")"
	if !strings.HasPrefix(old.(string), "SIM 2.4.1 (") || released == "" || staged["Version"] != want ||
		staged["Staged"] != true || staged["Active"] != false || staged["SizeBytes"] != float64(7) {
		t.Errorf("staged %v, running %v", staged, old)
	}
	if e.get(fwInventory + "/BIOS_1").obj()["Version"] != old {
		t.Error("the running BIOS changed before the reset")
	}
	e.get(fwInventory+"/Staged_BIOS_0").wantError(http.StatusNotFound, "ResourceNotFound")

	e.powerOn("1")
	// One format before and after: BiosVersion, SystemBiosVersion and
	// the inventory, which keeps a ReleaseDate.
	eventually(t, "the new BIOS", func() bool { return e.get("/redfish/v1/Systems/1").obj()["BiosVersion"] == want })
	if v := e.get(fwInventory + "/BIOS_1").obj(); v["Version"] != want || v["ReleaseDate"] != released {
		t.Errorf("BIOS_1 %v", v)
	}
	if v := at(e.get("/redfish/v1/Systems/1/Bios").obj(), "Attributes", "SystemBiosVersion"); v != want {
		t.Errorf("SystemBiosVersion %v", v)
	}
	e.get(fwInventory+"/Staged_BIOS_1").wantError(http.StatusNotFound, "ResourceNotFound")
	if v := e.get("/redfish/v1/Systems/0").obj()["BiosVersion"]; v != old {
		t.Errorf("system 0 changed: %v", v)
	}
	// The event log states both steps with the Update registry, about
	// the component, as the events the EventService sends.
	entries := e.get("/redfish/v1/Systems/1/LogServices/EventLog/Entries").obj()["Members"].([]any)
	var log []string
	for _, m := range entries {
		en := m.(map[string]any)
		log = append(log, fmt.Sprintf("%v %v %v", en["MessageId"], en["MessageArgs"], at(en, "Links", "OriginOfCondition", "@odata.id")))
	}
	joined := strings.Join(log, "\n")
	image := fs.URL + "/fw/bios-2.5.0.bin"
	for _, want := range []string{
		fmt.Sprintf("%sAwaitToActivate [%s %s] %s", updateMessagePrefix, image, fwInventory+"/BIOS_1", fwInventory+"/BIOS_1"),
		fmt.Sprintf("%sUpdateSuccessful [%s %s] %s", updateMessagePrefix, fwInventory+"/BIOS_1", image, fwInventory+"/BIOS_1"),
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("event log lacks %q:\n%s", want, joined)
		}
	}
}

func TestSimpleUpdateTargets(t *testing.T) {
	e := newEnv(t)
	fs := newFwServer(t, false)
	// A component that activates at once.
	mon, task := e.runTask(e.post(updateAction, M{"ImageURI": fs.URL + "/fw/disk0-1.0.4.bin", "Targets": []string{fwInventory + "/Disk0_0"}}))
	mon.want(http.StatusNoContent)
	if !contains(taskMessageIDs(t, task), updateMessagePrefix+"UpdateSuccessful") {
		t.Errorf("messages %v", task["Messages"])
	}
	if v := e.get(fwInventory + "/Disk0_0").obj()["Version"]; v != "1.0.4" {
		t.Errorf("Disk0_0 %v", v)
	}
	// No Targets: every system, the component the image names; a bare
	// URI is fetched over HTTP.
	mon, _ = e.runTask(e.post(updateAction, M{"ImageURI": strings.TrimPrefix(fs.URL, "http://") + "/fw/nic-22.40.0.bin"}))
	mon.want(http.StatusNoContent)
	for _, id := range []string{"0", "1"} {
		if v := e.get(fwInventory + "/Staged_NIC_" + id).want(http.StatusOK).obj()["Version"]; v != "22.40.0" {
			t.Errorf("Staged_NIC_%s %v", id, v)
		}
	}
	// Credentials are honoured.
	mon, _ = e.runTask(e.post(updateAction, M{"ImageURI": fs.URL + "/auth/bios-3.0.0.bin", "Username": "fw", "Password": "pw",
		"Targets": []string{fwInventory + "/BIOS_0"}}))
	mon.want(http.StatusNoContent)
	if v := e.get(fwInventory + "/Staged_BIOS_0").obj()["Version"]; !isSimBios(v, "3.0.0") {
		t.Errorf("Staged_BIOS_0 %v", v)
	}
}

func TestSimpleUpdateFailures(t *testing.T) {
	e := newEnv(t)
	fs := newFwServer(t, false)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, c := range []struct {
		name, image string
		targets     []string
		status      int
		key         string // Base error of the monitor
		update      string // Update message in the task
	}{
		{"404", fs.URL + "/nothing/bios-2.5.0.bin", []string{"/redfish/v1/Systems/0"}, 400, "ResourceMissingAtURI", "TransferFailed"},
		{"410", fs.URL + "/gone/bios-2.5.0.bin", []string{"/redfish/v1/Systems/0"}, 400, "ResourceMissingAtURI", "TransferFailed"},
		{"400", fs.URL + "/bad/bios-2.5.0.bin", []string{"/redfish/v1/Systems/0"}, 400, "ResourceAtUriInUnknownFormat", "TransferFailed"},
		{"500", fs.URL + "/broken/bios-2.5.0.bin", []string{"/redfish/v1/Systems/0"}, 400, "CouldNotEstablishConnection", "TransferFailed"},
		{"no server", gone.URL + "/fw/bios-2.5.0.bin", nil, 400, "CouldNotEstablishConnection", "TransferFailed"},
		{"credentials wanted", fs.URL + "/auth/bios-2.5.0.bin", []string{fwInventory + "/BIOS_0"}, 400, "ResourceAtUriUnauthorized", "TransferFailed"},
		{"a web page", fs.URL + "/html/bios-2.5.0.bin", []string{fwInventory + "/BIOS_0"}, 400, "ResourceAtUriInUnknownFormat", "VerificationFailed"},
		{"no version", fs.URL + "/fw/firmware.bin", []string{fwInventory + "/BIOS_0"}, 400, "ResourceAtUriInUnknownFormat", "VerificationFailed"},
		{"for another component", fs.URL + "/fw/nic-1.0.bin", []string{fwInventory + "/BIOS_0"}, 400, "ActionParameterValueConflict", "UpdateNotApplicable"},
		{"for nothing here", fs.URL + "/fw/raid-1.0.bin", nil, 400, "ActionParameterValueConflict", "NoTargetsDetermined"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			body := M{"ImageURI": c.image}
			if c.targets != nil {
				body["Targets"] = c.targets
			}
			mon, task := e.runTask(e.post(updateAction, body))
			mon.wantError(c.status, c.key)
			if task["TaskState"] != "Exception" || task["TaskStatus"] != "Critical" {
				t.Errorf("task %v", task)
			}
			if ids := taskMessageIDs(t, task); !hasAll(ids, updateMessagePrefix+c.update, baseMessagePrefix+c.key) {
				t.Errorf("task messages %v", ids)
			}
		})
	}
	for _, id := range []string{"0", "1"} {
		e.get(fwInventory+"/Staged_BIOS_"+id).wantError(http.StatusNotFound, "ResourceNotFound")
	}
}

// TestUpdateServiceVerifyCertificate: off by default (any certificate);
// on, an untrusted one fails the transfer. The setting is kept.
func TestUpdateServiceVerifyCertificate(t *testing.T) {
	e := newEnv(t)
	fs := newFwServer(t, true)
	body := M{"ImageURI": fs.URL + "/fw/bios-2.5.0.bin", "Targets": []string{fwInventory + "/BIOS_0"}}
	mon, _ := e.runTask(e.post(updateAction, body))
	mon.want(http.StatusNoContent)

	e.patch("/redfish/v1/UpdateService", M{"ServiceEnabled": false}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch("/redfish/v1/UpdateService", M{"VerifyRemoteServerCertificate": "yes"}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	e.patch("/redfish/v1/UpdateService", M{"VerifyRemoteServerCertificate": true}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch("/redfish/v1/UpdateService", M{"VerifyRemoteServerCertificate": true}).want(http.StatusNoContent)
	if v := e.get("/redfish/v1/UpdateService").obj()["VerifyRemoteServerCertificate"]; v != true {
		t.Fatalf("VerifyRemoteServerCertificate %v", v)
	}
	mon, task := e.runTask(e.post(updateAction, body))
	mon.wantError(http.StatusBadRequest, "CouldNotEstablishConnection")
	if ids := taskMessageIDs(t, task); !hasAll(ids, updateMessagePrefix+"TransferFailed", baseMessagePrefix+"CouldNotEstablishConnection") {
		t.Errorf("task messages %v", ids)
	}

	// A new service over the same store keeps the setting.
	svc := New(Config{Machines: []*hardware.Machine{e.machines["0"]}, Accounts: e.accounts, Store: e.db, Version: "test"})
	defer svc.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/UpdateService", nil)
	req.SetBasicAuth(adminUser, adminPass)
	svc.ServeHTTP(rec, req)
	var us map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &us); err != nil || us["VerifyRemoteServerCertificate"] != true {
		t.Errorf("after a restart: %v %s", err, rec.Body)
	}
}

// isSimBios reports whether v is how the simulated BIOS shows version,
// "SIM <version> (<release date>)".
func isSimBios(v any, version string) bool {
	s, _ := v.(string)
	return regexp.MustCompile(`^SIM ` + regexp.QuoteMeta(version) + ` \(\d{4}-\d{2}-\d{2}\)$`).MatchString(s)
}

// multipartBody builds a push update body; a part with a nil value is
// left out.
func multipartBody(tb testing.TB, params any, fileName string, file []byte, extra map[string]string) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if params != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="UpdateParameters"`)
		h.Set("Content-Type", "application/json")
		pw, _ := mw.CreatePart(h)
		if s, ok := params.(string); ok {
			_, _ = pw.Write([]byte(s))
		} else {
			_ = json.NewEncoder(pw).Encode(params)
		}
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("UpdateFile", fileName)
		_, _ = fw.Write(file)
	}
	for k, v := range extra {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestMultipartPushUpdate(t *testing.T) {
	e := newEnv(t)
	push := func(ct string, body []byte, opts ...reqOpt) *resp {
		return e.do(http.MethodPost, multipartPushPath, body, append([]reqOpt{header("Content-Type", ct)}, opts...)...)
	}
	ct, body := multipartBody(t, M{"Targets": []string{fwInventory + "/BIOS_1"}, "ForceUpdate": true}, "bios-4.0.0.bin",
		[]byte{0x7f, 1, 2, 3}, map[string]string{"OemParameters": "{}"})
	push(ct, body, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	mon, task := e.runTask(push(ct, body))
	mon.want(http.StatusNoContent)
	if !contains(taskMessageIDs(t, task), updateMessagePrefix+"AwaitToActivate") {
		t.Errorf("messages %v", task["Messages"])
	}
	if v := e.get(fwInventory + "/Staged_BIOS_1").want(http.StatusOK).obj()["Version"]; !isSimBios(v, "4.0.0") {
		t.Errorf("staged %v", v)
	}
	// The header inside the image, untargeted.
	ct, body = multipartBody(t, M{}, "image.bin", []byte("BMCD-FW component=disk0 version=2.0.0\n\x00"), nil)
	mon, _ = e.runTask(push(ct, body))
	mon.want(http.StatusNoContent)
	for _, id := range []string{"0", "1"} {
		if v := e.get(fwInventory + "/Disk0_" + id).obj()["Version"]; v != "2.0.0" {
			t.Errorf("Disk0_%s %v", id, v)
		}
	}
	ct, body = multipartBody(t, M{"Targets": []string{fwInventory + "/BIOS_0"}}, "bios-4.0.0.bin", []byte("<!DOCTYPE html>"), nil)
	mon, _ = e.runTask(push(ct, body))
	mon.wantError(http.StatusBadRequest, "ResourceAtUriInUnknownFormat")

	for _, c := range []struct {
		name   string
		params any
		file   []byte
		extra  map[string]string
		status int
		key    string
	}{
		{"no parameters", nil, []byte{1}, nil, 400, "ActionParameterMissing"},
		{"no file", M{}, nil, nil, 400, "ActionParameterMissing"},
		{"unknown part", M{}, []byte{1}, map[string]string{"Extra": "x"}, 400, "ActionParameterUnknown"},
		{"unknown parameter", M{"Target": "x"}, []byte{1}, nil, 400, "ActionParameterUnknown"},
		{"bad target", M{"Targets": []string{fwInventory + "/BMC"}}, []byte{1}, nil, 400, "ActionParameterValueNotInList"},
		{"malformed parameters", `{"Targets":`, []byte{1}, nil, 400, "MalformedJSON"},
		{"Stage", M{"Stage": true}, []byte{1}, nil, 400, "ActionParameterNotSupported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct, body := multipartBody(t, c.params, "bios-5.0.0.bin", c.file, c.extra)
			e.with(t).do(http.MethodPost, multipartPushPath, body, header("Content-Type", ct)).wantError(c.status, c.key)
		})
	}
	e.post(multipartPushPath, M{"Targets": []string{}}).wantError(http.StatusBadRequest, "UnrecognizedRequestBody")
	if testing.Short() {
		return
	}
	// A body over the bound.
	big := bytes.Repeat([]byte{1}, hardware.MaxFirmwareImageSize+2)
	ct, body = multipartBody(t, M{}, "bios-5.0.0.bin", big, nil)
	push(ct, body).wantError(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
}

// TestUpdateTaskPayload: the task says what started it.
func TestUpdateTaskPayload(t *testing.T) {
	e := newEnv(t)
	fs := newFwServer(t, false)
	mon, task := e.runTask(e.post(updateAction, M{"ImageURI": fs.URL + "/fw/bios-2.5.0.bin"}))
	mon.want(http.StatusNoContent)
	if at(task, "Payload", "TargetUri") != updateAction || at(task, "Payload", "HttpOperation") != "POST" {
		t.Errorf("payload %v", task["Payload"])
	}
}

// TestSimpleUpdateFetchSlots: at most maxFetching updates fetch at once;
// the others wait their turn and then complete.
func TestSimpleUpdateFetchSlots(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var entered atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte{0x7f, 1})
	}))
	defer srv.Close()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	targets := []string{"BIOS_0", "NIC_0", "Disk0_0", "BIOS_1", "NIC_1", "Disk0_1"}
	var monitors []string
	for _, id := range targets {
		comp, _, _ := strings.Cut(id, "_")
		r := e.post(updateAction, M{"ImageURI": srv.URL + "/" + strings.ToLower(comp) + "-9.0.bin", "Targets": []string{fwInventory + "/" + id}})
		r.want(http.StatusAccepted)
		monitors = append(monitors, r.Header.Get("Location"))
	}
	eventually(t, "the first fetches", func() bool { return entered.Load() == maxFetching })
	time.Sleep(50 * time.Millisecond) // a slot too many would show by now
	if n := entered.Load(); n != maxFetching {
		t.Fatalf("%d fetches at once, bound %d", n, maxFetching)
	}
	if pct := e.get(monitors[len(monitors)-1]).want(http.StatusAccepted).obj()["PercentComplete"]; pct != float64(0) {
		t.Errorf("a waiting task is at %v %%", pct)
	}
	close(release)
	released = true
	for _, m := range monitors {
		eventually(t, "task "+m, func() bool { return e.get(m).Code == http.StatusNoContent })
	}
}

// TestUpdateErrorMapping: each way an update fails gives the Update
// message for the task and the Base error for the monitor; fetch failures
// are classified as virtual media's are (fetchError).
func TestUpdateErrorMapping(t *testing.T) {
	e := newEnv(t)
	const image = "https://images.example/bios-2.5.0.bin"
	target := updateTarget{m: e.machines["0"], component: "BIOS"}
	fetchFailed := func(status int, cause error) error {
		return fmt.Errorf("fetch firmware: %w", &hardware.MediaError{URL: image, HTTPStatus: status,
			Err: &fetch.Error{URL: image, Status: status, Err: cause}})
	}
	untrusted := x509.UnknownAuthorityError{}
	for _, c := range []struct {
		name   string
		err    error
		update string
		status int
		key    string
	}{
		{"404", fetchFailed(404, nil), "TransferFailed", 400, "ResourceMissingAtURI"},
		{"401", fetchFailed(401, nil), "TransferFailed", 400, "ResourceAtUriUnauthorized"},
		{"400", fetchFailed(400, nil), "TransferFailed", 400, "ResourceAtUriInUnknownFormat"},
		{"502", fetchFailed(502, nil), "TransferFailed", 400, "CouldNotEstablishConnection"},
		{"refused", fetchFailed(0, syscall.ECONNREFUSED), "TransferFailed", 400, "CouldNotEstablishConnection"},
		{"untrusted certificate", fetchFailed(0, &tls.CertificateVerificationError{Err: untrusted}), "TransferFailed", 400, "CouldNotEstablishConnection"},
		{"the update's deadline", fetchFailed(0, context.DeadlineExceeded), "TransferFailed", 400, "OperationTimeout"},
		{"too large", fmt.Errorf("x: %w", hardware.ErrFirmwareTooLarge), "TransferFailed", 400, "PayloadTooLarge"},
		{"not firmware", fmt.Errorf("x: %w", hardware.ErrFirmwareImage), "VerificationFailed", 400, "ResourceAtUriInUnknownFormat"},
		{"another component", fmt.Errorf("x: %w", hardware.ErrFirmwareNotApplicable), "UpdateNotApplicable", 400, "ActionParameterValueConflict"},
		{"busy", fmt.Errorf("x: %w", hardware.ErrBusy), "UpdateInProgress", 409, "ResourceInUse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg, ae := updateError(c.err, image, target)
			if msg.MessageID != updateMessagePrefix+c.update || ae.status != c.status || ae.msgs[0].MessageID != baseMessagePrefix+c.key {
				t.Errorf("got %s, %d %s; want %s, %d %s", msg.MessageID, ae.status, ae.msgs[0].MessageID, c.update, c.status, c.key)
			}
		})
	}
	// An untrusted certificate is the cause, for the log; the client gets
	// the registry's Resolution.
	_, ae := updateError(fetchFailed(0, &tls.CertificateVerificationError{Err: untrusted}), image, target)
	if !errors.Is(ae, fetch.ErrCertificate) {
		t.Errorf("cause %v lost", ae.cause)
	}
	if res, want := ae.msgs[0].Resolution, baseMessages["CouldNotEstablishConnection"].Resolution; res != want {
		t.Errorf("resolution %q, want the registry's %q", res, want)
	}
}

// TestFirmwareUpdateEvents: a subscriber to the Update registry hears a
// staged image await its reset and then the update, about the component.
func TestFirmwareUpdateEvents(t *testing.T) {
	e := fast(newEnv(t))
	fs := newFwServer(t, false)
	updates := newSink(t)
	e.subscribe(M{"Destination": updates.URL, "Protocol": "Redfish", "RegistryPrefixes": []string{"Update"}})
	mon, _ := e.runTask(e.post(updateAction, M{"ImageURI": fs.URL + "/fw/nic-22.40.0.bin", "Targets": []string{fwInventory + "/NIC_0"}}))
	mon.want(http.StatusNoContent)
	staged := recordOf(updates.waitFor(t, updateMessagePrefix+"AwaitToActivate", 2*time.Second))
	if at(staged, "OriginOfCondition", "@odata.id") != fwInventory+"/NIC_0" {
		t.Errorf("staged event %v", staged)
	}
	e.powerOn("0")
	done := recordOf(updates.waitFor(t, updateMessagePrefix+"UpdateSuccessful", 2*time.Second))
	if args, _ := done["MessageArgs"].([]any); len(args) != 2 || args[0] != fwInventory+"/NIC_0" || args[1] != fs.URL+"/fw/nic-22.40.0.bin" {
		t.Errorf("update event %v", done)
	}
	for _, id := range messageIDsOf(updates.events()) {
		if !strings.HasPrefix(id, "Update.") {
			t.Errorf("a subscriber to Update got %s", id)
		}
	}
}
