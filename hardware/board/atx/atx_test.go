package atx

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

type rig struct {
	t                *testing.T
	clk              *fakeClock
	pb, rb, led, hdd *fakeLine
	a                *ATX
	h                *host
}

func newRig(t *testing.T, on bool, tm Timings) *rig {
	t.Helper()
	clk := newFakeClock()
	r := &rig{t: t, clk: clk, pb: newFakeLine(clk, 0), rb: newFakeLine(clk, 0), hdd: newFakeLine(clk, 0), h: &host{}}
	r.led = newFakeLine(clk, 0)
	if on {
		r.led.v = 1
	}
	a, err := New(Lines{PowerButton: r.pb, ResetButton: r.rb, PowerLED: r.led, HDDLED: r.hdd}, tm, clk)
	if err != nil {
		t.Fatal(err)
	}
	a.Attach(r.h)
	r.a = a
	t.Cleanup(func() { _ = a.Close() })
	return r
}

// reset runs Reset in virtual time: the clock moves on until it returns.
func (r *rig) reset(rt hardware.ResetType) error {
	errc := make(chan error, 1)
	go func() { errc <- r.a.Reset(context.Background(), rt) }()
	return r.drive(errc)
}

func (r *rig) drive(errc <-chan error) error {
	for range 100_000 {
		select {
		case err := <-errc:
			return err
		case <-time.After(100 * time.Microsecond):
			r.clk.Advance(100 * time.Millisecond)
		}
	}
	r.t.Fatal("reset never returned")
	return nil
}

func (r *rig) power() hardware.PowerState {
	s, err := r.a.PowerState(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// waitPressed waits (in real time, for the goroutine) until l is held.
func waitPressed(t *testing.T, l *fakeLine) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); l.value() != 1; {
		if time.Now().After(end) {
			t.Fatal("never pressed")
		}
		time.Sleep(time.Millisecond)
	}
}

const ms = time.Millisecond

func TestResetPresses(t *testing.T) {
	short, long, rst := DefaultShortPress, DefaultLongPress, DefaultResetPress
	for _, tc := range []struct {
		name    string
		on      bool
		rt      hardware.ResetType
		tm      Timings
		power   []time.Duration // power button holds
		reset   []time.Duration // reset button holds
		gap     time.Duration   // between the first two power presses
		wantErr error
	}{
		{name: "On from Off", rt: hardware.ResetOn, power: []time.Duration{short}},
		{name: "On when On", on: true, rt: hardware.ResetOn},
		{name: "ForceOn from Off", rt: hardware.ResetForceOn, power: []time.Duration{short}},
		{name: "ForceOff when On", on: true, rt: hardware.ResetForceOff, power: []time.Duration{long}},
		{name: "ForceOff when Off", rt: hardware.ResetForceOff},
		{name: "GracefulShutdown when On", on: true, rt: hardware.ResetGracefulShutdown, power: []time.Duration{short}},
		{name: "GracefulShutdown when Off", rt: hardware.ResetGracefulShutdown},
		{name: "PushPowerButton when On", on: true, rt: hardware.ResetPushPowerButton, power: []time.Duration{short}},
		{name: "PushPowerButton when Off", rt: hardware.ResetPushPowerButton, power: []time.Duration{short}},
		{name: "ForceRestart when On", on: true, rt: hardware.ResetForceRestart, reset: []time.Duration{rst}},
		{name: "ForceRestart from Off powers on", rt: hardware.ResetForceRestart, power: []time.Duration{short}},
		{name: "PowerCycle when On", on: true, rt: hardware.ResetPowerCycle, power: []time.Duration{long, short}, gap: DefaultPowerCycleDelay},
		{name: "PowerCycle from Off", rt: hardware.ResetPowerCycle, power: []time.Duration{short}},
		{name: "Nmi not supported", on: true, rt: hardware.ResetNmi, wantErr: hardware.ErrNotSupported},
		{name: "GracefulRestart not supported", on: true, rt: hardware.ResetGracefulRestart, wantErr: hardware.ErrNotSupported},
		{name: "custom timings", on: true, rt: hardware.ResetPowerCycle,
			tm:    Timings{ShortPress: 200 * ms, LongPress: 8 * time.Second, LEDDebounce: time.Second, PowerCycleDelay: 3 * time.Second},
			power: []time.Duration{8 * time.Second, 200 * ms}, gap: 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.on, tc.tm)
			err := r.reset(tc.rt)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Reset = %v, want %v", err, tc.wantErr)
			}
			if got := r.pb.presses(t); !slices.Equal(got, tc.power) {
				t.Errorf("power button holds %v, want %v", got, tc.power)
			}
			if got := r.rb.presses(t); !slices.Equal(got, tc.reset) {
				t.Errorf("reset button holds %v, want %v", got, tc.reset)
			}
			if tc.gap != 0 {
				if gap := r.pb.log[2].at.Sub(r.pb.log[1].at); gap != tc.gap {
					t.Errorf("power cycle off time %v, want %v", gap, tc.gap)
				}
			}
		})
	}
}

func TestResetTypesWithoutResetButton(t *testing.T) {
	clk := newFakeClock()
	a, err := New(Lines{PowerButton: newFakeLine(clk, 0), PowerLED: newFakeLine(clk, 1)}, Timings{}, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if slices.Contains(a.ResetTypes(), hardware.ResetForceRestart) {
		t.Errorf("ResetTypes %v list ForceRestart with no reset button", a.ResetTypes())
	}
	if err := a.Reset(context.Background(), hardware.ResetForceRestart); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("ForceRestart = %v, want ErrNotSupported", err)
	}
}

func TestBusyWhilePressing(t *testing.T) {
	r := newRig(t, true, Timings{})
	errc := make(chan error, 1)
	go func() { errc <- r.a.Reset(context.Background(), hardware.ResetForceOff) }()
	waitPressed(t, r.pb)
	for _, rt := range []hardware.ResetType{hardware.ResetOn, hardware.ResetPushPowerButton, hardware.ResetForceRestart} {
		if err := r.a.Reset(context.Background(), rt); !errors.Is(err, hardware.ErrBusy) {
			t.Errorf("%s during a press = %v, want ErrBusy", rt, err)
		}
	}
	if err := r.drive(errc); err != nil {
		t.Fatal(err)
	}
	if err := r.reset(hardware.ResetPushPowerButton); err != nil {
		t.Errorf("after the press: %v", err)
	}
	if got := r.rb.presses(t); len(got) != 0 {
		t.Errorf("reset button pressed while busy: %v", got)
	}
}

func TestLEDDebounce(t *testing.T) {
	r := newRig(t, false, Timings{}) // 2 s window
	// Flapping under the window: nothing.
	for _, step := range []struct {
		v int
		d time.Duration
	}{{1, time.Second}, {0, 500 * ms}, {1, 1900 * ms}, {0, 5 * time.Second}} {
		r.led.set(step.v)
		r.clk.Advance(step.d)
	}
	if got := r.h.got(); len(got) != 0 || r.power() != hardware.PowerOff {
		t.Fatalf("flapping LED reported %v, state %s", got, r.power())
	}
	// Switched on by hand: On once the LED has held 2 s.
	r.led.set(1)
	r.clk.Advance(1999 * ms)
	if r.power() != hardware.PowerOff {
		t.Fatal("On before the window")
	}
	r.clk.Advance(ms)
	if r.power() != hardware.PowerOn {
		t.Fatalf("state %s after the window, want On", r.power())
	}
	// S3 sleep: the LED blinks at 1 Hz; the server stays On.
	for range 20 {
		r.led.set(0)
		r.clk.Advance(500 * ms)
		r.led.set(1)
		r.clk.Advance(500 * ms)
	}
	// Off by hand.
	r.led.set(0)
	r.clk.Advance(10 * time.Second)
	if want := []string{"Off>On", "On>Off"}; !slices.Equal(r.h.got(), want) {
		t.Errorf("reported %v, want %v", r.h.got(), want)
	}
}

func TestInitialStateAndHDD(t *testing.T) {
	r := newRig(t, true, Timings{})
	if r.power() != hardware.PowerOn {
		t.Errorf("a server found running is %s, want On", r.power())
	}
	if r.a.HDDActive() {
		t.Error("HDD active at rest")
	}
	r.hdd.set(1)
	if !r.a.HDDActive() {
		t.Error("HDD LED lit, HDDActive false")
	}
	r.hdd.set(0)
	if r.a.HDDActive() {
		t.Error("HDD LED off, HDDActive true")
	}
	if len(r.h.got()) != 0 {
		t.Errorf("reported %v at start", r.h.got())
	}
}

func TestCloseReleases(t *testing.T) {
	r := newRig(t, true, Timings{})
	errc := make(chan error, 1)
	go func() { errc <- r.a.Reset(context.Background(), hardware.ResetForceOff) }()
	waitPressed(t, r.pb)
	if err := r.a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Reset cut by Close = %v, want ErrUnavailable", err)
	}
	if r.pb.value() != 0 {
		t.Error("power button left pressed")
	}
	for name, l := range map[string]*fakeLine{"power button": r.pb, "reset button": r.rb, "power LED": r.led, "HDD LED": r.hdd} {
		if !l.closed {
			t.Errorf("%s not released", name)
		}
	}
	r.clk.Advance(time.Minute) // stale timers do nothing
	if r.pb.value() != 0 {
		t.Error("power button pressed after Close")
	}
	if err := r.a.Reset(context.Background(), hardware.ResetOn); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Reset after Close = %v, want ErrUnavailable", err)
	}
}

func TestResetContextEnds(t *testing.T) {
	r := newRig(t, true, Timings{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.a.Reset(ctx, hardware.ResetForceOff) }()
	waitPressed(t, r.pb)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Reset = %v, want context.Canceled", err)
	}
	// The press still runs to its end, and busy until then.
	if err := r.a.Reset(context.Background(), hardware.ResetOn); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("during the press = %v, want ErrBusy", err)
	}
	r.clk.Advance(DefaultLongPress)
	if got := r.pb.presses(t); !slices.Equal(got, []time.Duration{DefaultLongPress}) {
		t.Errorf("holds %v, want the full long press", got)
	}
}

// TestResetsFollowTheExpectedState: a reset right after another, before
// the LED has shown its result (within LEDDebounce), starts from the state
// the first aimed at: a second On does not press again (which would be an
// ACPI shutdown of a booting server), a ForceOff after an On presses
// long. Once the LED shows it, or LEDDebounce plus settleWindow passed
// without, the LED decides again.
func TestResetsFollowTheExpectedState(t *testing.T) {
	r := newRig(t, false, Timings{})
	r.pb.onPress = func(v int) {
		if v == 0 && r.led.value() == 0 {
			go r.led.set(1) // the server lights its LED as the button is released
		}
	}
	if err := r.reset(hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := r.reset(hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := r.reset(hardware.ResetForceOn); err != nil {
		t.Fatal(err)
	}
	if p := r.pb.presses(t); len(p) != 1 {
		t.Fatalf("presses %v: the second On pressed again", p)
	}

	// The LED never lights (a dead server): after the window, On presses
	// again.
	r2 := newRig(t, false, Timings{})
	if err := r2.reset(hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	r2.clk.Advance(DefaultLEDDebounce + settleWindow + time.Second)
	if err := r2.reset(hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if p := r2.pb.presses(t); len(p) != 2 {
		t.Fatalf("presses %v: On after the window did not press", p)
	}
	// And a ForceOff right after an On, the LED still dark: a long press.
	if err := r2.reset(hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if p := r2.pb.presses(t); len(p) != 3 || p[2] != DefaultLongPress {
		t.Fatalf("presses %v: ForceOff after an On", p)
	}
}

// syncLine is a line whose Close waits for an edge handler that is
// running, as go-gpiocdev's does for its event goroutine.
type syncLine struct {
	*fakeLine
	handling sync.WaitGroup
}

func (l *syncLine) Close() error {
	l.handling.Wait()
	return l.fakeLine.Close()
}

// TestCloseDuringAnEdge: Close does not hold the lock while it closes the
// lines, so an edge handler waiting for the lock, which a line's Close
// waits for, finishes.
func TestCloseDuringAnEdge(t *testing.T) {
	clk := newFakeClock()
	hdd := &syncLine{fakeLine: newFakeLine(clk, 0)}
	a, err := New(Lines{PowerButton: newFakeLine(clk, 0), PowerLED: newFakeLine(clk, 0), HDDLED: hdd}, Timings{}, clk)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock() // the edge's handler blocks on the lock
	hdd.handling.Add(1)
	go func() {
		defer hdd.handling.Done()
		hdd.set(1)
	}()
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	time.Sleep(20 * time.Millisecond) // Close waits for the lock too
	a.mu.Unlock()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close deadlocked with an edge handler")
	}
}

// TestIgnoredShutdownThenForceOff: an ACPI shutdown the OS ignores sets
// no expectation, so a ForceOff right after it still holds the button
// (the common "soft off, wait, force off" script); and a ForceRestart
// presses reset.
func TestIgnoredShutdownThenForceOff(t *testing.T) {
	r := newRig(t, true, Timings{})
	if err := r.reset(hardware.ResetGracefulShutdown); err != nil {
		t.Fatal(err)
	}
	if r.power() != hardware.PowerOn {
		t.Fatalf("power %s after an ACPI press the OS ignored", r.power())
	}
	if err := r.reset(hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if p := r.rb.presses(t); len(p) != 1 {
		t.Errorf("reset presses %v after an ignored shutdown", p)
	}
	if err := r.reset(hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if p := r.pb.presses(t); len(p) != 2 || p[1] != DefaultLongPress {
		t.Errorf("power presses %v: ForceOff after an ignored shutdown", p)
	}
}

// TestForcedStateIsThePowerState: after a press sequence that forces a
// state, PowerState says it at once (ipmitool's `power status` right
// after `power on`), and the host hears of it once, not again when the
// LED settles.
func TestForcedStateIsThePowerState(t *testing.T) {
	r := newRig(t, false, Timings{})
	r.pb.onPress = func(v int) {
		if v == 0 && r.led.value() == 0 {
			go r.led.set(1)
		}
	}
	if err := r.reset(hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if r.power() != hardware.PowerOn {
		t.Fatalf("power %s right after On", r.power())
	}
	r.clk.Advance(DefaultLEDDebounce + time.Second)
	if got := r.h.got(); len(got) != 1 || got[0] != "Off>On" {
		t.Errorf("power changes %v, want one Off>On", got)
	}
}

// TestSameAimJoinsTheRunningPress: a reset that forces what the running
// sequence forces (an On during a PowerCycle: a client's retry) waits
// for it and presses nothing; another is refused as busy.
func TestSameAimJoinsTheRunningPress(t *testing.T) {
	r := newRig(t, true, Timings{})
	errc := make(chan error, 1)
	go func() { errc <- r.a.Reset(context.Background(), hardware.ResetPowerCycle) }()
	waitPressed(t, r.pb)
	if err := r.a.Reset(context.Background(), hardware.ResetForceOff); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("ForceOff during a PowerCycle: %v, want ErrBusy", err)
	}
	joined := make(chan error, 1)
	go func() { joined <- r.a.Reset(context.Background(), hardware.ResetOn) }()
	if err := r.drive(errc); err != nil {
		t.Fatal(err)
	}
	if err := r.drive(joined); err != nil {
		t.Fatalf("On during a PowerCycle: %v", err)
	}
	if p := r.pb.presses(t); len(p) != 2 {
		t.Errorf("presses %v: the joined On pressed", p)
	}
}
