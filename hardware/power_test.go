package hardware_test

import (
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/queue"
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
// firmware boots (once) and the host runs again, with no power events but
// a host reset entry.
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
	// The reset itself is in the log, with its type.
	if ev := last(t, e.m.Events(), hardware.EventHostReset); ev.ResetType != hardware.ResetForceRestart {
		t.Errorf("host reset entry %+v", ev)
	}
}

// TestRestartKeepsThePower: bmcd restarting (the Machine and the store
// reopened) is not a power loss: a host that was on is on at once, with
// no new boot and no power entries, and a reset afterwards works as usual.
func TestRestartKeepsThePower(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "On", func() bool { return e.power() == hardware.PowerOn && !e.m.InPOST() })
	before := e.m.Events()
	e.reopen()
	if err := e.m.CheckPower(ctx); err != nil {
		t.Fatal(err)
	}
	if e.power() != hardware.PowerOn || e.m.InPOST() {
		t.Fatalf("after a restart: %s, POST %v", e.power(), e.m.InPOST())
	}
	time.Sleep(5 * delay) // a boot would have happened by now
	if evs := e.m.Events(); len(evs) != len(before) {
		t.Errorf("the restart logged %v", evs[len(before):])
	}
	if err := e.m.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if evs := e.m.Events(); evs[len(evs)-1].Kind != hardware.EventPowerOff {
		t.Errorf("ForceOff after the restart logged %+v", evs[len(evs)-1])
	}
}

// TestCheckPower: a backend that observes a real host reports what it
// sees; a difference from the state recorded before bmcd stopped is logged
// and published as the power change it is. The first start records the
// state without an entry.
func TestCheckPower(t *testing.T) {
	st := newMemStore()
	ctx := t.Context()
	b := &atx{power: hardware.PowerOn}
	m, err := hardware.NewMachine("kvm", b, st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckPower(ctx); err != nil || len(m.Events()) != 0 {
		t.Fatalf("first start: %v, log %v", err, m.Events())
	}
	for _, c := range []struct {
		was, now hardware.PowerState
		kind     hardware.EventKind // "" for none
	}{
		{hardware.PowerOn, hardware.PowerOn, ""},
		{hardware.PowerOn, hardware.PowerOff, hardware.EventPowerOff},
		{hardware.PowerOff, hardware.PowerOff, ""},
		{hardware.PowerOff, hardware.PowerOn, hardware.EventPowerOn},
		{hardware.PowerOn, hardware.PowerPoweringOff, ""},
		{hardware.PowerPoweringOff, hardware.PowerOff, hardware.EventPowerOff},
	} {
		// The state recorded: what the backend last reported.
		b.mu.Lock()
		b.power = c.was
		b.mu.Unlock()
		if err := m.CheckPower(ctx); err != nil {
			t.Fatal(err)
		}
		_ = m.Close()
		// bmcd is down; the host changes; bmcd starts again.
		b = &atx{power: c.now}
		if m, err = hardware.NewMachine("kvm", b, st, quiet); err != nil {
			t.Fatal(err)
		}
		q := queue.New[hardware.MachineEvent](8)
		cancel := m.Subscribe(q)
		n := len(m.Events())
		if err := m.CheckPower(ctx); err != nil {
			t.Fatal(err)
		}
		evs := m.Events()[n:]
		switch {
		case c.kind == "" && len(evs) != 0:
			t.Errorf("%s -> %s: logged %v", c.was, c.now, evs)
		case c.kind != "" && (len(evs) != 1 || evs[0].Kind != c.kind):
			t.Errorf("%s -> %s: logged %v, want %s", c.was, c.now, evs, c.kind)
		case c.kind != "":
			if got := next(t, q); got.Kind != c.kind {
				t.Errorf("%s -> %s: published %+v", c.was, c.now, got)
			}
		}
		cancel()
	}
}
