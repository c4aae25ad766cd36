package hardware

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
	// empty for a controller without hardware RAID.
	RAIDTypes []string
}

// Volume is a logical disk a storage controller presents to the host.
type Volume struct {
	ID            string
	Name          string
	CapacityBytes int64
	// RAIDType is its RAID level in the Redfish vocabulary ("RAID1");
	// "" when it is not a RAID volume.
	RAIDType string
	// Drives are the IDs of the Disks it is built from.
	Drives []string
}
