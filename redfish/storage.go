package redfish

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// storageRoutes serves the host's storage as Ironic reads it: the Storage
// model (Drives, Controllers, Volumes, and the deprecated StorageControllers
// array that Ironic's RAID interface still consults) and the older
// SimpleStorage. Both describe the same one subsystem and link to each
// other, so inventory tools can tell its drives are not twice as many.
// The drives themselves are the Chassis's (drives.go); volumes are built
// and deleted through the Storage's VolumeCollection (volumes.go).
func (s *Service) storageRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/Storage", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/Storage"
		return collection("StorageCollection", "Storage Collection", base, []string{base + "/1"}), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Storage/1", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Storage")
		if err != nil {
			return nil, err
		}
		return renderStorage(m), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Controllers", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Storage")
		if err != nil {
			return nil, err
		}
		base := storagePath(m.ID()) + "/Controllers"
		ids := []string{}
		for _, c := range m.Info().StorageControllers {
			ids = append(ids, base+"/"+c.ID)
		}
		return collection("StorageControllerCollection", "Storage Controller Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Controllers/{ctl}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "StorageController")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "ctl")
		for _, c := range m.Info().StorageControllers {
			if c.ID == id {
				v := renderController(m, c)
				v["@odata.type"] = "#StorageController.v1_11_0.StorageController"
				v["@odata.id"] = storagePath(m.ID()) + "/Controllers/" + id
				v["Id"] = id
				return v, nil
			}
		}
		return nil, notFound("StorageController", id)
	}})
	s.volumeRoutes()
	s.driveRoutes()
	s.handle("/redfish/v1/Systems/{sys}/SimpleStorage", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/SimpleStorage"
		return collection("SimpleStorageCollection", "Simple Storage Collection", base, []string{base + "/1"}), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/SimpleStorage/1", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "SimpleStorage")
		if err != nil {
			return nil, err
		}
		devices := []M{}
		for _, d := range m.Info().Disks {
			devices = append(devices, M{
				"Name":          d.ID,
				"Model":         d.Model,
				"CapacityBytes": d.CapacityBytes,
				"Status":        enabledStatus(),
			})
		}
		return M{
			"@odata.type": "#SimpleStorage.v1_3_2.SimpleStorage",
			"@odata.id":   simpleStoragePath(m.ID()),
			"Id":          "1",
			"Name":        "Simple Storage Controller",
			"Devices":     devices,
			"Status":      enabledStatus(),
			// The same drives as Storage/1: one subsystem, not two.
			"Links": M{"Storage": link{storagePath(m.ID())}},
		}, nil
	}})
}

func storagePath(sys string) string       { return systemPath(sys) + "/Storage/1" }
func simpleStoragePath(sys string) string { return systemPath(sys) + "/SimpleStorage/1" }

// renderStorage is the system's one Storage subsystem (v1_21_0).
func renderStorage(m *hardware.Machine) M {
	path := storagePath(m.ID())
	info := m.Info()
	drives := []link{}
	for _, d := range info.Disks {
		drives = append(drives, link{drivePath(m.ID(), d.ID)})
	}
	// The deprecated array, which Ironic's RAID interface reads to tell a
	// controller without RAID (SupportedRAIDTypes []) from one with.
	ctls := []M{}
	for i, c := range info.StorageControllers {
		v := renderController(m, c)
		v["@odata.id"], v["MemberId"] = memberRef(path, "StorageControllers", i), strconv.Itoa(i)
		ctls = append(ctls, v)
	}
	return M{
		"@odata.type":                    "#Storage.v1_21_0.Storage",
		"@odata.id":                      path,
		"Id":                             "1",
		"Name":                           "Storage Subsystem",
		"Drives":                         drives,
		"Drives@odata.count":             len(drives),
		"Controllers":                    link{path + "/Controllers"},
		"StorageControllers":             ctls,
		"StorageControllers@odata.count": len(ctls),
		"Volumes":                        link{path + "/Volumes"},
		"Status":                         enabledStatus(),
		"Links": M{
			"Enclosures":    []link{{chassisPath(m.ID())}},
			"SimpleStorage": link{simpleStoragePath(m.ID())},
		},
	}
}

// renderController has the properties a StorageController resource and a
// member of the deprecated Storage.StorageControllers array share. Its
// SupportedRAIDTypes are the levels the machine builds with it: those of
// the machine's RAID controller, none for any other.
func renderController(m *hardware.Machine, c hardware.StorageController) M {
	raid := []string{}
	if rc, ok := m.RAIDController(); ok && rc.ID == c.ID {
		raid = rc.RAIDTypes
	}
	v := M{
		"Name":                         c.Name,
		"Manufacturer":                 c.Manufacturer,
		"Model":                        c.Model,
		"SerialNumber":                 c.SerialNumber,
		"FirmwareVersion":              c.FirmwareVersion,
		"SupportedControllerProtocols": orEmpty(c.ControllerProtocols),
		"SupportedDeviceProtocols":     orEmpty(c.DeviceProtocols),
		"SupportedRAIDTypes":           raid,
		"Status":                       enabledStatus(),
	}
	if c.SpeedGbps > 0 {
		v["SpeedGbps"] = c.SpeedGbps
	}
	return v
}

// orEmpty renders a nil list as [], not null: an empty SupportedRAIDTypes
// is how a controller says it has no RAID.
func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
