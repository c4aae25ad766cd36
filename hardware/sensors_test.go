package hardware

import (
	"slices"
	"testing"
)

func TestSensorHealth(t *testing.T) {
	volts := Thresholds{LowerCritical: At(10.8), LowerCaution: At(11.4), UpperCaution: At(12.6), UpperCritical: At(13.2)}
	// The sim's inlet: a lower critical limit of 0 °C is a limit.
	inlet := Thresholds{LowerCritical: At(0), LowerCaution: At(5), UpperCaution: At(40), UpperCritical: At(45)}
	for _, tc := range []struct {
		name      string
		th        Thresholds
		reading   float64
		available bool
		sev       Severity
		crossed   []ThresholdKind
	}{
		{"normal", volts, 12, true, SeverityOK, nil},
		{"lower caution", volts, 11, true, SeverityWarning, []ThresholdKind{LowerCaution}},
		{"at lower caution", volts, 11.4, true, SeverityWarning, []ThresholdKind{LowerCaution}},
		{"lower critical", volts, 10, true, SeverityCritical, []ThresholdKind{LowerCritical, LowerCaution}},
		{"at upper caution", volts, 12.6, true, SeverityWarning, []ThresholdKind{UpperCaution}},
		{"upper critical", volts, 14, true, SeverityCritical, []ThresholdKind{UpperCaution, UpperCritical}},
		{"unavailable", volts, 0, false, SeverityOK, nil},
		{"zero limit", inlet, 0, true, SeverityCritical, []ThresholdKind{LowerCritical, LowerCaution}},
		{"below zero", inlet, -3, true, SeverityCritical, []ThresholdKind{LowerCritical, LowerCaution}},
		{"cold", inlet, 3, true, SeverityWarning, []ThresholdKind{LowerCaution}},
		{"no thresholds", Thresholds{}, -1e9, true, SeverityOK, nil},
		{"upper only", Thresholds{UpperCritical: At(750)}, 0, true, SeverityOK, nil},
		{"critical without caution", Thresholds{UpperCritical: At(750)}, 800, true, SeverityCritical, []ThresholdKind{UpperCritical}},
	} {
		s := Sensor{Reading: tc.reading, Available: tc.available, Thresholds: tc.th}
		h := s.Health()
		if h.Severity != tc.sev || !slices.Equal(h.Crossed, tc.crossed) {
			t.Errorf("%s: %+v, want %s %v", tc.name, h, tc.sev, tc.crossed)
		}
	}
}

func TestThresholds(t *testing.T) {
	th := Thresholds{LowerCritical: At(0), UpperCaution: At(40)}
	for _, tc := range []struct {
		k    ThresholdKind
		want Threshold
	}{
		{LowerCritical, Threshold{0, true}},
		{LowerCaution, Threshold{}},
		{UpperCaution, Threshold{40, true}},
		{UpperCritical, Threshold{}},
		{"Fatal", Threshold{}},
	} {
		if got := th.Get(tc.k); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.k, got, tc.want)
		}
	}
	if v, ok := th.Highest(); v != 40 || !ok {
		t.Errorf("highest %v %v", v, ok)
	}
	if v, ok := (Thresholds{LowerCritical: At(-5)}).Highest(); v != -5 || !ok {
		t.Errorf("highest of one negative %v %v", v, ok)
	}
	if _, ok := (Thresholds{}).Highest(); ok {
		t.Error("highest of none")
	}
}
