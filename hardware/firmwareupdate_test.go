package hardware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// fwImages serves update images: /NAME serves "firmware" bytes, except
// /page-*.bin (an HTML page), /empty-*.bin (nothing), /block/NAME (waits
// for release) and /missing-*.bin (404).
type fwImages struct {
	*httptest.Server
	entered chan string
	release chan struct{}
	once    sync.Once
}

func newFwImages(t *testing.T) *fwImages {
	im := &fwImages{entered: make(chan string, 4), release: make(chan struct{})}
	im.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/missing-"):
			http.NotFound(w, r)
		case strings.HasPrefix(p, "/page-"):
			_, _ = w.Write([]byte("\n  <!DOCTYPE html><html><body>Not here</body></html>"))
		case strings.HasPrefix(p, "/empty-"):
		case strings.HasPrefix(p, "/block/"):
			im.entered <- p
			select {
			case <-im.release:
			case <-r.Context().Done():
				return
			}
			_, _ = w.Write([]byte{0x7f, 'F', 'W', 1, 2, 3})
		case strings.HasPrefix(p, "/hdr/"):
			_, _ = w.Write([]byte("BMCD-FW component=bios version=9.9.9 date=2026-09-14\n\x00\x01"))
		default:
			_, _ = w.Write([]byte{0x7f, 'F', 'W', 1, 2, 3})
		}
	}))
	t.Cleanup(im.Close)
	t.Cleanup(func() { im.once.Do(func() { close(im.release) }) })
	return im
}

func (im *fwImages) src(name string) hardware.ImageSource {
	return hardware.ImageSource{URL: im.URL + "/" + name}
}

// simBios is how the simulated BIOS shows build v of release date d, as
// its factory version "SIM 2.4.1 (2026-06-01)".
func simBios(v string, d time.Time) string { return "SIM " + v + " (" + d.Format(time.DateOnly) + ")" }

// receivedToday checks the release date given to an image that does not
// say its own: the day bmcd received it.
func receivedToday(t *testing.T, d time.Time) {
	t.Helper()
	if d.IsZero() || !d.Equal(d.Truncate(24*time.Hour)) || time.Since(d) > 25*time.Hour || time.Since(d) < 0 {
		t.Errorf("release date %v, want the day the image came", d)
	}
}

func component(t *testing.T, m *hardware.Machine, id string) hardware.FirmwareComponent {
	t.Helper()
	c, ok := m.FirmwareComponent(id)
	if !ok {
		t.Fatalf("no firmware component %s", id)
	}
	return c
}

func TestFirmwareInventory(t *testing.T) {
	e := newEnv(t)
	fw := e.m.Firmware()
	if len(fw) != 3 || fw[0].ID != "BIOS" || fw[1].ID != "NIC" || fw[2].ID != "Disk0" {
		t.Fatalf("components %+v", fw)
	}
	if fw[0].Version != e.m.Info().BiosVersion || fw[0].ReleaseDate.IsZero() {
		t.Errorf("BIOS %q (released %v), Info.BiosVersion %q", fw[0].Version, fw[0].ReleaseDate, e.m.Info().BiosVersion)
	}
	// Callers get copies.
	fw[1].Devices[0] = "changed"
	if component(t, e.m, "NIC").Devices[0] == "changed" {
		t.Error("Firmware shares Devices with the machine")
	}
	if _, ok := e.m.FirmwareComponent("Nope"); ok {
		t.Error("unknown component found")
	}
}

// TestFirmwareStagedUntilReset: a BIOS image is staged, logged, survives
// a restart of the daemon, and runs from the next boot on, when
// Info.BiosVersion follows it.
func TestFirmwareStagedUntilReset(t *testing.T) {
	e := newEnv(t)
	im := newFwImages(t)
	before := e.m.Info().BiosVersion
	gen := e.m.Generation()
	var phases []hardware.FirmwarePhase
	var mu sync.Mutex
	res, err := e.m.UpdateFirmware(context.Background(), "BIOS", im.src("bios-2.5.0.bin"), func(p hardware.FirmwareProgress) {
		mu.Lock()
		defer mu.Unlock()
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The staged image's version has the form of the running one, dated
	// the day it came (the image does not say).
	if !res.Staged || res.Version != "2.5.0" || res.Component.Version != before || res.Component.Pending == nil ||
		res.Component.Pending.Version != simBios("2.5.0", res.Component.Pending.ReleaseDate) || res.Component.Pending.Size != 6 ||
		!strings.HasSuffix(res.Component.Pending.Image, "/bios-2.5.0.bin") {
		t.Fatalf("result %+v (pending %+v)", res, res.Component.Pending)
	}
	receivedToday(t, res.Component.Pending.ReleaseDate)
	if len(phases) != 2 || phases[0] != hardware.FirmwareTransferring || phases[1] != hardware.FirmwareVerifying {
		t.Errorf("phases %v", phases)
	}
	if e.m.Generation() == gen {
		t.Error("generation unchanged")
	}
	if got := e.m.Info().BiosVersion; got != before {
		t.Errorf("BiosVersion %q before the reset", got)
	}
	if ev := last(t, e.m.Events(), hardware.EventFirmwareStaged); !strings.Contains(ev.Message, "2.5.0") || !strings.Contains(ev.Message, "next host reset") {
		t.Errorf("staged event %q", ev.Message)
	}

	e.reopen() // the staged image is kept
	if p := component(t, e.m, "BIOS").Pending; p == nil || p.Version != simBios("2.5.0", p.ReleaseDate) {
		t.Fatalf("after restart pending %+v", p)
	}
	res2, err := e.m.UpdateFirmware(context.Background(), "BIOS", im.src("bios-2.5.1.bin"), nil)
	if err != nil || res2.Component.Pending.Version != simBios("2.5.1", res2.Component.Pending.ReleaseDate) {
		t.Fatalf("restage: %+v %v", res2, err)
	}
	want := simBios("2.5.1", res2.Component.Pending.ReleaseDate)

	if err := e.m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "boot", func() bool { return !e.m.LastBoot().Time.IsZero() })
	// One format before and after the update, and a release date.
	c := component(t, e.m, "BIOS")
	if c.Version != want || c.Pending != nil || !c.ReleaseDate.Equal(res2.Component.Pending.ReleaseDate) {
		t.Errorf("after boot %+v, want %q", c, want)
	}
	if got := e.m.Info().BiosVersion; got != want {
		t.Errorf("Info.BiosVersion %q, want %q", got, want)
	}
	if got := e.m.LastBoot().BiosVersion; got != want {
		t.Errorf("BootResult.BiosVersion %q", got)
	}
	if cur, _ := e.m.Bios(); cur["SystemBiosVersion"] != want {
		t.Errorf("SystemBiosVersion %v", cur["SystemBiosVersion"])
	}
	if ev := last(t, e.m.Events(), hardware.EventFirmwareUpdated); !strings.Contains(ev.Message, "to "+want) || !strings.Contains(ev.Message, before) || ev.Version != "2.5.1" {
		t.Errorf("updated event %+v", ev)
	}
	poll(t, "the console banner with the new BIOS", func() bool {
		return strings.Contains(string(e.m.Console().Scrollback()), "BIOS "+want)
	})
	e.reopen()
	if c := component(t, e.m, "BIOS"); c.Version != want || e.m.Info().BiosVersion != want || c.ReleaseDate.IsZero() {
		t.Errorf("after restart %+v, Info.BiosVersion %q", c, e.m.Info().BiosVersion)
	}
}

// TestFirmwareActivatedOnceAtBoot: Machine.Boot activates staged images
// exactly once, before pending BIOS settings and the boot choice (which
// still follows BootNext, then the order); the next boot activates nothing.
func TestFirmwareActivatedOnceAtBoot(t *testing.T) {
	e := newEnv(t)
	im := newFwImages(t)
	for _, c := range []struct{ component, image string }{{"BIOS", "bios-2.5.0.bin"}, {"NIC", "nic-22.40.0.bin"}} {
		if _, err := e.m.UpdateFirmware(context.Background(), c.component, im.src(c.image), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.m.SetBiosPending(map[string]any{"ProcTurboMode": "Disabled"}); err != nil {
		t.Fatal(err)
	}
	var pxe string
	for _, o := range e.m.BootOptions() {
		if o.Alias == hardware.BootPxe && pxe == "" {
			pxe = o.Reference
		}
	}
	if err := e.m.ChangeBoot(hardware.BootChange{Next: &pxe}); err != nil {
		t.Fatal(err)
	}
	firstEvent := len(e.m.Events())

	bios := simBios("2.5.0", component(t, e.m, "BIOS").Pending.ReleaseDate)
	res := e.m.Boot()
	if res.BiosVersion != bios || res.Source != hardware.BootPxe || res.Option.Reference != pxe {
		t.Fatalf("first boot %+v", res)
	}
	var kinds []hardware.EventKind
	for _, ev := range e.m.Events()[firstEvent:] {
		kinds = append(kinds, ev.Kind)
	}
	want := []hardware.EventKind{hardware.EventFirmwareUpdated, hardware.EventFirmwareUpdated, hardware.EventSettings, hardware.EventBoot}
	if len(kinds) != len(want) || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] || kinds[3] != want[3] {
		t.Errorf("first boot logged %v, want %v", kinds, want)
	}
	if c := component(t, e.m, "NIC"); c.Version != "22.40.0" || c.Pending != nil {
		t.Errorf("NIC after the boot %+v", c)
	}
	// The read-only attribute that shows the BIOS version follows it.
	if cur, _ := e.m.Bios(); cur["SystemBiosVersion"] != bios || cur["ProcTurboMode"] != "Disabled" {
		t.Errorf("BIOS attributes after the boot %v", cur)
	}

	res = e.m.Boot()
	if res.BiosVersion != bios || res.Source != hardware.BootHdd {
		t.Errorf("second boot %+v", res)
	}
	if n := count(e.m.Events(), hardware.EventFirmwareUpdated); n != 2 {
		t.Errorf("%d FirmwareUpdated events after two boots, want 2", n)
	}
}

// TestFirmwareImmediate: the SSD runs a new image at once; untargeted
// images find their component by name or header.
func TestFirmwareImmediate(t *testing.T) {
	e := newEnv(t)
	im := newFwImages(t)
	res, err := e.m.UpdateFirmware(context.Background(), "", im.src("disk0-1.0.4.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Staged || res.Component.ID != "Disk0" || res.Component.Version != "1.0.4" || res.Component.Pending != nil {
		t.Errorf("result %+v", res)
	}
	receivedToday(t, res.Component.ReleaseDate)
	if ev := last(t, e.m.Events(), hardware.EventFirmwareUpdated); !strings.Contains(ev.Message, "from 1.0.3 to 1.0.4") {
		t.Errorf("event %q", ev.Message)
	}
	res, err = e.m.UpdateFirmware(context.Background(), "", im.src("hdr/anything.bin"), nil)
	// The header gives the release date.
	released := time.Date(2026, 9, 14, 0, 0, 0, 0, time.UTC)
	if err != nil || res.Component.ID != "BIOS" || !res.Staged || res.Component.Pending.Version != "SIM 9.9.9 (2026-09-14)" ||
		!res.Component.Pending.ReleaseDate.Equal(released) {
		t.Errorf("header image: %+v %v", res, err)
	}
	// A push update.
	res, err = e.m.InstallFirmware("NIC", hardware.FirmwareImage{Name: "nic-22.40.0.bin", Data: []byte{1, 2, 3}}, "nic-22.40.0.bin", nil)
	if err != nil || !res.Staged || res.Component.Pending.Image != "nic-22.40.0.bin" {
		t.Errorf("push: %+v %v", res, err)
	}
}

func TestFirmwareErrors(t *testing.T) {
	e := newEnv(t)
	im := newFwImages(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, component, image string
		want                   error
	}{
		{"unknown component", "Tape", "bios-2.5.0.bin", hardware.ErrNotFound},
		{"404", "BIOS", "missing-2.5.0.bin", hardware.ErrMedia},
		{"HTML page", "BIOS", "page-2.5.0.bin", hardware.ErrFirmwareImage},
		{"empty", "BIOS", "empty-2.5.0.bin", hardware.ErrFirmwareImage},
		{"for another component", "BIOS", "nic-2.5.0.bin", hardware.ErrFirmwareNotApplicable},
		{"no version", "BIOS", "firmware.bin", hardware.ErrFirmwareImage},
		{"untargeted, no component named", "", "firmware.bin", hardware.ErrFirmwareImage},
		{"untargeted, component it lacks", "", "raid-1.0.bin", hardware.ErrFirmwareNotApplicable},
		{"not http", "BIOS", "", hardware.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := im.src(c.image)
			if c.image == "" {
				src.URL = "file:///etc/passwd"
			}
			before := e.m.Firmware()
			_, err := e.m.UpdateFirmware(ctx, c.component, src, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if after := e.m.Firmware(); component(t, e.m, "BIOS").Pending != nil || after[0].Version != before[0].Version {
				t.Errorf("a failed update changed the firmware: %+v", after)
			}
		})
	}
	if count(e.m.Events(), hardware.EventFirmwareStaged)+count(e.m.Events(), hardware.EventFirmwareUpdated) != 0 {
		t.Error("failed updates were logged as done")
	}
}

func TestFirmwareBusy(t *testing.T) {
	e := newEnv(t)
	im := newFwImages(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.m.UpdateFirmware(context.Background(), "BIOS", im.src("block/bios-2.5.0.bin"), nil)
		done <- err
	}()
	<-im.entered
	if _, err := e.m.UpdateFirmware(context.Background(), "BIOS", im.src("bios-2.6.0.bin"), nil); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("second BIOS update: %v", err)
	}
	if _, err := e.m.InstallFirmware("BIOS", hardware.FirmwareImage{Name: "bios-2.6.0.bin", Data: []byte{1}}, "x", nil); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("push during an update: %v", err)
	}
	if _, err := e.m.UpdateFirmware(context.Background(), "", im.src("bios-2.6.0.bin"), nil); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("untargeted BIOS image during an update: %v", err)
	}
	if _, err := e.m.UpdateFirmware(context.Background(), "NIC", im.src("nic-22.40.0.bin"), nil); err != nil {
		t.Errorf("another component: %v", err)
	}
	im.once.Do(func() { close(im.release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := component(t, e.m, "BIOS").Pending; p == nil || p.Version != simBios("2.5.0", p.ReleaseDate) {
		t.Errorf("pending %+v", p)
	}
}

// A backend without FirmwareUpdater still reports its BIOS version.
func TestFirmwareNotSupported(t *testing.T) {
	m, err := hardware.NewMachine("atx", &biosOnly{}, newMemStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	fw := m.Firmware()
	if len(fw) != 1 || fw[0].Kind != hardware.FirmwareBIOS || fw[0].Version != "ATX 1.0" || fw[0].Updateable {
		t.Errorf("firmware %+v", fw)
	}
	if _, err := m.UpdateFirmware(context.Background(), "", hardware.ImageSource{URL: "http://127.0.0.1:1/bios-1.1.bin"}, nil); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("update: %v", err)
	}
	if _, err := m.InstallFirmware("BIOS", hardware.FirmwareImage{Name: "bios-1.1.bin", Data: []byte{1}}, "x", nil); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("install: %v", err)
	}
	none, err := hardware.NewMachine("none", &atx{}, newMemStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if fw := none.Firmware(); len(fw) != 0 {
		t.Errorf("a backend with no BIOS version lists %+v", fw)
	}
}

type biosOnly struct{ atx }

func (*biosOnly) Info() hardware.Info {
	return hardware.Info{Manufacturer: "Generic", BiosVersion: "ATX 1.0"}
}
