package sim

import (
	"context"
	"math"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestPowerSupplies checks the two load-sharing supplies: stable identity,
// a label a real unit would carry, and outputs that add up to the system's
// draw (TotalPower) whether the host is on or in standby.
func TestPowerSupplies(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		m := New(Config{ID: "7", Seed: "seed", PoweredOn: on})
		psus, err := m.PowerSupplies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(psus) != 2 {
			t.Fatalf("on=%v: %d power supplies, want 2", on, len(psus))
		}
		sensors, _ := m.Sensors(ctx)
		var total float64
		for _, s := range sensors {
			if s.ID == "TotalPower" {
				total = s.Reading
			}
		}
		var out float64
		for i, p := range psus {
			if p.ID == "" || p.SerialNumber == "" || p.FirmwareVersion == "" || p.Model == "" || p.Bay != i+1 {
				t.Errorf("on=%v: unlabelled supply %+v", on, p)
			}
			if p.CapacityWatts != 800 || p.InputType != "AC" || p.NominalVoltage != "AC200To240V" || !p.Available {
				t.Errorf("on=%v: %+v", on, p)
			}
			if p.InputVoltage < p.MinVoltage || p.InputVoltage > p.MaxVoltage {
				t.Errorf("on=%v: input %.1f V outside %v..%v", on, p.InputVoltage, p.MinVoltage, p.MaxVoltage)
			}
			if p.InputWatts <= p.OutputWatts || p.OutputWatts <= 0 {
				t.Errorf("on=%v: input %.1f W, output %.1f W", on, p.InputWatts, p.OutputWatts)
			}
			out += p.OutputWatts
		}
		// The sensor may be read a second later than the supplies.
		if math.Abs(out-total) > 15 {
			t.Errorf("on=%v: supplies deliver %.1f W, TotalPower reads %.1f W", on, out, total)
		}
		again, _ := New(Config{ID: "7", Seed: "seed"}).PowerSupplies(ctx)
		other, _ := New(Config{ID: "8", Seed: "seed"}).PowerSupplies(ctx)
		if again[0].SerialNumber != psus[0].SerialNumber || other[0].SerialNumber == psus[0].SerialNumber ||
			psus[0].SerialNumber == psus[1].SerialNumber {
			t.Errorf("serial numbers not stable and distinct: %s %s %s %s",
				psus[0].SerialNumber, psus[1].SerialNumber, again[0].SerialNumber, other[0].SerialNumber)
		}
	}
	var _ hardware.PowerSupplyReader = (*Machine)(nil)
}
