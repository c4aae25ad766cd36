package redfish

import (
	"fmt"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// One chassis per system: the enclosure its sensors live in.
func (s *Service) chassisRoutes() {
	s.handle("/redfish/v1/Chassis", &resource{get: func(*http.Request) (any, error) {
		ids := make([]string, len(s.order))
		for i, id := range s.order {
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
	ps, err := m.PowerState(r.Context())
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
		"Thermal":                 link{path + "/Thermal"},
		"Power":                   link{path + "/Power"},
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

func sensorStatus(x hardware.Sensor) M {
	if !x.Available {
		return status("StandbyOffline", "OK")
	}
	return status("Enabled", sensorHealth(x))
}

func sensorHealth(x hardware.Sensor) string {
	v := x.Reading
	switch {
	case x.UpperCritical != 0 && v >= x.UpperCritical, x.LowerCritical != 0 && v <= x.LowerCritical:
		return "Critical"
	case x.UpperCaution != 0 && v >= x.UpperCaution, x.LowerCaution != 0 && v <= x.LowerCaution:
		return "Warning"
	}
	return "OK"
}

func renderSensor(path string, x hardware.Sensor) M {
	th := M{}
	for name, v := range map[string]float64{"UpperCritical": x.UpperCritical, "UpperCaution": x.UpperCaution,
		"LowerCaution": x.LowerCaution, "LowerCritical": x.LowerCritical} {
		if v != 0 {
			th[name] = M{"Reading": v}
		}
	}
	var reading any = x.Reading
	if !x.Available {
		reading = nil
	}
	return M{
		"@odata.type":  "#Sensor.v1_12_0.Sensor",
		"@odata.id":    path,
		"Id":           x.ID,
		"Name":         x.Name,
		"ReadingType":  readingTypes[x.Type],
		"Reading":      reading,
		"ReadingUnits": x.Units,
		"Thresholds":   th,
		"Status":       sensorStatus(x),
	}
}

func threshold(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}

func (s *Service) getThermal(r *http.Request) (any, error) {
	m, sensors, err := s.sensors(r)
	if err != nil {
		return nil, err
	}
	path := chassisPath(m.ID()) + "/Thermal"
	temps, fans := []M{}, []M{}
	for _, x := range sensors {
		var reading any = x.Reading
		if !x.Available {
			reading = nil
		}
		switch x.Type {
		case hardware.SensorTemperature:
			temps = append(temps, M{
				"@odata.id": fmt.Sprintf("%s#/Temperatures/%d", path, len(temps)), "MemberId": x.ID, "Name": x.Name,
				"ReadingCelsius": reading, "UpperThresholdNonCritical": threshold(x.UpperCaution),
				"UpperThresholdCritical": threshold(x.UpperCritical), "Status": sensorStatus(x),
			})
		case hardware.SensorFan:
			// Thermal's fan Reading and thresholds are integers (RPM).
			if x.Available {
				reading = math.Round(x.Reading)
			}
			fans = append(fans, M{
				"@odata.id": fmt.Sprintf("%s#/Fans/%d", path, len(fans)), "MemberId": x.ID, "Name": x.Name,
				"Reading": reading, "ReadingUnits": "RPM", "LowerThresholdCritical": threshold(math.Round(x.LowerCritical)),
				"Status": sensorStatus(x),
			})
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

func (s *Service) getPower(r *http.Request) (any, error) {
	m, sensors, err := s.sensors(r)
	if err != nil {
		return nil, err
	}
	path := chassisPath(m.ID()) + "/Power"
	ctl, volts := []M{}, []M{}
	for _, x := range sensors {
		switch x.Type {
		case hardware.SensorPower:
			ctl = append(ctl, M{
				"@odata.id": fmt.Sprintf("%s#/PowerControl/%d", path, len(ctl)), "MemberId": x.ID, "Name": x.Name,
				"PowerConsumedWatts": x.Reading, "Status": sensorStatus(x),
			})
		case hardware.SensorVoltage:
			volts = append(volts, M{
				"@odata.id": fmt.Sprintf("%s#/Voltages/%d", path, len(volts)), "MemberId": x.ID, "Name": x.Name,
				"ReadingVolts": x.Reading, "UpperThresholdCritical": threshold(x.UpperCritical),
				"LowerThresholdCritical": threshold(x.LowerCritical), "Status": sensorStatus(x),
			})
		}
	}
	return M{
		"@odata.type":  "#Power.v1_7_3.Power",
		"@odata.id":    path,
		"Id":           "Power",
		"Name":         "Power",
		"PowerControl": ctl,
		"Voltages":     volts,
	}, nil
}
