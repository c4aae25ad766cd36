package ipmi

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/sim"
)

// parkedStates are the power states a machine can be found in; "On+POST"
// is On while the firmware POSTs after a warm reset.
var parkedStates = []string{"Off", "PoweringOn", "On", "On+POST", "PoweringOff"}

// parkedSim is a simulated machine brought to state the real way, with
// every delay so long that it stays there for the whole test.
func parkedSim(t *testing.T, state string) *sim.Machine {
	t.Helper()
	const forever = time.Hour
	on := state == "On" || state == "On+POST" || state == "PoweringOff"
	b := sim.New(sim.Config{ID: "0", Seed: "ipmi-test", PowerOnDelay: forever, PowerOffDelay: forever, ShutdownDelay: forever, PoweredOn: on})
	var r hardware.ResetType
	switch state {
	case "PoweringOn":
		r = hardware.ResetOn
	case "On+POST":
		r = hardware.ResetForceRestart
	case "PoweringOff":
		r = hardware.ResetGracefulShutdown
	}
	if r != "" {
		if err := b.Reset(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestChassisControlAgreesWithStatus runs every Chassis Control from every
// power state: whatever Get Chassis Status reports beforehand decides the
// answer (with the power on, every control is carried out, including a
// diagnostic interrupt or soft off while the host POSTs after a warm
// reset; with it off, power cycle, hard reset and diagnostic interrupt
// answer D5h), and the status afterwards is the machine's.
func TestChassisControlAgreesWithStatus(t *testing.T) {
	// The state each control leaves the machine in right away.
	after := map[string]map[byte]hardware.PowerState{
		"Off":         {0: "Off", 1: "PoweringOn", 2: "Off", 3: "Off", 4: "Off", 5: "Off"},
		"PoweringOn":  {0: "Off", 1: "PoweringOn", 2: "Off", 3: "PoweringOn", 4: "PoweringOn", 5: "Off"},
		"On":          {0: "Off", 1: "On", 2: "Off", 3: "On", 4: "On", 5: "PoweringOff"},
		"On+POST":     {0: "Off", 1: "On", 2: "Off", 3: "On", 4: "On", 5: "Off"},
		"PoweringOff": {0: "Off", 1: "PoweringOff", 2: "Off", 3: "On", 4: "PoweringOff", 5: "PoweringOff"},
	}
	for _, state := range parkedStates {
		for ctl := byte(0); ctl <= 5; ctl++ {
			t.Run(fmt.Sprintf("%s/%d", state, ctl), func(t *testing.T) {
				e := newEnv(t, parkedSim(t, state))
				c := e.mustLogin(17, operUser, operPass, PrivOperator)
				cc, st := c.mustCmd(NetFnChassis, 0x01)
				if cc != CCOK {
					t.Fatalf("chassis status %#x", cc)
				}
				powered := st[0]&0x01 != 0
				if want := state != "Off"; powered != want {
					t.Fatalf("chassis status says power on = %v in %s", powered, state)
				}
				want := byte(CCOK)
				if !powered && (ctl == 2 || ctl == 3 || ctl == 4) {
					want = CCNotInPresentState
				}
				if cc, _ := c.mustCmd(NetFnChassis, 0x02, ctl); cc != want {
					t.Fatalf("chassis control %d with power on = %v: %#x, want %#x", ctl, powered, cc, want)
				}
				ps, _ := e.m.PowerState(context.Background())
				if ps != after[state][ctl] {
					t.Errorf("after control %d: %s, want %s", ctl, ps, after[state][ctl])
				}
				if _, st := c.mustCmd(NetFnChassis, 0x01); (st[0]&0x01 != 0) != (ps != hardware.PowerOff) {
					t.Errorf("chassis status % x while the machine is %s", st, ps)
				}
				// Get ACPI Power State says the same.
				if _, d := c.mustCmd(NetFnApp, 0x07); (d[0] == 0x00) != (ps != hardware.PowerOff) {
					t.Errorf("ACPI power state % x while the machine is %s", d, ps)
				}
			})
		}
	}
}

// The user's report: right after "power reset", "power status" says on,
// and "power diag" and "power soft" must be carried out, not refused.
func TestControlsAfterWarmReset(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != CCOK {
		t.Fatalf("power up %#x", cc)
	}
	e.waitPower(hardware.PowerOn)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x03); cc != CCOK {
		t.Fatalf("hard reset %#x", cc)
	}
	if _, st := c.mustCmd(NetFnChassis, 0x01); st[0]&0x01 == 0 {
		t.Fatalf("power off right after a warm reset: % x", st)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x04); cc != CCOK {
		t.Fatalf("diag right after a warm reset: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x05); cc != CCOK {
		t.Fatalf("soft off right after a warm reset: %#x", cc)
	}
	e.waitPower(hardware.PowerOff)
}

// "Last power on via IPMI" follows the power-on, not every command: a
// hard reset or an NMI keeps it, a Redfish power-on clears it.
func TestLastPowerOnViaIPMI(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	viaIPMI := func() bool {
		_, st := c.mustCmd(NetFnChassis, 0x01)
		return st[1]&0x10 != 0
	}
	c.mustCmd(NetFnChassis, 0x02, 0x01)
	e.waitPower(hardware.PowerOn)
	for _, ctl := range []byte{0x04, 0x03, 0x01} {
		if cc, _ := c.mustCmd(NetFnChassis, 0x02, ctl); cc != CCOK || !viaIPMI() {
			t.Fatalf("after control %d: %#x, via IPMI %v", ctl, cc, viaIPMI())
		}
	}
	e.waitPower(hardware.PowerOn)
	if cc, d := c.mustCmd(NetFnChassis, 0x07); cc != CCOK || d[0] != 0x01 {
		t.Fatalf("restart cause % x", d)
	}
	if err := e.m.Reset(context.Background(), hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	e.waitPower(hardware.PowerOn)
	if viaIPMI() {
		t.Error("a power-on from elsewhere reads as via IPMI")
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != CCOK || viaIPMI() {
		t.Error("power up of a machine already on counts as an IPMI power-on")
	}
}

// slowPress is a power switch whose resets take as long as a board's
// press sequence, or fail with err.
type slowPress struct {
	backendtest.Switch
	hold  time.Duration
	err   error
	calls atomic.Int32
}

func (s *slowPress) Attach(h hardware.Host) hardware.Parts {
	p := s.Switch.Attach(h)
	p.Power = s
	return p
}

func (s *slowPress) Reset(ctx context.Context, r hardware.ResetType) error {
	s.calls.Add(1)
	if s.err != nil {
		return s.err
	}
	time.Sleep(s.hold)
	return s.Switch.Reset(ctx, r)
}

// TestChassisControlAnswersBeforeALongPress: a reset that takes longer
// than a client waits (a board holds the power button 5.5 s) is answered
// OK before it ends (§28.3 allows it), once, and carried out; a reset
// refused at once is answered with its completion code.
func TestChassisControlAnswersBeforeALongPress(t *testing.T) {
	b := &slowPress{hold: 3 * time.Second}
	e := newEnv(t, b, func(c *Config) { c.ChassisAnswerWait = 300 * time.Millisecond })
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	start := time.Now()
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != CCOK {
		t.Fatalf("power up: %#x", cc)
	}
	if d := time.Since(start); d >= b.hold {
		t.Errorf("answered after %v, the whole press", d)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ps, _ := e.m.PowerState(context.Background()); ps == hardware.PowerOn {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reset answered early was not carried out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := b.calls.Load(); n != 1 {
		t.Errorf("%d resets, want 1", n)
	}

	busy := &slowPress{err: fmt.Errorf("a press runs: %w", hardware.ErrBusy)}
	e = newEnv(t, busy)
	c = e.mustLogin(17, operUser, operPass, PrivOperator)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc == CCOK {
		t.Errorf("a busy reset answered OK")
	}
}
