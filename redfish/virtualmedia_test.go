package redfish

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	mgrCD   = "/redfish/v1/Managers/0/VirtualMedia/CD"
	sysCD   = "/redfish/v1/Systems/0/VirtualMedia/CD"
	insertA = "/Actions/VirtualMedia.InsertMedia"
	ejectA  = "/Actions/VirtualMedia.EjectMedia"
)

func TestInsertAndEjectMedia(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	image := img.URL + "/ok.iso"
	for _, p := range []string{mgrCD, sysCD} {
		if v := e.get(p).obj(); v["Inserted"] != false || v["Image"] != nil || v["ConnectedVia"] != "NotConnected" {
			t.Fatalf("%s before insert: %v", p, v)
		}
	}
	e.post(mgrCD+insertA, M{"Image": image, "Inserted": true, "WriteProtected": true, "TransferProtocolType": "HTTP",
		"TransferMethod": "Stream", "MediaType": "CD"}).want(http.StatusNoContent)
	for _, p := range []string{mgrCD, sysCD} {
		v := e.get(p).obj()
		if v["Inserted"] != true || v["Image"] != image || v["ImageName"] != "ok.iso" || v["ConnectedVia"] != "URI" {
			t.Errorf("%s after insert: %v", p, v)
		}
	}
	// The slot is occupied, whichever path the client uses.
	e.post(sysCD+insertA, M{"Image": img.URL + "/other.iso"}).wantError(http.StatusConflict, "ResourceInUse")
	e.post(mgrCD+insertA, M{"Image": image}).wantError(http.StatusConflict, "ResourceInUse")
	// Other system, other slot: unaffected.
	if v := e.get("/redfish/v1/Managers/1/VirtualMedia/CD").obj(); v["Inserted"] != false {
		t.Errorf("system 1 CD: %v", v)
	}
	if v := e.get("/redfish/v1/Managers/0/VirtualMedia/USB").obj(); v["Inserted"] != false {
		t.Errorf("USB: %v", v)
	}
	e.post(sysCD+ejectA, "{}").want(http.StatusNoContent)
	for _, p := range []string{mgrCD, sysCD} {
		if v := e.get(p).obj(); v["Inserted"] != false || v["Image"] != nil {
			t.Errorf("%s after eject: %v", p, v)
		}
	}
	e.post(sysCD+ejectA, "").want(http.StatusNoContent) // ejecting an empty slot is fine
	e.post(sysCD+ejectA, M{"Force": true}).wantError(http.StatusBadRequest, "ActionParameterUnknown")
	// The medium boots: Cd once, then the log says which image.
	e.post("/redfish/v1/Managers/0/VirtualMedia/USB"+insertA, M{"Image": image, "MediaType": "USBStick"}).want(http.StatusNoContent)
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Usb", "BootSourceOverrideEnabled": "Once"}}).want(http.StatusNoContent)
	e.powerOn("0")
	eventually(t, "boot from the image", func() bool {
		return strings.Contains(string(e.get(sys0+"/LogServices/EventLog/Entries").Body), "image "+image)
	})
}

func TestInsertMediaErrors(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	const action = "VirtualMedia.InsertMedia"
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		args []string
	}{
		{"404 image", M{"Image": img.URL + "/missing.iso"}, 400, "ResourceMissingAtURI", []string{img.URL + "/missing.iso"}},
		{"ftp", M{"Image": "ftp://127.0.0.1/x.iso"}, 400, "ActionParameterValueFormatError", []string{"ftp://127.0.0.1/x.iso", "Image", action}},
		{"nfs", M{"Image": "nfs://127.0.0.1/x.iso"}, 400, "ActionParameterValueFormatError", nil},
		{"no host", M{"Image": "http:///x.iso"}, 400, "ActionParameterValueFormatError", nil},
		{"not a URL", M{"Image": "x.iso"}, 400, "ActionParameterValueFormatError", nil},
		{"empty", M{"Image": ""}, 400, "ActionParameterValueFormatError", nil},
		{"bad escape", M{"Image": "http://127.0.0.1/%zz"}, 400, "ActionParameterValueFormatError", nil},
		{"no Image", M{"Inserted": true}, 400, "ActionParameterMissing", []string{action, "Image"}},
		{"no body", "", 400, "ActionParameterMissing", []string{action, "Image"}},
		{"Image null", M{"Image": nil}, 400, "ActionParameterValueTypeError", []string{"null", "Image", action}},
		{"Image number", M{"Image": 7}, 400, "ActionParameterValueTypeError", []string{"7", "Image", action}},
		{"Inserted string", M{"Image": img.URL + "/ok.iso", "Inserted": "false"}, 400, "ActionParameterValueTypeError", []string{"false", "Inserted", action}},
		{"unknown parameter", M{"Image": img.URL + "/ok.iso", "Bogus": 1}, 400, "ActionParameterUnknown", []string{action, "Bogus"}},
		{"protocol mismatch", M{"Image": img.URL + "/ok.iso", "TransferProtocolType": "HTTPS"}, 400, "ActionParameterValueConflict", []string{"TransferProtocolType", "HTTPS"}},
		{"protocol unsupported", M{"Image": img.URL + "/ok.iso", "TransferProtocolType": "NFS"}, 400, "ActionParameterValueNotInList", []string{"NFS", "TransferProtocolType", action}},
		{"protocol bogus", M{"Image": img.URL + "/ok.iso", "TransferProtocolType": "Gopher"}, 400, "ActionParameterValueNotInList", nil},
		{"upload", M{"Image": img.URL + "/ok.iso", "TransferMethod": "Upload"}, 400, "ActionParameterValueNotInList", []string{"Upload", "TransferMethod", action}},
		{"media type for another slot", M{"Image": img.URL + "/ok.iso", "MediaType": "USBStick"}, 400, "ActionParameterValueNotInList", []string{"USBStick", "MediaType", action}},
		{"credentials", M{"Image": img.URL + "/ok.iso", "UserName": "u", "Password": "p"}, 400, "ActionParameterNotSupported", nil},
		{"connection refused", M{"Image": "http://127.0.0.1:1/x.iso"}, 400, "CouldNotEstablishConnection", []string{"http://127.0.0.1:1/x.iso"}},
		{"malformed", `{"Image":`, 400, "MalformedJSON", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).post(mgrCD+insertA, tc.body).wantError(tc.code, tc.key)
			if tc.args != nil {
				if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
					t.Errorf("MessageArgs %q, want %q", got, tc.args)
				}
			}
		})
	}
	if v := e.get(mgrCD).obj(); v["Inserted"] != false {
		t.Errorf("failed inserts left %v", v)
	}
	e.post("/redfish/v1/Managers/0/VirtualMedia/Floppy"+insertA, M{"Image": img.URL + "/ok.iso"}).wantError(http.StatusNotFound, "ResourceNotFound")
}

func TestPatchMedia(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	image := img.URL + "/ok.iso"
	state := func() (any, any) { v := e.get(sysCD).obj(); return v["Inserted"], v["Image"] }

	e.patch(mgrCD, M{"Image": image}).want(http.StatusNoContent)
	if ins, im := state(); ins != true || im != image {
		t.Fatalf("after PATCH Image: %v %v", ins, im)
	}
	e.patch(mgrCD, M{"Image": nil}).want(http.StatusNoContent)
	if ins, im := state(); ins != false || im != nil {
		t.Fatalf("after PATCH Image null: %v %v", ins, im)
	}
	e.patch(mgrCD, M{"Image": image, "Inserted": true, "WriteProtected": false}).want(http.StatusNoContent)
	if v := e.get(mgrCD).obj(); v["WriteProtected"] != false || v["Inserted"] != true {
		t.Fatalf("after PATCH Image+Inserted: %v", v)
	}
	// Inserted false takes the medium away and keeps the image (it ejected
	// the image before VirtualMedia's Inserted was modelled).
	e.patch(sysCD, M{"Inserted": false}).want(http.StatusNoContent)
	if ins, im := state(); ins != false || im != image {
		t.Fatalf("after PATCH Inserted:false: %v %v", ins, im)
	}
	e.patch(sysCD, M{"Image": image}).want(http.StatusNoContent)
	if ins, im := state(); ins != true || im != image {
		t.Fatalf("after PATCH Image again: %v %v", ins, im)
	}
	e.patch(sysCD, M{"Image": ""}).want(http.StatusNoContent)
	if ins, _ := state(); ins != false {
		t.Fatal(`PATCH Image:"" did not eject`)
	}
	// Replacing the image.
	e.patch(sysCD, M{"Image": image}).want(http.StatusNoContent)
	e.patch(sysCD, M{"Image": img.URL + "/other.iso"}).want(http.StatusNoContent)
	if _, im := state(); im != img.URL+"/other.iso" {
		t.Fatalf("after replacing: %v", im)
	}
	// A PATCH that is rejected changes nothing.
	for _, tc := range []struct {
		body any
		key  string
	}{
		{M{"Image": "ftp://127.0.0.1/x.iso"}, "PropertyValueFormatError"},
		{M{"Image": "not a url"}, "PropertyValueFormatError"},
		{M{"Image": image, "TransferMethod": "Upload"}, "PropertyValueNotInList"},
		{M{"Image": image, "TransferProtocolType": "HTTPS"}, "PropertyValueConflict"},
		{M{"Image": image, "TransferProtocolType": "NFS"}, "PropertyValueNotInList"},
		{M{"Image": image, "UserName": "u"}, "PropertyNotWritable"},
		{M{"ImageName": "x.iso"}, "PropertyNotWritable"},
		{M{"ConnectedVia": "URI"}, "PropertyNotWritable"},
		{M{"Image": 1}, "PropertyValueTypeError"},
		{M{"Nope": 1}, "PropertyUnknown"},
		{M{"TransferProtocolType": "Gopher"}, "PropertyValueNotInList"},
	} {
		e.patch(sysCD, tc.body).wantError(http.StatusBadRequest, tc.key)
		if ins, im := state(); ins != true || im != img.URL+"/other.iso" {
			t.Fatalf("rejected PATCH %v changed the medium: %v %v", tc.body, ins, im)
		}
	}
	for _, tc := range []struct {
		body any
		args string
	}{
		{M{"Image": "ftp://127.0.0.1/x.iso"}, "ftp://127.0.0.1/x.iso|/Image"},
		{M{"Image": image, "TransferMethod": "Upload"}, "Upload|/TransferMethod"},
		{M{"Image": image, "TransferProtocolType": "HTTPS"}, "TransferProtocolType|Image"},
	} {
		if got := strings.Join(e.patch(sysCD, tc.body).args(), "|"); got != tc.args {
			t.Errorf("PATCH %v: MessageArgs %q, want %q", tc.body, got, tc.args)
		}
	}
	// A fetch that fails after the old medium went leaves the slot empty.
	e.patch(sysCD, M{"Image": img.URL + "/missing.iso"}).wantError(http.StatusBadRequest, "ResourceMissingAtURI")
}

func TestInsertMediaAsync(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)

	// Prefer: respond-async gives a task at once; its monitor answers 202
	// until the image is fetched, then 204.
	r := e.post(mgrCD+insertA, M{"Image": img.URL + "/gate/a.iso"}, header("Prefer", "respond-async")).want(http.StatusAccepted)
	mon := r.Header.Get("Location")
	if !strings.HasPrefix(mon, "/redfish/v1/TaskService/Tasks/") || !strings.HasSuffix(mon, "/Monitor") {
		t.Fatalf("Location %q", mon)
	}
	task := r.obj()
	if task["TaskState"] != "Running" || task["TaskMonitor"] != mon {
		t.Fatalf("202 body %v", task)
	}
	taskURI := task["@odata.id"].(string)
	m := e.get(mon).want(http.StatusAccepted)
	if m.Header.Get("Location") != mon || m.obj()["TaskState"] != "Running" {
		t.Errorf("monitor while running: %v %s", m.Header, m.Body)
	}
	// The Task itself answers 202 too while it runs (with its body, ETag
	// and Retry-After), then 200.
	running := e.get(taskURI).want(http.StatusAccepted)
	if running.obj()["TaskState"] != "Running" || running.Header.Get("Retry-After") == "" || running.Header.Get("ETag") == "" {
		t.Errorf("task while running: %v %s", running.Header, running.Body)
	}
	// Embedded in the collection, it is the same document.
	if at(e.get("/redfish/v1/TaskService/Tasks?$expand=.").want(http.StatusOK).obj(), "Members", 0, "TaskState") != "Running" {
		t.Error("$expand does not embed the running task")
	}
	img.release("a")
	eventually(t, "task monitor 204", func() bool { return e.get(mon).Code == http.StatusNoContent })
	done := e.get(taskURI).want(http.StatusOK).obj()
	if done["TaskState"] != "Completed" || done["PercentComplete"] != float64(100) || done["EndTime"] == nil {
		t.Errorf("task after completion %v", done)
	}
	if at(done, "Messages", 0, "MessageId") != baseMessagePrefix+"Success" {
		t.Errorf("task messages %v", done["Messages"])
	}
	if at(done, "Payload", "TargetUri") != mgrCD+insertA {
		t.Errorf("task payload %v", done["Payload"])
	}
	if v := e.get(sysCD).obj(); v["Inserted"] != true {
		t.Errorf("after the task: %v", v)
	}
	coll := e.get("/redfish/v1/TaskService/Tasks").obj()
	if at(coll, "Members", 0, "@odata.id") != taskURI {
		t.Errorf("tasks %v", coll)
	}

	// A task whose fetch fails ends in Exception, and its monitor gives the
	// operation's error.
	r = e.post("/redfish/v1/Managers/1/VirtualMedia/CD"+insertA, M{"Image": img.URL + "/missing.iso"},
		header("Prefer", "respond-async")).want(http.StatusAccepted)
	mon = r.Header.Get("Location")
	eventually(t, "failed task", func() bool { return e.get(mon).Code != http.StatusAccepted })
	e.get(mon).wantError(http.StatusBadRequest, "ResourceMissingAtURI")
	failed := e.get(r.obj()["@odata.id"].(string)).obj()
	if failed["TaskState"] != "Exception" || failed["TaskStatus"] != "Critical" ||
		at(failed, "Messages", 0, "MessageId") != baseMessagePrefix+"ResourceMissingAtURI" {
		t.Errorf("failed task %v", failed)
	}
}

// An insert that outlasts insertWait turns into a task.
func TestInsertMediaSlowBecomesTask(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	insertWait = 50 * time.Millisecond
	t.Cleanup(func() { insertWait = defaultInsertWait })

	r := e.post(sysCD+insertA, M{"Image": img.URL + "/gate/slow.iso"}).want(http.StatusAccepted)
	mon := r.Header.Get("Location")
	if r.Header.Get("Retry-After") == "" {
		t.Error("202 without Retry-After")
	}
	e.get(mon).want(http.StatusAccepted)
	// Another insert into the same slot meanwhile is refused.
	e.post(mgrCD+insertA, M{"Image": img.URL + "/ok.iso"}).wantError(http.StatusConflict, "ResourceInUse")
	img.release("slow")
	eventually(t, "slow insert done", func() bool { return e.get(mon).Code == http.StatusNoContent })
	if v := e.get(mgrCD).obj(); v["Inserted"] != true || v["Image"] != img.URL+"/gate/slow.iso" {
		t.Errorf("after slow insert: %v", v)
	}
	// PATCH Image has no task form: it waits.
	e.patch("/redfish/v1/Managers/0/VirtualMedia/USB", M{"Image": img.URL + "/ok.iso"}).want(http.StatusNoContent)
}

// TestMediaNotInserted follows an image attached with Inserted false
// (VirtualMedia: "whether the image is treated as inserted upon completion
// of the action"): shown with Inserted false, not booted, inserted later
// by PATCH Inserted true without sending it again, cleared by EjectMedia.
func TestMediaNotInserted(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	image := img.URL + "/ok.iso"
	e.post(mgrCD+insertA, M{"Image": image, "Inserted": false, "WriteProtected": false}).want(http.StatusNoContent)
	hits := img.Hits()
	if hits == 0 {
		t.Error("the image was not checked")
	}
	want := func(inserted, wp bool) {
		t.Helper()
		for _, p := range []string{mgrCD, sysCD} {
			v := e.get(p).obj()
			if v["Inserted"] != inserted || v["Image"] != image || v["ImageName"] != "ok.iso" || v["ConnectedVia"] != "URI" ||
				v["TransferProtocolType"] != "HTTP" || v["WriteProtected"] != wp {
				t.Errorf("%s: %v, want Inserted %v WriteProtected %v", p, v, inserted, wp)
			}
		}
	}
	want(false, false)
	// The slot holds the image: another insert is refused.
	e.post(sysCD+insertA, M{"Image": image}).wantError(http.StatusConflict, "ResourceInUse")
	// The firmware finds no medium in the CD.
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}}).want(http.StatusNoContent)
	e.powerOn("0")
	eventually(t, "boot without the CD", func() bool {
		return strings.Contains(string(e.get(sys0+"/LogServices/EventLog/Entries").Body), "no medium in CD")
	})

	// PATCH Inserted true inserts the held image (checked again).
	e.patch(sysCD, M{"Inserted": true}).want(http.StatusNoContent)
	want(true, false)
	if img.Hits() == hits {
		t.Error("the image was not checked again before it was inserted")
	}
	e.patch(mgrCD, M{"Inserted": false, "WriteProtected": true}).want(http.StatusNoContent)
	want(false, true)
	e.patch(mgrCD, M{"WriteProtected": false}).want(http.StatusNoContent)
	want(false, false)
	e.patch(mgrCD, M{"TransferProtocolType": "HTTP", "TransferMethod": "Stream"}).want(http.StatusNoContent)
	want(false, false)
	e.patch(mgrCD, M{"TransferProtocolType": "HTTPS"}).wantError(http.StatusBadRequest, "PropertyValueConflict")
	want(false, false)

	// EjectMedia clears it.
	e.post(mgrCD+ejectA, "{}").want(http.StatusNoContent)
	if v := e.get(sysCD).obj(); v["Inserted"] != false || v["Image"] != nil || v["ConnectedVia"] != "NotConnected" {
		t.Errorf("after EjectMedia: %v", v)
	}

	// Without an image, Inserted true and WriteProtected have nothing to
	// act on; Inserted false is already so.
	for _, tc := range []struct {
		body any
		args string
	}{
		{M{"Inserted": true}, "Inserted|Image"},
		{M{"WriteProtected": true}, "WriteProtected|Image"},
		{M{"Image": nil, "Inserted": true}, "Inserted|Image"},
		{M{"TransferProtocolType": "HTTP"}, "TransferProtocolType|Image"},
	} {
		r := e.patch(sysCD, tc.body).wantError(http.StatusBadRequest, "PropertyValueConflict")
		if got := strings.Join(r.args(), "|"); got != tc.args {
			t.Errorf("PATCH %v: MessageArgs %q, want %q", tc.body, got, tc.args)
		}
	}
	e.patch(sysCD, M{"Inserted": false}).want(http.StatusNoContent)
	e.patch(sysCD, M{"Image": nil, "Inserted": false}).want(http.StatusNoContent) // sushy's eject by PATCH

	// PATCH Image with Inserted false attaches without inserting, as the
	// action does; a task does too.
	e.patch(sysCD, M{"Image": image, "Inserted": false, "WriteProtected": false}).want(http.StatusNoContent)
	want(false, false)
	r := e.post("/redfish/v1/Managers/0/VirtualMedia/USB"+insertA, M{"Image": image, "Inserted": false}, header("Prefer", "respond-async")).want(http.StatusAccepted)
	mon := r.Header.Get("Location")
	eventually(t, "task monitor 204", func() bool { return e.get(mon).Code == http.StatusNoContent })
	if v := e.get("/redfish/v1/Systems/0/VirtualMedia/USB").obj(); v["Inserted"] != false || v["Image"] != image || v["WriteProtected"] != true {
		t.Errorf("USB after the task: %v", v)
	}
}

// The InsertMedia ActionInfo describes every parameter's values.
func TestInsertMediaActionInfo(t *testing.T) {
	e := newEnv(t)
	info := e.get(mgrCD + "/InsertMediaActionInfo").obj()
	params := map[string]map[string]any{}
	for _, p := range info["Parameters"].([]any) {
		p := p.(map[string]any)
		params[p["Name"].(string)] = p
	}
	for _, name := range []string{"Inserted", "WriteProtected"} {
		p := params[name]
		if fmt.Sprint(p["AllowableValues"]) != "[true false]" || p["DefaultValue"] != "true" || p["DataType"] != "Boolean" {
			t.Errorf("parameter %s: %v", name, p)
		}
	}
	pattern := regexp.MustCompile(params["Image"]["AllowablePattern"].(string))
	for u, ok := range map[string]bool{"http://h/x.iso": true, "HTTPS://h:8/x": true, "ftp://h/x": false, "http:///x": false, "x.iso": false} {
		if pattern.MatchString(u) != ok {
			t.Errorf("AllowablePattern %s on %q: %v", pattern, u, !ok)
		}
	}
}

// The InsertMedia ActionInfo lists the image store's images with the URL
// that inserts each, as the client reached bmcd; InsertMedia takes it.
func TestInsertMediaActionInfoStoredImages(t *testing.T) {
	img := newImageServer(t)
	var hosts []string
	e := newEnv(t, withStoredImages(func(r *http.Request) []StoredImage {
		hosts = append(hosts, r.Host)
		return []StoredImage{
			{Name: "ok.iso", URL: img.URL + "/ok.iso", ISO9660: true, Size: 40960, SHA256: strings.Repeat("ab", 32)},
			{Name: "disk.img", URL: "https://" + r.Host + "/media/00ff/disk.img", Size: 7, SHA256: strings.Repeat("cd", 32)},
		}
	}))
	for _, p := range []string{mgrCD, sysCD, "/redfish/v1/Managers/0/VirtualMedia/USB"} {
		info := e.get(p + "/InsertMediaActionInfo").obj()
		ext, _ := at(info, "Oem", "bmcd").(map[string]any)
		if ext["@odata.type"] != "#bmcd.v1_0_0.ActionInfo" {
			t.Fatalf("%s: Oem %v", p, info["Oem"])
		}
		list, _ := ext["StoredImages"].([]any)
		if len(list) != 2 {
			t.Fatalf("%s: StoredImages %v", p, ext["StoredImages"])
		}
		first, second := list[0].(map[string]any), list[1].(map[string]any)
		if first["Name"] != "ok.iso" || first["Image"] != img.URL+"/ok.iso" || first["MediaType"] != "CD" ||
			first["SizeBytes"] != float64(40960) || first["SHA256"] != strings.Repeat("ab", 32) {
			t.Errorf("%s: %v", p, first)
		}
		if second["MediaType"] != "USBStick" || second["Image"] != "https://"+hosts[len(hosts)-1]+"/media/00ff/disk.img" {
			t.Errorf("%s: %v", p, second)
		}
	}
	// Its URL is an Image like any other.
	e.post(mgrCD+insertA, M{"Image": img.URL + "/ok.iso", "MediaType": "CD"}).want(http.StatusNoContent)
	if v := e.get(mgrCD).obj(); v["Image"] != img.URL+"/ok.iso" || v["Inserted"] != true {
		t.Errorf("after insert: %v", v)
	}
	// Without an image store there is no Oem.
	if info := newEnv(t).get(mgrCD + "/InsertMediaActionInfo").obj(); info["Oem"] != nil {
		t.Errorf("Oem without a store: %v", info["Oem"])
	}
}
