package sim

import (
	"context"
	"math"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Sensors implements hardware.SensorReader. Readings follow power state
// and wander slowly, as a real board's do.
func (m *Machine) Sensors(context.Context) ([]hardware.Sensor, error) {
	m.mu.Lock()
	// The host draws power in every state but Off: PoweringOff is the OS
	// still shutting down.
	on := m.state != hardware.PowerOff
	m.mu.Unlock()
	t := float64(time.Now().Unix())
	wobble := func(period, amp float64) float64 { return math.Round(amp*math.Sin(t/period)*10) / 10 }
	cpu, fan, watts := 28.0, 0.0, 9.0
	if on {
		cpu, fan, watts = 46+wobble(60, 3), 5400+math.Round(wobble(45, 300)), 182+math.Round(wobble(30, 15))
	}
	return []hardware.Sensor{
		{ID: "InletTemp", Name: "Inlet Temp", Type: hardware.SensorTemperature, Reading: 23 + wobble(300, 1), Units: "Cel", Available: true,
			UpperCaution: 40, UpperCritical: 45, LowerCaution: 5, LowerCritical: 0},
		{ID: "CPU1Temp", Name: "CPU1 Temp", Type: hardware.SensorTemperature, Reading: cpu, Units: "Cel", Available: on,
			UpperCaution: 85, UpperCritical: 95, LowerCaution: 5, LowerCritical: 0},
		{ID: "CPU2Temp", Name: "CPU2 Temp", Type: hardware.SensorTemperature, Reading: cpu - 1.5, Units: "Cel", Available: on,
			UpperCaution: 85, UpperCritical: 95, LowerCaution: 5, LowerCritical: 0},
		{ID: "Fan1", Name: "Fan 1", Type: hardware.SensorFan, Reading: fan, Units: "RPM", Available: on,
			LowerCaution: 1000, LowerCritical: 500, UpperCaution: 14000, UpperCritical: 16000},
		{ID: "Fan2", Name: "Fan 2", Type: hardware.SensorFan, Reading: fan * 0.98, Units: "RPM", Available: on,
			LowerCaution: 1000, LowerCritical: 500, UpperCaution: 14000, UpperCritical: 16000},
		{ID: "TotalPower", Name: "Total Power", Type: hardware.SensorPower, Reading: watts, Units: "W", Available: true,
			UpperCaution: 600, UpperCritical: 750},
		{ID: "P12V", Name: "12V Rail", Type: hardware.SensorVoltage, Reading: 12.05, Units: "V", Available: true,
			LowerCritical: 10.8, LowerCaution: 11.4, UpperCaution: 12.6, UpperCritical: 13.2},
	}, nil
}
