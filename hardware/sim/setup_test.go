package sim

import (
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"gopkg.in/yaml.v3"
)

// newFromConfig builds system rack1 from text, the value of its `sim:`
// block, as cmd/bmcd does.
func newFromConfig(t *testing.T, text string) (hardware.Backend, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return hardware.NewBackend("sim", hardware.Setup{ID: "rack1", Seed: "seed", Config: backendconfig.New("sim", &n)})
}

func TestSetup(t *testing.T) {
	for text, want := range map[string]Config{
		"": {PowerOnDelay: DefaultPowerOnDelay, PowerOffDelay: DefaultPowerOffDelay, ShutdownDelay: DefaultShutdownDelay},
		"{power_on_delay: 100ms, power_off_delay: 2s, shutdown_delay: 1m, powered_on: true}": {
			PowerOnDelay: 100 * time.Millisecond, PowerOffDelay: 2 * time.Second, ShutdownDelay: time.Minute, PoweredOn: true,
		},
	} {
		b, err := newFromConfig(t, text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		m := b.(*Machine)
		got := m.cfg
		if got.ID != "rack1" || got.Seed != "seed" || got.PowerOnDelay != want.PowerOnDelay || got.PowerOffDelay != want.PowerOffDelay ||
			got.ShutdownDelay != want.ShutdownDelay || got.PoweredOn != want.PoweredOn {
			t.Errorf("%q: config %+v", text, got)
		}
		if want.PoweredOn != (m.state == hardware.PowerOn) {
			t.Errorf("%q: power %v", text, m.state)
		}
		if m.Info().UUID != New(Config{ID: "rack1", Seed: "seed"}).Info().UUID {
			t.Errorf("%q: identity not derived from the seed and Id", text)
		}
		m.Close()
	}
}

func TestSetupErrors(t *testing.T) {
	for text, want := range map[string]string{
		"{power_on_delay: x}":    `system rack1: sim.power_on_delay: time: invalid duration "x"`,
		"{power_off_delay: -1s}": "system rack1: sim.power_off_delay: -1s is below the minimum 0",
		"{shutdown_delay: 3}":    `system rack1: sim.shutdown_delay: time: missing unit in duration "3"`,
		"{powered_on: yes-ish}":  "system rack1: sim.powered_on: cannot unmarshal !!str `yes-ish` into bool",
		"{power_on: true}":       "system rack1: sim.power_on: unknown parameter (known: power_on_delay, power_off_delay, shutdown_delay, powered_on)",
	} {
		if _, err := newFromConfig(t, text); err == nil || err.Error() != want {
			t.Errorf("%s:\n got  %v\n want %s", text, err, want)
		}
	}
}
