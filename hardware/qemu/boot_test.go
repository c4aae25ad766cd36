package qemu

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/store"
)

// machine puts b inside a hardware.Machine, as bmcd does.
func machine(t *testing.T, b *Machine) *hardware.Machine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	hm, err := hardware.NewMachine("vm", b, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hm.Close()
		db.Close()
	})
	return hm
}

func serveFile(t *testing.T, path string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/boot.iso"
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *Machine) lastFirmwareBoot() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.firmwareBoots) == 0 {
		return ""
	}
	return m.firmwareBoots[len(m.firmwareBoots)-1]
}

// TestBootOnceThenPersistent: a one-time boot from the CD really boots
// the CD (SeaBIOS says so), and every later reset, the guest's own
// included, boots the disk again: bmcd rewrote the boot order of the
// running VM. The CD's medium is swapped while the VM runs.
func TestBootOnceThenPersistent(t *testing.T) {
	requireQEMU(t)
	iso := bootiso.Path(t, bootiso.Options{})
	url := serveFile(t, iso)
	b, err := New(Config{ID: "vm", Seed: "boot", Dir: t.TempDir(), Accel: "tcg", MemoryMB: 128,
		Disks: []Disk{{Path: iso, Format: "raw", ReadOnly: true}}, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	hm := machine(t, b)
	ctx := context.Background()
	if err := hm.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	if err := hm.ChangeBoot(hardware.BootChange{Target: hardware.BootCd, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	boots := 0
	booted := func(want hardware.BootSource, line string) {
		t.Helper()
		boots++
		eventually(t, 30*time.Second, "boot "+string(want), func() bool { return len(b.firmwareBootsCopy()) >= boots && !hm.InPOST() })
		if got := b.lastFirmwareBoot(); !strings.Contains(got, line) {
			t.Errorf("boot %d: SeaBIOS says %q, want %q", boots, got, line)
		}
		if lb := hm.LastBoot(); lb.Source != want {
			t.Errorf("boot %d: the BMC says %s, want %s", boots, lb.Source, want)
		}
	}
	view := hm.Console().Watch(false)
	defer view.Close()
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	booted(hardware.BootCd, "Booting from DVD/CD")
	if ov := hm.BootOverride(); ov.Enabled != hardware.BootDisabled {
		t.Errorf("override %+v after the boot", ov)
	}
	// GRUB has read all it needs from the CD once it printed the marker.
	readUntil(t, view, bootiso.Marker)
	// The guest reboots itself: GRUB's command line, typed on the VNC
	// keyboard (GRUB reads the command's module from the CD).
	kb := hm.Keyboard()
	for _, k := range []hardware.KeyCode{0x06, 0x15, 0x08, 0x05, 0x12, 0x12, 0x17, hardware.KeyEnter} { // c reboot ⏎
		if err := kb.Key(k, true); err != nil {
			t.Fatal(err)
		}
		if err := kb.Key(k, false); err != nil {
			t.Fatal(err)
		}
		if k == 0x06 {
			time.Sleep(300 * time.Millisecond) // GRUB opens its command line
		}
	}
	booted(hardware.BootHdd, "Booting from Hard Disk")
	if err := hm.Reset(ctx, hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	booted(hardware.BootHdd, "Booting from Hard Disk")
	if ps, _ := hm.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("power %s", ps)
	}
	// The medium leaves and comes back while the VM runs.
	if err := hm.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	if f := cdFile(t, b); f != "" {
		t.Errorf("CD holds %q after the eject", f)
	}
	if err := hm.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	if f := cdFile(t, b); !strings.Contains(f, "/media/CD-") {
		t.Errorf("CD holds %q after the insert", f)
	}
}

// readUntil reads the serial console until it printed want.
func readUntil(t *testing.T, view *hardware.ConsoleViewer, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), want) {
		n, err := view.Read(ctx, buf)
		if err != nil {
			t.Fatalf("serial console, waiting for %q: %v; so far:\n%s", want, err, out.String())
		}
		out.Write(buf[:n])
	}
	return out.String()
}

func (m *Machine) firmwareBootsCopy() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.firmwareBoots...)
}

// cdFile is the file of the CD's medium, as QEMU says (query-block).
func cdFile(t *testing.T, m *Machine) string {
	t.Helper()
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	var blocks []struct {
		QDev     string `json:"qdev"`
		Inserted *struct {
			File string `json:"file"`
		} `json:"inserted"`
	}
	if err := p.qmp.Execute(context.Background(), "query-block", nil, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, bl := range blocks {
		if strings.Contains(bl.QDev, cdID) {
			if bl.Inserted == nil {
				return ""
			}
			return bl.Inserted.File
		}
	}
	raw, _ := json.Marshal(blocks)
	t.Fatalf("no CD in %s", raw)
	return ""
}

// TestGuestPowersOff: with OVMF, the VM boots the CD and the guest
// halts; bmcd sees it off within a second of the guest's last words.
func TestGuestPowersOff(t *testing.T) {
	requireQEMU(t)
	iso := bootiso.Path(t, bootiso.Options{Halt: time.Second})
	b, err := New(Config{ID: "vm", Seed: "uefi", Dir: t.TempDir(), Accel: "tcg", MemoryMB: 256, Firmware: FirmwareUEFI,
		Networks: []string{}, Log: testLog(t)})
	if err != nil {
		t.Skipf("OVMF: %v", err)
	}
	hm := machine(t, b)
	ctx := context.Background()
	if err := hm.InsertMedia(ctx, "CD", serveFile(t, iso), hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	view := hm.Console().Watch(false)
	defer view.Close()
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if lb := hm.LastBoot(); lb.Source != hardware.BootCd || lb.Mode != hardware.BootModeUEFI {
		t.Errorf("booted %+v, want the CD in UEFI mode", lb)
	}
	out := readUntil(t, view, bootiso.HaltMarker)
	halted := time.Now()
	if !strings.Contains(out, bootiso.Marker) {
		t.Errorf("no marker on COM1:\n%s", out)
	}
	eventually(t, 5*time.Second, "power off", func() bool { ps, _ := hm.PowerState(ctx); return ps == hardware.PowerOff })
	if d := time.Since(halted); d > time.Second {
		t.Errorf("the guest's halt was seen after %s", d)
	}
	// A power-on of the halted VM starts it again.
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if ps, _ := hm.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("power %s after On", ps)
	}
}
