package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated server has two hot-pluggable 800 W AC power supplies that
// share the load (1+1 redundant): each delivers half of the system's draw
// (the TotalPower sensor) at 92 % efficiency from a 230 V line.
const (
	psuCapacityWatts = 800
	psuEfficiency    = 0.92
	psuCount         = 2
)

// PowerSupplies implements hardware.PowerSupplyReader.
func (m *Machine) PowerSupplies(context.Context) ([]hardware.PowerSupply, error) {
	on := m.hostPowered()
	t := float64(time.Now().Unix())
	out := math.Round(totalPower(on, t)/psuCount*10) / 10
	h := hardware.DeriveIdentity(m.cfg.Seed, m.cfg.ID).Sum("bmcd-sim-psu")
	psus := make([]hardware.PowerSupply, psuCount)
	for i := range psus {
		n := i + 1
		psus[i] = hardware.PowerSupply{
			ID:              fmt.Sprintf("PSU%d", n),
			Name:            fmt.Sprintf("Power Supply %d", n),
			Bay:             n,
			Manufacturer:    "bmcd",
			Model:           "Simulated PSU 800W Platinum",
			SerialNumber:    fmt.Sprintf("SIMP%X%d", h[0:4], n),
			PartNumber:      "PSU-800-AC",
			FirmwareVersion: "1.4.2",
			CapacityWatts:   psuCapacityWatts,
			InputType:       "AC",
			NominalVoltage:  "AC200To240V",
			MinVoltage:      200,
			MaxVoltage:      240,
			HotPluggable:    true,
			Available:       true,
			InputVoltage:    230 + wobble(t+float64(i)*17, 120, 1.5),
			OutputWatts:     out,
			InputWatts:      math.Round(out/psuEfficiency*10) / 10,
		}
	}
	return psus, nil
}
