package sim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Delays used by the tests. short is what a transition under test takes;
// forever parks the machine in a transitional state until the test fires
// the pending transition itself, so no test depends on scheduling luck.
const (
	short   = 25 * time.Millisecond
	forever = time.Hour
	// deadline bounds every poll; it is never reached unless a test fails.
	deadline = 5 * time.Second
)

// firmware counts Boot calls.
type firmware struct {
	mu    sync.Mutex
	boots int
}

func (f *firmware) Boot() hardware.BootResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.boots++
	return hardware.BootResult{Source: hardware.BootHdd, Mode: hardware.BootModeUEFI, Time: time.Now()}
}

func (f *firmware) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boots
}

// testHost is the Machine's side in these tests: boots go to fw, power
// changes to rec; either may be nil.
type testHost struct {
	fw  interface{ Boot() hardware.BootResult }
	rec *recorder
}

func (h testHost) PowerChanged(from, to hardware.PowerState) {
	if h.rec != nil {
		h.rec.record(from, to)
	}
}

func (h testHost) Booted() hardware.BootResult {
	if h.fw != nil {
		return h.fw.Boot()
	}
	return hardware.BootResult{}
}

func (testHost) LogEvent(hardware.Event) {}

// caps is what the Machine reads from the simulation's parts.
func caps(m *Machine) hardware.Capabilities {
	return m.Attach(testHost{}).Capabilities()
}

// recorder keeps every power transition reported through Host.PowerChanged.
type recorder struct {
	mu  sync.Mutex
	seq []hardware.PowerState
}

func (r *recorder) record(from, to hardware.PowerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from == to {
		panic("transition to the same state reported")
	}
	r.seq = append(r.seq, to)
}

func (r *recorder) get() []hardware.PowerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hardware.PowerState(nil), r.seq...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq = nil
}

func powerOf(t *testing.T, m *Machine) hardware.PowerState {
	t.Helper()
	s, err := m.PowerState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// poll waits until cond holds or the deadline passes.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fire runs the scheduled transition now, if one is pending.
func fire(m *Machine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer != nil && m.timer.Stop() {
		m.timer.Reset(0)
	}
}

// setDelays changes the delays used by transitions scheduled from now on.
func setDelays(m *Machine, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg.PowerOnDelay, m.cfg.PowerOffDelay, m.cfg.ShutdownDelay = d, d, d
}

// assertIdle fails if a transition is still scheduled; it cancels it so the
// test leaves nothing running.
func assertIdle(t *testing.T, m *Machine) {
	t.Helper()
	m.mu.Lock()
	pending := m.timer != nil && m.timer.Stop()
	m.mu.Unlock()
	if pending {
		t.Error("a power transition is still scheduled after the machine settled")
	}
}

// onPOST stands for "On, the firmware POSTing after a warm reset": power
// stays applied, so the power state is On.
const onPOST = hardware.PowerState("On+POST")

// newAt returns a simulated machine in state from. The transitional states
// are reached the real way (Reset On / GracefulShutdown / ForceRestart)
// with every delay set to forever, so the machine stays parked there until
// the test fires the pending transition.
func newAt(t *testing.T, from hardware.PowerState, fw *firmware, rec *recorder) *Machine {
	t.Helper()
	cfg := Config{ID: "t", Seed: "s", PowerOnDelay: forever, PowerOffDelay: forever, ShutdownDelay: forever}
	cfg.PoweredOn = from == hardware.PowerOn || from == hardware.PowerPoweringOff || from == onPOST
	m := New(cfg)
	t.Cleanup(func() { _ = m.Close() })
	m.Attach(testHost{fw: fw, rec: rec})
	want, post := from, false
	switch from {
	case hardware.PowerPoweringOn:
		if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
			t.Fatal(err)
		}
		post = true
	case hardware.PowerPoweringOff:
		if err := m.Reset(context.Background(), hardware.ResetGracefulShutdown); err != nil {
			t.Fatal(err)
		}
	case onPOST:
		if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
			t.Fatal(err)
		}
		want, post = hardware.PowerOn, true
	}
	if got := powerOf(t, m); got != want || m.InPOST() != post {
		t.Fatalf("setup: state %s (POST %v), want %s (POST %v)", got, m.InPOST(), want, post)
	}
	rec.reset()
	return m
}

const (
	off  = hardware.PowerOff
	on   = hardware.PowerOn
	pOn  = hardware.PowerPoweringOn
	pOff = hardware.PowerPoweringOff
)

func seq(s ...hardware.PowerState) []hardware.PowerState { return s }

// TestResetStateMachine runs every ResetType from every power state.
// Reset runs while every delay is forever, so the state it leaves behind is
// checked without racing a timer; then the delays become short, whatever
// transition is pending is fired, and the machine runs on by itself. seq is
// every transition reported from the reset until the machine settles.
//
// The rule the table holds the simulation to: the only refusal is an NMI
// with the power off; every other reset ends where the Redfish ResetType
// says (On, ForceOn, GracefulRestart, ForceRestart, PowerCycle: On;
// ForceOff, GracefulShutdown: Off; PushPowerButton toggles; Nmi: as it
// was), and a warm reset keeps the power On while the host POSTs.
func TestResetStateMachine(t *testing.T) {
	cases := resetCases
	// Every pair is covered.
	seen := map[[2]string]bool{}
	for _, c := range cases {
		seen[[2]string{string(c.from), string(c.reset)}] = true
	}
	for _, from := range []hardware.PowerState{off, pOn, on, onPOST, pOff} {
		for _, r := range hardware.AllResetTypes {
			if !seen[[2]string{string(from), string(r)}] {
				t.Errorf("no case for %s from %s", r, from)
			}
		}
	}
	final := map[hardware.ResetType]hardware.PowerState{
		hardware.ResetOn: on, hardware.ResetForceOn: on, hardware.ResetGracefulRestart: on,
		hardware.ResetForceRestart: on, hardware.ResetPowerCycle: on,
		hardware.ResetForceOff: off, hardware.ResetGracefulShutdown: off,
	}

	for _, c := range cases {
		t.Run(string(c.from)+"/"+string(c.reset), func(t *testing.T) {
			t.Parallel()
			fw, rec := &firmware{}, &recorder{}
			m := newAt(t, c.from, fw, rec)
			start := c.from
			if start == onPOST {
				start = on
			}

			err := m.Reset(context.Background(), c.reset)
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("Reset: err %v, want %v", err, c.err)
			}
			if got := powerOf(t, m); got != c.now || m.InPOST() != c.post {
				t.Fatalf("right after Reset: state %s (POST %v), want %s (POST %v)", got, m.InPOST(), c.now, c.post)
			}
			setDelays(m, short)
			fire(m)
			poll(t, "the machine to settle", func() bool {
				return len(rec.get()) >= len(c.seq) && fw.count() >= c.boots
			})
			assertIdle(t, m)
			if got := rec.get(); !equal(got, c.seq) {
				t.Errorf("transitions %v, want %v", got, c.seq)
			}
			if got := fw.count(); got != c.boots {
				t.Errorf("Boot called %d times, want %d", got, c.boots)
			}
			want := c.final()
			if got := powerOf(t, m); got != want || m.InPOST() {
				t.Errorf("final state %s (POST %v), want %s", got, m.InPOST(), want)
			}
			// The table itself keeps to the schema's end states.
			if f, ok := final[c.reset]; ok && err == nil && want != f {
				t.Errorf("%s ends %s; Redfish says %s", c.reset, want, f)
			}
		})
	}
}

// resetCase is one reset from one power state, and what the simulation
// does: see TestResetStateMachine.
type resetCase struct {
	from  hardware.PowerState
	reset hardware.ResetType
	err   error
	now   hardware.PowerState // state right after Reset returns
	post  bool                // InPOST right after Reset returns
	seq   []hardware.PowerState
	boots int
}

// final is the state the machine settles in.
func (c resetCase) final() hardware.PowerState {
	if len(c.seq) > 0 {
		return c.seq[len(c.seq)-1]
	}
	if c.from == onPOST {
		return on
	}
	return c.from
}

var resetCases = []resetCase{
	// Off
	{off, hardware.ResetOn, nil, pOn, true, seq(pOn, on), 1},
	{off, hardware.ResetForceOn, nil, pOn, true, seq(pOn, on), 1},
	{off, hardware.ResetForceOff, nil, off, false, nil, 0},
	{off, hardware.ResetGracefulShutdown, nil, off, false, nil, 0},
	// Redfish ResetType: on success of a restart the system is On.
	{off, hardware.ResetGracefulRestart, nil, pOn, true, seq(pOn, on), 1},
	{off, hardware.ResetForceRestart, nil, pOn, true, seq(pOn, on), 1},
	// Redfish: PowerCycle from Off powers on (Resource.json ResetType).
	{off, hardware.ResetPowerCycle, nil, pOn, true, seq(pOn, on), 1},
	{off, hardware.ResetNmi, hardware.ErrState, off, false, nil, 0},
	{off, hardware.ResetPushPowerButton, nil, pOn, true, seq(pOn, on), 1},
	// PoweringOn: the firmware POSTs. The boot in progress completes
	// exactly once unless the reset cancels or restarts it; with no
	// OS yet, a power button (soft off) turns the power off at once.
	{pOn, hardware.ResetOn, nil, pOn, true, seq(on), 1},
	{pOn, hardware.ResetForceOn, nil, pOn, true, seq(on), 1},
	{pOn, hardware.ResetForceOff, nil, off, false, seq(off), 0},
	{pOn, hardware.ResetGracefulShutdown, nil, off, false, seq(off), 0},
	{pOn, hardware.ResetGracefulRestart, nil, pOn, true, seq(on), 1},
	{pOn, hardware.ResetForceRestart, nil, pOn, true, seq(on), 1},
	{pOn, hardware.ResetPowerCycle, nil, off, false, seq(off, pOn, on), 1},
	{pOn, hardware.ResetNmi, nil, pOn, true, seq(on), 1},
	{pOn, hardware.ResetPushPowerButton, nil, off, false, seq(off), 0},
	// On
	{on, hardware.ResetOn, nil, on, false, nil, 0},
	{on, hardware.ResetForceOn, nil, on, false, nil, 0},
	{on, hardware.ResetForceOff, nil, off, false, seq(off), 0},
	{on, hardware.ResetGracefulShutdown, nil, pOff, false, seq(pOff, off), 0},
	{on, hardware.ResetGracefulRestart, nil, pOff, false, seq(pOff, off, pOn, on), 1},
	// A warm reset: the power stays on, the host POSTs and boots.
	{on, hardware.ResetForceRestart, nil, on, true, nil, 1},
	{on, hardware.ResetPowerCycle, nil, off, false, seq(off, pOn, on), 1},
	{on, hardware.ResetNmi, nil, on, false, nil, 0},
	{on, hardware.ResetPushPowerButton, nil, pOff, false, seq(pOff, off), 0},
	// On, POSTing after a warm reset: what PoweringOn does, at On.
	{onPOST, hardware.ResetOn, nil, on, true, nil, 1},
	{onPOST, hardware.ResetForceOn, nil, on, true, nil, 1},
	{onPOST, hardware.ResetForceOff, nil, off, false, seq(off), 0},
	{onPOST, hardware.ResetGracefulShutdown, nil, off, false, seq(off), 0},
	{onPOST, hardware.ResetGracefulRestart, nil, on, true, nil, 1},
	{onPOST, hardware.ResetForceRestart, nil, on, true, nil, 1},
	{onPOST, hardware.ResetPowerCycle, nil, off, false, seq(off, pOn, on), 1},
	{onPOST, hardware.ResetNmi, nil, on, true, nil, 1},
	{onPOST, hardware.ResetPushPowerButton, nil, off, false, seq(off), 0},
	// PoweringOff (a graceful shutdown in progress): On and
	// GracefulRestart bring the power back once the OS is down.
	{pOff, hardware.ResetOn, nil, pOff, false, seq(off, pOn, on), 1},
	{pOff, hardware.ResetForceOn, nil, pOn, true, seq(off, pOn, on), 1},
	{pOff, hardware.ResetForceOff, nil, off, false, seq(off), 0},
	{pOff, hardware.ResetGracefulShutdown, nil, pOff, false, seq(off), 0},
	{pOff, hardware.ResetGracefulRestart, nil, pOff, false, seq(off, pOn, on), 1},
	{pOff, hardware.ResetForceRestart, nil, on, true, seq(on), 1},
	{pOff, hardware.ResetPowerCycle, nil, off, false, seq(off, pOn, on), 1},
	{pOff, hardware.ResetNmi, nil, pOff, false, seq(off), 0},
	{pOff, hardware.ResetPushPowerButton, nil, pOff, false, seq(off), 0},
}

func equal(a, b []hardware.PowerState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A graceful restart interrupted by ForceOff must not boot later.
func TestForceOffCancelsRestart(t *testing.T) {
	for _, stop := range []hardware.PowerState{pOff, off} {
		t.Run("during "+string(stop), func(t *testing.T) {
			t.Parallel()
			fw, rec := &firmware{}, &recorder{}
			m := newAt(t, on, fw, rec)
			if err := m.Reset(context.Background(), hardware.ResetGracefulRestart); err != nil {
				t.Fatal(err)
			}
			if stop == off {
				fire(m) // shutdown done; the power-on is now parked
				poll(t, "Off", func() bool { return powerOf(t, m) == off })
			}
			if err := m.Reset(context.Background(), hardware.ResetForceOff); err != nil {
				t.Fatal(err)
			}
			assertIdle(t, m)
			if got := powerOf(t, m); got != off {
				t.Errorf("state %s, want Off", got)
			}
			if fw.count() != 0 {
				t.Errorf("Boot called %d times after ForceOff", fw.count())
			}
		})
	}
}

// On during the off phase of a power cycle powers on at once, booting once.
func TestOnDuringPowerCycle(t *testing.T) {
	fw, rec := &firmware{}, &recorder{}
	m := newAt(t, on, fw, rec)
	if err := m.Reset(context.Background(), hardware.ResetPowerCycle); err != nil {
		t.Fatal(err)
	}
	setDelays(m, short)
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "On", func() bool { return powerOf(t, m) == on && fw.count() == 1 })
	assertIdle(t, m)
	if got := rec.get(); !equal(got, seq(off, pOn, on)) {
		t.Errorf("transitions %v", got)
	}
}

// A full cycle with short real delays and no parking at all.
func TestRealDelays(t *testing.T) {
	fw := &firmware{}
	m := New(Config{PowerOnDelay: short, PowerOffDelay: short, ShutdownDelay: short})
	defer m.Close()
	ctx := context.Background()
	if err := m.Reset(ctx, hardware.ResetOn); err != nil { // before Attach: no Host is allowed
		t.Fatal(err)
	}
	poll(t, "On", func() bool { return powerOf(t, m) == on })
	m.Attach(testHost{fw: fw})
	if err := m.Reset(ctx, hardware.ResetGracefulRestart); err != nil {
		t.Fatal(err)
	}
	poll(t, "restart", func() bool { return fw.count() == 1 })
	if s := powerOf(t, m); s != on {
		t.Errorf("after restart: %s", s)
	}
	if err := m.Reset(ctx, hardware.ResetGracefulShutdown); err != nil {
		t.Fatal(err)
	}
	poll(t, "Off", func() bool { return powerOf(t, m) == off })
	assertIdle(t, m)
	if fw.count() != 1 {
		t.Errorf("Boot called %d times", fw.count())
	}
}

func TestResetUnknownAndClosed(t *testing.T) {
	m := New(Config{PowerOnDelay: forever})
	ctx := context.Background()
	if err := m.Reset(ctx, "Sideways"); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("unknown reset: %v", err)
	}
	fw := &firmware{}
	m.Attach(testHost{fw: fw})
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	timer := m.timer
	m.mu.Unlock()
	if timer != nil {
		t.Error("Close left a transition scheduled")
	}
	if err := m.Reset(ctx, hardware.ResetForceOff); !errors.Is(err, hardware.ErrState) {
		t.Errorf("Reset after Close: %v, want ErrState", err)
	}
}

func TestNewDefaults(t *testing.T) {
	m := New(Config{ID: "a", Seed: "s"})
	defer m.Close()
	if m.cfg.PowerOnDelay != DefaultPowerOnDelay || m.cfg.PowerOffDelay != DefaultPowerOffDelay || m.cfg.ShutdownDelay != DefaultShutdownDelay {
		t.Errorf("defaults not applied: %+v", m.cfg)
	}
	if m.fetch == nil {
		t.Error("no default image fetcher")
	}
	if powerOf(t, m) != off {
		t.Error("a new machine must start Off")
	}
	if p := New(Config{PoweredOn: true}); powerOf(t, p) != on {
		t.Error("PoweredOn ignored")
	}
}

func TestInventoryStable(t *testing.T) {
	a1, a2, b := New(Config{ID: "a", Seed: "s"}).Info(), New(Config{ID: "a", Seed: "s"}).Info(), New(Config{ID: "b", Seed: "s"}).Info()
	other := New(Config{ID: "a", Seed: "other"}).Info()
	if a1.UUID != a2.UUID || a1.SerialNumber != a2.SerialNumber || a1.NICs[0].MAC != a2.NICs[0].MAC {
		t.Error("inventory not stable for the same seed and ID")
	}
	if a1.UUID == b.UUID || a1.UUID == other.UUID || a1.SerialNumber == b.SerialNumber || a1.NICs[0].MAC == b.NICs[0].MAC {
		t.Error("different machines share identities")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a1.UUID) {
		t.Errorf("UUID %s is not an RFC 4122 version 5 UUID", a1.UUID)
	}
	mac := regexp.MustCompile(`^52:54:00(:[0-9a-f]{2}){3}$`)
	if len(a1.NICs) != 2 || !mac.MatchString(a1.NICs[0].MAC) || a1.NICs[0].MAC == a1.NICs[1].MAC {
		t.Errorf("NICs %+v", a1.NICs)
	}
	if a, ok := New(Config{ID: "a", Seed: "s"}).BiosRegistry().Attribute("BootMode"); !ok || a.Default != "UEFI" {
		t.Errorf("BootMode attribute %+v", a)
	}
}

func TestCapabilities(t *testing.T) {
	c := caps(New(Config{}))
	for _, r := range hardware.AllResetTypes {
		if !c.CanReset(r) {
			t.Errorf("cannot %s", r)
		}
	}
	if c.CanBoot(hardware.BootFloppy) || !c.CanBoot(hardware.BootCd) || !c.CanBoot(hardware.BootNone) {
		t.Error("boot targets")
	}
	slots := map[string]hardware.BootSource{}
	for _, s := range c.MediaSlots {
		slots[s.ID] = s.Boot
	}
	if slots["CD"] != hardware.BootCd || slots["USB"] != hardware.BootUsb || len(slots) != 2 {
		t.Errorf("media slots %v", slots)
	}
	if !c.SecureBoot || len(c.BootModes) != 2 || c.BootModes[0] != hardware.BootModeUEFI {
		t.Errorf("caps %+v", c)
	}
}

func TestSensorsFollowPower(t *testing.T) {
	hostSensors := map[string]bool{"CPU1Temp": true, "CPU2Temp": true, "Fan1": true, "Fan2": true}
	for _, c := range []struct {
		s      hardware.PowerState
		hostOn bool
	}{{off, false}, {pOn, true}, {on, true}, {pOff, true}} {
		t.Run(string(c.s), func(t *testing.T) {
			m := newAt(t, c.s, &firmware{}, &recorder{})
			ss, err := m.Sensors(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(ss) != 7 {
				t.Fatalf("%d sensors", len(ss))
			}
			ids := map[string]bool{}
			for _, s := range ss {
				if ids[s.ID] {
					t.Errorf("duplicate sensor %s", s.ID)
				}
				ids[s.ID] = true
				if s.Name == "" || s.Units == "" || s.Type == "" {
					t.Errorf("%s: incomplete %+v", s.ID, s)
				}
				want := !hostSensors[s.ID] || c.hostOn
				if s.Available != want {
					t.Errorf("%s: Available %v, want %v", s.ID, s.Available, want)
				}
				if h := s.Health(); s.Available && h.Severity != hardware.SeverityOK {
					t.Errorf("%s: reading %v outside its normal range: %+v", s.ID, s.Reading, h)
				}
				if s.Type == hardware.SensorTemperature && s.Thresholds.LowerCritical != hardware.At(0) {
					t.Errorf("%s: lower critical %+v, want 0 °C", s.ID, s.Thresholds.LowerCritical)
				}
				if s.ID == "TotalPower" && (s.Reading > 100) != c.hostOn {
					t.Errorf("TotalPower %v W with host on=%v", s.Reading, c.hostOn)
				}
				if s.Type == hardware.SensorFan && !c.hostOn && s.Reading != 0 {
					t.Errorf("%s spins at %v RPM with the host off", s.ID, s.Reading)
				}
			}
		})
	}
}

// image returns n bytes; iso puts the ISO 9660 signature where it belongs.
func image(n int, iso bool) []byte {
	b := bytes.Repeat([]byte{0xA5}, n)
	if iso {
		copy(b[32769:], "CD001")
	}
	return b
}

func TestInsertMedia(t *testing.T) {
	iso := image(1<<20, true)
	smallRaw := image(4096, false)
	off1 := image(40000, false)
	copy(off1[32768:], "CD001") // one byte early: not ISO 9660

	var gotRange sync.Map // path -> Range header
	mux := http.NewServeMux()
	serve := func(path string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			gotRange.Store(path, r.Header.Get("Range"))
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		})
	}
	serve("/range.iso", iso)
	serve("/small.img", smallRaw)
	serve("/offbyone.img", off1)
	serve("/empty-static.iso", nil)
	mux.HandleFunc("/full.iso", func(w http.ResponseWriter, r *http.Request) { // ignores Range
		w.Header().Set("Content-Length", strconv.Itoa(len(iso)))
		_, _ = w.Write(iso)
	})
	mux.HandleFunc("/chunked.iso", func(w http.ResponseWriter, r *http.Request) { // 200, no length
		_, _ = w.Write(iso[:1000])
		w.(http.Flusher).Flush()
		_, _ = w.Write(iso[1000:40000])
	})
	mux.HandleFunc("/unknown-total.iso", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes 0-36863/*")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(iso[:36864])
	})
	mux.HandleFunc("/empty.iso", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
	})
	mux.HandleFunc("/416.iso", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes */0")
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	})
	mux.HandleFunc("/forbidden.iso", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	mux.HandleFunc("/broken.iso", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A port where nothing listens: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/x.iso"
	ln.Close()

	cases := []struct {
		name, url string
		size      int64
		format    string
		status    int    // want a *MediaError with this HTTPStatus ...
		errText   string // ... whose message contains this
		invalid   bool   // want ErrInvalid
	}{
		{name: "206 ISO", url: srv.URL + "/range.iso", size: 1 << 20, format: "iso9660"},
		{name: "206 whole small file", url: srv.URL + "/small.img", size: 4096, format: "raw"},
		{name: "signature one byte early", url: srv.URL + "/offbyone.img", size: 40000, format: "raw"},
		{name: "200 ignoring Range", url: srv.URL + "/full.iso", size: 1 << 20, format: "iso9660"},
		{name: "200 chunked", url: srv.URL + "/chunked.iso", size: -1, format: "iso9660"},
		{name: "206 unknown total", url: srv.URL + "/unknown-total.iso", size: -1, format: "iso9660"},
		{name: "404", url: srv.URL + "/missing.iso", status: 404, errText: "404"},
		{name: "403", url: srv.URL + "/forbidden.iso", status: 403},
		{name: "500", url: srv.URL + "/broken.iso", status: 500},
		{name: "200 empty body", url: srv.URL + "/empty.iso", errText: "empty"},
		{name: "ServeContent empty file", url: srv.URL + "/empty-static.iso", errText: "empty"},
		// nginx answers a Range request for an empty file with 416.
		{name: "416 empty file", url: srv.URL + "/416.iso", status: 416},
		{name: "connection refused", url: refused, errText: "refused"},
		{name: "malformed URL", url: "http://[::1", invalid: true},
	}
	m := New(Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			size, format, err := m.InsertMedia(context.Background(), "CD", hardware.MediaImage{URL: c.url})
			switch {
			case c.invalid:
				if !errors.Is(err, hardware.ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
			case c.status != 0 || c.errText != "":
				var me *hardware.MediaError
				if !errors.As(err, &me) {
					t.Fatalf("err %v (%T), want *hardware.MediaError", err, err)
				}
				if !errors.Is(err, hardware.ErrMedia) {
					t.Error("MediaError does not wrap ErrMedia")
				}
				if me.HTTPStatus != c.status {
					t.Errorf("HTTPStatus %d, want %d", me.HTTPStatus, c.status)
				}
				if c.status == 0 && me.Err == nil {
					t.Error("no cause recorded without an HTTP status")
				}
				if me.URL != c.url {
					t.Errorf("URL %q", me.URL)
				}
				if !strings.Contains(err.Error(), c.errText) {
					t.Errorf("message %q lacks %q", err, c.errText)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if size != c.size || format != c.format {
					t.Errorf("got size %d format %q, want %d %q", size, format, c.size, c.format)
				}
			}
		})
	}
	if r, _ := gotRange.Load("/range.iso"); r != "bytes=0-36863" {
		t.Errorf("Range header %q, want the first 36 KiB", r)
	}
	if err := m.EjectMedia(context.Background(), "CD"); err != nil {
		t.Errorf("EjectMedia: %v", err)
	}
}

func TestInsertMediaCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := New(Config{}).InsertMedia(ctx, "CD", hardware.MediaImage{URL: srv.URL + "/slow.iso"})
	var me *hardware.MediaError
	if !errors.As(err, &me) || me.HTTPStatus != 0 {
		t.Fatalf("err %v, want a MediaError without status", err)
	}
}

// TestInventoryIdentityStable pins the identity a simulated host has
// always had for a seed: Metal3 BareMetalHosts and inventories keep it.
func TestInventoryIdentityStable(t *testing.T) {
	in := inventory("6f1c2a3b-0000-4000-8000-000000000001", "0")
	if in.UUID != "f2685d90-48d3-5bc8-9ead-469dbb108bd5" || in.SerialNumber != "SIM108BD51ED8" ||
		in.NICs[0].MAC != "52:54:00:46:9d:bb" || in.NICs[1].MAC != "52:54:00:46:9d:ba" {
		t.Errorf("UUID %s, serial %s, NICs %v", in.UUID, in.SerialNumber, in.NICs)
	}
	m := New(Config{ID: "0", Seed: "6f1c2a3b-0000-4000-8000-000000000001"})
	defer m.Close()
	psus, err := m.PowerSupplies(context.Background())
	if err != nil || psus[0].SerialNumber != "SIMPFED655E71" {
		t.Errorf("PSU serial %v (%v)", psus, err)
	}
}
