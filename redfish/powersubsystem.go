package redfish

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// powerSubsystemRoutes serves PowerSubsystem (v1_1_3), the successor of the
// deprecated Power resource: the power supplies as PowerSupply resources
// (v1_6_0), each with its PowerSupplyMetrics (v1_2_0).
func (s *Service) powerSubsystemRoutes() {
	s.handle("/redfish/v1/Chassis/{sys}/PowerSubsystem", &resource{get: func(r *http.Request) (any, error) {
		m, psus, err := s.powerSupplies(r)
		if err != nil {
			return nil, err
		}
		path := chassisPath(m.ID()) + "/PowerSubsystem"
		v := M{
			"@odata.type":   "#PowerSubsystem.v1_1_3.PowerSubsystem",
			"@odata.id":     path,
			"Id":            "PowerSubsystem",
			"Name":          "Power Subsystem for Chassis " + m.ID(),
			"CapacityWatts": redundantCapacity(psus),
			"PowerSupplies": link{path + "/PowerSupplies"},
			"Status":        enabledStatus(),
		}
		if len(psus) > 1 {
			group, working := []link{}, 0
			for _, p := range psus {
				group = append(group, link{path + "/PowerSupplies/" + p.ID})
				if p.Available {
					working++
				}
			}
			// The supplies share the load; any one of them carries it.
			health := "OK"
			if working < len(psus) {
				health = "Warning"
			}
			if working == 0 {
				health = "Critical"
			}
			v["PowerSupplyRedundancy"] = []M{{
				"RedundancyType":             "NPlusM",
				"MaxSupportedInGroup":        len(psus),
				"MinNeededInGroup":           1,
				"MinNeededForFaultTolerance": 2,
				"RedundancyGroup":            group,
				"Status":                     status("Enabled", health),
			}}
			v["Status"] = status("Enabled", health)
		}
		return v, nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/PowerSubsystem/PowerSupplies", &resource{get: func(r *http.Request) (any, error) {
		m, psus, err := s.powerSupplies(r)
		if err != nil {
			return nil, err
		}
		base := chassisPath(m.ID()) + "/PowerSubsystem/PowerSupplies"
		ids := make([]string, len(psus))
		for i, p := range psus {
			ids[i] = base + "/" + p.ID
		}
		return collection("PowerSupplyCollection", "Power Supply Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/PowerSubsystem/PowerSupplies/{psu}", &resource{get: func(r *http.Request) (any, error) {
		m, p, err := s.powerSupply(r)
		if err != nil {
			return nil, err
		}
		return renderPowerSupply(chassisPath(m.ID())+"/PowerSubsystem/PowerSupplies/"+p.ID, p), nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/PowerSubsystem/PowerSupplies/{psu}/Metrics", &resource{get: func(r *http.Request) (any, error) {
		m, p, err := s.powerSupply(r)
		if err != nil {
			return nil, err
		}
		return renderPowerSupplyMetrics(chassisPath(m.ID())+"/PowerSubsystem/PowerSupplies/"+p.ID+"/Metrics", p), nil
	}})
}

func (s *Service) powerSupplies(r *http.Request) (*hardware.Machine, []hardware.PowerSupply, error) {
	m, err := s.machine(r, "Chassis")
	if err != nil {
		return nil, nil, err
	}
	psus, err := m.PowerSupplies(r.Context())
	return m, psus, err
}

// powerSupply resolves the {psu} URL parameter.
func (s *Service) powerSupply(r *http.Request) (*hardware.Machine, hardware.PowerSupply, error) {
	m, psus, err := s.powerSupplies(r)
	if err != nil {
		return nil, hardware.PowerSupply{}, err
	}
	id := chi.URLParam(r, "psu")
	for _, p := range psus {
		if p.ID == id {
			return m, p, nil
		}
	}
	return nil, hardware.PowerSupply{}, notFound("PowerSupply", id)
}

// renderPowerSupply is a PowerSupply (v1_6_0): the unit's label and input
// status; its readings are in its Metrics.
func renderPowerSupply(path string, p hardware.PowerSupply) M {
	v := M{
		"@odata.type":             "#PowerSupply.v1_6_0.PowerSupply",
		"@odata.id":               path,
		"Id":                      p.ID,
		"Name":                    p.Name,
		"Manufacturer":            p.Manufacturer,
		"Model":                   p.Model,
		"SerialNumber":            p.SerialNumber,
		"PartNumber":              p.PartNumber,
		"FirmwareVersion":         p.FirmwareVersion,
		"PowerCapacityWatts":      p.CapacityWatts,
		"PowerSupplyType":         psuType(p.InputType),
		"HotPluggable":            p.HotPluggable,
		"InputNominalVoltageType": nil,
		"Metrics":                 link{path + "/Metrics"},
		"Status":                  psuStatus(p),
	}
	if p.InputType == "" {
		v["PowerSupplyType"] = nil // PowerSupply has no "Unknown"
	}
	if p.NominalVoltage != "" {
		v["InputRanges"] = []M{{"NominalVoltageType": p.NominalVoltage, "CapacityWatts": p.CapacityWatts}}
	}
	if p.Available {
		v["LineInputStatus"] = "Normal"
		if p.NominalVoltage != "" {
			v["InputNominalVoltageType"] = p.NominalVoltage
		}
		if p.MaxVoltage > 0 && (p.InputVoltage < p.MinVoltage || p.InputVoltage > p.MaxVoltage) {
			v["LineInputStatus"] = "OutOfRange"
			v["InputNominalVoltageType"] = nil
		}
	}
	if p.Bay > 0 {
		v["Location"] = M{"PartLocation": M{
			"ServiceLabel": "PSU " + strconv.Itoa(p.Bay), "LocationType": "Bay", "LocationOrdinalValue": p.Bay - 1,
		}}
	}
	return v
}

// renderPowerSupplyMetrics is a PowerSupplyMetrics (v1_2_0): input
// voltage, input and output power; null when they cannot be read.
func renderPowerSupplyMetrics(path string, p hardware.PowerSupply) M {
	reading := func(v float64) M {
		if !p.Available {
			return M{"Reading": nil}
		}
		return M{"Reading": v}
	}
	return M{
		"@odata.type":      "#PowerSupplyMetrics.v1_2_0.PowerSupplyMetrics",
		"@odata.id":        path,
		"Id":               "Metrics",
		"Name":             "Metrics for " + p.Name,
		"InputVoltage":     reading(p.InputVoltage),
		"InputPowerWatts":  reading(p.InputWatts),
		"OutputPowerWatts": reading(p.OutputWatts),
		"Status":           psuStatus(p),
	}
}
