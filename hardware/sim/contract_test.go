package sim_test

import (
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/sim"
)

// TestContract: the simulation keeps the contract every backend keeps.
func TestContract(t *testing.T) {
	const d = 20 * time.Millisecond
	backendtest.Run(t, backendtest.Config{New: func(t *testing.T) hardware.Backend {
		return sim.New(sim.Config{ID: "contract", Seed: "backendtest", PowerOnDelay: d, PowerOffDelay: d, ShutdownDelay: d})
	}})
}
