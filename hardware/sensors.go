package hardware

import "context"

// SensorReader is the sensors of backends that report them; without it
// the machine lists none.
type SensorReader interface {
	Sensors(ctx context.Context) ([]Sensor, error)
}

// SensorType classifies a sensor.
type SensorType string

// Sensor types.
const (
	SensorTemperature SensorType = "Temperature"
	SensorFan         SensorType = "Fan"
	SensorPower       SensorType = "Power"
	SensorVoltage     SensorType = "Voltage"
)

// Sensor is one reading with its thresholds. Units: Cel, RPM, W, V.
type Sensor struct {
	ID        string
	Name      string
	Type      SensorType
	Reading   float64
	Units     string
	Available bool // false when the reading does not apply (host off)
	// Thresholds are the limits the reading is judged by (Health); each
	// is optional, and 0 is a limit like any other (0 °C).
	Thresholds Thresholds
	// PhysicalContext is where the sensor is, in the Redfish
	// PhysicalContext vocabulary ("Intake", "CPU", "Fan", "SystemBoard",
	// "PowerSubsystem", ...); "" if unknown.
	PhysicalContext string
	// RangeMin and RangeMax bound the readings the sensor can report (a
	// fan's RangeMax is its rated speed); both zero when unknown.
	RangeMin, RangeMax float64
}

// HasRange reports whether the sensor's reading range is known.
func (s Sensor) HasRange() bool { return s.RangeMin != 0 || s.RangeMax != 0 }

// Threshold is one limit of a sensor, in the sensor's units. Set is false
// when the sensor has no such limit (Value is then meaningless).
type Threshold struct {
	Value float64
	Set   bool
}

// At is a threshold set at v.
func At(v float64) Threshold { return Threshold{Value: v, Set: true} }

// ThresholdKind names one of a sensor's thresholds, in the Redfish
// Thresholds vocabulary. IPMI calls them lower critical (LC), lower
// non-critical (LNC), upper non-critical (UNC) and upper critical (UC).
type ThresholdKind string

// Threshold kinds. Non-recoverable (Redfish Fatal) limits are not modelled.
const (
	LowerCritical ThresholdKind = "LowerCritical"
	LowerCaution  ThresholdKind = "LowerCaution"
	UpperCaution  ThresholdKind = "UpperCaution"
	UpperCritical ThresholdKind = "UpperCritical"
)

// ThresholdKinds lists every kind, lowest limit first.
var ThresholdKinds = []ThresholdKind{LowerCritical, LowerCaution, UpperCaution, UpperCritical}

// Upper reports whether k is an upper limit: the reading crosses it at or
// above its value (a lower one at or below).
func (k ThresholdKind) Upper() bool { return k == UpperCaution || k == UpperCritical }

// Critical reports whether crossing k is critical (else a caution).
func (k ThresholdKind) Critical() bool { return k == LowerCritical || k == UpperCritical }

// Thresholds are a sensor's limits; any may be unset.
type Thresholds struct {
	LowerCritical, LowerCaution, UpperCaution, UpperCritical Threshold
}

// Get returns the threshold of kind k (unset for an unknown kind).
func (t Thresholds) Get(k ThresholdKind) Threshold {
	switch k {
	case LowerCritical:
		return t.LowerCritical
	case LowerCaution:
		return t.LowerCaution
	case UpperCaution:
		return t.UpperCaution
	case UpperCritical:
		return t.UpperCritical
	}
	return Threshold{}
}

// Highest is the largest value of the thresholds that are set; ok is
// false when none is.
func (t Thresholds) Highest() (v float64, ok bool) {
	for _, k := range ThresholdKinds {
		if th := t.Get(k); th.Set && (!ok || th.Value > v) {
			v, ok = th.Value, true
		}
	}
	return v, ok
}

// Crossed reports whether the reading is at or beyond threshold k: at or
// above an upper limit, at or below a lower one (IPMI §35.14's "at or
// above/below threshold" status bits, Redfish's threshold crossings).
// False when k is not set or the reading is not available.
func (s Sensor) Crossed(k ThresholdKind) bool {
	th := s.Thresholds.Get(k)
	if !th.Set || !s.Available {
		return false
	}
	if k.Upper() {
		return s.Reading >= th.Value
	}
	return s.Reading <= th.Value
}

// SensorHealth is what a sensor's thresholds say of its reading.
type SensorHealth struct {
	// Severity is Critical when a critical limit is crossed, Warning when
	// only a caution one is, else OK (Redfish Status.Health). A reading
	// that is not available is OK: the sensor is off, not failing.
	Severity Severity
	// Crossed is every limit the reading is at or beyond, in
	// ThresholdKinds order: a reading below its lower critical limit is
	// below its lower caution limit too (IPMI sets both status bits).
	Crossed []ThresholdKind
}

// Health judges the reading against the thresholds that are set.
func (s Sensor) Health() SensorHealth {
	h := SensorHealth{Severity: SeverityOK}
	for _, k := range ThresholdKinds {
		if !s.Crossed(k) {
			continue
		}
		h.Crossed = append(h.Crossed, k)
		if k.Critical() {
			h.Severity = SeverityCritical
		} else if h.Severity == SeverityOK {
			h.Severity = SeverityWarning
		}
	}
	return h
}

// Sensors returns the backend's readings, or none.
func (m *Machine) Sensors(ctx context.Context) ([]Sensor, error) {
	if m.parts.Sensors == nil {
		return nil, nil
	}
	return m.parts.Sensors.Sensors(ctx)
}
