package sim

import (
	"context"
	"math"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// wobble is a slow sine of the given period (seconds) and amplitude at
// time t (Unix seconds), rounded to a tenth.
func wobble(t, period, amp float64) float64 { return math.Round(amp*math.Sin(t/period)*10) / 10 }

// hostPowered reports whether the host draws power: in every state but Off
// (PoweringOff is the OS still shutting down).
func (m *Machine) hostPowered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state != hardware.PowerOff
}

// totalPower is the system's DC power draw in watts at time t: standby
// power when off.
func totalPower(on bool, t float64) float64 {
	if !on {
		return 9
	}
	return 182 + math.Round(wobble(t, 30, 15))
}

// Sensors implements hardware.SensorReader. Readings follow power state
// and wander slowly, as a real board's do.
func (m *Machine) Sensors(context.Context) ([]hardware.Sensor, error) {
	on := m.hostPowered()
	t := float64(time.Now().Unix())
	cpu, fan, watts := 28.0, 0.0, totalPower(on, t)
	if on {
		cpu, fan = 46+wobble(t, 60, 3), 5400+math.Round(wobble(t, 45, 300))
	}
	// A full set of limits, lowest first.
	limits := func(lc, lnc, unc, uc float64) hardware.Thresholds {
		return hardware.Thresholds{LowerCritical: hardware.At(lc), LowerCaution: hardware.At(lnc),
			UpperCaution: hardware.At(unc), UpperCritical: hardware.At(uc)}
	}
	return []hardware.Sensor{
		{ID: "InletTemp", Name: "Inlet Temp", Type: hardware.SensorTemperature, Reading: 23 + wobble(t, 300, 1), Units: "Cel", Available: true,
			Thresholds: limits(0, 5, 40, 45), PhysicalContext: "Intake", RangeMin: -40, RangeMax: 125},
		{ID: "CPU1Temp", Name: "CPU1 Temp", Type: hardware.SensorTemperature, Reading: cpu, Units: "Cel", Available: on,
			Thresholds: limits(0, 5, 85, 95), PhysicalContext: "CPU", RangeMin: 0, RangeMax: 125},
		{ID: "CPU2Temp", Name: "CPU2 Temp", Type: hardware.SensorTemperature, Reading: cpu - 1.5, Units: "Cel", Available: on,
			Thresholds: limits(0, 5, 85, 95), PhysicalContext: "CPU", RangeMin: 0, RangeMax: 125},
		{ID: "Fan1", Name: "Fan 1", Type: hardware.SensorFan, Reading: fan, Units: "RPM", Available: on,
			Thresholds: limits(500, 1000, 14000, 16000), PhysicalContext: "Fan", RangeMin: 0, RangeMax: 17000},
		{ID: "Fan2", Name: "Fan 2", Type: hardware.SensorFan, Reading: fan * 0.98, Units: "RPM", Available: on,
			Thresholds: limits(500, 1000, 14000, 16000), PhysicalContext: "Fan", RangeMin: 0, RangeMax: 17000},
		{ID: "TotalPower", Name: "Total Power", Type: hardware.SensorPower, Reading: watts, Units: "W", Available: true,
			Thresholds:      hardware.Thresholds{UpperCaution: hardware.At(600), UpperCritical: hardware.At(750)},
			PhysicalContext: "PowerSubsystem", RangeMin: 0, RangeMax: 1600},
		{ID: "P12V", Name: "12V Rail", Type: hardware.SensorVoltage, Reading: 12.05, Units: "V", Available: true,
			Thresholds: limits(10.8, 11.4, 12.6, 13.2), PhysicalContext: "SystemBoard", RangeMin: 0, RangeMax: 15},
	}, nil
}
