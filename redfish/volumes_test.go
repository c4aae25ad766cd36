package redfish

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	vols0  = sys0 + "/Storage/1/Volumes"
	drive0 = "/redfish/v1/Chassis/0/Drives/"
)

// drives links the sim's disks as a create request does.
func drives(ids ...string) M {
	var out []M
	for _, id := range ids {
		out = append(out, M{"@odata.id": drive0 + id})
	}
	return M{"Drives": out}
}

// ironicVolume is the body Ironic's redfish RAID interface sends for a
// RAID1 of the two HDDs (_construct_volume_payload), with an apply time.
func ironicVolume(at string) M {
	b := M{"Encrypted": false, "VolumeType": "Mirrored", "RAIDType": "RAID1", "CapacityBytes": 4000787030016,
		"Links": drives("Disk1", "Disk2")}
	if at != "" {
		b["@Redfish.OperationApplyTime"] = at
	}
	return b
}

// TestVolumeCreateRefused: each bad create gets the Base messages that
// name what is wrong (every problem at once) and changes nothing.
func TestVolumeCreateRefused(t *testing.T) {
	e := newEnv(t)
	m := e.machines["0"]
	const too = "4000787030017"
	for _, tc := range []struct {
		name string
		body any
		code int
		want []string
	}{
		{"no RAIDType", M{"Links": drives("Disk1")}, 400, []string{"CreateFailedMissingReqProperties RAIDType"}},
		{"no drives", M{"RAIDType": "RAID0"}, 400, []string{"CreateFailedMissingReqProperties Links/Drives"}},
		{"empty drives", M{"RAIDType": "RAID0", "Links": M{"Drives": []M{}}}, 400, []string{"CreateFailedMissingReqProperties Links/Drives"}},
		{"unknown drive", M{"RAIDType": "RAID1", "Links": drives("Disk1", "Disk9")}, 400,
			[]string{"PropertyValueNotInList " + drive0 + "Disk9|/Links/Drives/1"}},
		{"another system's drive", M{"RAIDType": "RAID0", "Links": M{"Drives": []M{{"@odata.id": "/redfish/v1/Chassis/1/Drives/Disk1"}}}}, 400,
			[]string{"PropertyValueNotInList /redfish/v1/Chassis/1/Drives/Disk1|/Links/Drives/0"}},
		{"drive twice", M{"RAIDType": "RAID1", "Links": drives("Disk1", "Disk1")}, 400,
			[]string{"PropertyValueConflict Links/Drives/1|Links/Drives/0"}},
		{"RAID1 of one", M{"RAIDType": "RAID1", "Links": drives("Disk1")}, 400, []string{"PropertyValueConflict Links/Drives|RAIDType"}},
		{"RAID1 of three", M{"RAIDType": "RAID1", "Links": drives("Disk0", "Disk1", "Disk2")}, 400,
			[]string{"PropertyValueConflict Links/Drives/1|Links/Drives/0", "PropertyValueConflict Links/Drives/2|Links/Drives/0",
				"PropertyValueConflict Links/Drives|RAIDType"}},
		{"RAID type not built", M{"RAIDType": "RAID5", "Links": drives("Disk1", "Disk2")}, 400, []string{"PropertyValueNotInList RAID5|/RAIDType"}},
		{"RAID type unknown", M{"RAIDType": "RAID2", "Links": drives("Disk1")}, 400, []string{"PropertyValueNotInList RAID2|/RAIDType"}},
		{"NVMe with SATA", M{"RAIDType": "RAID0", "Links": drives("Disk0", "Disk1")}, 400, []string{"PropertyValueConflict Links/Drives/1|Links/Drives/0"}},
		{"too large", M{"RAIDType": "RAID1", "CapacityBytes": 4000787030017, "Links": drives("Disk1", "Disk2")}, 400,
			[]string{"PropertyValueOutOfRange " + too + "|/CapacityBytes"}},
		{"no capacity", M{"RAIDType": "RAID1", "CapacityBytes": 0, "Links": drives("Disk1", "Disk2")}, 400,
			[]string{"PropertyValueOutOfRange 0|/CapacityBytes"}},
		{"capacity as text", M{"RAIDType": "RAID1", "CapacityBytes": "1 TB", "Links": drives("Disk1", "Disk2")}, 400,
			[]string{"PropertyValueTypeError 1 TB|/CapacityBytes"}},
		{"encrypted", M{"RAIDType": "RAID0", "Encrypted": true, "Links": drives("Disk1")}, 400, []string{"PropertyValueNotInList true|/Encrypted"}},
		{"VolumeType of another level", M{"RAIDType": "RAID1", "VolumeType": "NonRedundant", "Links": drives("Disk1", "Disk2")}, 400,
			[]string{"PropertyValueConflict VolumeType|RAIDType"}},
		{"VolumeType unknown", M{"RAIDType": "RAID1", "VolumeType": "Fast", "Links": drives("Disk1", "Disk2")}, 400,
			[]string{"PropertyValueNotInList Fast|/VolumeType"}},
		{"Name and DisplayName differ", M{"Name": "a", "DisplayName": "b", "RAIDType": "RAID0", "Links": drives("Disk1")}, 400,
			[]string{"PropertyValueConflict DisplayName|Name"}},
		{"name too long", M{"Name": "a-very-long-name", "RAIDType": "RAID0", "Links": drives("Disk1")}, 400,
			[]string{"StringValueTooLong a-very-long-name|15"}},
		{"apply time not offered", M{"RAIDType": "RAID0", "Links": drives("Disk1"), "@Redfish.OperationApplyTime": "AtMaintenanceWindowStart"}, 400,
			[]string{"PropertyValueNotInList AtMaintenanceWindowStart|/@Redfish.OperationApplyTime"}},
		{"apply time a number", M{"RAIDType": "RAID0", "Links": drives("Disk1"), "@Redfish.OperationApplyTime": 1}, 400,
			[]string{"PropertyValueTypeError 1|/@Redfish.OperationApplyTime"}},
		{"unsupported property", M{"RAIDType": "RAID0", "StripSizeBytes": 65536, "Links": drives("Disk1")}, 400, []string{"PropertyUnknown /StripSizeBytes"}},
		{"read-only property", M{"Id": "7", "RAIDType": "RAID0", "Links": drives("Disk1")}, 400, []string{"PropertyNotWritable /Id"}},
		{"not an object", `[1]`, 400, []string{"UnrecognizedRequestBody "}},
		{"everything at once", M{"Name": "x", "DisplayName": "y", "Encrypted": true, "RAIDType": "RAID1",
			"Links": drives("Disk0", "Disk9", "Disk0"), "@Redfish.OperationApplyTime": "OnStartUpdateRequest"}, 400,
			[]string{"PropertyValueConflict DisplayName|Name", "PropertyValueNotInList true|/Encrypted",
				"PropertyValueNotInList " + drive0 + "Disk9|/Links/Drives/1", "PropertyValueConflict Links/Drives/2|Links/Drives/0",
				"PropertyValueConflict Links/Drives|RAIDType", "PropertyValueNotInList OnStartUpdateRequest|/@Redfish.OperationApplyTime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post(vols0, tc.body).want(tc.code).wantMessages(tc.want...)
		})
	}
	e.post(vols0, ironicVolume(""), asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	if len(m.Volumes()) != 0 || len(m.StagedVolumeOps()) != 0 {
		t.Fatalf("refused creates changed something: %v %v", m.Volumes(), m.StagedVolumeOps())
	}

	// Drives of a volume, and of one staged, are taken: 409.
	e.post(vols0, M{"RAIDType": "RAID0", "Links": drives("Disk1")}).want(http.StatusCreated)
	e.post(vols0, M{"RAIDType": "RAID0", "Links": drives("Disk0"), "@Redfish.OperationApplyTime": "OnReset"}).want(http.StatusAccepted)
	e.post(vols0, M{"RAIDType": "RAID1", "Links": drives("Disk1", "Disk2")}).want(http.StatusConflict).
		wantMessages("PropertyValueResourceConflict Links/Drives/0|" + drive0 + "Disk1|" + vols0 + "/1")
	e.post(vols0, M{"RAIDType": "RAID0", "Links": M{"Drives": []M{{"@odata.id": sys0 + "/Storage/1/Drives/Disk0/"}}}}).want(http.StatusConflict).
		wantMessages("PropertyValueResourceConflict Links/Drives/0|" + sys0 + "/Storage/1/Drives/Disk0/|" + vols0)
	// A conflict with other problems is a bad request.
	e.post(vols0, M{"RAIDType": "RAID1", "Links": drives("Disk1")}).want(http.StatusBadRequest).
		wantMessages("PropertyValueResourceConflict Links/Drives/0|"+drive0+"Disk1|"+vols0+"/1", "PropertyValueConflict Links/Drives|RAIDType")
}

// TestVolumeImmediate: Ironic's create at once answers 201 with the
// Volume, which the drives and the event log then show; DELETE removes it.
func TestVolumeImmediate(t *testing.T) {
	e := newEnv(t)
	r := e.post(vols0, ironicVolume("Immediate"), asOperator()).want(http.StatusCreated)
	loc := r.Header.Get("Location")
	v := r.obj()
	if loc != vols0+"/1" || v["@odata.id"] != loc || v["RAIDType"] != "RAID1" || v["CapacityBytes"] != 4000787030016.0 ||
		v["Name"] != "Volume 1" || v["DisplayName"] != nil || at(v, "Links", "Drives", 1, "@odata.id") != drive0+"Disk2" {
		t.Fatalf("created %s %v", loc, v)
	}
	got := e.get(loc).obj()
	if got["RAIDType"] != "RAID1" || got["Id"] != "1" {
		t.Errorf("GET %v", got)
	}
	if at(e.get(vols0).obj(), "Members", 0, "@odata.id") != loc {
		t.Error("the collection does not list it")
	}
	for _, d := range []string{"Disk1", "Disk2"} {
		if vol := at(e.get(drive0+d).obj(), "Links", "Volumes", 0, "@odata.id"); vol != loc {
			t.Errorf("%s Links.Volumes %v", d, vol)
		}
	}
	entry := lastLogEntry(t, e)
	if entry["MessageId"] != "ResourceEvent.1.4.ResourceCreated" || at(entry, "Links", "OriginOfCondition", "@odata.id") != loc {
		t.Errorf("log entry %v", entry)
	}

	// No apply time: at once. A name, given as DisplayName.
	r = e.post(vols0, M{"DisplayName": "scratch", "RAIDType": "RAID0", "CapacityBytes": 1 << 30, "Links": drives("Disk0")}).want(http.StatusCreated)
	if v := r.obj(); v["Name"] != "scratch" || v["DisplayName"] != "scratch" || v["CapacityBytes"] != float64(1<<30) || v["Id"] != "2" {
		t.Errorf("scratch %v", v)
	}

	// DELETE: a body with only the apply time, or none.
	e.do(http.MethodDelete, loc, M{"@Redfish.OperationApplyTime": "Immediate"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.do(http.MethodDelete, loc, M{"Force": true}).want(http.StatusBadRequest).wantMessages("PropertyUnknown /Force")
	e.do(http.MethodDelete, loc, "{").want(http.StatusBadRequest).wantMessages("MalformedJSON ")
	e.do(http.MethodDelete, loc, M{"@Redfish.OperationApplyTime": "InMaintenanceWindowOnReset"}).want(http.StatusBadRequest).
		wantMessages("PropertyValueNotInList InMaintenanceWindowOnReset|/@Redfish.OperationApplyTime")
	e.do(http.MethodDelete, loc, M{"@Redfish.OperationApplyTime": "Immediate"}).want(http.StatusNoContent)
	e.get(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.delete(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	if entry := lastLogEntry(t, e); entry["MessageId"] != "ResourceEvent.1.4.ResourceRemoved" || at(entry, "Links", "OriginOfCondition", "@odata.id") != loc {
		t.Errorf("log entry %v", entry)
	}
	if vols := at(e.get(drive0+"Disk1").obj(), "Links", "Volumes@odata.count"); vols != 0.0 {
		t.Errorf("Disk1 still in %v volumes", vols)
	}
	e.delete(vols0 + "/2").want(http.StatusNoContent)
	if n := e.get(vols0).obj()["Members@odata.count"]; n != 0.0 {
		t.Errorf("%v volumes left", n)
	}
}

// TestVolumeOnReset: a change staged for the next boot answers 202 with a
// Pending Task and its monitor; the host's reset applies it, and the
// monitor then answers as the request would have.
func TestVolumeOnReset(t *testing.T) {
	e := newEnv(t)
	m := e.machines["0"]
	r := e.post(vols0, ironicVolume("OnReset")).want(http.StatusAccepted)
	mon := r.Header.Get("Location")
	task := r.obj()
	if !strings.HasSuffix(mon, "/Monitor") || task["TaskState"] != "Pending" || task["PercentComplete"] != 0.0 ||
		at(task, "Messages", 0, "MessageId") != "Base.1.22.ResetRequired" ||
		at(task, "Messages", 0, "MessageArgs", 0) != sys0+"/Actions/ComputerSystem.Reset" || at(task, "Payload", "TargetUri") != vols0 {
		t.Fatalf("202 %s %v", mon, task)
	}
	taskURI := task["@odata.id"].(string)
	e.get(mon).want(http.StatusAccepted)
	if e.get(taskURI).obj()["TaskState"] != "Pending" {
		t.Error("the task is not Pending")
	}
	if n := e.get(vols0).obj()["Members@odata.count"]; n != 0.0 {
		t.Fatalf("%v volumes before the reset", n)
	}
	e.powerOn("0")
	eventually(t, "the task to complete", func() bool { return e.get(taskURI).obj()["TaskState"] == "Completed" })
	done := e.get(taskURI).obj()
	if done["TaskStatus"] != "OK" || at(done, "Messages", 0, "MessageId") != "Base.1.22.Created" || done["EndTime"] == nil {
		t.Errorf("completed task %v", done)
	}
	res := e.get(mon).want(http.StatusCreated)
	if res.Header.Get("Location") != vols0+"/1" || res.obj()["RAIDType"] != "RAID1" {
		t.Errorf("monitor after the reset: %s %s", res.Header.Get("Location"), res.Body)
	}
	if v := e.get(vols0 + "/1").obj(); v["CapacityBytes"] != 4000787030016.0 {
		t.Errorf("volume %v", v)
	}
	entry := lastLogEntryWith(t, e, "ResourceEvent.1.4.ResourceCreated")
	if !strings.HasSuffix(entry["Message"].(string), "created successfully.") || at(entry, "Links", "OriginOfCondition", "@odata.id") != vols0+"/1" {
		t.Errorf("log entry %v", entry)
	}

	// A staged deletion; a second one is refused while it waits.
	r = e.do(http.MethodDelete, vols0+"/1", M{"@Redfish.OperationApplyTime": "OnReset"}).want(http.StatusAccepted)
	mon = r.Header.Get("Location")
	if r.obj()["TaskState"] != "Pending" || at(r.obj(), "Payload", "HttpOperation") != "DELETE" {
		t.Errorf("delete task %s", r.Body)
	}
	e.delete(vols0+"/1").wantError(http.StatusConflict, "ResourceInUse")
	e.post(vols0, M{"RAIDType": "RAID0", "Links": drives("Disk1")}).wantError(http.StatusConflict, "PropertyValueResourceConflict")
	e.get(vols0 + "/1").want(http.StatusOK)
	e.post(reset0, M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	eventually(t, "the deletion", func() bool { return e.get(vols0+"/1").Code == http.StatusNotFound })
	eventually(t, "the monitor", func() bool { return e.get(mon).Code == http.StatusNoContent })
	if len(m.Volumes()) != 0 || len(m.StagedVolumeOps()) != 0 {
		t.Errorf("left %v %v", m.Volumes(), m.StagedVolumeOps())
	}
	if m.LastBoot().Time.IsZero() {
		t.Error("no boot")
	}
}

// lastLogEntry is the newest entry of system 0's event log.
func lastLogEntry(t *testing.T, e *env) map[string]any {
	t.Helper()
	entries, _ := e.get(sys0 + "/LogServices/EventLog/Entries").obj()["Members"].([]any)
	if len(entries) == 0 {
		t.Fatal("no log entries")
	}
	return entries[len(entries)-1].(map[string]any)
}

// lastLogEntryWith is the newest entry of system 0's event log with id.
func lastLogEntryWith(t *testing.T, e *env, id string) map[string]any {
	t.Helper()
	entries, _ := e.get(sys0 + "/LogServices/EventLog/Entries").obj()["Members"].([]any)
	for i := len(entries) - 1; i >= 0; i-- {
		if at(entries[i], "MessageId") == id {
			return entries[i].(map[string]any)
		}
	}
	t.Fatalf("no %s entry", id)
	return nil
}

// TestVolumeEvents: a volume created or deleted is one ResourceEvent
// about it, from the machine's event log (with its LogEntry), whether a
// request or a host reset made the change.
func TestVolumeEvents(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	s := openSSE(t, srv, "?"+url.Values{"$filter": {"ResourceType eq Volume"}}.Encode(), nil)
	loc := e.post(vols0, ironicVolume("")).want(http.StatusCreated).Header.Get("Location")
	e.do(http.MethodDelete, loc, M{"@Redfish.OperationApplyTime": "OnReset"}).want(http.StatusAccepted)
	e.powerOn("0")
	for _, want := range []string{"ResourceEvent.1.4.ResourceCreated", "ResourceEvent.1.4.ResourceRemoved"} {
		r := recordOf(s.next(t, 5*time.Second).data)
		if r["MessageId"] != want || at(r, "OriginOfCondition", "@odata.id") != loc ||
			!strings.HasPrefix(at(r, "LogEntry", "@odata.id").(string), sys0+"/LogServices/EventLog/Entries/") {
			t.Errorf("event %v, want %s about %s", r, want, loc)
		}
	}
	e.post(vols0, M{"RAIDType": "RAID0", "Links": drives("Disk0")}).want(http.StatusCreated)
	if r := recordOf(s.next(t, time.Second).data); r["MessageId"] != "ResourceEvent.1.4.ResourceCreated" ||
		at(r, "OriginOfCondition", "@odata.id") != loc {
		t.Errorf("not one event per change: %v", r)
	}
}
