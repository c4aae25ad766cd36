package redfish

import "strings"

// excerptProperties lists, per schema, the properties of the resource
// that the DMTF schemas (release 2025.4, copied in schemas/) mark with the
// Excerpt term. TestExcerptPropertiesMatchSchemas keeps it equal to them.
var excerptProperties = map[string][]string{
	"Control": {"AllowableMax", "AllowableMin", "AllowableNumericValues", "ControlLoop", "ControlMode",
		"DefaultSetPoint", "SetPoint", "SetPointUnits", "SettingMax", "SettingMin"},
	"Job":          {"EstimatedCompletionTime", "JobState", "PercentComplete"},
	"LeakDetector": {"DetectorState", "PhysicalContext", "PhysicalSubContext"},
	"Sensor": {"ApparentVA", "ApparentkVAh", "CrestFactor", "LifetimeReading", "PhaseAngleDegrees",
		"PhysicalContext", "PhysicalSubContext", "PowerFactor", "ReactiveVAR", "ReactivekVARh", "Reading",
		"SensorResetTime", "SpeedRPM", "THDPercent"},
}

// schemaName is the schema (namespace) of an @odata.type or a versioned
// schema name: "#Sensor.v1_12_0.Sensor" or "Sensor.v1_12_0" -> "Sensor".
func schemaName(odataType string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(odataType, "#"), ".")
	return name
}

// applyExcerpt keeps, in a resource, what the excerpt query parameter
// returns (DSP0266 "Query parameters"): the properties its schema marks Excerpt,
// their annotations, the reserved @odata properties and the required Id
// and Name. A resource whose schema marks no property is returned whole.
func applyExcerpt(obj map[string]any, odataType string) {
	props := excerptProperties[schemaName(odataType)]
	if len(props) == 0 {
		return
	}
	keep := map[string]bool{"Id": true, "Name": true}
	for _, p := range props {
		keep[p] = true
	}
	for k := range obj {
		base, _, _ := strings.Cut(k, "@")
		if !reservedProperties[k] && !keep[base] {
			delete(obj, k)
		}
	}
}
