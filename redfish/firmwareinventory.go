package redfish

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// The FirmwareInventory (a SoftwareInventoryCollection) lists, for every
// system, each firmware component as "{component}_{system}" (BIOS_0,
// NIC_0, Disk0_0), an image staged for the next host reset as
// "Staged_{component}_{system}", and bmcd itself as "BMC".

const (
	firmwareInventoryPath = "/redfish/v1/UpdateService/FirmwareInventory"
	bmcFirmwareID         = "BMC"
	stagedPrefix          = "Staged_"
)

// firmwareEntry is one member of the FirmwareInventory.
type firmwareEntry struct {
	m      *hardware.Machine // nil for the BMC
	c      hardware.FirmwareComponent
	staged bool // the image waiting in c.Pending
}

func (e firmwareEntry) id() string {
	if e.m == nil {
		return bmcFirmwareID
	}
	id := componentID(e.m.ID(), e.c.ID)
	if e.staged {
		id = stagedPrefix + id
	}
	return id
}

// componentID is the inventory Id of firmware component of system sys.
func componentID(sys, component string) string { return component + "_" + sys }

// componentPath is the FirmwareInventory member of firmware component of
// system sys (what it runs, not a staged image).
func componentPath(sys, component string) string {
	return firmwareInventoryPath + "/" + componentID(sys, component)
}

func (e firmwareEntry) path() string { return firmwareInventoryPath + "/" + e.id() }

func firmwarePath(m *hardware.Machine, component string) string {
	return firmwareEntry{m: m, c: hardware.FirmwareComponent{ID: component}}.path()
}

// firmwareEntries lists the inventory: the BMC, then each system's
// components in the backend's order, each staged image after its
// component.
func (s *Service) firmwareEntries() []firmwareEntry {
	out := []firmwareEntry{{}}
	for _, m := range s.fleet.Machines() {
		for _, c := range m.Firmware() {
			out = append(out, firmwareEntry{m: m, c: c})
			if c.Pending != nil {
				out = append(out, firmwareEntry{m: m, c: c, staged: true})
			}
		}
	}
	return out
}

// firmwareEntry finds an entry by Id. Component IDs have no "_", so the
// first "_" ends the component and the rest is the system's Id.
func (s *Service) firmwareEntry(id string) (firmwareEntry, bool) {
	if id == bmcFirmwareID {
		return firmwareEntry{}, true
	}
	rest, staged := strings.CutPrefix(id, stagedPrefix)
	comp, sys, ok := strings.Cut(rest, "_")
	m, found := s.fleet.Machine(sys)
	if !ok || !found || m.ID() != sys {
		return firmwareEntry{}, false
	}
	c, ok := m.FirmwareComponent(comp)
	if !ok || (staged && c.Pending == nil) {
		return firmwareEntry{}, false
	}
	return firmwareEntry{m: m, c: c, staged: staged}, true
}

func (s *Service) firmwareInventoryRoutes() {
	s.handle(firmwareInventoryPath, &resource{get: func(*http.Request) (any, error) {
		var ids []string
		for _, e := range s.firmwareEntries() {
			ids = append(ids, e.path())
		}
		return collection("SoftwareInventoryCollection", "Firmware Inventory", firmwareInventoryPath, ids), nil
	}})
	s.handle(firmwareInventoryPath+"/{fw}", &resource{get: func(r *http.Request) (any, error) {
		id := chi.URLParam(r, "fw")
		e, ok := s.firmwareEntry(id)
		if !ok {
			return nil, notFound("SoftwareInventory", id)
		}
		if e.m == nil {
			return s.renderBMCFirmware(), nil
		}
		return renderFirmware(e), nil
	}})
}

// renderBMCFirmware is bmcd itself: the version every Manager reports as
// its FirmwareVersion. It is replaced by installing another bmcd, not
// through the UpdateService.
func (s *Service) renderBMCFirmware() M {
	var managers []link
	for _, id := range s.ids() {
		managers = append(managers, link{managerPath(id)})
	}
	return M{
		"@odata.type":             "#SoftwareInventory.v1_13_0.SoftwareInventory",
		"@odata.id":               firmwareInventoryPath + "/" + bmcFirmwareID,
		"Id":                      bmcFirmwareID,
		"Name":                    "bmcd",
		"Description":             "The BMC: bmcd, updated by installing a new bmcd, not through the UpdateService",
		"Manufacturer":            "bmcd",
		"SoftwareId":              "bmcd",
		"Version":                 s.cfg.Version,
		"Updateable":              false,
		"ResetRequiredOnUpdate":   false,
		"Active":                  true,
		"Staged":                  false,
		"RelatedItem":             managers,
		"RelatedItem@odata.count": len(managers),
		"Status":                  enabledStatus(),
	}
}

func renderFirmware(e firmwareEntry) M {
	c := e.c
	related := relatedItems(e.m, c)
	v := M{
		"@odata.type":             "#SoftwareInventory.v1_13_0.SoftwareInventory",
		"@odata.id":               e.path(),
		"Id":                      e.id(),
		"Name":                    c.Name,
		"Manufacturer":            c.Manufacturer,
		"Version":                 c.Version,
		"Updateable":              c.Updateable,
		"ResetRequiredOnUpdate":   c.ResetRequired,
		"Active":                  true,
		"Staged":                  false,
		"RelatedItem":             related,
		"RelatedItem@odata.count": len(related),
		"Status":                  enabledStatus(),
	}
	if c.SoftwareID != "" {
		v["SoftwareId"] = c.SoftwareID
	}
	if !c.ReleaseDate.IsZero() {
		v["ReleaseDate"] = c.ReleaseDate.UTC().Format(timeFormat)
	}
	if e.staged {
		p := c.Pending
		v["Name"] = c.Name + " (staged)"
		v["Description"] = "Staged image " + p.Image + ", activated at the next host reset of system " + e.m.ID()
		v["Version"] = p.Version
		v["SizeBytes"] = p.Size
		v["Updateable"], v["Active"], v["Staged"] = false, false, true
		delete(v, "ReleaseDate")
		if !p.ReleaseDate.IsZero() {
			v["ReleaseDate"] = p.ReleaseDate.UTC().Format(timeFormat)
		}
	}
	return v
}

// relatedItems links a component to the device it runs on.
func relatedItems(m *hardware.Machine, c hardware.FirmwareComponent) []link {
	sys := systemPath(m.ID())
	var out []link
	for _, d := range c.Devices {
		switch c.Kind {
		case hardware.FirmwareNIC:
			out = append(out, link{sys + "/EthernetInterfaces/" + d})
		case hardware.FirmwareDrive:
			out = append(out, link{drivePath(m.ID(), d)})
		}
	}
	if len(out) == 0 {
		out = append(out, link{sys})
	}
	return out
}
