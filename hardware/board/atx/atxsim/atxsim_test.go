package atxsim

import (
	"context"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/board/atx"
)

// fast are the simulated server's timings in these tests, with the ATX
// part's presses scaled to match.
var fast = Timings{MinPress: 5 * time.Millisecond, ForceOffHold: 150 * time.Millisecond,
	OnDelay: 20 * time.Millisecond, ShutdownDelay: 40 * time.Millisecond, HDDActivity: 30 * time.Millisecond}

var fastATX = atx.Timings{ShortPress: 30 * time.Millisecond, LongPress: 250 * time.Millisecond,
	ResetPress: 30 * time.Millisecond, LEDDebounce: 60 * time.Millisecond, PowerCycleDelay: 150 * time.Millisecond}

func waitState(t *testing.T, a *atx.ATX, want hardware.PowerState) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := a.PowerState(context.Background())
		if s == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("power state %s, want %s", s, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The ATX part drives the simulated server through every reset it
// offers, and the power state follows the simulated LED.
func TestATXDrivesServer(t *testing.T) {
	s := New(fast, false, nil)
	defer s.Close()
	a, err := atx.New(s.Lines(), fastATX, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	steps := []struct {
		r    hardware.ResetType
		want hardware.PowerState
	}{
		{hardware.ResetOn, hardware.PowerOn},
		{hardware.ResetForceRestart, hardware.PowerOn},
		{hardware.ResetGracefulShutdown, hardware.PowerOff},
		{hardware.ResetForceOn, hardware.PowerOn},
		{hardware.ResetForceOff, hardware.PowerOff},
		{hardware.ResetPushPowerButton, hardware.PowerOn},
		{hardware.ResetPowerCycle, hardware.PowerOn},
	}
	for _, st := range steps {
		ps0, _ := a.PowerState(ctx)
		t.Logf("before %s: atx %s server %v", st.r, ps0, s.On())
		if err := a.Reset(ctx, st.r); err != nil {
			t.Fatalf("%s: %v", st.r, err)
		}
		waitState(t, a, st.want)
		for end := time.Now().Add(5 * time.Second); s.On() != (st.want == hardware.PowerOn); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: server on=%v presses %+v", st.r, s.On(), s.Presses())
			}
		}
	}
	if s.Resets() != 1 {
		t.Errorf("resets %d, want 1", s.Resets())
	}
	var long int
	for _, p := range s.Presses() {
		if p.Line == PowerButton && p.Held >= fast.ForceOffHold {
			long++
		}
	}
	if long != 2 { // ForceOff and the first half of PowerCycle
		t.Errorf("%d long presses, want 2: %+v", long, s.Presses())
	}
}

// A server switched on by hand is seen On; a press shorter than the
// server notices changes nothing.
func TestByHandAndShortPress(t *testing.T) {
	s := New(fast, false, nil)
	defer s.Close()
	a, err := atx.New(s.Lines(), fastATX, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s.SetPower(true)
	waitState(t, a, hardware.PowerOn)
	l, _ := s.Line(PowerButton, true)
	_ = l.SetValue(1)
	_ = l.SetValue(0)
	time.Sleep(3 * fast.ShutdownDelay)
	if !s.On() {
		t.Fatal("a press shorter than MinPress turned the server off")
	}
}

func TestLineErrors(t *testing.T) {
	s := New(Timings{}, false, nil)
	for _, c := range []struct {
		off int
		out bool
	}{{-1, true}, {4, false}, {PowerLED, true}, {PowerButton, false}} {
		if _, err := s.Line(c.off, c.out); err == nil {
			t.Errorf("Line(%d, %v): no error", c.off, c.out)
		}
	}
	led, err := s.Line(PowerLED, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := led.SetValue(1); err == nil {
		t.Error("SetValue on an input: no error")
	}
}
