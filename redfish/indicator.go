package redfish

import (
	"net/http"

	"github.com/bmcd/bmcd/hardware"
)

// The identify indication, shown on a ComputerSystem and its Chassis as
// IndicatorLED (Lit, Blinking, Off: what was set reads back) and
// LocationIndicatorActive (true while it is on, whatever its look). IPMI's
// Chassis Identify shows here too: a timed indication as Blinking, a
// forced one as Lit.

// indicator renders the identify indication as IndicatorLED and
// LocationIndicatorActive.
func indicator(m *hardware.Machine) (led hardware.IdentifyMode, active bool) {
	id := m.Identify()
	return id.Mode, id.On()
}

// identifyWriteable are the identify properties a PATCH sets.
var identifyWriteable = []string{"IndicatorLED", "LocationIndicatorActive"}

// addIndicator puts the identify properties, the values IndicatorLED
// accepts, and that both are writable, into a resource being rendered.
func addIndicator(v M, m *hardware.Machine) {
	v["IndicatorLED"], v["LocationIndicatorActive"] = indicator(m)
	v["IndicatorLED@Redfish.AllowableValues"] = hardware.IdentifyModes
	addWriteable(v, identifyWriteable...)
}

// identifySetting turns IndicatorLED and LocationIndicatorActive from a
// PATCH body (nil when absent) into the setting to apply: nil when the
// body sets neither. IndicatorLED Lit or Blinking stays so until changed;
// LocationIndicatorActive true keeps the present look (Blinking if the
// indication was off) and makes it indefinite; either Off or false turns
// it off. The two disagreeing is PropertyValueConflict.
func identifySetting(m *hardware.Machine, led *string, active *bool) (*hardware.IdentifySetting, error) {
	if led != nil && active != nil && (*led == string(hardware.IdentifyOff)) == *active {
		return nil, apiErr(http.StatusBadRequest, "PropertyValueConflict", "IndicatorLED", "LocationIndicatorActive")
	}
	switch {
	case led != nil:
		mode := hardware.IdentifyMode(*led)
		if !mode.Valid() { // the body's validation tags keep this out
			return nil, apiErr(http.StatusBadRequest, "PropertyValueNotInList", *led, "/IndicatorLED")
		}
		return &hardware.IdentifySetting{Mode: mode}, nil
	case active != nil && !*active:
		return &hardware.IdentifySetting{Mode: hardware.IdentifyOff}, nil
	case active != nil:
		mode := m.Identify().Mode
		if mode == hardware.IdentifyOff {
			mode = hardware.IdentifyBlinking
		}
		return &hardware.IdentifySetting{Mode: mode}, nil
	}
	return nil, nil
}
