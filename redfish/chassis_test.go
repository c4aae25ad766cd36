package redfish

import (
	"strconv"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestThermalPowerMemberIds checks that every member of the Thermal and
// Power arrays is identified by its index: MemberId "i" and @odata.id
// "<resource>#/<array>/i", as the Redfish Specification asks of
// referenceable members (and as validators check).
func TestThermalPowerMemberIds(t *testing.T) {
	e := newEnv(t)
	e.powerOn("0")
	for _, tc := range []struct {
		path   string
		arrays []string
	}{
		{"/redfish/v1/Chassis/0/Thermal", []string{"Temperatures", "Fans"}},
		{"/redfish/v1/Chassis/0/Power", []string{"PowerControl", "Voltages", "PowerSupplies"}},
	} {
		doc := e.get(tc.path).obj()
		for _, a := range tc.arrays {
			members, _ := doc[a].([]any)
			if len(members) == 0 {
				t.Errorf("%s: no %s", tc.path, a)
			}
			for i, m := range members {
				wantID := tc.path + "#/" + a + "/" + strconv.Itoa(i)
				if got := at(m, "@odata.id"); got != wantID {
					t.Errorf("%s %s[%d]: @odata.id %v, want %s", tc.path, a, i, got, wantID)
				}
				if got := at(m, "MemberId"); got != strconv.Itoa(i) {
					t.Errorf("%s %s[%d]: MemberId %v, want %q", tc.path, a, i, got, strconv.Itoa(i))
				}
			}
		}
	}
}

// TestPowerSupplies checks the power supplies in the deprecated Power
// resource: the figures Ironic's profile asks for (LineInputVoltage,
// PowerCapacityWatts, LastPowerOutputWatts, SerialNumber, Status), outputs
// that add up to the power consumed, and an empty array for a backend
// that reports no supplies.
func TestPowerSupplies(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	for _, on := range []bool{false, true} {
		if on {
			e.powerOn("0")
		}
		pw := e.get("/redfish/v1/Chassis/0/Power").obj()
		psus, _ := pw["PowerSupplies"].([]any)
		if len(psus) != 2 {
			t.Fatalf("on=%v: %d PowerSupplies", on, len(psus))
		}
		var out float64
		for _, p := range psus {
			for _, k := range []string{"Name", "SerialNumber", "FirmwareVersion", "Model", "Manufacturer", "PartNumber"} {
				if s, _ := at(p, k).(string); s == "" {
					t.Errorf("on=%v: power supply without %s: %v", on, k, p)
				}
			}
			if at(p, "PowerCapacityWatts") != 800.0 || at(p, "PowerSupplyType") != "AC" || at(p, "LineInputVoltageType") != "AC240V" ||
				at(p, "Status", "State") != "Enabled" || at(p, "Status", "Health") != "OK" || at(p, "InputRanges", 0, "OutputWattage") != 800.0 {
				t.Errorf("on=%v: %v", on, p)
			}
			if v, _ := at(p, "LineInputVoltage").(float64); v < 200 || v > 240 {
				t.Errorf("on=%v: LineInputVoltage %v", on, at(p, "LineInputVoltage"))
			}
			w, _ := at(p, "LastPowerOutputWatts").(float64)
			if in, _ := at(p, "PowerInputWatts").(float64); w <= 0 || in <= w || at(p, "PowerOutputWatts") != w {
				t.Errorf("on=%v: output %v W, input %v W", on, at(p, "LastPowerOutputWatts"), at(p, "PowerInputWatts"))
			}
			out += w
		}
		consumed, _ := at(pw, "PowerControl", 0, "PowerConsumedWatts").(float64)
		if out < consumed-15 || out > consumed+15 {
			t.Errorf("on=%v: supplies deliver %v W, PowerConsumedWatts %v", on, out, consumed)
		}
		if at(pw, "PowerControl", 0, "PowerCapacityWatts") != 800.0 {
			t.Errorf("on=%v: PowerCapacityWatts %v, want 800 (1+1 redundant)", on, at(pw, "PowerControl", 0, "PowerCapacityWatts"))
		}
	}
	pw := e.get("/redfish/v1/Chassis/pkvm/Power").obj()
	if psus, ok := pw["PowerSupplies"].([]any); !ok || len(psus) != 0 {
		t.Errorf("backend without supplies: PowerSupplies %v", pw["PowerSupplies"])
	}
	if _, ok := at(pw, "PowerControl").([]any); !ok {
		t.Errorf("backend without sensors: PowerControl %v", pw["PowerControl"])
	}
	// Ranges and where the sensors are, as Ironic's profile recommends.
	th := e.get("/redfish/v1/Chassis/0/Thermal").obj()
	if at(th, "Temperatures", 0, "PhysicalContext") != "Intake" || at(th, "Temperatures", 0, "MaxReadingRangeTemp") == nil ||
		at(th, "Fans", 0, "MaxReadingRange") != 17000.0 {
		t.Errorf("thermal ranges: %v", th)
	}
}

func TestPowerSupplyVocabulary(t *testing.T) {
	for _, tc := range []struct {
		caps []float64
		want float64
	}{{nil, 0}, {[]float64{800}, 800}, {[]float64{800, 800}, 800}, {[]float64{1200, 800}, 800}, {[]float64{800, 800, 800}, 1600}} {
		var psus []hardware.PowerSupply
		for _, c := range tc.caps {
			psus = append(psus, hardware.PowerSupply{CapacityWatts: c})
		}
		if got := redundantCapacity(psus); got != tc.want {
			t.Errorf("redundantCapacity(%v) = %v, want %v", tc.caps, got, tc.want)
		}
	}
	for in, want := range map[string]string{"AC200To240V": "AC240V", "AC120V": "AC120V", "AC100To240V": "ACWideRange",
		"DC380V": "DC380V", "": "Unknown", "AC400V": "Unknown"} {
		if got := lineInputVoltageType(in); got != want {
			t.Errorf("lineInputVoltageType(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"AC": "AC", "DC": "DC", "": "Unknown", "ac": "Unknown"} {
		if got := psuType(in); got != want {
			t.Errorf("psuType(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSensorThresholds checks that the machine's thresholds are served as
// set, a 0 °C limit included, and nothing for a limit the sensor lacks.
func TestSensorThresholds(t *testing.T) {
	e := newEnv(t)
	inlet := e.get("/redfish/v1/Chassis/0/Sensors/InletTemp").obj()
	for k, want := range map[string]float64{"LowerCritical": 0, "LowerCaution": 5, "UpperCaution": 40, "UpperCritical": 45} {
		if got := at(inlet, "Thresholds", k, "Reading"); got != want {
			t.Errorf("InletTemp Thresholds.%s.Reading %v, want %v", k, got, want)
		}
	}
	power := e.get("/redfish/v1/Chassis/0/Sensors/TotalPower").obj()
	if th, _ := power["Thresholds"].(map[string]any); len(th) != 2 || at(th, "UpperCritical", "Reading") != 750.0 {
		t.Errorf("TotalPower Thresholds %v", th)
	}
	th := e.get("/redfish/v1/Chassis/0/Thermal").obj()
	for k, want := range map[string]any{"LowerThresholdCritical": 0.0, "LowerThresholdNonCritical": 5.0,
		"UpperThresholdNonCritical": 40.0, "UpperThresholdCritical": 45.0} {
		if got := at(th, "Temperatures", 0, k); got != want {
			t.Errorf("Thermal Temperatures[0].%s %v, want %v", k, got, want)
		}
	}
	if got := at(th, "Fans", 0, "LowerThresholdCritical"); got != 500.0 {
		t.Errorf("Thermal Fans[0].LowerThresholdCritical %v", got)
	}
	pw := e.get("/redfish/v1/Chassis/0/Power").obj()
	if got := at(pw, "Voltages", 0, "LowerThresholdCritical"); got != 10.8 {
		t.Errorf("Power Voltages[0].LowerThresholdCritical %v", got)
	}
}

// TestSensorStatus checks that Status.Health is the machine's judgement
// of the reading (hardware.Sensor.Health), in both renderings.
func TestSensorStatus(t *testing.T) {
	th := hardware.Thresholds{LowerCritical: hardware.At(0), LowerCaution: hardware.At(5),
		UpperCaution: hardware.At(40), UpperCritical: hardware.At(45)}
	for _, tc := range []struct {
		reading       float64
		available     bool
		state, health string
	}{
		{23, true, "Enabled", "OK"},
		{0, true, "Enabled", "Critical"},
		{4, true, "Enabled", "Warning"},
		{41, true, "Enabled", "Warning"},
		{50, true, "Enabled", "Critical"},
		{0, false, "StandbyOffline", "OK"},
	} {
		x := hardware.Sensor{ID: "T", Type: hardware.SensorTemperature, Reading: tc.reading, Available: tc.available, Thresholds: th}
		for _, got := range []any{sensorStatus(x), renderSensor("/s", x)["Status"]} {
			if at(got, "State") != tc.state || at(got, "Health") != tc.health {
				t.Errorf("%v (available %v): %v, want %s %s", tc.reading, tc.available, got, tc.state, tc.health)
			}
		}
		if w := worstHealth([]hardware.Sensor{x}, hardware.SensorTemperature); w != tc.health {
			t.Errorf("%v: worst %s, want %s", tc.reading, w, tc.health)
		}
	}
}
