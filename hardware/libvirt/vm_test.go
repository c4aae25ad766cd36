package libvirt_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/libvirt"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
	"github.com/bmcd/bmcd/internal/store"
)

// machine opens the domain name as a Machine, as bmcd does.
func machine(t *testing.T, uri, name string, opts libvirt.Options) (*hardware.Machine, *libvirt.Domain) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	x, err := libvirt.Open(ctx, uri, name, opts, quiet(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hardware.NewMachine("vm", x, db, quiet(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Close()
		_ = db.Close()
	})
	return m, x
}

// firstBoot is the device the persistent definition of the domain name
// boots first: "disk", "cdrom", "nic" or "".
func firstBoot(t *testing.T, name string) string {
	var def libvirtxml.Domain
	if err := def.Unmarshal(libvirttest.Virsh(t, "dumpxml", "--inactive", name)); err != nil {
		t.Fatal(err)
	}
	for _, d := range def.Devices.Disks {
		if d.Boot != nil && d.Boot.Order == 1 {
			return d.Device
		}
	}
	for _, n := range def.Devices.Interfaces {
		if n.Boot != nil && n.Boot.Order == 1 {
			return "nic"
		}
	}
	return ""
}

func poll(t *testing.T, what string, max time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(max); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", max, what)
		}
	}
}

// TestBootFromMedia: the virtual media boot flow on a real guest. An ISO
// served over http is inserted, a one-time boot from the CD set, the
// domain powered on: the guest's GRUB prints its marker on the serial
// console, then powers the machine off, which is seen within a second;
// the one-time override is consumed and the domain's definition goes
// back to booting its disk first.
func TestBootFromMedia(t *testing.T) {
	uri := libvirttest.Daemon(t)
	iso := bootiso.Path(t, bootiso.Options{Halt: 2 * time.Second})
	for _, tc := range []struct {
		name string
		spec libvirttest.Spec
		mode hardware.BootMode
	}{
		{"q35 BIOS", libvirttest.Spec{Name: "media", Disk: true}, hardware.BootModeLegacy},
		{"pc BIOS with a CD-ROM", libvirttest.Spec{Name: "media-pc", Machine: "pc", Disk: true, CDROM: true}, hardware.BootModeLegacy},
		{"q35 BIOS booting UEFI once", libvirttest.Spec{Name: "media-efi", Disk: true}, hardware.BootModeUEFI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, _ := libvirttest.Define(t, tc.spec)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, iso) }))
			defer srv.Close()
			m, _ := machine(t, uri, name, libvirt.Options{MediaDir: libvirttest.MediaDir(t)})
			ctx := context.Background()
			if err := m.InsertMedia(ctx, libvirt.SlotCD, srv.URL+"/boot.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
				t.Fatal(err)
			}
			if md, _ := m.MediaSlot(libvirt.SlotCD); md.Format != "iso9660" || md.Size <= 0 {
				t.Errorf("slot %+v: want an ISO 9660 image of a known size", md)
			}
			if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootCd, Enabled: hardware.BootOnce, Mode: tc.mode}); err != nil {
				t.Fatal(err)
			}
			v := m.Console().Watch(false)
			defer v.Close()
			if err := m.Reset(ctx, hardware.ResetOn); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			poll(t, "the boot marker on the serial console", 60*time.Second, func() bool {
				out.Write(v.Take(4096))
				return strings.Contains(out.String(), bootiso.Marker)
			})
			poll(t, "the guest about to power off", 90*time.Second, func() bool {
				out.Write(v.Take(4096))
				return strings.Contains(out.String(), bootiso.HaltMarker)
			})
			seen := time.Now()
			poll(t, "the guest's power-off", 10*time.Second, func() bool {
				ps, _ := m.PowerState(ctx)
				return ps == hardware.PowerOff
			})
			if d := time.Since(seen); d > time.Second {
				t.Errorf("the guest's power-off seen %s after its marker, want within a second", d.Round(time.Millisecond))
			}
			if lb := m.LastBoot(); lb.Source != hardware.BootCd || lb.Image == "" || lb.Mode != tc.mode {
				t.Errorf("last boot %+v, want the CD's image in %s mode", lb, tc.mode)
			}
			if ov := m.BootOverride(); ov.Enabled != hardware.BootDisabled {
				t.Errorf("override %+v after the boot it was for", ov)
			}
			poll(t, "the disk first again in the definition", 10*time.Second, func() bool {
				return firstBoot(t, name) == "disk" &&
					!strings.Contains(libvirttest.Virsh(t, "dumpxml", "--inactive", name), "firmware='efi'")
			})
			poll(t, "libvirt to stop the domain", 20*time.Second, func() bool { return libvirttest.State(t, name) == "shut off" })
		})
	}
}

// TestMediaQEMUCannotRead: an image QEMU's user could not open is refused
// when inserted (the media directory is not searchable), and a start
// that fails because QEMU cannot open an image the definition names
// (put there by someone else) is ErrState with libvirt's message, not
// ErrUnavailable: retrying would fail alike.
func TestMediaQEMUCannotRead(t *testing.T) {
	uri := libvirttest.Daemon(t)
	iso := bootiso.Path(t, bootiso.Options{})
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "unreadable", CDROM: true})
	closed := filepath.Join(t.TempDir(), "closed") // t.TempDir is 0700
	if err := os.MkdirAll(filepath.Join(closed, "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, iso) }))
	defer srv.Close()
	m, _ := machine(t, uri, name, libvirt.Options{MediaDir: filepath.Join(closed, "media")})
	ctx := context.Background()

	err := m.InsertMedia(ctx, libvirt.SlotCD, srv.URL+"/boot.iso", hardware.InsertOptions{Inserted: true})
	if !errors.Is(err, hardware.ErrState) || !strings.Contains(err.Error(), closed) {
		t.Errorf("insert into an unreachable media_dir: %v, want ErrState naming %s", err, closed)
	}
	if md, _ := m.MediaSlot(libvirt.SlotCD); md.Image != "" {
		t.Errorf("slot %+v after a refused insert", md)
	}
	if strings.Contains(libvirttest.Virsh(t, "dumpxml", "--inactive", name), closed) {
		t.Error("the definition names the refused image")
	}

	img := filepath.Join(closed, "media", "other.iso")
	b, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	libvirttest.Virsh(t, "change-media", name, "sda", img, "--insert", "--config")
	err = m.Reset(ctx, hardware.ResetOn)
	if !errors.Is(err, hardware.ErrState) || errors.Is(err, hardware.ErrUnavailable) {
		t.Fatalf("start with an image QEMU cannot open: %v, want ErrState and not ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "other.iso") {
		t.Errorf("start error %q does not carry libvirt's message naming the image", err)
	}
}

// TestSecureBootSaidExplicitly: a domain defined with <os firmware='efi'>
// and no firmware features, started once outside bmcd (libvirt picked
// OVMF with Secure Boot and Microsoft's keys, and made its variables from
// that template), gets both features written 'no' when bmcd serves it
// (its Secure Boot is off), and its next start runs the firmware without
// Secure Boot, with variables made again from the matching template.
func TestSecureBootSaidExplicitly(t *testing.T) {
	uri := libvirttest.Daemon(t)
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "efi-auto", UEFIAuto: true})
	libvirttest.Virsh(t, "start", name)
	live := libvirttest.Virsh(t, "dumpxml", name)
	libvirttest.Virsh(t, "destroy", name)
	t.Logf("libvirt's own pick: %s", loaderOf(t, live))

	m, _ := machine(t, uri, name, libvirt.Options{MediaDir: libvirttest.MediaDir(t)})
	if on, _ := m.SecureBoot(); on {
		t.Fatal("Secure Boot enabled by default")
	}
	poll(t, "the firmware features written", 10*time.Second, func() bool {
		doc := libvirttest.Virsh(t, "dumpxml", "--inactive", name)
		return strings.Contains(doc, "<feature enabled='no' name='secure-boot'/>") &&
			strings.Contains(doc, "<feature enabled='no' name='enrolled-keys'/>")
	})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	got := loaderOf(t, libvirttest.Virsh(t, "dumpxml", name))
	if strings.Contains(got, ".ms.") || strings.Contains(got, "secboot") || strings.Contains(got, "secure='yes'") {
		t.Errorf("started with %s, want OVMF without Secure Boot (Redfish says SecureBootEnable false)", got)
	}
}

// loaderOf is the loader and NVRAM template of a domain's XML.
func loaderOf(t *testing.T, doc string) string {
	var def libvirtxml.Domain
	if err := def.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	s := ""
	if l := def.OS.Loader; l != nil {
		s += l.Path + " secure='" + l.Secure + "'"
	}
	if n := def.OS.NVRam; n != nil {
		s += " nvram template " + n.Template
	}
	return s
}

// TestMediaCheckedAtStart: a CD ejected outside bmcd while bmcd was down
// (virsh change-media --eject) is put back into the definition when bmcd
// starts again, since the slot still shows its image inserted.
func TestMediaCheckedAtStart(t *testing.T) {
	uri := libvirttest.Daemon(t)
	iso := bootiso.Path(t, bootiso.Options{})
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "resume", CDROM: true})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, iso) }))
	defer srv.Close()
	opts := libvirt.Options{MediaDir: libvirttest.MediaDir(t)}
	dbPath := filepath.Join(t.TempDir(), "state.db")
	open := func() (*hardware.Machine, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		x, err := libvirt.Open(ctx, uri, name, opts, quiet(t))
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(dbPath)
		if err != nil {
			t.Fatal(err)
		}
		m, err := hardware.NewMachine("vm", x, db, quiet(t))
		if err != nil {
			t.Fatal(err)
		}
		return m, func() { _ = m.Close(); _ = db.Close() }
	}
	cdrom := func() string {
		var def libvirtxml.Domain
		if err := def.Unmarshal(libvirttest.Virsh(t, "dumpxml", "--inactive", name)); err != nil {
			t.Fatal(err)
		}
		for _, d := range def.Devices.Disks {
			if d.Device == "cdrom" && d.Source != nil && d.Source.File != nil {
				return d.Source.File.File
			}
		}
		return ""
	}
	m, stop := open()
	if err := m.InsertMedia(context.Background(), libvirt.SlotCD, srv.URL+"/boot.iso", hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	file := cdrom()
	if !strings.HasPrefix(file, opts.MediaDir) {
		t.Fatalf("CD-ROM holds %q after insert", file)
	}
	stop()
	libvirttest.Virsh(t, "change-media", name, "sda", "--eject", "--config")
	if got := cdrom(); got != "" {
		t.Fatalf("CD-ROM holds %q after virsh's eject", got)
	}
	_, stop = open()
	defer stop()
	poll(t, "bmcd's image back in the CD-ROM", 10*time.Second, func() bool { return cdrom() == file })
}
