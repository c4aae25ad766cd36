// Package backendtest is the contract every hardware.Backend keeps, as a
// test suite a backend's own tests run (testing/fstest.TestFS is the
// model):
//
//	func TestContract(t *testing.T) {
//		backendtest.Run(t, backendtest.Config{New: func(t *testing.T) hardware.Backend { return sim.New(...) }})
//	}
//
// It drives the backend through a hardware.Machine, as the protocols do,
// and checks what it declares: power transitions and every declared reset
// type, a one-time boot override consumed exactly once per boot (and the
// boot plan handed before the reset), virtual media insert and eject and
// the refusal of an image that cannot be read, the power events in the
// event log, display frames and keyboard and pointer input, and that each
// part it lacks answers "not supported". A part the backend does not
// declare is not tested beyond that.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/store"
)

// Config says how to make the backend under test.
type Config struct {
	// New makes a fresh backend of one machine, powered off or on. Each
	// subtest makes its own; the suite closes it.
	New func(t *testing.T) hardware.Backend
	// Timeout bounds each wait for a power transition or a boot (10 s if
	// zero): make the backend's delays much shorter than it.
	Timeout time.Duration
	// Image is an image URL the backend can read, for the media tests;
	// empty: the suite serves a small ISO 9660-looking file itself, over
	// http from 127.0.0.1.
	Image string

	missing string // an image URL that answers 404
}

// Run runs the contract against the backends cfg.New makes.
func Run(t *testing.T, cfg Config) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Image == "" {
		srv := httptest.NewServer(http.HandlerFunc(serveImage))
		t.Cleanup(srv.Close)
		cfg.Image = srv.URL + "/boot.iso"
		cfg.missing = srv.URL + "/missing.iso"
	} else {
		cfg.missing = cfg.Image + ".missing"
	}
	t.Run("Parts", func(t *testing.T) { testParts(t, cfg) })
	t.Run("Power", func(t *testing.T) { testPower(t, cfg) })
	t.Run("Resets", func(t *testing.T) { testResets(t, cfg) })
	t.Run("BootOverrideOnce", func(t *testing.T) { testBootOnce(t, cfg) })
	t.Run("Media", func(t *testing.T) { testMedia(t, cfg) })
	t.Run("Display", func(t *testing.T) { testDisplay(t, cfg) })
	t.Run("Input", func(t *testing.T) { testInput(t, cfg) })
}

// A backend with boot control reports every boot it sees (Host.Booted);
// one without may see none (a switch cannot), and is not asked to.

// serveImage serves 64 KiB whose sector 16 has the ISO 9660 primary
// volume descriptor's signature.
func serveImage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/boot.iso" {
		http.NotFound(w, r)
		return
	}
	img := make([]byte, 64<<10)
	copy(img[16*2048:], "\x01CD001\x01")
	http.ServeContent(w, r, "boot.iso", time.Time{}, bytes.NewReader(img))
}

// rig is a backend under test inside a Machine, with what it reported.
type rig struct {
	t   *testing.T
	cfg Config
	m   *hardware.Machine
	spy *spy
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	sp := &spy{Backend: cfg.New(t)}
	m, err := hardware.NewMachine("contract", sp, db, slog.New(slog.DiscardHandler))
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Close()
		_ = db.Close()
	})
	return &rig{t: t, cfg: cfg, m: m, spy: sp}
}

func (r *rig) power() hardware.PowerState {
	r.t.Helper()
	s, err := r.m.PowerState(context.Background())
	if err != nil {
		r.t.Fatalf("PowerState: %v", err)
	}
	return s
}

// wait polls cond until it holds or the timeout passes.
func (r *rig) wait(what string, cond func() bool) {
	r.t.Helper()
	end := time.Now().Add(r.cfg.Timeout)
	for !cond() {
		if time.Now().After(end) {
			r.t.Fatalf("timed out after %s waiting for %s", r.cfg.Timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settled waits until the power is s and the firmware is out of its POST.
func (r *rig) settled(s hardware.PowerState) {
	r.t.Helper()
	r.wait("power "+string(s), func() bool { return r.power() == s && !r.m.InPOST() })
}

func (r *rig) reset(rt hardware.ResetType) {
	r.t.Helper()
	if err := r.m.Reset(context.Background(), rt); err != nil {
		r.t.Fatalf("Reset %s: %v", rt, err)
	}
}

// on brings the machine to On, booted.
func (r *rig) on() {
	r.t.Helper()
	if r.power() == hardware.PowerOn && !r.m.InPOST() {
		return
	}
	r.reset(pick(r.m.Capabilities().ResetTypes, hardware.ResetOn, hardware.ResetForceOn, hardware.ResetPushPowerButton))
	r.settled(hardware.PowerOn)
}

// off brings the machine to Off.
func (r *rig) off() {
	r.t.Helper()
	if r.power() == hardware.PowerOff {
		return
	}
	r.reset(pick(r.m.Capabilities().ResetTypes, hardware.ResetForceOff, hardware.ResetGracefulShutdown, hardware.ResetPushPowerButton))
	r.settled(hardware.PowerOff)
}

// pick is the first of want that types holds.
func pick(types []hardware.ResetType, want ...hardware.ResetType) hardware.ResetType {
	for _, w := range want {
		if slices.Contains(types, w) {
			return w
		}
	}
	return want[0]
}

func (r *rig) can(rt ...hardware.ResetType) bool {
	for _, x := range rt {
		if !r.m.Capabilities().CanReset(x) {
			return false
		}
	}
	return true
}

func testParts(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	info, caps := r.m.Info(), r.m.Capabilities()
	if info.Manufacturer == "" || info.Model == "" {
		t.Errorf("Info names no manufacturer or model: %+v", info)
	}
	for _, rt := range caps.ResetTypes {
		if !slices.Contains(hardware.AllResetTypes, rt) {
			t.Errorf("reset type %q is not one of hardware.AllResetTypes", rt)
		}
	}
	if len(caps.BootTargets) > 0 && len(caps.BootModes) == 0 {
		t.Error("boot targets without a boot mode")
	}
	for _, o := range caps.BootOptions {
		if o.Reference == "" || !caps.CanBoot(o.Alias) {
			t.Errorf("boot option %+v: no reference, or a class that is not a boot target", o)
		}
	}
	ids := map[string]bool{}
	for _, s := range caps.MediaSlots {
		if s.ID == "" || ids[s.ID] || len(s.Types) == 0 {
			t.Errorf("media slot %+v: no id, a repeated one, or no media type", s)
		}
		ids[s.ID] = true
	}
	// What the machine lacks answers "not supported", and never panics.
	ctx := context.Background()
	if len(caps.ResetTypes) == 0 {
		if _, err := r.m.PowerState(ctx); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("PowerState without power control: %v, want ErrNotSupported", err)
		}
	}
	for _, rt := range hardware.AllResetTypes {
		if !caps.CanReset(rt) {
			if err := r.m.Reset(ctx, rt); !errors.Is(err, hardware.ErrNotSupported) {
				t.Errorf("undeclared reset %s: %v, want ErrNotSupported", rt, err)
			}
		}
	}
	if len(caps.MediaSlots) == 0 {
		if err := r.m.InsertMedia(ctx, "CD", cfg.Image, hardware.InsertOptions{}); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("InsertMedia without virtual media: %v, want ErrNotSupported", err)
		}
	}
	if on, _ := r.m.Pointer().PointerModes(); !on {
		if _, rel := r.m.Pointer().PointerModes(); !rel {
			if err := r.m.Pointer().Point(hardware.PointerEvent{}); !errors.Is(err, hardware.ErrNotSupported) {
				t.Errorf("Point without a pointer: %v, want ErrNotSupported", err)
			}
		}
	}
	if r.m.Console().Available() != !isDisabled(r.spy.parts.Serial) {
		t.Error("the console's availability disagrees with the serial part")
	}
}

func isDisabled(p any) bool {
	switch p.(type) {
	case nil, hardware.DisabledSerialConsole:
		return true
	}
	return false
}

// testPower: on and off, each change reported to the Host and logged.
func testPower(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	if !r.can(hardware.ResetOn) && !r.can(hardware.ResetPushPowerButton) {
		t.Skip("the backend cannot power on")
	}
	r.off()
	before := len(r.m.Events())
	changes := r.spy.changes()
	r.on()
	r.wait("a power change reported", func() bool { return r.spy.changes() > changes })
	if n := countEvents(r.m.Events()[before:], hardware.EventPowerOn); n != 1 {
		t.Errorf("one power-on logged %d times (a power change reported twice?)", n)
	}
	if r.spy.boots() == 0 && len(r.m.Capabilities().BootTargets) > 0 {
		t.Error("a power-on was not reported as a boot (Host.Booted)")
	}
	if !r.can(hardware.ResetForceOff) && !r.can(hardware.ResetGracefulShutdown) {
		return
	}
	before = len(r.m.Events())
	r.off()
	if n := countEvents(r.m.Events()[before:], hardware.EventPowerOff); n != 1 {
		t.Errorf("one power-off logged %d times", n)
	}
}

func countEvents(evs []hardware.Event, k hardware.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// testResets: every declared reset type ends where the Redfish ResetType
// says, from On and from Off.
func testResets(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	for _, rt := range r.m.Capabilities().ResetTypes {
		for _, from := range []hardware.PowerState{hardware.PowerOn, hardware.PowerOff} {
			t.Run(fmt.Sprintf("%s from %s", rt, from), func(t *testing.T) {
				parent := r.t
				r.t = t
				defer func() { r.t = parent }()
				if from == hardware.PowerOn {
					r.on()
				} else {
					r.off()
				}
				boots := r.spy.boots()
				err := r.m.Reset(context.Background(), rt)
				want := from
				switch rt {
				case hardware.ResetNmi:
					if from == hardware.PowerOff {
						if !errors.Is(err, hardware.ErrState) {
							t.Errorf("NMI while off: %v, want ErrState", err)
						}
						return
					}
				case hardware.ResetForceOff, hardware.ResetGracefulShutdown:
					want = hardware.PowerOff
				case hardware.ResetPushPowerButton:
					want = map[hardware.PowerState]hardware.PowerState{hardware.PowerOn: hardware.PowerOff, hardware.PowerOff: hardware.PowerOn}[from]
				default:
					want = hardware.PowerOn
				}
				if err != nil {
					t.Fatalf("Reset %s from %s: %v", rt, from, err)
				}
				r.settled(want)
				restarts := rt.Restarts() || (from == hardware.PowerOff && want == hardware.PowerOn)
				if restarts && len(r.m.Capabilities().BootTargets) > 0 {
					r.wait("the boot reported", func() bool { return r.spy.boots() > boots })
					if got := r.spy.boots() - boots; got != 1 {
						t.Errorf("%s from %s reported %d boots, want 1", rt, from, got)
					}
				} else if got := r.spy.boots(); got != boots && rt != hardware.ResetNmi {
					t.Errorf("%s from %s reported %d boots", rt, from, got-boots)
				}
			})
		}
	}
}

// testBootOnce: a one-time override is handed to the backend before the
// reset, reported booted once, consumed, and not booted again.
func testBootOnce(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	caps := r.m.Capabilities()
	if len(caps.BootTargets) == 0 {
		// No boot control: the override is accepted and ignored.
		err := r.m.ChangeBoot(hardware.BootChange{Target: hardware.BootPxe, Enabled: hardware.BootOnce})
		if err != nil {
			t.Errorf("a boot override without boot control: %v, want it accepted", err)
		}
		if ov := r.m.BootOverride(); ov.Enabled != hardware.BootDisabled {
			t.Errorf("override %+v recorded without boot control", ov)
		}
		return
	}
	if !r.can(hardware.ResetForceRestart) && !r.can(hardware.ResetPowerCycle) && !r.can(hardware.ResetOn) {
		t.Skip("the backend cannot boot the host")
	}
	target := pickBoot(caps.BootTargets, hardware.BootPxe, hardware.BootHdd, hardware.BootBiosSetup)
	r.off()
	if err := r.m.ChangeBoot(hardware.BootChange{Target: target, Enabled: hardware.BootOnce}); err != nil {
		t.Fatalf("set a one-time override to %s: %v", target, err)
	}
	boots := r.spy.boots()
	r.on()
	r.wait("the boot reported", func() bool { return r.spy.boots() > boots })
	if got := r.spy.boots() - boots; got != 1 {
		t.Errorf("one power-on reported %d boots", got)
	}
	if p, ok := r.spy.planAtBoot(); !ok || p.Source != target || !p.Once {
		t.Errorf("plan the backend held when it booted %+v (one handed: %v), want a one-time boot from %s", p, ok, target)
	}
	if lb := r.m.LastBoot(); lb.Source != target {
		t.Errorf("booted %s, want the override's %s", lb.Source, target)
	}
	if ov := r.m.BootOverride(); ov.Enabled != hardware.BootDisabled {
		t.Errorf("override %+v still active after the boot it was for", ov)
	}
	if p := r.m.NextBoot(); p.Once || p.Source == target && target != hardware.BootHdd {
		t.Errorf("next plan %+v still carries the consumed override", p)
	}
	// The next boot is the persistent one.
	boots = r.spy.boots()
	r.reset(pick(caps.ResetTypes, hardware.ResetForceRestart, hardware.ResetPowerCycle, hardware.ResetGracefulRestart))
	r.wait("the second boot reported", func() bool { return r.spy.boots() > boots })
	r.settled(hardware.PowerOn)
	if got := r.spy.boots() - boots; got != 1 {
		t.Errorf("one restart reported %d boots", got)
	}
	if lb := r.m.LastBoot(); lb.Source == target && target != hardware.BootHdd {
		t.Errorf("the consumed override booted again: %+v", lb)
	}
}

func pickBoot(have []hardware.BootSource, want ...hardware.BootSource) hardware.BootSource {
	for _, w := range want {
		if slices.Contains(have, w) {
			return w
		}
	}
	return have[0]
}

// testMedia: an image inserted, seen, ejected; one that cannot be read is
// refused and leaves the slot empty.
func testMedia(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	slots := r.m.Capabilities().MediaSlots
	if len(slots) == 0 {
		t.Skip("no virtual media")
	}
	ctx := context.Background()
	for _, s := range slots {
		err := r.m.InsertMedia(ctx, s.ID, cfg.missing, hardware.InsertOptions{Inserted: true})
		var me *hardware.MediaError
		if !errors.As(err, &me) || !errors.Is(err, hardware.ErrMedia) {
			t.Errorf("%s: unreadable image: %v, want a *MediaError", s.ID, err)
		}
		if md, _ := r.m.MediaSlot(s.ID); md.Image != "" || md.Inserted {
			t.Errorf("%s: a refused image left %+v", s.ID, md)
		}
		if err := r.m.InsertMedia(ctx, s.ID, cfg.Image, hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
			t.Fatalf("%s: insert %s: %v", s.ID, cfg.Image, err)
		}
		if md, _ := r.m.MediaSlot(s.ID); md.Image != cfg.Image || !md.Inserted {
			t.Errorf("%s: after insert %+v", s.ID, md)
		}
		if err := r.m.EjectMedia(ctx, s.ID); err != nil {
			t.Fatalf("%s: eject: %v", s.ID, err)
		}
		if md, _ := r.m.MediaSlot(s.ID); md.Image != "" || md.Inserted {
			t.Errorf("%s: after eject %+v", s.ID, md)
		}
	}
}

// testDisplay: with the host on, a watcher is told of a picture and gets
// one; the frames' numbers grow; stop is final.
func testDisplay(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	d := r.m.Display()
	if _, ok := d.(hardware.DisabledDisplay); ok {
		if f := d.Frame(); f.Image != nil || f.Seq != 0 {
			t.Errorf("a disabled display has a picture: %+v", f)
		}
		t.Skip("no display")
	}
	changed, stop := d.Watch()
	defer stop()
	if r.can(hardware.ResetOn) || r.can(hardware.ResetPushPowerButton) {
		r.on()
	}
	var f hardware.Frame
	r.wait("a picture", func() bool {
		select {
		case <-changed:
		default:
		}
		f = d.Frame()
		return f.Image != nil || f.JPEG != nil
	})
	if f.Seq == 0 || f.Time.IsZero() {
		t.Errorf("frame %d at %v: no sequence number or time", f.Seq, f.Time)
	}
	if f.Image != nil && f.Size().X*f.Size().Y == 0 {
		t.Errorf("empty picture %v", f.Size())
	}
	for _, rc := range f.Dirty {
		if f.Image != nil && !rc.In(f.Image.Bounds()) {
			t.Errorf("dirty rectangle %v outside the picture %v", rc, f.Image.Bounds())
		}
	}
	// A second watcher works alongside the first.
	_, stop2 := d.Watch()
	stop2()
	if g := d.Frame(); g.Seq < f.Seq {
		t.Errorf("frame numbers went back from %d to %d", f.Seq, g.Seq)
	}
}

// testInput: keys and pointer reports reach a host that is on; invalid
// ones are refused.
func testInput(t *testing.T, cfg Config) {
	r := newRig(t, cfg)
	kb, pt := r.m.Keyboard(), r.m.Pointer()
	_, noKeyboard := kb.(hardware.DisabledKeyboard)
	abs, rel := pt.PointerModes()
	if noKeyboard && !abs && !rel {
		if err := kb.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("Key on a disabled keyboard: %v, want ErrNotSupported", err)
		}
		t.Skip("no keyboard or pointer")
	}
	if r.can(hardware.ResetOn) || r.can(hardware.ResetPushPowerButton) {
		r.on()
	}
	if !noKeyboard {
		if err := kb.Key(0x01, true); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("Key 0x01 (an error code, not a key): %v, want ErrInvalid", err)
		}
		for _, k := range []hardware.KeyCode{hardware.KeyLeftShift, hardware.KeyA, hardware.KeyEnter} {
			if err := kb.Key(k, true); err != nil {
				t.Errorf("press %#x: %v", k, err)
			}
		}
		for _, k := range []hardware.KeyCode{hardware.KeyEnter, hardware.KeyA, hardware.KeyLeftShift} {
			if err := kb.Key(k, false); err != nil {
				t.Errorf("release %#x: %v", k, err)
			}
		}
		if err := kb.Key(hardware.KeyA, false); err != nil {
			t.Errorf("releasing a key that is up: %v, want nil", err)
		}
		// The lock keys toggle the LEDs the host sets.
		changed, stop := kb.WatchLEDs()
		before := kb.LEDs()
		_ = kb.Key(hardware.KeyCapsLock, true)
		_ = kb.Key(hardware.KeyCapsLock, false)
		r.wait("Caps Lock LED toggled", func() bool {
			select {
			case <-changed:
			default:
			}
			return kb.LEDs().CapsLock != before.CapsLock
		})
		_ = kb.Key(hardware.KeyCapsLock, true)
		_ = kb.Key(hardware.KeyCapsLock, false)
		stop()
	}
	if abs {
		if err := pt.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax / 2, Y: hardware.PointerMax / 2, Buttons: hardware.ButtonLeft}); err != nil {
			t.Errorf("absolute move: %v", err)
		}
		if err := pt.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax + 1}); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("move outside 0..%d: %v, want ErrInvalid", hardware.PointerMax, err)
		}
	}
	if rel {
		if err := pt.Point(hardware.PointerEvent{DX: 5, DY: -5, Wheel: 1}); err != nil {
			t.Errorf("relative move: %v", err)
		}
	}
}

// spy is the backend under test with its reports to the Host and the
// plans it was handed recorded.
type spy struct {
	hardware.Backend
	parts hardware.Parts

	mu       sync.Mutex
	nChanges int
	nBoots   int
	handed   []hardware.BootPlan
	// atBoot is the last plan handed when the last boot was reported.
	atBoot    hardware.BootPlan
	atBootSet bool
}

// Attach implements hardware.Backend, recording what goes through.
func (s *spy) Attach(h hardware.Host) hardware.Parts {
	p := s.Backend.Attach(spyHost{h, s})
	s.parts = p
	if p.Boot != nil {
		p.Boot = spyBoot{p.Boot, s}
	}
	return p
}

func (s *spy) changes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.nChanges }
func (s *spy) boots() int   { s.mu.Lock(); defer s.mu.Unlock(); return s.nBoots }

// planAtBoot is the plan the backend held when it last reported a boot:
// the last one handed before that.
func (s *spy) planAtBoot() (hardware.BootPlan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.atBoot, s.atBootSet
}

type spyHost struct {
	hardware.Host
	s *spy
}

func (h spyHost) PowerChanged(from, to hardware.PowerState) {
	h.s.mu.Lock()
	h.s.nChanges++
	h.s.mu.Unlock()
	h.Host.PowerChanged(from, to)
}

func (h spyHost) Booted() hardware.BootResult {
	h.s.mu.Lock()
	h.s.nBoots++
	if n := len(h.s.handed); n > 0 {
		h.s.atBoot, h.s.atBootSet = h.s.handed[n-1], true
	}
	h.s.mu.Unlock()
	return h.Host.Booted()
}

type spyBoot struct {
	hardware.BootControl
	s *spy
}

func (b spyBoot) SetNextBoot(ctx context.Context, p hardware.BootPlan) error {
	b.s.mu.Lock()
	b.s.handed = append(b.s.handed, p)
	b.s.mu.Unlock()
	return b.BootControl.SetNextBoot(ctx, p)
}
