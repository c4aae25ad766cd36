package board

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

func testConfig(t *testing.T) Config {
	return Config{ID: "node1", Identity: hardware.DeriveIdentity("seed", "node1"), MediaDir: filepath.Join(t.TempDir(), "media")}
}

func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the contract runs presses on the real clock")
	}
	backendtest.Run(t, backendtest.Config{
		Timeout: 5 * time.Second,
		New: func(t *testing.T) hardware.Backend {
			a, _, _ := newATX(t)
			g, _ := newGadget(t, &usbHost{})
			b, err := New(testConfig(t), a, g)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	})
}

// nopHost takes the ATX part's reports.
type nopHost struct{ hardware.Host }

func (nopHost) PowerChanged(from, to hardware.PowerState) {}

func TestPartsAlone(t *testing.T) {
	a, _, _ := newATX(t)
	b, err := New(testConfig(t), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := b.Attach(nopHost{})
	if p.Power == nil || p.Keyboard != nil || p.Pointer != nil || p.MassStorage != nil || p.Media != nil || p.Boot != nil || p.Display != nil {
		t.Errorf("ATX alone: %+v, want Power only", p)
	}
	b.Close()

	g, _ := newGadget(t, &usbHost{})
	b, err = New(testConfig(t), nil, g)
	if err != nil {
		t.Fatal(err)
	}
	p = b.Attach(nopHost{})
	if p.Power != nil || p.Keyboard == nil || p.Pointer == nil || p.MassStorage == nil || p.Media == nil || p.Boot != nil {
		t.Errorf("gadget alone: %+v, want no Power and the gadget's parts", p)
	}
	if got := p.Media.Slots(); len(got) != 2 || got[0].ID != "CD" || got[1].ID != "USB" {
		t.Errorf("slots %+v", got)
	}
	b.Close()

	if _, err := New(testConfig(t), nil, nil); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("no parts: %v, want ErrInvalid", err)
	}

	cfg := testConfig(t)
	d := &closingDisplay{}
	cfg.Display = d
	b, err = New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p = b.Attach(nopHost{})
	if p.Display != d || p.Power != nil || p.Keyboard != nil || p.Media != nil {
		t.Errorf("capture alone: %+v, want Display only", p)
	}
	b.Close()
	if !d.closed {
		t.Error("Close left the display open")
	}
}

// closingDisplay is a screen that records its Close.
type closingDisplay struct {
	hardware.DisabledDisplay
	closed bool
}

func (d *closingDisplay) Close() error { d.closed = true; return nil }

func TestInfo(t *testing.T) {
	a, _, _ := newATX(t)
	cfg := testConfig(t)
	cfg.Model = "R640"
	b, _ := New(cfg, a, nil)
	defer b.Close()
	i, j := b.Info(), b.Info()
	if i.Manufacturer != DefaultManufacturer || i.Model != "R640" || i.UUID == "" || i.SerialNumber == "" || i.UUID != j.UUID || i.SerialNumber != j.SerialNumber {
		t.Errorf("info %+v", i)
	}
	if i.UUID != hardware.NameUUID(hardware.DeriveIdentity("seed", "node1").Sum("bmcd-board")) {
		t.Errorf("UUID %s not from the identity", i.UUID)
	}
}

// TestClose: the lines are released and the gadget leaves configfs.
func TestClose(t *testing.T) {
	a, _, lines := newATX(t)
	g, dir := newGadget(t, &usbHost{})
	b, _ := New(testConfig(t), a, g)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if !l.isClosed() {
			t.Errorf("line %d not released", i)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gadget %s still in configfs: %v", dir, err)
	}
}

// TestMediaLUN: each slot's image reaches the LUN's files as its kind of
// drive; the other slot is refused while one holds the LUN; eject
// empties it and the cache; a bmcd started again presents it again.
func TestMediaLUN(t *testing.T) {
	iso := make([]byte, 64*1024)
	copy(iso[32769:], "CD001")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/boot.iso" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "boot.iso", time.Time{}, strings.NewReader(string(iso)))
	}))
	defer srv.Close()
	g, dir := newGadget(t, &usbHost{})
	cfg := testConfig(t)
	b, _ := New(cfg, nil, g)
	defer b.Close()
	m := b.Attach(nopHost{}).Media
	lun := filepath.Join(dir, "functions", "mass_storage.usb0", "lun.0")
	read := func(n string) string { x, _ := os.ReadFile(filepath.Join(lun, n)); return strings.TrimSpace(string(x)) }
	ctx := context.Background()
	url := srv.URL + "/boot.iso"

	if _, _, err := m.InsertMedia(ctx, "Floppy", hardware.MediaImage{URL: url}); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("unknown slot: %v", err)
	}
	var me *hardware.MediaError
	if _, _, err := m.InsertMedia(ctx, "CD", hardware.MediaImage{URL: srv.URL + "/missing.iso"}); !errors.As(err, &me) {
		t.Errorf("missing image: %v, want a *MediaError", err)
	}
	size, format, err := m.InsertMedia(ctx, "CD", hardware.MediaImage{URL: url, CheckOnly: true})
	if err != nil || size != int64(len(iso)) || format != "iso9660" || read("file") != "" {
		t.Errorf("check only: %d %q %v, LUN file %q", size, format, err, read("file"))
	}
	size, format, err = m.InsertMedia(ctx, "CD", hardware.MediaImage{URL: url})
	if err != nil || size != int64(len(iso)) || format != "iso9660" {
		t.Fatalf("insert CD: %d %q %v", size, format, err)
	}
	file := read("file")
	if got, _ := os.ReadFile(file); string(got) != string(iso) || read("cdrom") != "1" || read("ro") != "1" {
		t.Errorf("CD on the LUN: file %s cdrom %s ro %s", file, read("cdrom"), read("ro"))
	}
	if _, _, err := m.InsertMedia(ctx, "USB", hardware.MediaImage{URL: url}); !errors.Is(err, hardware.ErrState) {
		t.Errorf("USB while the CD holds the LUN: %v, want ErrState", err)
	}
	if err := m.EjectMedia(ctx, "USB"); err != nil {
		t.Errorf("eject of an empty slot: %v", err)
	}
	if read("file") != file {
		t.Errorf("ejecting USB took the CD away")
	}

	// A new bmcd (the gadget made again) presents the cached image again.
	b2, _ := New(cfg, nil, &Gadget{MassStorage: g.MassStorage})
	g.MassStorage.Eject(ctx)
	b2.Attach(nopHost{}).Media.(hardware.MediaResumer).ResumeMedia("CD", url)
	if read("file") != file {
		t.Errorf("resumed: LUN file %q, want %q", read("file"), file)
	}

	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	if read("file") != "" {
		t.Errorf("after eject the LUN has %q", read("file"))
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cached image kept after eject: %v", err)
	}
	if _, _, err := m.InsertMedia(ctx, "USB", hardware.MediaImage{URL: url}); err != nil {
		t.Fatal(err)
	}
	if read("cdrom") != "0" || read("ro") != "1" || read("file") == "" {
		t.Errorf("USB on the LUN: cdrom %s ro %s file %q", read("cdrom"), read("ro"), read("file"))
	}
}

// TestInput: keys and pointer moves reach the host as HID reports, and
// the host's LED report comes back.
func TestInput(t *testing.T) {
	h := &usbHost{}
	g, _ := newGadget(t, h)
	b, _ := New(testConfig(t), nil, g)
	defer b.Close()
	p := b.Attach(nopHost{})
	for _, e := range []struct {
		k    hardware.KeyCode
		down bool
	}{{hardware.KeyA, true}, {hardware.KeyA, false}, {hardware.KeyCapsLock, true}, {hardware.KeyCapsLock, false}} {
		if err := p.Keyboard.Key(e.k, e.down); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Pointer.Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax, Y: 0, Buttons: hardware.ButtonLeft}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.Keyboard.LEDs().CapsLock || func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.abs) == 0 || len(h.keys) < 4 }() {
		if time.Now().After(deadline) {
			t.Fatalf("no Caps Lock LED or reports: %v", p.Keyboard.LEDs())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keys[0][2] != byte(hardware.KeyA) || h.keys[1][2] != 0 {
		t.Errorf("key reports %x", h.keys)
	}
	if h.abs[0][0] != 1 {
		t.Errorf("absolute report %x: left button not down", h.abs[0])
	}
}
