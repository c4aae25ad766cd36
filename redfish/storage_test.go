package redfish

import (
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

func TestStorage(t *testing.T) {
	e := newEnv(t, withBackend("raid", &raidBackend{}), withBackend("pkvm", &noBootBackend{}))
	const st = sys0 + "/Storage/1"
	s := e.get(st).obj()
	if at(s, "Controllers", "@odata.id") != st+"/Controllers" || at(s, "Volumes", "@odata.id") != st+"/Volumes" ||
		at(s, "Links", "SimpleStorage", "@odata.id") != sys0+"/SimpleStorage/1" {
		t.Errorf("Storage links: %v", s)
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
	if at(c, "SupportedDeviceProtocols", 1) != "NVMe" || at(c, "SupportedControllerProtocols", 0) != "PCIe" {
		t.Errorf("controller protocols %v", c)
	}
	// No hardware RAID: an honest empty VolumeCollection.
	if v := e.get(st + "/Volumes").obj(); v["Members@odata.count"] != 0.0 || v["@odata.type"] != "#VolumeCollection.VolumeCollection" {
		t.Errorf("Volumes %v", v)
	}
	// SimpleStorage names the Storage it duplicates.
	ss := e.get(sys0 + "/SimpleStorage/1").obj()
	if at(ss, "Links", "Storage", "@odata.id") != st {
		t.Errorf("SimpleStorage.Links %v", ss["Links"])
	}
	e.get(st+"/Controllers/9").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(st+"/Volumes/1").wantError(http.StatusNotFound, "ResourceNotFound")

	// A backend with RAID.
	const rst = "/redfish/v1/Systems/raid/Storage/1"
	if got := at(e.get(rst).obj(), "StorageControllers", 0, "SupportedRAIDTypes", 1); got != "RAID1" {
		t.Errorf("RAID types %v", got)
	}
	vols := e.get(rst + "/Volumes").obj()
	if vols["Members@odata.count"] != 1.0 {
		t.Fatalf("raid volumes %v", vols)
	}
	v := e.get(at(vols, "Members", 0, "@odata.id").(string)).obj()
	if v["RAIDType"] != "RAID1" || v["CapacityBytes"] != 479e9 || at(v, "Links", "Drives", 1, "@odata.id") != rst+"/Drives/D1" {
		t.Errorf("volume %v", v)
	}
	e.get(at(v, "Links", "Drives", 0, "@odata.id").(string)).want(http.StatusOK)
	// No storage at all: empty, not broken.
	p := e.get("/redfish/v1/Systems/pkvm/Storage/1").obj()
	if ctls, ok := p["StorageControllers"].([]any); !ok || len(ctls) != 0 {
		t.Errorf("pkvm StorageControllers %v", p["StorageControllers"])
	}
	e.get("/redfish/v1/Systems/pkvm/Storage/1/Controllers").want(http.StatusOK)
}
