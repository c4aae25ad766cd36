package hardware_test

import (
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestResetOrigin: the machine records who asked for the last reset, and
// which reset applied the power now on, in one place for every protocol;
// both survive a restart of bmcd.
func TestResetOrigin(t *testing.T) {
	e := newEnv(t)
	ipmi := hardware.Origin{Protocol: hardware.ProtocolIPMI, User: "oper", Address: "127.0.0.1"}
	redfish := hardware.Origin{Protocol: hardware.ProtocolRedfish, User: "admin", Address: "127.0.0.2"}
	reset := func(o hardware.Origin, r hardware.ResetType) {
		t.Helper()
		if err := e.m.Reset(hardware.WithOrigin(t.Context(), o), r); err != nil {
			t.Fatal(err)
		}
	}
	cause := func() hardware.Origin {
		t.Helper()
		c, ok := e.m.PowerOnCause()
		if !ok {
			return hardware.Origin{Protocol: "none"}
		}
		return c.Origin
	}

	if _, ok := e.m.PowerOnCause(); ok {
		t.Fatal("a machine never powered on has a power-on cause")
	}
	reset(ipmi, hardware.ResetOn)
	poll(t, "On", func() bool { return e.power() == hardware.PowerOn })
	if got := e.m.LastResetRecord(); got.Origin != ipmi || got.Type != hardware.ResetOn || got.Time.IsZero() {
		t.Errorf("last reset %+v", got)
	}
	if cause() != ipmi {
		t.Errorf("power-on cause %+v", cause())
	}
	// A warm reset and an NMI from elsewhere keep the power applied: the
	// cause stays; the restart is the last reset.
	reset(redfish, hardware.ResetForceRestart)
	poll(t, "booted", func() bool { return !e.m.InPOST() })
	reset(redfish, hardware.ResetNmi)
	if cause() != ipmi || e.m.LastResetRecord().Origin != redfish || e.m.LastResetRecord().Type != hardware.ResetForceRestart {
		t.Errorf("after a warm reset: cause %+v, last %+v", cause(), e.m.LastResetRecord())
	}
	// Powering on what is on applies nothing.
	reset(redfish, hardware.ResetOn)
	if cause() != ipmi {
		t.Errorf("On while on changed the cause to %+v", cause())
	}
	e.reopen()
	if cause() != ipmi || e.m.LastResetRecord().Origin != redfish {
		t.Errorf("after a restart: cause %+v, last %+v", cause(), e.m.LastResetRecord())
	}
	// A power cycle applies the power anew.
	reset(redfish, hardware.ResetPowerCycle)
	poll(t, "cycled", func() bool { return cause() == redfish && e.power() == hardware.PowerOn })
	reset(ipmi, hardware.ResetForceOff)
	if _, ok := e.m.PowerOnCause(); ok {
		t.Error("a machine that is off has a power-on cause")
	}
	// Power applied by other means (no reset asked for it) has no cause.
	reset(hardware.Origin{}, hardware.ResetOn)
	poll(t, "On", func() bool { return e.power() == hardware.PowerOn })
	if c, ok := e.m.PowerOnCause(); !ok || c.Origin != (hardware.Origin{}) {
		t.Errorf("cause %+v %v", c, ok)
	}
}
