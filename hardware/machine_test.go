package hardware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/store"
)

const (
	delay    = 20 * time.Millisecond // every simulated power transition
	deadline = 5 * time.Second       // bounds every poll; reached only on failure
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

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

// images serves virtual media: any path is a small ISO 9660 image, except
// /missing.iso (404) and /block/... which waits for release.
type images struct {
	*httptest.Server
	requests atomic.Int64
	entered  chan string
	release  chan struct{}
}

var isoImage = func() []byte {
	b := bytes.Repeat([]byte{1}, 40000)
	copy(b[32769:], "CD001")
	return b
}()

func newImages(t *testing.T) *images {
	im := &images{entered: make(chan string, 16), release: make(chan struct{})}
	im.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		im.requests.Add(1)
		switch {
		case r.URL.Path == "/missing.iso":
			http.NotFound(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/block/"):
			im.entered <- r.URL.Path
			select {
			case <-im.release:
			case <-r.Context().Done():
				return
			}
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(isoImage))
	}))
	t.Cleanup(im.Close)
	return im
}

// env is a Machine over the simulation and a real bbolt store.
type env struct {
	t    *testing.T
	path string
	db   *store.DB
	m    *hardware.Machine
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, path: filepath.Join(t.TempDir(), "state.db")}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	db, err := store.Open(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	b := sim.New(sim.Config{ID: "sys1", Seed: "test", PowerOnDelay: delay, PowerOffDelay: delay, ShutdownDelay: delay,
		Fetcher: &fetch.Fetcher{Timeout: deadline}})
	m, err := hardware.NewMachine("sys1", b, db, quiet)
	if err != nil {
		db.Close()
		e.t.Fatal(err)
	}
	e.db, e.m = db, m
}

func (e *env) close() {
	if e.m != nil {
		_ = e.m.Close()
		_ = e.db.Close()
		e.m, e.db = nil, nil
	}
}

// reopen closes the machine and the database and opens both again, as a
// restart of the daemon does.
func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) power() hardware.PowerState {
	e.t.Helper()
	s, err := e.m.PowerState(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func count(evs []hardware.Event, k hardware.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func last(t *testing.T, evs []hardware.Event, k hardware.EventKind) hardware.Event {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == k {
			return evs[i]
		}
	}
	t.Fatalf("no %s event in %v", k, evs)
	return hardware.Event{}
}

var (
	none        = hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled, Mode: hardware.BootModeUEFI}
	uefi        = hardware.BootModeUEFI
	legacy      = hardware.BootModeLegacy
	setOverride = func(t *testing.T, m *hardware.Machine, ov hardware.BootOverride) {
		t.Helper()
		if err := m.SetBootOverride(ov); err != nil {
			t.Fatal(err)
		}
	}
)

func TestFreshMachine(t *testing.T) {
	e := newEnv(t)
	m := e.m
	if m.ID() != "sys1" || m.Info().Model == "" || len(m.Capabilities().MediaSlots) != 2 {
		t.Errorf("identity: %s %+v", m.ID(), m.Info())
	}
	if got := m.BootOverride(); got != none {
		t.Errorf("override %+v, want %+v", got, none)
	}
	if !m.BootOverrideSupported() {
		t.Error("the simulation has boot control")
	}
	md := m.Media()
	if len(md) != 2 || md[0].ID != "CD" || md[1].ID != "USB" {
		t.Fatalf("media %+v", md)
	}
	for _, s := range md {
		if s.Inserted || s.Image != "" || s.Size != -1 {
			t.Errorf("slot %s not empty: %+v", s.ID, s)
		}
	}
	cur, pending := m.Bios()
	if cur["BootMode"] != "UEFI" || cur["ProcTurboMode"] != "Enabled" || len(pending) != 0 {
		t.Errorf("bios %v pending %v", cur, pending)
	}
	if en, c := m.SecureBoot(); en || c {
		t.Error("secure boot on by default")
	}
	if len(m.Events()) != 0 || !m.LastBoot().Time.IsZero() || !m.LastReset().IsZero() {
		t.Error("a fresh machine has history")
	}
	if ss, err := m.Sensors(context.Background()); err != nil || len(ss) == 0 {
		t.Errorf("sensors %v %v", ss, err)
	}
}

// TestBoot drives the firmware directly: which device each override and
// media combination boots, and what is left of the override afterwards.
func TestBoot(t *testing.T) {
	type result struct {
		src  hardware.BootSource
		mode hardware.BootMode
		slot string // the image booted is this slot's
	}
	cases := []struct {
		name    string
		ov      *hardware.BootOverride
		media   []string       // slots holding a medium
		pending map[string]any // BIOS settings staged for the boot
		first   result
		after   hardware.BootOverride
		second  result
		note    string // in the first boot's event
	}{
		{name: "no override", first: result{hardware.BootHdd, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""}},
		{name: "Once Pxe is consumed",
			ov:    &hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce},
			first: result{hardware.BootPxe, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""}},
		{name: "Continuous Pxe Legacy stays",
			ov:     &hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootContinuous, Mode: legacy},
			first:  result{hardware.BootPxe, legacy, ""},
			after:  hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootContinuous, Mode: legacy},
			second: result{hardware.BootPxe, legacy, ""}},
		{name: "Disabled target is ignored and kept",
			ov:     &hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootDisabled},
			first:  result{hardware.BootHdd, uefi, ""},
			after:  hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootDisabled, Mode: uefi},
			second: result{hardware.BootHdd, uefi, ""}},
		{name: "Once None",
			ov:    &hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootOnce},
			first: result{hardware.BootHdd, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""}},
		{name: "Once Cd with media boots the image",
			ov: &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce}, media: []string{"CD"},
			first: result{hardware.BootCd, uefi, "CD"}, after: none, second: result{hardware.BootHdd, uefi, ""}},
		{name: "Once Cd without media falls through to Hdd",
			ov:    &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce},
			first: result{hardware.BootHdd, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""},
			note: "boot override Cd skipped: no medium in CD"},
		{name: "Once Cd with media only in USB falls through",
			ov: &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce}, media: []string{"USB"},
			first: result{hardware.BootHdd, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""},
			note: "boot override Cd skipped: no medium in CD"},
		{name: "Continuous Cd without media keeps falling through",
			ov:     &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootContinuous},
			first:  result{hardware.BootHdd, uefi, ""},
			after:  hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootContinuous, Mode: uefi},
			second: result{hardware.BootHdd, uefi, ""}},
		{name: "Continuous Usb with media",
			ov: &hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootContinuous}, media: []string{"CD", "USB"},
			first:  result{hardware.BootUsb, uefi, "USB"},
			after:  hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootContinuous, Mode: uefi},
			second: result{hardware.BootUsb, uefi, "USB"}},
		{name: "media without override boots the disk", media: []string{"CD"},
			first: result{hardware.BootHdd, uefi, ""}, after: none, second: result{hardware.BootHdd, uefi, ""}},
		{name: "Once BiosSetup in Legacy mode",
			ov:    &hardware.BootOverride{Target: hardware.BootBiosSetup, Enabled: hardware.BootOnce, Mode: legacy},
			first: result{hardware.BootBiosSetup, legacy, ""},
			// With the override consumed the BIOS's own mode applies again,
			// and the override's Mode reads back as it.
			after:  hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled, Mode: uefi},
			second: result{hardware.BootHdd, uefi, ""}},
		{name: "pending BIOS BootMode applies to this boot",
			pending: map[string]any{"BootMode": "Legacy"},
			first:   result{hardware.BootHdd, legacy, ""},
			after:   hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled, Mode: legacy},
			second:  result{hardware.BootHdd, legacy, ""}},
	}
	im := newImages(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newEnv(t).m
			if c.ov != nil {
				setOverride(t, m, *c.ov)
			}
			for _, slot := range c.media {
				if err := m.InsertMedia(context.Background(), slot, im.URL+"/"+slot+".iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
					t.Fatal(err)
				}
			}
			if c.pending != nil {
				if err := m.SetBiosPending(c.pending); err != nil {
					t.Fatal(err)
				}
			}
			check := func(which string, got hardware.BootResult, want result) {
				t.Helper()
				img := ""
				if want.slot != "" {
					img = im.URL + "/" + want.slot + ".iso"
				}
				if got.Source != want.src || got.Mode != want.mode || got.Image != img || got.Time.IsZero() {
					t.Errorf("%s boot: %s %s %q, want %s %s %q", which, got.Source, got.Mode, got.Image, want.src, want.mode, img)
				}
				if lb := m.LastBoot(); lb != got {
					t.Errorf("LastBoot %+v, want %+v", lb, got)
				}
			}
			r1 := m.Boot()
			check("first", r1, c.first)
			if got := m.BootOverride(); got != c.after {
				t.Errorf("override after boot %+v, want %+v", got, c.after)
			}
			ev := last(t, m.Events(), hardware.EventBoot)
			if !strings.Contains(ev.Message, "from "+string(c.first.src)) || !strings.Contains(ev.Message, r1.Image) ||
				!strings.Contains(ev.Message, c.note) {
				t.Errorf("boot event %q", ev.Message)
			}
			check("second", m.Boot(), c.second)
			if n := count(m.Events(), hardware.EventBoot); n != 2 {
				t.Errorf("%d boot events for 2 boots", n)
			}
		})
	}
}

// TestBootThroughPower boots through the simulated power sequence: the
// firmware runs exactly once per boot and consumes a Once override.
func TestBootThroughPower(t *testing.T) {
	e := newEnv(t)
	m, ctx := e.m, context.Background()
	boots := func() int { return count(m.Events(), hardware.EventBoot) }
	setOverride(t, m, hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce})

	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if m.LastReset().IsZero() {
		t.Error("LastReset not recorded")
	}
	poll(t, "first boot", func() bool { return boots() == 1 && e.power() == hardware.PowerOn })
	if lb := m.LastBoot(); lb.Source != hardware.BootPxe {
		t.Errorf("first boot from %s, want Pxe", lb.Source)
	}
	if m.BootOverride() != none {
		t.Errorf("Once override not consumed: %+v", m.BootOverride())
	}

	for i, r := range []hardware.ResetType{hardware.ResetGracefulRestart, hardware.ResetForceRestart, hardware.ResetPowerCycle} {
		if err := m.Reset(ctx, r); err != nil {
			t.Fatal(r, err)
		}
		poll(t, string(r), func() bool { return boots() == i+2 && e.power() == hardware.PowerOn })
		if lb := m.LastBoot(); lb.Source != hardware.BootHdd {
			t.Errorf("%s booted %s, want Hdd", r, lb.Source)
		}
	}
	if err := m.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx, hardware.ResetNmi); !errors.Is(err, hardware.ErrState) {
		t.Errorf("Nmi while off: %v, want ErrState", err)
	}
	if n := boots(); n != 4 {
		t.Errorf("%d boot events for 4 boots", n)
	}
}

func TestBiosSettings(t *testing.T) {
	m := newEnv(t).m
	factory, _ := m.Bios()

	bad := []struct {
		name  string
		attrs map[string]any
		err   error
	}{
		{"unknown attribute", map[string]any{"NoSuch": "x"}, hardware.ErrNotFound},
		{"string for a number", map[string]any{"PxeNicIndex": "1"}, hardware.ErrInvalid},
		{"number for a string", map[string]any{"ProcTurboMode": float64(1)}, hardware.ErrInvalid},
		{"bool for a string", map[string]any{"ProcTurboMode": true}, hardware.ErrInvalid},
		{"unsupported BootMode", map[string]any{"BootMode": "BIOS"}, hardware.ErrInvalid},
		{"one bad among good", map[string]any{"ProcTurboMode": "Disabled", "NoSuch": "x"}, hardware.ErrNotFound},
	}
	for _, c := range bad {
		if err := m.SetBiosPending(c.attrs); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if _, p := m.Bios(); len(p) != 0 {
			t.Fatalf("%s: rejected settings staged: %v", c.name, p)
		}
	}

	g := m.Generation()
	if err := m.SetBiosPending(map[string]any{"ProcTurboMode": "Disabled", "PxeNicIndex": float64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetBiosPending(map[string]any{"AssetTag": "rack7"}); err != nil { // merges
		t.Fatal(err)
	}
	if m.Generation() == g {
		t.Error("Generation unchanged by SetBiosPending")
	}
	cur, pending := m.Bios()
	if cur["ProcTurboMode"] != "Enabled" || len(pending) != 3 || pending["PxeNicIndex"] != float64(1) || pending["AssetTag"] != "rack7" {
		t.Fatalf("before boot: current %v pending %v", cur, pending)
	}
	// The maps returned are copies.
	cur["ProcTurboMode"], pending["AssetTag"] = "X", "Y"
	if c2, p2 := m.Bios(); c2["ProcTurboMode"] != "Enabled" || p2["AssetTag"] != "rack7" {
		t.Error("Bios returned the machine's own maps")
	}

	m.Boot()
	cur, pending = m.Bios()
	if cur["ProcTurboMode"] != "Disabled" || cur["PxeNicIndex"] != float64(1) || cur["AssetTag"] != "rack7" || len(pending) != 0 {
		t.Errorf("after boot: current %v pending %v", cur, pending)
	}
	if n := count(m.Events(), hardware.EventSettings); n != 1 {
		t.Errorf("%d SettingsApplied events", n)
	}
	m.Boot() // nothing pending: no second SettingsApplied
	if n := count(m.Events(), hardware.EventSettings); n != 1 {
		t.Errorf("%d SettingsApplied events after a boot with nothing pending", n)
	}

	if err := m.ResetBios(); err != nil {
		t.Fatal(err)
	}
	if _, pending = m.Bios(); pending["ProcTurboMode"] != "Enabled" || pending["BootMode"] != "UEFI" {
		t.Errorf("ResetBios staged %v", pending)
	}
	m.Boot()
	if cur, _ = m.Bios(); !equalMaps(cur, factory) {
		t.Errorf("after ResetBios and a boot: %v, want %v", cur, factory)
	}
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSecureBoot(t *testing.T) {
	m := newEnv(t).m
	steps := []struct {
		set           *bool
		boot          bool
		enabled, curr bool
	}{
		{set: ptr(true), enabled: true, curr: false},
		{boot: true, enabled: true, curr: true},
		{set: ptr(false), enabled: false, curr: true},
		{boot: true, enabled: false, curr: false},
	}
	for i, s := range steps {
		if s.set != nil {
			g := m.Generation()
			if err := m.SetSecureBoot(*s.set); err != nil {
				t.Fatal(err)
			}
			if m.Generation() == g {
				t.Errorf("step %d: Generation unchanged", i)
			}
		}
		if s.boot {
			m.Boot()
		}
		if en, cur := m.SecureBoot(); en != s.enabled || cur != s.curr {
			t.Errorf("step %d: SecureBoot() = %v, %v, want %v, %v", i, en, cur, s.enabled, s.curr)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestSetBootOverride applies a sequence of requests to one machine:
// empty fields keep their value, invalid requests change nothing.
func TestSetBootOverride(t *testing.T) {
	m := newEnv(t).m
	steps := []struct {
		name string
		req  hardware.BootOverride
		err  error
		want hardware.BootOverride
	}{
		{"unsupported target", hardware.BootOverride{Target: hardware.BootFloppy}, hardware.ErrInvalid, none},
		{"unknown target", hardware.BootOverride{Target: "Tape"}, hardware.ErrInvalid, none},
		{"unknown enabled", hardware.BootOverride{Enabled: "Sometimes"}, hardware.ErrInvalid, none},
		{"unknown mode", hardware.BootOverride{Mode: "BIOS"}, hardware.ErrInvalid, none},
		{"good target, bad enabled", hardware.BootOverride{Target: hardware.BootPxe, Enabled: "Always"}, hardware.ErrInvalid, none},
		{"good target, bad mode", hardware.BootOverride{Target: hardware.BootPxe, Mode: "EFI"}, hardware.ErrInvalid, none},
		{"target only", hardware.BootOverride{Target: hardware.BootPxe}, nil,
			hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootDisabled, Mode: uefi}},
		{"enabled only", hardware.BootOverride{Enabled: hardware.BootOnce}, nil,
			hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce, Mode: uefi}},
		{"mode only", hardware.BootOverride{Mode: legacy}, nil,
			hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce, Mode: legacy}},
		{"all three", hardware.BootOverride{Target: hardware.BootUefiHttp, Enabled: hardware.BootContinuous, Mode: uefi}, nil,
			hardware.BootOverride{Target: hardware.BootUefiHttp, Enabled: hardware.BootContinuous, Mode: uefi}},
		{"empty request", hardware.BootOverride{}, nil,
			hardware.BootOverride{Target: hardware.BootUefiHttp, Enabled: hardware.BootContinuous, Mode: uefi}},
		{"same again", hardware.BootOverride{Target: hardware.BootUefiHttp}, nil,
			hardware.BootOverride{Target: hardware.BootUefiHttp, Enabled: hardware.BootContinuous, Mode: uefi}},
		{"target None", hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled}, nil,
			hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled, Mode: uefi}},
	}
	for _, s := range steps {
		before, g, evs := m.BootOverride(), m.Generation(), len(m.Events())
		err := m.SetBootOverride(s.req)
		if s.err == nil && err != nil || s.err != nil && !errors.Is(err, s.err) {
			t.Errorf("%s: err %v, want %v", s.name, err, s.err)
		}
		if got := m.BootOverride(); got != s.want {
			t.Errorf("%s: override %+v, want %+v", s.name, got, s.want)
		}
		changed := s.want != before
		if (m.Generation() != g) != changed {
			t.Errorf("%s: Generation changed=%v, override changed=%v", s.name, m.Generation() != g, changed)
		}
		evs2 := m.Events()
		if (len(evs2) != evs) != changed {
			t.Errorf("%s: %d new events, override changed=%v", s.name, len(evs2)-evs, changed)
		}
		if changed && evs2[len(evs2)-1].Kind != hardware.EventBootOverride {
			t.Errorf("%s: last event %+v", s.name, evs2[len(evs2)-1])
		}
	}
}

// atx is a machine wired only to ATX pins, as behind a PiKVM: it can press
// the buttons and read the power LED, nothing else.
type atx struct {
	mu     sync.Mutex
	power  hardware.PowerState
	resets []hardware.ResetType
	host   hardware.Host
}

func (a *atx) Info() hardware.Info { return hardware.Info{Manufacturer: "Generic", Model: "ATX"} }
func (a *atx) Attach(h hardware.Host) hardware.Parts {
	a.host = h
	return hardware.Parts{Power: a}
}
func (a *atx) ResetTypes() []hardware.ResetType {
	return []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOff, hardware.ResetPushPowerButton}
}
func (a *atx) PowerState(context.Context) (hardware.PowerState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.power, nil
}
func (a *atx) Reset(_ context.Context, r hardware.ResetType) error {
	a.mu.Lock()
	a.resets = append(a.resets, r)
	a.mu.Unlock()
	return nil
}
func (a *atx) Close() error { return nil }

// led is the power LED changing on its own.
func (a *atx) led(to hardware.PowerState) {
	a.mu.Lock()
	from := a.power
	a.power = to
	a.mu.Unlock()
	a.host.PowerChanged(from, to)
}

func TestNoBootControl(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := &atx{power: hardware.PowerOff}
	m, err := hardware.NewMachine("kvm", b, db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if a := m.BootAllowable(); m.BootOverrideSupported() || a.Supported() || a.Targets != nil || a.Enabled != nil || a.Modes != nil {
		t.Errorf("allowable without boot targets: %+v", a)
	}
	for _, ov := range []hardware.BootOverride{
		{Target: hardware.BootPxe, Enabled: hardware.BootOnce, Mode: uefi},
		{Target: hardware.BootCd, Enabled: hardware.BootContinuous},
		{Target: hardware.BootFloppy},
		{Target: "Tape", Enabled: "Sometimes", Mode: "BIOS"},
		{Target: hardware.BootNone},
		{},
	} {
		g := m.Generation()
		if err := m.SetBootOverride(ov); err != nil {
			t.Errorf("SetBootOverride(%+v): %v; want it accepted", ov, err)
		}
		if got := m.BootOverride(); got != none {
			t.Errorf("after %+v: override %+v, want %+v", ov, got, none)
		}
		if m.Generation() != g {
			t.Errorf("after %+v: Generation changed", ov)
		}
	}
	if len(m.Events()) != 0 {
		t.Errorf("ignored overrides logged: %v", m.Events())
	}
	if res := m.Boot(); res.Source != hardware.BootHdd {
		t.Errorf("boot from %s", res.Source)
	}

	for _, r := range []hardware.ResetType{hardware.ResetGracefulShutdown, hardware.ResetNmi, hardware.ResetPowerCycle} {
		if err := m.Reset(ctx, r); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("Reset %s: %v, want ErrNotSupported", r, err)
		}
	}
	if err := m.Reset(ctx, hardware.ResetPushPowerButton); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	if len(b.resets) != 1 || b.resets[0] != hardware.ResetPushPowerButton {
		t.Errorf("backend saw %v", b.resets)
	}
	b.mu.Unlock()

	// Power changes the backend reports are logged and bump Generation.
	for _, c := range []struct {
		to   hardware.PowerState
		kind hardware.EventKind
	}{{hardware.PowerOn, hardware.EventPowerOn}, {hardware.PowerOff, hardware.EventPowerOff}} {
		g := m.Generation()
		b.led(c.to)
		if m.Generation() == g {
			t.Errorf("Generation unchanged by power %s", c.to)
		}
		if evs := m.Events(); evs[len(evs)-1].Kind != c.kind {
			t.Errorf("power %s logged %+v", c.to, evs[len(evs)-1])
		}
	}

	if err := m.InsertMedia(ctx, "CD", "http://127.0.0.1/x.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("InsertMedia: %v, want ErrNotSupported", err)
	}
	if err := m.EjectMedia(ctx, "CD"); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("EjectMedia: %v, want ErrNotFound", err)
	}
	if len(m.Media()) != 0 {
		t.Errorf("media %v", m.Media())
	}
	if err := m.SetSecureBoot(true); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("SetSecureBoot: %v", err)
	}
	if ss, err := m.Sensors(ctx); ss != nil || err != nil {
		t.Errorf("Sensors: %v %v", ss, err)
	}
	if cur, _ := m.Bios(); cur["BootMode"] != "UEFI" {
		t.Errorf("bios %v", cur)
	}
}

func TestInsertMediaValidation(t *testing.T) {
	im := newImages(t)
	m := newEnv(t).m
	ctx := context.Background()
	for _, u := range []string{
		"", "x.iso", "/x.iso", "//" + im.Listener.Addr().String() + "/x.iso",
		"ftp://127.0.0.1/x.iso", "file:///x.iso", "nfs://127.0.0.1/x.iso", "smb://127.0.0.1/x.iso",
		"tftp://127.0.0.1/x.iso", "javascript:alert(1)", "http:///x.iso", "https://", "http://[::1",
		"HTTP//127.0.0.1/x.iso",
	} {
		if err := m.InsertMedia(ctx, "CD", u, hardware.InsertOptions{Inserted: true, WriteProtected: true}); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("InsertMedia(%q): %v, want ErrInvalid", u, err)
		}
	}
	if err := m.InsertMedia(ctx, "FLOPPY", im.URL+"/x.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("unknown slot: %v, want ErrNotFound", err)
	}
	if n := im.requests.Load(); n != 0 {
		t.Errorf("%d requests for rejected inserts", n)
	}
	for _, md := range m.Media() {
		if md.Inserted {
			t.Errorf("slot %s filled by a rejected insert", md.ID)
		}
	}
	if len(m.Events()) != 0 {
		t.Error("rejected inserts logged")
	}
}

func TestInsertEject(t *testing.T) {
	im := newImages(t)
	m := newEnv(t).m
	ctx := context.Background()
	url := im.URL + "/images/install.iso?token=abc"

	// A failed insert leaves the slot empty and free.
	err := m.InsertMedia(ctx, "CD", im.URL+"/missing.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
	var me *hardware.MediaError
	if !errors.As(err, &me) || me.HTTPStatus != 404 || !errors.Is(err, hardware.ErrMedia) {
		t.Fatalf("missing image: %v, want a MediaError 404", err)
	}
	if md, _ := m.MediaSlot("CD"); md.Inserted {
		t.Fatal("slot filled by a failed insert")
	}

	g := m.Generation()
	before := time.Now().UTC()
	if err := m.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	md, ok := m.MediaSlot("CD")
	if !ok || !md.Inserted || md.Image != url || md.WriteProtected || md.Size != int64(len(isoImage)) ||
		md.Format != "iso9660" || md.InsertedAt.Before(before.Add(-time.Second)) || md.ImageName() != "install.iso" {
		t.Errorf("after insert: %+v", md)
	}
	if md.ID != "CD" || md.Boot != hardware.BootCd {
		t.Errorf("slot spec lost: %+v", md.SlotSpec)
	}
	if m.Generation() == g {
		t.Error("Generation unchanged by InsertMedia")
	}
	if ev := last(t, m.Events(), hardware.EventMediaInsert); !strings.Contains(ev.Message, url) || !strings.Contains(ev.Message, "CD") {
		t.Errorf("insert event %q", ev.Message)
	}

	n := im.requests.Load()
	if err := m.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true, WriteProtected: true}); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("insert into a full slot: %v, want ErrBusy", err)
	}
	if im.requests.Load() != n {
		t.Error("a full slot still fetched the image")
	}
	if err := m.InsertMedia(ctx, "USB", im.URL+"/stick.img", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Errorf("the other slot is independent: %v", err)
	}

	g = m.Generation()
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	if md, _ := m.MediaSlot("CD"); md.Inserted || md.Image != "" || md.Size != -1 || md.Format != "" || !md.InsertedAt.IsZero() || md.ID != "CD" {
		t.Errorf("after eject: %+v", md)
	}
	if m.Generation() == g {
		t.Error("Generation unchanged by EjectMedia")
	}
	if ev := last(t, m.Events(), hardware.EventMediaEject); !strings.Contains(ev.Message, url) {
		t.Errorf("eject event %q", ev.Message)
	}

	evs := len(m.Events())
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Errorf("ejecting an empty slot: %v", err)
	}
	if len(m.Events()) != evs {
		t.Error("ejecting an empty slot was logged")
	}
	if err := m.EjectMedia(ctx, "FLOPPY"); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("eject unknown slot: %v", err)
	}
	if _, ok := m.MediaSlot("FLOPPY"); ok {
		t.Error("MediaSlot found an unknown slot")
	}
	if err := m.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Errorf("insert after eject: %v", err)
	}
}

func TestConcurrentInsert(t *testing.T) {
	im := newImages(t)
	m := newEnv(t).m
	ctx := context.Background()

	// One insert blocks on the image server; the slot is busy meanwhile.
	done := make(chan error, 1)
	go func() {
		done <- m.InsertMedia(ctx, "CD", im.URL+"/block/a.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
	}()
	select {
	case <-im.entered:
	case <-time.After(deadline):
		t.Fatal("first insert never reached the server")
	}
	if err := m.InsertMedia(ctx, "CD", im.URL+"/b.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("second insert during the first: %v, want ErrBusy", err)
	}
	if err := m.InsertMedia(ctx, "USB", im.URL+"/c.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Errorf("the other slot is not blocked: %v", err)
	}
	if md, _ := m.MediaSlot("CD"); md.Inserted {
		t.Error("slot shows a medium before it was verified")
	}
	close(im.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if md, _ := m.MediaSlot("CD"); md.Image != im.URL+"/block/a.iso" {
		t.Errorf("CD holds %q", md.Image)
	}

	// Many at once into the same (empty) slot: exactly one wins.
	if err := m.EjectMedia(ctx, "USB"); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			errs <- m.InsertMedia(ctx, "USB", im.URL+"/race.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
		}()
	}
	wins := 0
	for i := 0; i < n; i++ {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, hardware.ErrBusy):
			t.Errorf("racing insert: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d inserts won the slot", wins)
	}
	if k := count(m.Events(), hardware.EventMediaInsert); k != 3 {
		t.Errorf("%d insert events, want 3", k)
	}
}

// TestEventLog checks what each operation logs, in order.
func TestEventLog(t *testing.T) {
	im := newImages(t)
	e := newEnv(t)
	m, ctx := e.m, context.Background()
	setOverride(t, m, hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce})
	if err := m.InsertMedia(ctx, "CD", im.URL+"/os.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "boot", func() bool { return count(m.Events(), hardware.EventBoot) == 1 })
	if err := m.Reset(ctx, hardware.ResetNmi); err != nil {
		t.Fatal(err)
	}
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	m.AddEvent(hardware.EventKind("Custom"), hardware.SeverityCritical, "fan 3 failed")

	want := []struct {
		kind hardware.EventKind
		sev  hardware.Severity
		text string
	}{
		{hardware.EventBootOverride, hardware.SeverityOK, "Cd Once"},
		{hardware.EventMediaInsert, hardware.SeverityOK, "os.iso"},
		{hardware.EventPowerOn, hardware.SeverityOK, "on"},
		{hardware.EventBoot, hardware.SeverityOK, "from Cd in UEFI mode image " + im.URL + "/os.iso"},
		{hardware.EventNmi, hardware.SeverityWarning, "NMI"},
		{hardware.EventMediaEject, hardware.SeverityOK, "os.iso"},
		{hardware.EventPowerOff, hardware.SeverityOK, "off"},
		{"Custom", hardware.SeverityCritical, "fan 3 failed"},
	}
	evs := m.Events()
	if len(evs) != len(want) {
		t.Fatalf("events %+v", evs)
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Kind != w.kind || ev.Severity != w.sev || !strings.Contains(ev.Message, w.text) {
			t.Errorf("event %d: %+v, want %s %s %q", i, ev, w.kind, w.sev, w.text)
		}
		if ev.ID != uint64(i+1) {
			t.Errorf("event %d has ID %d", i, ev.ID)
		}
		if ev.Time.IsZero() || ev.Time.Location() != time.UTC || time.Since(ev.Time) > time.Minute {
			t.Errorf("event %d time %v", i, ev.Time)
		}
	}
	// Events returns a copy.
	evs[0].Message = "changed"
	if m.Events()[0].Message == "changed" {
		t.Error("Events returned the log itself")
	}
}

// memStore is an in-memory hardware.Store: the event log cap needs over a
// thousand writes, each an fsync with bbolt (see BenchmarkAddEvent).
type memStore struct {
	mu sync.Mutex
	b  map[string]map[string][]byte
}

func newMemStore() *memStore { return &memStore{b: map[string]map[string][]byte{}} }

func (s *memStore) Get(bucket, key string, v any) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok := s.b[bucket][key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (s *memStore) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b[bucket] == nil {
		s.b[bucket] = map[string][]byte{}
	}
	s.b[bucket][key] = raw
	return nil
}

func (s *memStore) Delete(bucket, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.b[bucket], key)
	return nil
}

func (s *memStore) List(bucket string, fn func(string, []byte) error) error {
	s.mu.Lock()
	keys := make([]string, 0, len(s.b[bucket]))
	for k := range s.b[bucket] {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		s.mu.Lock()
		raw, ok := s.b[bucket][k]
		s.mu.Unlock()
		if ok {
			if err := fn(k, raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *memStore) DropBucket(bucket string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.b, bucket)
	return nil
}

func (s *memStore) size(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.b[bucket])
}

func TestEventLogCapped(t *testing.T) {
	st := newMemStore()
	open := func() *hardware.Machine {
		m, err := hardware.NewMachine("sys1", sim.New(sim.Config{}), st, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	m := open()
	const extra = 76
	for i := 0; i < hardware.MaxEvents+extra; i++ {
		m.AddEvent("Test", hardware.SeverityOK, fmt.Sprint(i+1))
	}
	check := func(when string, first, lastID uint64) {
		t.Helper()
		evs := m.Events()
		if len(evs) != hardware.MaxEvents || evs[0].ID != first || evs[len(evs)-1].ID != lastID {
			t.Fatalf("%s: %d events, IDs %d..%d, want %d, %d..%d", when, len(evs), evs[0].ID, evs[len(evs)-1].ID,
				hardware.MaxEvents, first, lastID)
		}
		for i, ev := range evs {
			if ev.ID != first+uint64(i) || ev.Message != fmt.Sprint(ev.ID) && ev.Message != "after restart" {
				t.Fatalf("%s: entry %d is %+v", when, i, ev)
			}
		}
		if n := st.size("events/sys1"); n != hardware.MaxEvents {
			t.Errorf("%s: %d events in the store, want the %d kept", when, n, hardware.MaxEvents)
		}
	}
	check("full", extra+1, hardware.MaxEvents+extra)
	m = open() // a restart over the same store
	check("restarted", extra+1, hardware.MaxEvents+extra)
	m.AddEvent("Test", hardware.SeverityOK, "after restart")
	check("one more", extra+2, hardware.MaxEvents+extra+1)
}

// BenchmarkAddEvent measures what an event costs with the real store: one
// fsynced bbolt transaction, two once the log is full (Put, then Delete of
// the oldest).
func BenchmarkAddEvent(b *testing.B) {
	for _, full := range []bool{false, true} {
		name := "filling"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "s.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			m, err := hardware.NewMachine("sys1", sim.New(sim.Config{}), db, quiet)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			if full {
				for i := 0; i < hardware.MaxEvents; i++ {
					m.AddEvent("Test", hardware.SeverityOK, "x")
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.AddEvent("Test", hardware.SeverityOK, "x")
			}
		})
	}
}

func TestClearEvents(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.m.AddEvent("Test", hardware.SeverityOK, "x")
	}
	g := e.m.Generation()
	if err := e.m.ClearEvents(); err != nil {
		t.Fatal(err)
	}
	if e.m.Generation() == g {
		t.Error("Generation unchanged by ClearEvents")
	}
	check := func(when string) {
		t.Helper()
		evs := e.m.Events()
		if len(evs) != 1 || evs[0].Kind != hardware.EventLogCleared || evs[0].ID != 6 {
			t.Fatalf("%s: %+v", when, evs)
		}
	}
	check("cleared")
	e.reopen()
	check("reopened")
	e.m.AddEvent("Test", hardware.SeverityOK, "y")
	if evs := e.m.Events(); len(evs) != 2 || evs[1].ID != 7 {
		t.Errorf("after clear and reopen: %+v", evs)
	}
}

// TestPersistence restarts the daemon and expects every setting back.
func TestPersistence(t *testing.T) {
	im := newImages(t)
	e := newEnv(t)
	ctx := context.Background()
	// Secure Boot first: a Continuous Legacy override stages BIOS BootMode
	// Legacy, after which enabling Secure Boot is refused.
	if err := e.m.SetSecureBoot(true); err != nil {
		t.Fatal(err)
	}
	ov := hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootContinuous, Mode: legacy}
	setOverride(t, e.m, ov)
	if err := e.m.InsertMedia(ctx, "USB", im.URL+"/stick.img", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetBiosPending(map[string]any{"ProcVirtualization": "Disabled"}); err != nil {
		t.Fatal(err)
	}
	e.m.AddEvent("Test", hardware.SeverityWarning, "before restart")
	media, evs := e.m.Media(), e.m.Events()

	e.reopen()
	if got := e.m.BootOverride(); got != ov {
		t.Errorf("override %+v, want %+v", got, ov)
	}
	if got := e.m.Media(); !equalMedia(got, media) {
		t.Errorf("media\n%+v, want\n%+v", got, media)
	}
	// The Continuous Legacy override staged BIOS BootMode Legacy.
	if _, p := e.m.Bios(); len(p) != 2 || p["ProcVirtualization"] != "Disabled" || p["BootMode"] != "Legacy" {
		t.Errorf("pending %v", p)
	}
	if en, cur := e.m.SecureBoot(); !en || cur {
		t.Errorf("secure boot %v %v", en, cur)
	}
	if got := e.m.Events(); !equalEvents(got, evs) {
		t.Errorf("events\n%+v, want\n%+v", got, evs)
	}
	e.m.AddEvent("Test", hardware.SeverityOK, "after restart")
	if got := e.m.Events(); got[len(got)-1].ID != evs[len(evs)-1].ID+1 {
		t.Errorf("event ID after reopen %d, last before %d", got[len(got)-1].ID, evs[len(evs)-1].ID)
	}

	// What a boot changes persists too.
	res := e.m.Boot()
	if res.Source != hardware.BootUsb || res.Image != im.URL+"/stick.img" || res.Mode != legacy {
		t.Errorf("boot after reopen: %+v", res)
	}
	setOverride(t, e.m, hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce})
	e.m.Boot()
	if err := e.m.EjectMedia(ctx, "USB"); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if got := e.m.BootOverride(); got != (hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled, Mode: legacy}) {
		t.Errorf("consumed override came back: %+v", got)
	}
	cur, p := e.m.Bios()
	if cur["ProcVirtualization"] != "Disabled" || len(p) != 0 {
		t.Errorf("applied settings: current %v pending %v", cur, p)
	}
	// Both boots were Legacy: Secure Boot stays enabled but did not run.
	if en, c := e.m.SecureBoot(); !en || c {
		t.Errorf("secure boot after boot and reopen: %v %v", en, c)
	}
	if md, _ := e.m.MediaSlot("USB"); md.Inserted || md.Size != -1 {
		t.Errorf("ejected medium came back: %+v", md)
	}
}

func equalMedia(a, b []hardware.Media) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Boot != y.Boot || x.Image != y.Image || x.Inserted != y.Inserted ||
			x.WriteProtected != y.WriteProtected || x.Size != y.Size || x.Format != y.Format || !x.InsertedAt.Equal(y.InsertedAt) {
			return false
		}
	}
	return true
}

func equalEvents(a, b []hardware.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Kind != y.Kind || x.Severity != y.Severity || x.Message != y.Message || !x.Time.Equal(y.Time) {
			return false
		}
	}
	return true
}

func TestCorruptState(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Put("machines", "sys1", "not a machine"); err != nil {
		t.Fatal(err)
	}
	if _, err := hardware.NewMachine("sys1", sim.New(sim.Config{}), db, quiet); err == nil || !strings.Contains(err.Error(), "sys1") {
		t.Errorf("corrupt state: %v", err)
	}
}

// TestGeneration: every observable change moves Generation.
func TestGeneration(t *testing.T) {
	im := newImages(t)
	e := newEnv(t)
	m, ctx := e.m, context.Background()
	ops := []struct {
		name string
		do   func() error
	}{
		{"SetBootOverride", func() error {
			return m.SetBootOverride(hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce})
		}},
		{"InsertMedia", func() error {
			return m.InsertMedia(ctx, "CD", im.URL+"/g.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
		}},
		{"SetBiosPending", func() error { return m.SetBiosPending(map[string]any{"SerialConsole": "COM2"}) }},
		{"SetSecureBoot", func() error { return m.SetSecureBoot(true) }},
		// (Power changes reported by the backend: see TestNoBootControl.)
		{"Reset On", func() error {
			if err := m.Reset(ctx, hardware.ResetOn); err != nil {
				return err
			}
			poll(t, "On", func() bool { return e.power() == hardware.PowerOn })
			return nil
		}},
		{"Boot", func() error { m.Boot(); return nil }},
		{"EjectMedia", func() error { return m.EjectMedia(ctx, "CD") }},
		{"ResetBios", m.ResetBios},
		{"Reset ForceOff", func() error { return m.Reset(ctx, hardware.ResetForceOff) }},
		{"AddEvent", func() error { m.AddEvent("Test", hardware.SeverityOK, "x"); return nil }},
		{"ClearEvents", m.ClearEvents},
	}
	for _, op := range ops {
		g := m.Generation()
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if m.Generation() == g {
			t.Errorf("%s: Generation unchanged", op.name)
		}
	}
}

// TestConcurrentUse runs every kind of call at once for the race detector.
func TestConcurrentUse(t *testing.T) {
	im := newImages(t)
	m := newEnv(t).m
	ctx := context.Background()
	var wg sync.WaitGroup
	run := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				f(i)
			}
		}()
	}
	run(func(i int) {
		_ = m.SetBootOverride(hardware.BootOverride{Target: hardware.BootPxe, Enabled: []hardware.BootEnabled{hardware.BootOnce, hardware.BootContinuous}[i%2]})
	})
	run(func(int) { m.Boot() })
	run(func(int) {
		_ = m.InsertMedia(ctx, "CD", im.URL+"/c.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
		_ = m.EjectMedia(ctx, "CD")
	})
	run(func(i int) { _ = m.SetBiosPending(map[string]any{"PxeNicIndex": float64(i)}) })
	run(func(int) { m.AddEvent("Test", hardware.SeverityOK, "x") })
	run(func(i int) {
		_ = m.Reset(ctx, []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOff, hardware.ResetForceRestart}[i%3])
	})
	run(func(int) {
		_, _ = m.PowerState(ctx)
		_ = m.Media()
		_, _ = m.Bios()
		_ = m.Events()
		_ = m.BootOverride()
		_ = m.LastBoot()
		_ = m.Generation()
		_, _ = m.Sensors(ctx)
	})
	wg.Wait()
	evs := m.Events()
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("event IDs out of order at %d: %d after %d", i, evs[i].ID, evs[i-1].ID)
		}
	}
}

func TestTypes(t *testing.T) {
	for url, want := range map[string]string{
		"http://h/a/b/x.iso":         "x.iso",
		"https://h/x.iso?sig=a/b&c":  "x.iso",
		"http://h/":                  "",
		"x.iso":                      "x.iso",
		"":                           "",
		"http://h/dir/img.raw?x=1?y": "img.raw",
		"http://h/dir/img.raw#a/b":   "img.raw",
	} {
		if got := (hardware.Media{Image: url}).ImageName(); got != want {
			t.Errorf("ImageName(%q) = %q, want %q", url, got, want)
		}
	}
	var c hardware.Capabilities
	if c.CanBoot(hardware.BootNone) || c.CanBoot(hardware.BootPxe) || c.CanReset(hardware.ResetOn) {
		t.Error("empty capabilities allow things")
	}
	e := &hardware.MediaError{URL: "http://h/x", HTTPStatus: 404}
	if !errors.Is(e, hardware.ErrMedia) || !strings.Contains(e.Error(), "404") {
		t.Errorf("MediaError %v", e)
	}
	e = &hardware.MediaError{URL: "http://h/x", Err: errors.New("connection refused")}
	if !strings.Contains(e.Error(), "connection refused") || !strings.Contains(e.Error(), "http://h/x") {
		t.Errorf("MediaError %v", e)
	}
}

// LastReset survives a restart of the Machine (bmcd's), as a BMC keeps
// LastResetTime across its own reboots.
func TestLastResetPersists(t *testing.T) {
	e := newEnv(t)
	if err := e.m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	want := e.m.LastReset()
	if want.IsZero() {
		t.Fatal("no LastReset after a reset")
	}
	e.reopen()
	if got := e.m.LastReset(); !got.Equal(want) {
		t.Errorf("after a restart: LastReset %v, want %v", got, want)
	}
}
