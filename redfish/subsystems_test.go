package redfish

import (
	"net/http"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestThermalSubsystem checks ThermalSubsystem, its Fans and ThermalMetrics
// against the deprecated Thermal resource they succeed: the same fans and
// temperatures, linked from the Chassis.
func TestThermalSubsystem(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	const ch = "/redfish/v1/Chassis/0"
	ts := at(e.get(ch).obj(), "ThermalSubsystem", "@odata.id")
	if ts != ch+"/ThermalSubsystem" {
		t.Fatalf("Chassis.ThermalSubsystem %v", ts)
	}
	sub := e.get(ch + "/ThermalSubsystem").obj()
	if at(sub, "Fans", "@odata.id") != ch+"/ThermalSubsystem/Fans" || at(sub, "ThermalMetrics", "@odata.id") != ch+"/ThermalSubsystem/ThermalMetrics" ||
		at(sub, "Status", "Health") != "OK" {
		t.Errorf("ThermalSubsystem %v", sub)
	}
	for _, on := range []bool{false, true} {
		if on {
			e.powerOn("0")
		}
		fans := e.get(ch + "/ThermalSubsystem/Fans").obj()
		if at(fans, "Members@odata.count") != 2.0 {
			t.Fatalf("on=%v: fans %v", on, fans)
		}
		for _, m := range fans["Members"].([]any) {
			f := e.get(at(m, "@odata.id").(string)).obj()
			rpm, pct := at(f, "SpeedPercent", "SpeedRPM"), at(f, "SpeedPercent", "Reading")
			if f["RatedSpeedRPM"] != 17000.0 || f["PhysicalContext"] != "Fan" {
				t.Errorf("on=%v: fan %v", on, f)
			}
			if !on && (rpm != nil || pct != nil || at(f, "Status", "State") != "StandbyOffline") {
				t.Errorf("fan of a host that is off: %v", f)
			}
			if on {
				r, _ := rpm.(float64)
				if p, _ := pct.(float64); r < 1000 || p < r/17000*100-0.1 || p > r/17000*100+0.1 {
					t.Errorf("fan at %v RPM reads %v %%", rpm, pct)
				}
			}
		}
		tm := e.get(ch + "/ThermalSubsystem/ThermalMetrics").obj()
		readings, _ := tm["TemperatureReadingsCelsius"].([]any)
		if len(readings) != 3 || at(tm, "TemperatureReadingsCelsius@odata.count") != 3.0 {
			t.Fatalf("on=%v: readings %v", on, tm)
		}
		for _, r := range readings {
			e.get(at(r, "DataSourceUri").(string)).want(http.StatusOK)
		}
		if at(tm, "TemperatureSummaryCelsius", "Intake", "DataSourceUri") != ch+"/Sensors/InletTemp" {
			t.Errorf("on=%v: summary %v", on, tm["TemperatureSummaryCelsius"])
		}
		if internal := at(tm, "TemperatureSummaryCelsius", "Internal"); (internal != nil) != on {
			t.Errorf("on=%v: Internal %v", on, internal)
		}
	}
	e.get(ch+"/ThermalSubsystem/Fans/Fan9").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(ch+"/ThermalSubsystem/Fans/InletTemp").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get("/redfish/v1/Chassis/9/ThermalSubsystem").wantError(http.StatusNotFound, "ResourceNotFound")
	// A backend without sensors: empty, not broken.
	if n := at(e.get("/redfish/v1/Chassis/pkvm/ThermalSubsystem/Fans").obj(), "Members@odata.count"); n != 0.0 {
		t.Errorf("pkvm fans %v", n)
	}
	e.get("/redfish/v1/Chassis/pkvm/ThermalSubsystem/ThermalMetrics").want(http.StatusOK)
}

// TestPowerSubsystem checks PowerSubsystem, its PowerSupplies and their
// Metrics against the deprecated Power resource's PowerSupplies.
func TestPowerSubsystem(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	const ch = "/redfish/v1/Chassis/0"
	if at(e.get(ch).obj(), "PowerSubsystem", "@odata.id") != ch+"/PowerSubsystem" {
		t.Fatal("Chassis does not link PowerSubsystem")
	}
	sub := e.get(ch + "/PowerSubsystem").obj()
	if sub["CapacityWatts"] != 800.0 || at(sub, "PowerSupplyRedundancy", 0, "RedundancyType") != "NPlusM" ||
		len(at(sub, "PowerSupplyRedundancy", 0, "RedundancyGroup").([]any)) != 2 || at(sub, "Status", "Health") != "OK" {
		t.Errorf("PowerSubsystem %v", sub)
	}
	e.powerOn("0")
	coll := e.get(ch + "/PowerSubsystem/PowerSupplies").obj()
	members, _ := coll["Members"].([]any)
	if len(members) != 2 {
		t.Fatalf("PowerSupplies %v", coll)
	}
	legacy := e.get(ch + "/Power").obj()["PowerSupplies"].([]any)
	for i, m := range members {
		path := at(m, "@odata.id").(string)
		p := e.get(path).obj()
		old := legacy[i]
		for _, k := range []string{"SerialNumber", "Model", "FirmwareVersion", "PowerCapacityWatts", "PartNumber"} {
			if p[k] != at(old, k) || p[k] == nil {
				t.Errorf("%s: %s %v, Power says %v", path, k, p[k], at(old, k))
			}
		}
		if p["LineInputStatus"] != "Normal" || p["InputNominalVoltageType"] != "AC200To240V" || p["PowerSupplyType"] != "AC" ||
			at(p, "Location", "PartLocation", "LocationOrdinalValue") != float64(i) || at(p, "Metrics", "@odata.id") != path+"/Metrics" {
			t.Errorf("%s: %v", path, p)
		}
		met := e.get(path + "/Metrics").obj()
		out, _ := at(met, "OutputPowerWatts", "Reading").(float64)
		if want, _ := at(old, "PowerOutputWatts").(float64); out <= 0 || out < want-10 || out > want+10 {
			t.Errorf("%s: output %v W, Power says %v W", path, out, want)
		}
		if v, _ := at(met, "InputVoltage", "Reading").(float64); v < 200 || v > 240 {
			t.Errorf("%s: input voltage %v", path, v)
		}
	}
	e.get(ch+"/PowerSubsystem/PowerSupplies/PSU3").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(ch+"/PowerSubsystem/PowerSupplies/PSU3/Metrics").wantError(http.StatusNotFound, "ResourceNotFound")
	// A backend without supplies: no capacity, no redundancy, no members.
	pk := e.get("/redfish/v1/Chassis/pkvm/PowerSubsystem").obj()
	if pk["CapacityWatts"] != 0.0 || pk["PowerSupplyRedundancy"] != nil {
		t.Errorf("pkvm PowerSubsystem %v", pk)
	}
	if n := at(e.get("/redfish/v1/Chassis/pkvm/PowerSubsystem/PowerSupplies").obj(), "Members@odata.count"); n != 0.0 {
		t.Errorf("pkvm supplies %v", n)
	}
}

// TestRenderPowerSupplyInput covers the input states the sim never shows:
// a unit that cannot be read, and a line outside the unit's input range.
func TestRenderPowerSupplyInput(t *testing.T) {
	base := hardware.PowerSupply{ID: "PSU1", Name: "PSU 1", InputType: "AC", NominalVoltage: "AC200To240V",
		MinVoltage: 200, MaxVoltage: 240, CapacityWatts: 500}
	for _, tc := range []struct {
		name      string
		available bool
		volts     float64
		status    any
		nominal   any
		state     string
		reading   any
	}{
		{"normal", true, 231, "Normal", "AC200To240V", "Enabled", 231.0},
		{"out of range", true, 180, "OutOfRange", nil, "Enabled", 180.0},
		{"unreadable", false, 0, nil, nil, "UnavailableOffline", nil},
	} {
		p := base
		p.Available, p.InputVoltage = tc.available, tc.volts
		v := renderPowerSupply("/x", p)
		if v["LineInputStatus"] != tc.status || v["InputNominalVoltageType"] != tc.nominal || at(v, "Status", "State") != tc.state {
			t.Errorf("%s: LineInputStatus %v, InputNominalVoltageType %v, Status %v", tc.name, v["LineInputStatus"], v["InputNominalVoltageType"], v["Status"])
		}
		if got := at(renderPowerSupplyMetrics("/x/Metrics", p), "InputVoltage", "Reading"); got != tc.reading {
			t.Errorf("%s: metrics input voltage %v, want %v", tc.name, got, tc.reading)
		}
	}
	if v := renderPowerSupply("/x", hardware.PowerSupply{ID: "P"}); v["PowerSupplyType"] != nil || v["InputRanges"] != nil || v["Location"] != nil {
		t.Errorf("unlabelled unit: %v", v)
	}
}
