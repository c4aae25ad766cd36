package redfish

import (
	"math"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
)

// thermalSubsystemRoutes serves ThermalSubsystem (v1_5_0), the successor of
// the deprecated Thermal resource, from the same sensors: a Fan per fan
// sensor and ThermalMetrics with every temperature, each pointing at its
// Sensor resource (DataSourceUri).
func (s *Service) thermalSubsystemRoutes() {
	s.handle("/redfish/v1/Chassis/{sys}/ThermalSubsystem", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		path := chassisPath(m.ID()) + "/ThermalSubsystem"
		return M{
			"@odata.type":    "#ThermalSubsystem.v1_5_0.ThermalSubsystem",
			"@odata.id":      path,
			"Id":             "ThermalSubsystem",
			"Name":           "Thermal Subsystem for Chassis " + m.ID(),
			"Fans":           link{path + "/Fans"},
			"ThermalMetrics": link{path + "/ThermalMetrics"},
			"Status":         status("Enabled", worstHealth(sensors, hardware.SensorFan, hardware.SensorTemperature)),
		}, nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/ThermalSubsystem/Fans", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		base := chassisPath(m.ID()) + "/ThermalSubsystem/Fans"
		ids := []string{}
		for _, x := range sensors {
			if x.Type == hardware.SensorFan {
				ids = append(ids, base+"/"+x.ID)
			}
		}
		return collection("FanCollection", "Fan Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Chassis/{sys}/ThermalSubsystem/Fans/{fan}", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		id := chi.URLParam(r, "fan")
		for _, x := range sensors {
			if x.Type == hardware.SensorFan && x.ID == id {
				return renderFan(chassisPath(m.ID())+"/ThermalSubsystem/Fans/"+id, x), nil
			}
		}
		return nil, notFound("Fan", id)
	}})
	s.handle("/redfish/v1/Chassis/{sys}/ThermalSubsystem/ThermalMetrics", &resource{get: func(r *http.Request) (any, error) {
		m, sensors, err := s.sensors(r)
		if err != nil {
			return nil, err
		}
		return renderThermalMetrics(chassisPath(m.ID()), sensors), nil
	}})
}

// renderFan is a Fan (v1_6_0) from a fan sensor. SpeedPercent.Reading is
// SpeedRPM over the rated speed (the sensor's range maximum), as the
// schema asks; it has no DataSourceUri because the sensor reads RPM, not
// percent.
func renderFan(path string, x hardware.Sensor) M {
	speed := M{"Reading": nil, "SpeedRPM": nil}
	if x.Available {
		speed["SpeedRPM"] = math.Round(x.Reading)
		if x.RangeMax > 0 {
			speed["Reading"] = math.Round(x.Reading/x.RangeMax*1000) / 10
		}
	}
	v := M{
		"@odata.type":  "#Fan.v1_6_0.Fan",
		"@odata.id":    path,
		"Id":           x.ID,
		"Name":         x.Name,
		"SpeedPercent": speed,
		"Status":       sensorStatus(x),
	}
	if x.PhysicalContext != "" {
		v["PhysicalContext"] = x.PhysicalContext
	}
	if x.RangeMax > 0 {
		v["RatedSpeedRPM"] = math.Round(x.RangeMax)
	}
	return v
}

// renderThermalMetrics is the chassis's ThermalMetrics (v1_3_2): every
// temperature sensor, and a summary with the intake temperature and the
// hottest internal one.
func renderThermalMetrics(chassis string, sensors []hardware.Sensor) M {
	readings := []M{}
	summary := M{}
	var hottest *hardware.Sensor
	for i, x := range sensors {
		if x.Type != hardware.SensorTemperature {
			continue
		}
		src := chassis + "/Sensors/" + x.ID
		r := M{"Reading": sensorReading(x), "DeviceName": x.Name, "DataSourceUri": src}
		if x.PhysicalContext != "" {
			r["PhysicalContext"] = x.PhysicalContext
		}
		readings = append(readings, r)
		switch {
		case x.PhysicalContext == "Intake":
			if _, ok := summary["Intake"]; !ok {
				summary["Intake"] = M{"Reading": sensorReading(x), "DataSourceUri": src}
			}
		case x.Available && (hottest == nil || x.Reading > hottest.Reading):
			hottest = &sensors[i]
		}
	}
	if hottest != nil {
		summary["Internal"] = M{"Reading": hottest.Reading, "DataSourceUri": chassis + "/Sensors/" + hottest.ID}
	}
	return M{
		"@odata.type":                            "#ThermalMetrics.v1_3_2.ThermalMetrics",
		"@odata.id":                              chassis + "/ThermalSubsystem/ThermalMetrics",
		"Id":                                     "ThermalMetrics",
		"Name":                                   "Thermal Metrics",
		"TemperatureReadingsCelsius":             readings,
		"TemperatureReadingsCelsius@odata.count": len(readings),
		"TemperatureSummaryCelsius":              summary,
	}
}

// worstHealth rolls the health of the sensors of the given types up into
// one: Critical over Warning over OK. Readings that do not apply (host
// off) count as OK.
func worstHealth(sensors []hardware.Sensor, types ...hardware.SensorType) string {
	rank := map[hardware.Severity]int{hardware.SeverityOK: 0, hardware.SeverityWarning: 1, hardware.SeverityCritical: 2}
	worst := hardware.SeverityOK
	for _, x := range sensors {
		if h := x.Health().Severity; slices.Contains(types, x.Type) && rank[h] > rank[worst] {
			worst = h
		}
	}
	return string(worst)
}
