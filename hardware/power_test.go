package hardware_test

import (
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestNmiIsNotAReset: an NMI is logged but leaves LastReset alone; the
// host keeps running.
func TestNmiIsNotAReset(t *testing.T) {
	e := newEnv(t)
	if err := e.m.Reset(t.Context(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "On", func() bool { return e.power() == hardware.PowerOn })
	last := e.m.LastReset()
	if err := e.m.Reset(t.Context(), hardware.ResetNmi); err != nil {
		t.Fatal(err)
	}
	if !e.m.LastReset().Equal(last) {
		t.Error("an NMI moved LastReset")
	}
	if evs := e.m.Events(); evs[len(evs)-1].Kind != hardware.EventNmi {
		t.Errorf("last event %+v", evs[len(evs)-1])
	}
}

// A warm reset keeps the power on: the Machine reports POST, then the
// firmware boots (once) and the host runs again, with no power events.
func TestWarmReset(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "On", func() bool { return e.power() == hardware.PowerOn && !e.m.InPOST() })
	boots, offs := count(e.m.Events(), hardware.EventBoot), count(e.m.Events(), hardware.EventPowerOff)
	if err := e.m.Reset(ctx, hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if e.power() != hardware.PowerOn || !e.m.InPOST() {
		t.Fatalf("right after ForceRestart: %s, POST %v", e.power(), e.m.InPOST())
	}
	poll(t, "the boot", func() bool { return count(e.m.Events(), hardware.EventBoot) == boots+1 })
	if e.power() != hardware.PowerOn || e.m.InPOST() || count(e.m.Events(), hardware.EventPowerOff) != offs {
		t.Errorf("after the warm reset: %s, POST %v, %d power-off events", e.power(), e.m.InPOST(), count(e.m.Events(), hardware.EventPowerOff)-offs)
	}
}
