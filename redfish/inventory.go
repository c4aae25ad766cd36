package redfish

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// inventoryRoutes serves the host's processors, memory and NICs, derived
// from the backend's inventory.
func (s *Service) inventoryRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/Processors", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/Processors"
		var ids []string
		for i := 0; i < m.Info().ProcessorCount; i++ {
			ids = append(ids, fmt.Sprintf("%s/CPU%d", base, i+1))
		}
		return collection("ProcessorCollection", "Processor Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Processors/{cpu}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "cpu")
		info := m.Info()
		var n int
		if _, err := fmt.Sscanf(id, "CPU%d", &n); err != nil || n < 1 || n > info.ProcessorCount || id != fmt.Sprintf("CPU%d", n) {
			return nil, notFound("Processor", id)
		}
		threads := max(info.ThreadsPerCore, 1)
		return M{
			"@odata.type":           "#Processor.v1_22_0.Processor",
			"@odata.id":             systemPath(m.ID()) + "/Processors/" + id,
			"Id":                    id,
			"Name":                  "Processor " + id,
			"Socket":                fmt.Sprintf("CPU %d", n),
			"ProcessorType":         "CPU",
			"ProcessorArchitecture": "x86",
			"InstructionSet":        "x86-64",
			"Model":                 info.ProcessorModel,
			"TotalCores":            info.CoresPerProcessor,
			"TotalThreads":          info.CoresPerProcessor * threads,
			"Status":                enabledStatus(),
		}, nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Memory", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/Memory"
		var ids []string
		for i := range dimmCount(m.Info().MemoryGiB) {
			ids = append(ids, fmt.Sprintf("%s/DIMM%d", base, i+1))
		}
		return collection("MemoryCollection", "Memory Module Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/Memory/{dimm}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "dimm")
		count := dimmCount(m.Info().MemoryGiB)
		var n int
		if _, err := fmt.Sscanf(id, "DIMM%d", &n); err != nil || n < 1 || n > count || id != fmt.Sprintf("DIMM%d", n) {
			return nil, notFound("Memory", id)
		}
		return M{
			"@odata.type":       "#Memory.v1_23_0.Memory",
			"@odata.id":         systemPath(m.ID()) + "/Memory/" + id,
			"Id":                id,
			"Name":              "Memory " + id,
			"MemoryDeviceType":  "DDR5",
			"MemoryType":        "DRAM",
			"CapacityMiB":       int(m.Info().MemoryGiB*1024) / count,
			"OperatingSpeedMhz": 4800,
			"Status":            enabledStatus(),
		}, nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/EthernetInterfaces", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/EthernetInterfaces"
		var ids []string
		for _, n := range m.Info().NICs {
			ids = append(ids, base+"/"+n.ID)
		}
		return collection("EthernetInterfaceCollection", "Ethernet Interface Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/EthernetInterfaces/{nic}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "nic")
		for _, n := range m.Info().NICs {
			if n.ID != id {
				continue
			}
			ps, _ := m.PowerState(r.Context())
			linkStatus := "LinkDown"
			if ps == "On" {
				linkStatus = "LinkUp"
			}
			return M{
				"@odata.type":         "#EthernetInterface.v1_12_4.EthernetInterface",
				"@odata.id":           systemPath(m.ID()) + "/EthernetInterfaces/" + id,
				"Id":                  id,
				"Name":                "Ethernet Interface " + id,
				"MACAddress":          n.MAC,
				"PermanentMACAddress": n.MAC,
				"SpeedMbps":           n.SpeedMbps,
				"LinkStatus":          linkStatus,
				"InterfaceEnabled":    true,
				"Status":              enabledStatus(),
			}, nil
		}
		return nil, notFound("EthernetInterface", id)
	}})
}

// dimmCount spreads memory over 16 GiB modules, at least one.
func dimmCount(gib float64) int { return max(1, int(gib)/16) }
