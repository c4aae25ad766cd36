package conformance

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestSushyRAID runs clients/sushy_raid_flow.py: what OpenStack Ironic's
// redfish RAID interface does, with sushy, to build a RAID1 of two drives
// staged for the next boot (a Pending task, a power cycle, the volume),
// read it back, and delete it, staged and at once.
func TestSushyRAID(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_raid_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password)
	if code != 0 {
		t.Fatalf("sushy_raid_flow.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if !strings.Contains(out, "OK: sushy Ironic RAID flow passed") {
		t.Fatalf("sushy_raid_flow.py did not report success:\n%s", out)
	}
	t.Logf("sushy RAID flow:\n%s", out)
}

// TestGofishVolumes reads the storage with gofish (drives in the chassis,
// the controller's RAID types, volumes and the drives they are built
// from), creates and deletes volumes through gofish's client, and checks
// that volumes, and a change staged for the next boot, survive a restart
// of bmcd.
func TestGofishVolumes(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	connect := func() *gofish.APIClient {
		c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
		if err != nil {
			t.Fatalf("gofish.Connect: %v", err)
		}
		t.Cleanup(c.Logout)
		return c
	}
	storageOf := func(c *gofish.APIClient) *schemas.Storage {
		systems, err := c.GetService().Systems()
		if err != nil || len(systems) != 1 {
			t.Fatalf("Systems: %d, %v", len(systems), err)
		}
		st, err := systems[0].Storage()
		if err != nil || len(st) != 1 {
			t.Fatalf("Storage: %d, %v", len(st), err)
		}
		return st[0]
	}
	c := connect()
	st := storageOf(c)
	drives, err := st.Drives()
	if err != nil || len(drives) != 3 {
		t.Fatalf("Drives: %d, %v", len(drives), err)
	}
	for _, d := range drives {
		if !strings.HasPrefix(d.ODataID, "/redfish/v1/Chassis/0/Drives/") || d.CapacityBytes == nil || *d.CapacityBytes == 0 {
			t.Errorf("drive %s: %s, %v bytes", d.ID, d.ODataID, d.CapacityBytes)
		}
	}
	chassis, err := c.GetService().Chassis()
	if err != nil || len(chassis) != 1 {
		t.Fatalf("Chassis: %d, %v", len(chassis), err)
	}
	if cd, err := chassis[0].Drives(); err != nil || len(cd) != 3 {
		t.Errorf("Chassis.Drives: %d, %v", len(cd), err)
	}
	ctls, err := st.Controllers()
	if err != nil || len(ctls) != 1 || !slices.Contains(ctls[0].SupportedRAIDTypes, schemas.RAID1RAIDType) {
		t.Fatalf("Controllers: %v, %v", ctls, err)
	}

	volumes := st.ODataID + "/Volumes"
	mirror := map[string]any{"RAIDType": "RAID1", "DisplayName": "os", "Links": map[string]any{"Drives": []map[string]string{
		{"@odata.id": "/redfish/v1/Chassis/0/Drives/Disk1"}, {"@odata.id": "/redfish/v1/Chassis/0/Drives/Disk2"}}}}
	resp, err := c.Post(volumes, mirror)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v, %v", resp, err)
	}
	resp.Body.Close()
	vols, err := st.Volumes()
	if err != nil || len(vols) != 1 {
		t.Fatalf("Volumes: %d, %v", len(vols), err)
	}
	v := vols[0]
	if v.RAIDType != schemas.RAID1RAIDType || v.DisplayName != "os" || v.CapacityBytes == nil || *v.CapacityBytes != 4_000_787_030_016 {
		t.Errorf("volume %s: %s %q %v", v.ODataID, v.RAIDType, v.DisplayName, v.CapacityBytes)
	}
	vd, err := v.Drives()
	if ids := driveIDs(vd); err != nil || !slices.Equal(ids, []string{"Disk1", "Disk2"}) {
		t.Errorf("Volume.Drives: %v, %v", ids, err)
	}
	for _, d := range vd {
		in, err := d.Volumes()
		if err != nil || len(in) != 1 || in[0].ODataID != v.ODataID {
			t.Errorf("%s.Volumes: %v, %v", d.ID, in, err)
		}
	}
	if vc, err := v.Controllers(); err != nil || len(vc) != 1 {
		t.Errorf("Volume.Controllers: %v, %v", vc, err)
	}

	// A RAID0 staged for the next boot, then a restart of bmcd.
	staged := b.Must(t, http.StatusAccepted, request{Method: http.MethodPost, Path: volumes, Body: map[string]any{
		"RAIDType": "RAID0", "Links": map[string]any{"Drives": []map[string]string{{"@odata.id": "/redfish/v1/Chassis/0/Drives/Disk0"}}},
		"@Redfish.OperationApplyTime": "OnReset"}})
	stagedTask := staged.JSON(t)
	if stagedTask["TaskState"] != "Pending" {
		t.Fatalf("staged create: %v", stagedTask)
	}
	taskURI, _ := stagedTask["@odata.id"].(string)
	b.Terminate(10 * time.Second)
	b.Start()
	// Its Task is still Pending (the change is still staged).
	if st := b.Must(t, http.StatusAccepted, request{Method: http.MethodGet, Path: taskURI}).JSON(t)["TaskState"]; st != "Pending" {
		t.Errorf("after a restart the staged create's task is %v", st)
	}
	c = connect()
	st = storageOf(c)
	if vols, err := st.Volumes(); err != nil || len(vols) != 1 || vols[0].DisplayName != "os" {
		t.Fatalf("after a restart: %v, %v", vols, err)
	}
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	eventually(t, 15*time.Second, func() (bool, string) {
		vols, err := st.Volumes()
		return err == nil && len(vols) == 2, "the staged volume after the boot"
	})
	// The Task from before the restart completes, and its monitor answers
	// 201 with the new Volume, as Ironic's RAID interface reads it.
	eventually(t, 15*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: taskURI + "/Monitor"})
		return err == nil && r.Status == http.StatusCreated && strings.HasPrefix(r.Header.Get("Location"), volumes+"/"),
			"the staged create's monitor to answer 201"
	})
	vols, _ = st.Volumes()
	for _, v := range vols {
		resp, err := c.Delete(v.ODataID)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete %s: %v, %v", v.ODataID, resp, err)
		}
		resp.Body.Close()
	}
	if vols, err := st.Volumes(); err != nil || len(vols) != 0 {
		t.Errorf("after the deletes: %v, %v", vols, err)
	}
}

// driveIDs are the drives' Ids, sorted (gofish fetches links in parallel).
func driveIDs(ds []*schemas.Drive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}
