package redfish

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// storageRoutes serves the host's drives twice, as Ironic's inspection
// reads them: the Storage model (with Drives) and the older SimpleStorage.
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
		path := systemPath(m.ID()) + "/Storage/1"
		drives := []link{}
		for _, d := range m.Info().Disks {
			drives = append(drives, link{path + "/Drives/" + d.ID})
		}
		return M{
			"@odata.type":        "#Storage.v1_21_0.Storage",
			"@odata.id":          path,
			"Id":                 "1",
			"Name":               "Storage Subsystem",
			"Drives":             drives,
			"Drives@odata.count": len(drives),
			"Status":             enabledStatus(),
			"Links":              M{"Enclosures": []link{{chassisPath(m.ID())}}},
		}, nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Drives/{disk}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Drive")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "disk")
		for _, d := range m.Info().Disks {
			if d.ID == id {
				return renderDrive(systemPath(m.ID())+"/Storage/1/Drives/"+id, d), nil
			}
		}
		return nil, notFound("Drive", id)
	}})
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
			"@odata.id":   systemPath(m.ID()) + "/SimpleStorage/1",
			"Id":          "1",
			"Name":        "Simple Storage Controller",
			"Devices":     devices,
			"Status":      enabledStatus(),
		}, nil
	}})
}

func renderDrive(path string, d hardware.Disk) M {
	return M{
		"@odata.type":   "#Drive.v1_22_0.Drive",
		"@odata.id":     path,
		"Id":            d.ID,
		"Name":          d.ID,
		"Model":         d.Model,
		"SerialNumber":  d.SerialNumber,
		"CapacityBytes": d.CapacityBytes,
		"MediaType":     d.MediaType,
		"Protocol":      d.Protocol,
		"Status":        enabledStatus(),
	}
}
