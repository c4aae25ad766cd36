package hardware

import "slices"

// StorageController is a host storage controller as inventory. Protocols
// and RAID levels use the Redfish vocabularies (Protocol, RAIDType).
type StorageController struct {
	ID              string
	Name            string
	Manufacturer    string
	Model           string
	SerialNumber    string
	FirmwareVersion string
	SpeedGbps       float64
	// ControllerProtocols is how the host reaches the controller ("PCIe");
	// DeviceProtocols how it reaches its drives ("SATA", "SAS", "NVMe").
	ControllerProtocols []string
	DeviceProtocols     []string
	// RAIDTypes are the RAID levels it can build ("RAID0", "RAID1", ...);
	// empty for a controller without hardware RAID. Levels the machine
	// model does not know (see RAIDLevels) are never offered.
	RAIDTypes []string
	// ApplyTimes are when a volume it is asked to create or delete can
	// take effect: ApplyImmediate (a controller that reconfigures while
	// the host runs), ApplyOnReset (staged, applied when the host firmware
	// next starts). Empty means ApplyImmediate only.
	ApplyTimes []ApplyTime
}

// ApplyTime is when a requested storage change takes effect, in the
// vocabulary of Redfish's OperationApplyTime (Settings schema).
type ApplyTime string

// Apply times.
const (
	ApplyImmediate ApplyTime = "Immediate"
	ApplyOnReset   ApplyTime = "OnReset"
)

// applyTimes is c's ApplyTimes with the default filled in.
func (c StorageController) applyTimes() []ApplyTime {
	if len(c.ApplyTimes) == 0 {
		return []ApplyTime{ApplyImmediate}
	}
	return c.ApplyTimes
}

// Volume is a logical disk a storage controller presents to the host.
// Values are never changed in place: Drives may be shared between copies.
type Volume struct {
	ID string `json:"id"`
	// Name is the label stored on the controller; "" if none was given.
	Name string `json:"name,omitempty"`
	// CapacityBytes is the size the host sees, in bytes.
	CapacityBytes int64 `json:"capacity_bytes"`
	// RAIDType is its RAID level in the Redfish vocabulary ("RAID1");
	// "" when it is not a RAID volume.
	RAIDType string `json:"raid_type,omitempty"`
	// Drives are the IDs of the Disks it is built from.
	Drives []string `json:"drives"`
}

// RAIDLevel says how a RAID level uses its drives.
type RAIDLevel struct {
	// MinDrives and MaxDrives bound the drive count (MaxDrives 0: no
	// bound); EvenDrives asks for an even count (striped mirrors).
	MinDrives, MaxDrives int
	EvenDrives           bool
	// DataDrives is how many drives' worth of capacity hold data when n
	// drives of equal size make the volume: the rest is redundancy.
	DataDrives func(n int) int
}

// RAIDLevels are the RAID levels the machine model knows, by their
// Redfish RAIDType names (SNIA DDF definitions): a controller offers a
// subset in StorageController.RAIDTypes. Every drive of a volume lends it
// the capacity of the smallest one, as controllers build them.
var RAIDLevels = map[string]RAIDLevel{
	"RAID0":  {MinDrives: 1, DataDrives: func(n int) int { return n }},
	"RAID1":  {MinDrives: 2, MaxDrives: 2, DataDrives: func(int) int { return 1 }},
	"RAID5":  {MinDrives: 3, DataDrives: func(n int) int { return n - 1 }},
	"RAID6":  {MinDrives: 4, DataDrives: func(n int) int { return n - 2 }},
	"RAID10": {MinDrives: 4, EvenDrives: true, DataDrives: func(n int) int { return n / 2 }},
}

// fits reports whether n drives make a volume of this level.
func (l RAIDLevel) fits(n int) bool {
	return n >= l.MinDrives && (l.MaxDrives == 0 || n <= l.MaxDrives) && (!l.EvenDrives || n%2 == 0)
}

// RAIDController is the machine's controller that builds volumes: the
// first of Info.StorageControllers with RAID types the model knows. It
// builds them over the machine's Disks. ok is false when there is none.
func (m *Machine) RAIDController() (c StorageController, ok bool) {
	for _, c := range m.info.StorageControllers {
		c.RAIDTypes = slices.DeleteFunc(slices.Clone(c.RAIDTypes), func(t string) bool { _, known := RAIDLevels[t]; return !known })
		if len(c.RAIDTypes) > 0 {
			c.ApplyTimes = slices.Clone(c.applyTimes())
			return c, true
		}
	}
	return StorageController{}, false
}
