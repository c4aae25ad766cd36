package redfish

import (
	"math"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// One chassis per system: the enclosure its sensors live in. Its thermal
// and power data are served twice: the deprecated Thermal and Power that
// sushy and Ironic read, and their successors ThermalSubsystem and
// PowerSubsystem (thermalsubsystem.go, powersubsystem.go).
func (s *Service) chassisRoutes() {
	s.handle("/redfish/v1/Chassis", &resource{get: func(*http.Request) (any, error) {
		ids := s.ids()
		for i, id := range ids {
			ids[i] = chassisPath(id)
		}
		return collection("ChassisCollection", "Chassis Collection", "/redfish/v1/Chassis", ids), nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}", &resource{
		get: s.getChassis, patchPriv: auth.PrivConfigureComponents,
		patch: func(r *http.Request) error {
			m, err := s.machine(r, "Chassis")
			if err != nil {
				return err
			}
			var p struct {
				IndicatorLED            *string `json:"IndicatorLED" validate:"omitempty,oneof=Lit Blinking Off"`
				LocationIndicatorActive *bool   `json:"LocationIndicatorActive"`
			}
			ro := map[string]bool{"Id": true, "Name": true, "ChassisType": true, "PowerState": true, "Status": true, "UUID": true}
			if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return ro[n] }}); err != nil {
				return err
			}
			id, err := identifySetting(m, p.IndicatorLED, p.LocationIndicatorActive)
			if err != nil {
				return err
			}
			return m.Apply(hardware.Change{Identify: id})
		},
	})
	s.handle("/redfish/v1/Chassis/{sys}/Sensors", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		base := chassisPath(m.ID()) + "/Sensors"
		ids := make([]string, len(sensors))
		for i, x := range sensors {
			ids[i] = base + "/" + x.ID
		}
		return collection("SensorCollection", "Sensor Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/Sensors/{sensor}", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "sensor")
		for _, x := range sensors {
			if x.ID == id {
				return renderSensor(chassisPath(m.ID())+"/Sensors/"+id, x), nil
			}
		}
		return nil, notFound("Sensor", id)
	}})
	s.handle("/redfish/v1/Chassis/{sys}/Thermal", &resource{get: s.getThermal})
	s.handle("/redfish/v1/Chassis/{sys}/Power", &resource{get: s.getPower})
	s.thermalSubsystemRoutes()
	s.powerSubsystemRoutes()
}

func (s *Service) sensors(r *http.Request) (*hardware.Machine, []hardware.Sensor, error) {
	m, err := s.machine(r, "Chassis")
	if err != nil {
		return nil, nil, err
	}
	sensors, err := m.Sensors(r.Context())
	return m, sensors, err
}

func (s *Service) getChassis(r *http.Request) (any, error) {
	m, err := s.machine(r, "Chassis")
	if err != nil {
		return nil, err
	}
	_, ps, err := powerState(r, m)
	if err != nil {
		return nil, err
	}
	info, id := m.Info(), m.ID()
	path := chassisPath(id)
	led, active := indicator(m)
	ch := M{
		"IndicatorLED":            led,
		"LocationIndicatorActive": active,
		"@odata.type":             "#Chassis.v1_28_0.Chassis",
		"@odata.id":               path,
		"Id":                      id,
		"Name":                    "Chassis " + id,
		"ChassisType":             "RackMount",
		"Manufacturer":            info.Manufacturer,
		"Model":                   info.Model,
		"SerialNumber":            info.SerialNumber,
		"PartNumber":              info.PartNumber,
		"SKU":                     info.SKU,
		"UUID":                    info.UUID,
		"PowerState":              ps,
		"Status":                  enabledStatus(),
		"Sensors":                 link{path + "/Sensors"},
		"Drives":                  link{path + "/Drives"},
		"Thermal":                 link{path + "/Thermal"},
		"Power":                   link{path + "/Power"},
		"ThermalSubsystem":        link{path + "/ThermalSubsystem"},
		"PowerSubsystem":          link{path + "/PowerSubsystem"},
		"Links": M{
			"ComputerSystems": []link{{systemPath(id)}},
			"ManagedBy":       []link{{managerPath(id)}},
		},
	}
	ch["IndicatorLED@Redfish.AllowableValues"] = hardware.IdentifyModes
	addWriteable(ch, identifyWriteable...)
	return ch, nil
}

var readingTypes = map[hardware.SensorType]string{
	hardware.SensorTemperature: "Temperature",
	hardware.SensorFan:         "Rotational",
	hardware.SensorPower:       "Power",
	hardware.SensorVoltage:     "Voltage",
}

// sensorStatus is a sensor's Status: its health is what the machine
// judges of the reading against its thresholds (hardware.Sensor.Health).
func sensorStatus(x hardware.Sensor) M {
	if !x.Available {
		return status("StandbyOffline", "OK")
	}
	return status("Enabled", string(x.Health().Severity))
}

func renderSensor(path string, x hardware.Sensor) M {
	// The Thresholds property names are the machine's threshold kinds.
	th := M{}
	for _, k := range hardware.ThresholdKinds {
		if t := x.Thresholds.Get(k); t.Set {
			th[string(k)] = M{"Reading": t.Value}
		}
	}
	return withContext(M{
		"@odata.type":  "#Sensor.v1_12_0.Sensor",
		"@odata.id":    path,
		"Id":           x.ID,
		"Name":         x.Name,
		"ReadingType":  readingTypes[x.Type],
		"Reading":      sensorReading(x),
		"ReadingUnits": x.Units,
		"Thresholds":   th,
		"Status":       sensorStatus(x),
	}, x, "ReadingRangeMin", "ReadingRangeMax", false)
}

// legacyThresholds names the thresholds in the deprecated Thermal and
// Power members (Temperatures, Fans, Voltages).
var legacyThresholds = map[hardware.ThresholdKind]string{
	hardware.LowerCritical: "LowerThresholdCritical",
	hardware.LowerCaution:  "LowerThresholdNonCritical",
	hardware.UpperCaution:  "UpperThresholdNonCritical",
	hardware.UpperCritical: "UpperThresholdCritical",
}

// withThresholds adds a Thermal or Power member's four thresholds, null
// where the sensor has none; round makes them integers (fans).
func withThresholds(v M, x hardware.Sensor, round bool) M {
	for _, k := range hardware.ThresholdKinds {
		v[legacyThresholds[k]] = nil
		if t := x.Thresholds.Get(k); t.Set {
			if round {
				t.Value = math.Round(t.Value)
			}
			v[legacyThresholds[k]] = t.Value
		}
	}
	return v
}

// memberRef is the @odata.id of member i of array prop in the resource at
// path: "<path>#/<prop>/<i>". In Thermal and Power (and the deprecated
// Storage.StorageControllers) the member's MemberId is that same index, so
// the two identify it alike (Redfish Specification, "Referenceable members").
func memberRef(path, prop string, i int) string {
	return path + "#/" + prop + "/" + strconv.Itoa(i)
}

// sensorReading is a sensor's reading, or null when it does not apply.
func sensorReading(x hardware.Sensor) any {
	if !x.Available {
		return nil
	}
	return x.Reading
}

// withContext adds PhysicalContext and the reading range under the given
// names (Thermal and Power name the range differently per array) when the
// sensor reports them; round makes them integers (fans).
func withContext(v M, x hardware.Sensor, minName, maxName string, round bool) M {
	if x.PhysicalContext != "" {
		v["PhysicalContext"] = x.PhysicalContext
	}
	if x.HasRange() {
		lo, hi := x.RangeMin, x.RangeMax
		if round {
			lo, hi = math.Round(lo), math.Round(hi)
		}
		v[minName], v[maxName] = lo, hi
	}
	return v
}

// getThermal serves the deprecated Thermal resource (Thermal v1_7_3),
// which sushy and Ironic's inspection still read; ThermalSubsystem is its
// successor (thermalsubsystem.go).
func (s *Service) getThermal(r *http.Request) (any, error) {
	m, sensors, err := s.sensors(r)
	if err != nil {
		return nil, err
	}
	path := chassisPath(m.ID()) + "/Thermal"
	temps, fans := []M{}, []M{}
	for _, x := range sensors {
		switch x.Type {
		case hardware.SensorTemperature:
			temps = append(temps, withContext(withThresholds(M{
				"@odata.id": memberRef(path, "Temperatures", len(temps)), "MemberId": strconv.Itoa(len(temps)), "Name": x.Name,
				"ReadingCelsius": sensorReading(x), "Status": sensorStatus(x),
			}, x, false), x, "MinReadingRangeTemp", "MaxReadingRangeTemp", false))
		case hardware.SensorFan:
			// Thermal's fan Reading, thresholds and range are integers (RPM).
			var reading any
			if x.Available {
				reading = math.Round(x.Reading)
			}
			fans = append(fans, withContext(withThresholds(M{
				"@odata.id": memberRef(path, "Fans", len(fans)), "MemberId": strconv.Itoa(len(fans)), "Name": x.Name,
				"Reading": reading, "ReadingUnits": "RPM", "Status": sensorStatus(x),
			}, x, true), x, "MinReadingRange", "MaxReadingRange", true))
		}
	}
	return M{
		"@odata.type":  "#Thermal.v1_7_3.Thermal",
		"@odata.id":    path,
		"Id":           "Thermal",
		"Name":         "Thermal",
		"Temperatures": temps,
		"Fans":         fans,
	}, nil
}

// getPower serves the deprecated Power resource (Power v1_7_3): power
// consumption, voltages and the power supplies, as sushy and Ironic read
// them; PowerSubsystem is its successor (powersubsystem.go).
func (s *Service) getPower(r *http.Request) (any, error) {
	m, sensors, err := s.sensors(r)
	if err != nil {
		return nil, err
	}
	psus, err := m.PowerSupplies(r.Context())
	if err != nil {
		return nil, err
	}
	path := chassisPath(m.ID()) + "/Power"
	ctl, volts, supplies := []M{}, []M{}, []M{}
	for _, x := range sensors {
		switch x.Type {
		case hardware.SensorPower:
			c := M{
				"@odata.id": memberRef(path, "PowerControl", len(ctl)), "MemberId": strconv.Itoa(len(ctl)), "Name": x.Name,
				"PowerConsumedWatts": sensorReading(x), "Status": sensorStatus(x),
			}
			if capacity := redundantCapacity(psus); capacity > 0 {
				c["PowerCapacityWatts"] = capacity
			}
			ctl = append(ctl, c)
		case hardware.SensorVoltage:
			volts = append(volts, withContext(withThresholds(M{
				"@odata.id": memberRef(path, "Voltages", len(volts)), "MemberId": strconv.Itoa(len(volts)), "Name": x.Name,
				"ReadingVolts": sensorReading(x), "Status": sensorStatus(x),
			}, x, false), x, "MinReadingRange", "MaxReadingRange", false))
		}
	}
	for i, p := range psus {
		v := M{
			"@odata.id":            memberRef(path, "PowerSupplies", i),
			"MemberId":             strconv.Itoa(i),
			"Name":                 p.Name,
			"PowerSupplyType":      psuType(p.InputType),
			"LineInputVoltageType": lineInputVoltageType(p.NominalVoltage),
			"LineInputVoltage":     nil,
			"PowerCapacityWatts":   p.CapacityWatts,
			"LastPowerOutputWatts": nil,
			"PowerInputWatts":      nil,
			"PowerOutputWatts":     nil,
			"FirmwareVersion":      p.FirmwareVersion,
			"Manufacturer":         p.Manufacturer,
			"Model":                p.Model,
			"SerialNumber":         p.SerialNumber,
			"PartNumber":           p.PartNumber,
			"HotPluggable":         p.HotPluggable,
			"InputRanges": []M{{
				"InputType": psuType(p.InputType), "MinimumVoltage": p.MinVoltage, "MaximumVoltage": p.MaxVoltage,
				"OutputWattage": p.CapacityWatts,
			}},
			"Status": psuStatus(p),
		}
		if p.Available {
			v["LineInputVoltage"], v["PowerInputWatts"] = p.InputVoltage, p.InputWatts
			v["LastPowerOutputWatts"], v["PowerOutputWatts"] = p.OutputWatts, p.OutputWatts
		}
		supplies = append(supplies, v)
	}
	return M{
		"@odata.type":   "#Power.v1_7_3.Power",
		"@odata.id":     path,
		"Id":            "Power",
		"Name":          "Power",
		"PowerControl":  ctl,
		"Voltages":      volts,
		"PowerSupplies": supplies,
	}, nil
}

// redundantCapacity is what the supplies can deliver with one failed
// (N+1): the sum of all but the largest, or the only one's capacity.
func redundantCapacity(psus []hardware.PowerSupply) float64 {
	var sum, largest float64
	for _, p := range psus {
		sum += p.CapacityWatts
		largest = max(largest, p.CapacityWatts)
	}
	if len(psus) > 1 {
		return sum - largest
	}
	return sum
}

// psuType maps an input type to PowerSupplyType ("AC", "DC"; "Unknown"
// otherwise), a vocabulary Power and PowerSupply share for these values.
func psuType(input string) string {
	switch input {
	case "AC", "DC", "ACorDC":
		return input
	}
	return "Unknown"
}

// lineInputVoltageType maps a NominalVoltageType (PowerSupply, Circuit)
// to the deprecated Power schema's LineInputVoltageType, using its
// non-deprecated values (AC240V rather than ACMidLine).
func lineInputVoltageType(nominal string) string {
	switch nominal {
	case "AC100To127V", "AC120V":
		return "AC120V"
	case "AC200To240V", "AC208V", "AC230V", "AC240V":
		return "AC240V"
	case "AC277V":
		return "AC277V"
	case "AC100To240V", "AC100To277V", "AC200To277V":
		return "ACWideRange"
	case "AC240AndDC380V", "AC277AndDC380V":
		return "ACandDCWideRange"
	case "DCNeg48V", "DC380V", "DC240V":
		return nominal
	}
	return "Unknown"
}

// psuStatus is a power supply's Status: Enabled while its readings come
// in, UnavailableOffline otherwise (unplugged or unreadable).
func psuStatus(p hardware.PowerSupply) M {
	if !p.Available {
		return M{"State": "UnavailableOffline"}
	}
	return enabledStatus()
}
