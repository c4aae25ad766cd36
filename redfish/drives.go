package redfish

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// driveRoutes serves the host's drives where Drive v1_22 puts them: in
// the chassis that holds them, /redfish/v1/Chassis/{sys}/Drives/{drive}
// (DriveCollection), which the Chassis's Drives, the Storage's Drives, a
// Volume's Links.Drives and every other link name.
//
// Until this version bmcd served them at the Storage's
// /redfish/v1/Systems/{sys}/Storage/1/Drives/{drive}, a URI Drive's schema
// lists as deprecated (Redfish.DeprecatedUris): a service may use it, but
// new resources belong at the other. Nothing links there any more; it
// keeps answering with the same resource (whose @odata.id is its one
// identity, the Chassis URI, as OData has an entity reached by another path
// name its canonical URL), so a client that kept such a URI from an older
// bmcd still finds its drive.
func (s *Service) driveRoutes() {
	s.handle("/redfish/v1/Chassis/{sys}/Drives", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Chassis")
		if err != nil {
			return nil, err
		}
		base := chassisPath(m.ID()) + "/Drives"
		ids := []string{}
		for _, d := range m.Info().Disks {
			ids = append(ids, drivePath(m.ID(), d.ID))
		}
		return collection("DriveCollection", "Drive Collection", base, ids), nil
	}})
	drive := &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Drive")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "disk")
		info := m.Info()
		for _, d := range info.Disks {
			if d.ID == id {
				return renderDrive(m.ID(), d, info.Volumes), nil
			}
		}
		return nil, notFound("Drive", id)
	}}
	s.handle("/redfish/v1/Chassis/{sys}/Drives/{disk}", drive)
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Drives/{disk}", drive)
}

// drivePath is the URI of disk of system sys.
func drivePath(sys, disk string) string { return chassisPath(sys) + "/Drives/" + disk }

// renderDrive is a Drive (v1_22_0), with links to its chassis, its
// storage subsystem and the volumes built on it (what Ironic's RAID
// interface reads as Drive.volumes).
func renderDrive(sys string, d hardware.Disk, vols []hardware.Volume) M {
	in := []link{}
	for _, v := range vols {
		if slices.Contains(v.Drives, d.ID) {
			in = append(in, link{volumePath(sys, v.ID)})
		}
	}
	return M{
		"@odata.type":   "#Drive.v1_22_0.Drive",
		"@odata.id":     drivePath(sys, d.ID),
		"Id":            d.ID,
		"Name":          d.ID,
		"Model":         d.Model,
		"SerialNumber":  d.SerialNumber,
		"CapacityBytes": d.CapacityBytes,
		"MediaType":     d.MediaType,
		"Protocol":      d.Protocol,
		"Status":        enabledStatus(),
		"Links": M{
			"Chassis":             link{chassisPath(sys)},
			"Storage":             link{storagePath(sys)},
			"Volumes":             in,
			"Volumes@odata.count": len(in),
		},
	}
}
