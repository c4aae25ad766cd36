package redfish

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// raidBackend is a power-only machine with a RAID controller and one
// mirrored volume over two drives.
type raidBackend struct{ noBootBackend }

func (b *raidBackend) Info() hardware.Info {
	info := b.noBootBackend.Info()
	info.Disks = []hardware.Disk{
		{ID: "D0", Model: "SAS SSD", CapacityBytes: 480e9, MediaType: "SSD", Protocol: "SAS"},
		{ID: "D1", Model: "SAS SSD", CapacityBytes: 480e9, MediaType: "SSD", Protocol: "SAS"},
	}
	info.StorageControllers = []hardware.StorageController{{ID: "RAID0", Name: "RAID controller", Model: "R1",
		ControllerProtocols: []string{"PCIe"}, DeviceProtocols: []string{"SAS"}, RAIDTypes: []string{"RAID0", "RAID1"}}}
	info.Volumes = []hardware.Volume{{ID: "V1", Name: "Mirror", CapacityBytes: 479e9, RAIDType: "RAID1", Drives: []string{"D0", "D1"}}}
	return info
}

// hbaBackend is a power-only machine whose one drive hangs off a host bus
// adapter without RAID.
type hbaBackend struct{ noBootBackend }

func (b *hbaBackend) Info() hardware.Info {
	info := b.noBootBackend.Info()
	info.Disks = []hardware.Disk{{ID: "D0", Model: "SATA SSD", CapacityBytes: 240e9, MediaType: "SSD", Protocol: "SATA"}}
	info.StorageControllers = []hardware.StorageController{{ID: "HBA", Name: "HBA", DeviceProtocols: []string{"SATA"}}}
	return info
}

func TestStorage(t *testing.T) {
	e := newEnv(t, withBackend("raid", &raidBackend{}), withBackend("hba", &hbaBackend{}), withBackend("pkvm", &noBootBackend{}))
	const st = sys0 + "/Storage/1"
	s := e.get(st).obj()
	if at(s, "Controllers", "@odata.id") != st+"/Controllers" || at(s, "Volumes", "@odata.id") != st+"/Volumes" ||
		at(s, "Links", "SimpleStorage", "@odata.id") != sys0+"/SimpleStorage/1" {
		t.Errorf("Storage links: %v", s)
	}
	// The drives are the Chassis's.
	if d, _ := s["Drives"].([]any); len(d) != 3 || at(d, 0, "@odata.id") != "/redfish/v1/Chassis/0/Drives/Disk0" || s["Drives@odata.count"] != 3.0 {
		t.Errorf("Storage.Drives %v", s["Drives"])
	}
	// The deprecated array: one member, identified by its index, with the
	// RAID levels the controller builds (Ironic's RAID interface reads them).
	ctls, _ := s["StorageControllers"].([]any)
	if len(ctls) != 1 || at(s, "StorageControllers@odata.count") != 1.0 {
		t.Fatalf("StorageControllers %v", s["StorageControllers"])
	}
	if at(ctls[0], "MemberId") != "0" || at(ctls[0], "@odata.id") != st+"#/StorageControllers/0" {
		t.Errorf("StorageControllers[0] %v", ctls[0])
	}
	if raid, ok := at(ctls[0], "SupportedRAIDTypes").([]any); !ok || len(raid) != 2 || raid[0] != "RAID0" || raid[1] != "RAID1" {
		t.Errorf("SupportedRAIDTypes %v, want [RAID0 RAID1]", at(ctls[0], "SupportedRAIDTypes"))
	}
	coll := e.get(st + "/Controllers").obj()
	members, _ := coll["Members"].([]any)
	if len(members) != 1 {
		t.Fatalf("Controllers %v", coll)
	}
	c := e.get(at(members[0], "@odata.id").(string)).obj()
	for _, k := range []string{"Name", "Model", "SerialNumber", "FirmwareVersion", "SpeedGbps"} {
		if c[k] == nil || c[k] != at(ctls[0], k) {
			t.Errorf("controller %s: %v, array says %v", k, c[k], at(ctls[0], k))
		}
	}
	if at(c, "SupportedDeviceProtocols", 1) != "NVMe" || at(c, "SupportedControllerProtocols", 0) != "PCIe" || at(c, "SupportedRAIDTypes", 1) != "RAID1" {
		t.Errorf("controller protocols %v", c)
	}
	// No volume yet, and the apply times the controller takes.
	v := e.get(st + "/Volumes").obj()
	if v["Members@odata.count"] != 0.0 || v["@odata.type"] != "#VolumeCollection.VolumeCollection" {
		t.Errorf("Volumes %v", v)
	}
	if got := strs(at(v, "@Redfish.OperationApplyTimeSupport", "SupportedValues")); len(got) != 2 || got[0] != "Immediate" || got[1] != "OnReset" {
		t.Errorf("OperationApplyTimeSupport %v", v["@Redfish.OperationApplyTimeSupport"])
	}
	// SimpleStorage names the Storage it duplicates.
	ss := e.get(sys0 + "/SimpleStorage/1").obj()
	if at(ss, "Links", "Storage", "@odata.id") != st || len(ss["Devices"].([]any)) != 3 {
		t.Errorf("SimpleStorage %v", ss)
	}
	e.get(st+"/Controllers/9").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(st+"/Volumes/1").wantError(http.StatusNotFound, "ResourceNotFound")

	// A backend that ships a volume, built by a controller that builds at
	// once only.
	const rst = "/redfish/v1/Systems/raid/Storage/1"
	if got := at(e.get(rst).obj(), "StorageControllers", 0, "SupportedRAIDTypes", 1); got != "RAID1" {
		t.Errorf("RAID types %v", got)
	}
	vols := e.get(rst + "/Volumes").obj()
	if vols["Members@odata.count"] != 1.0 || len(strs(at(vols, "@Redfish.OperationApplyTimeSupport", "SupportedValues"))) != 1 {
		t.Fatalf("raid volumes %v", vols)
	}
	v = e.get(at(vols, "Members", 0, "@odata.id").(string)).obj()
	if v["RAIDType"] != "RAID1" || v["CapacityBytes"] != 479e9 || v["Name"] != "Mirror" || v["DisplayName"] != "Mirror" ||
		at(v, "Links", "Drives", 1, "@odata.id") != "/redfish/v1/Chassis/raid/Drives/D1" ||
		at(v, "Links", "Controllers", 0, "@odata.id") != rst+"/Controllers/RAID0" || v["Encrypted"] != false {
		t.Errorf("volume %v", v)
	}
	d := e.get(at(v, "Links", "Drives", 0, "@odata.id").(string)).obj()
	if at(d, "Links", "Volumes", 0, "@odata.id") != rst+"/Volumes/V1" || at(d, "Links", "Volumes@odata.count") != 1.0 {
		t.Errorf("drive %v", d)
	}

	// A host bus adapter: no RAID types, no apply times, no POST.
	const hst = "/redfish/v1/Systems/hba/Storage/1"
	if raid, ok := at(e.get(hst).obj(), "StorageControllers", 0, "SupportedRAIDTypes").([]any); !ok || len(raid) != 0 {
		t.Errorf("HBA RAID types %v, want []", raid)
	}
	hv := e.get(hst + "/Volumes").obj()
	if _, ok := hv["@Redfish.OperationApplyTimeSupport"]; ok || hv["Members@odata.count"] != 0.0 {
		t.Errorf("HBA volumes %v", hv)
	}
	r := e.post(hst+"/Volumes", M{"RAIDType": "RAID0", "Links": M{"Drives": []M{{"@odata.id": "/redfish/v1/Chassis/hba/Drives/D0"}}}}).
		wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
	if r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", r.Header.Get("Allow"))
	}
	// No storage at all: empty, not broken.
	p := e.get("/redfish/v1/Systems/pkvm/Storage/1").obj()
	if ctls, ok := p["StorageControllers"].([]any); !ok || len(ctls) != 0 {
		t.Errorf("pkvm StorageControllers %v", p["StorageControllers"])
	}
	e.get("/redfish/v1/Systems/pkvm/Storage/1/Controllers").want(http.StatusOK)
	e.get("/redfish/v1/Chassis/pkvm/Drives").want(http.StatusOK)
}

// TestDrives: the drives are served in their chassis; the Storage's
// deprecated URIs answer with the same resource.
func TestDrives(t *testing.T) {
	e := newEnv(t)
	ch := e.get("/redfish/v1/Chassis/0").obj()
	if at(ch, "Drives", "@odata.id") != "/redfish/v1/Chassis/0/Drives" {
		t.Fatalf("Chassis.Drives %v", ch["Drives"])
	}
	coll := e.get("/redfish/v1/Chassis/0/Drives").obj()
	if coll["@odata.type"] != "#DriveCollection.DriveCollection" || coll["Members@odata.count"] != 3.0 {
		t.Fatalf("drives %v", coll)
	}
	const disk1 = "/redfish/v1/Chassis/0/Drives/Disk1"
	d := e.get(disk1).obj()
	if d["@odata.id"] != disk1 || d["Id"] != "Disk1" || d["CapacityBytes"] != 4000787030016.0 || d["MediaType"] != "HDD" ||
		d["Protocol"] != "SATA" || at(d, "Links", "Chassis", "@odata.id") != "/redfish/v1/Chassis/0" ||
		at(d, "Links", "Storage", "@odata.id") != sys0+"/Storage/1" || at(d, "Links", "Volumes@odata.count") != 0.0 {
		t.Errorf("drive %v", d)
	}
	old := e.get(sys0 + "/Storage/1/Drives/Disk1")
	if cur := e.get(disk1); !bytes.Equal(old.Body, cur.Body) || old.Header.Get("ETag") != cur.Header.Get("ETag") {
		t.Errorf("the deprecated URI answers\n%s\nthe Chassis's\n%s", old.Body, cur.Body)
	}
	e.get("/redfish/v1/Chassis/0/Drives/Disk9").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get("/redfish/v1/Chassis/9/Drives").wantError(http.StatusNotFound, "ResourceNotFound")
	e.do(http.MethodPost, "/redfish/v1/Chassis/0/Drives", M{}).wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
	e.delete(disk1).wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
	// The boot option and the firmware of a disk link the same URIs.
	if rel := at(e.get(sys0+"/BootOptions/Boot0002").obj(), "RelatedItem", 0, "@odata.id"); rel != disk1 {
		t.Errorf("Boot0002 RelatedItem %v", rel)
	}
}
