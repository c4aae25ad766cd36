package sim

import (
	"bytes"
	"context"
	"fmt"
	goimage "image"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// waitText polls until the simulated screen shows want.
func waitText(t *testing.T, m *Machine, want string) string {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		got := m.screenText()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("the screen never showed %q; it shows:\n%s", want, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// received reports whether ch has a value waiting.
func received(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// checkDirty checks that b's Dirty rectangles cover every pixel that
// differs from a, b follows a, and returns the fraction of the screen
// they cover.
func checkDirty(t *testing.T, a, b hardware.Frame) float64 {
	t.Helper()
	if b.Seq != a.Seq+1 || b.DirtySince != a.Seq {
		t.Fatalf("frame %d (dirty since %d) after frame %d", b.Seq, b.DirtySince, a.Seq)
	}
	if b.Dirty == nil {
		t.Fatal("no dirty rectangles")
	}
	pa, pb := a.Image.(*goimage.RGBA), b.Image.(*goimage.RGBA)
	area := 0
	for _, r := range b.Dirty {
		if !r.In(pb.Rect) || r.Empty() {
			t.Errorf("dirty rectangle %v outside the picture %v", r, pb.Rect)
		}
		area += r.Dx() * r.Dy()
	}
	for y := 0; y < DisplayHeight; y++ {
		row := func(p *goimage.RGBA) []byte { return p.Pix[y*p.Stride : y*p.Stride+4*DisplayWidth] }
		ra, rb := row(pa), row(pb)
		if bytes.Equal(ra, rb) {
			continue
		}
		for x := 0; x < DisplayWidth; x++ {
			if bytes.Equal(ra[4*x:4*x+4], rb[4*x:4*x+4]) {
				continue
			}
			covered := false
			for _, r := range b.Dirty {
				covered = covered || goimage.Pt(x, y).In(r)
			}
			if !covered {
				t.Fatalf("pixel %d,%d changed outside the dirty rectangles %v", x, y, b.Dirty)
			}
		}
	}
	return float64(area) / (DisplayWidth * DisplayHeight)
}

func TestDisplayOffIsNoSignal(t *testing.T) {
	m := New(Config{ID: "d", Seed: "display", PowerOnDelay: forever})
	defer m.Close()
	d := m.Display()
	if f := d.Frame(); f.Seq != 0 || f.Image != nil || f.Size() != (goimage.Point{}) {
		t.Fatalf("off at creation: %+v", f)
	}
	ch, stop := d.Watch()
	defer stop()
	m.Attach(testHost{fw: &firmware{}})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if !received(ch) {
		t.Fatal("no change reported at power on")
	}
	f1 := d.Frame()
	if f1.Seq != 1 || f1.Size() != goimage.Pt(DisplayWidth, DisplayHeight) {
		t.Fatalf("POST frame %d, size %v", f1.Seq, f1.Size())
	}
	if len(f1.Dirty) != 1 || f1.Dirty[0] != f1.Image.Bounds() || f1.DirtySince != 0 {
		t.Errorf("first picture dirty %v since %d, want all since 0", f1.Dirty, f1.DirtySince)
	}
	// The title bar is white on blue; the rest of the screen black.
	img := f1.Image.(*goimage.RGBA)
	if img.RGBAAt(0, 0) != palette[colBlue] || img.RGBAAt(DisplayWidth-1, DisplayHeight-1) != palette[colBlack] {
		t.Errorf("colours: %v at the top left, %v at the bottom right", img.RGBAAt(0, 0), img.RGBAAt(DisplayWidth-1, DisplayHeight-1))
	}
	if again := d.Frame(); again.Seq != f1.Seq || again.Image != f1.Image {
		t.Error("a new frame without a change")
	}
	if err := m.Reset(context.Background(), hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if !received(ch) {
		t.Fatal("no change reported at power off")
	}
	f2 := d.Frame()
	if f2.Seq != 2 || f2.Image != nil || f2.Dirty != nil || f2.DirtySince != 1 {
		t.Errorf("off: %+v", f2)
	}
	if m.screenText() != "" {
		t.Errorf("text while off: %q", m.screenText())
	}
	if f := d.Frame(); f.Seq != 2 {
		t.Errorf("off again: frame %d", f.Seq)
	}
	// The first frame is unchanged: frames are immutable.
	if img.RGBAAt(0, 0) != palette[colBlue] {
		t.Error("an old frame changed")
	}
}

// The POST screen shows the inventory and the media the BMC presents;
// when the firmware has chosen, the device and image it boots; then the
// serial console's output.
func TestDisplayPOSTScreen(t *testing.T) {
	iso := image(40000, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(iso))
	}))
	defer srv.Close()
	m := New(Config{ID: "p", Seed: "display", PowerOnDelay: forever})
	defer m.Close()
	var serial screen
	m.AttachConsole(serial.out)
	ctx := context.Background()
	if _, _, err := m.InsertMedia(ctx, "CD", hardware.MediaImage{URL: srv.URL + "/live.iso"}); err != nil {
		t.Fatal(err)
	}
	// Checked but not inserted: the host sees no medium.
	if _, _, err := m.InsertMedia(ctx, "USB", hardware.MediaImage{URL: srv.URL + "/stick.img", CheckOnly: true}); err != nil {
		t.Fatal(err)
	}
	m.Attach(testHost{fw: cdFirmware{}})
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	post := m.screenText()
	for _, want := range []string{
		" bmcd Simulated Server S1", "BIOS SIM 2.4.1", postLine("Memory", "64 GiB OK"),
		postLine("Processors", "2 x Simulated x86-64 CPU @ 2.40GHz, 8 cores, 2 threads each"),
		postLine("Storage", "Disk0: Simulated NVMe SSD 960GB (NVMe)"), postLine("", "Disk2: Simulated SATA HDD 4TB (SATA)"),
		postLine("", "NIC2: MAC 52:54:00:"),
		postLine("Virtual media", "Virtual CD/DVD: "+srv.URL+"/live.iso"), postLine("", "Virtual USB stick: no medium"),
	} {
		if !strings.Contains(post, want) {
			t.Errorf("POST screen lacks %q:\n%s", want, post)
		}
	}
	if strings.Contains(post, "Booting") {
		t.Errorf("boot device shown before the firmware chose:\n%s", post)
	}
	fire(m)
	got := waitText(t, m, "sim-p login:")
	for _, want := range []string{
		" Booting from Cd (Boot0003: UEFI BMC Virtual CD/DVD), Legacy mode\n   Image: http://user:xxxxx@images.example/boot.iso",
		"Linux version 6.1.0-bmcd-sim",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen after boot lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret") {
		t.Error("the screen shows the image password")
	}
	if !strings.HasPrefix(got, post) {
		t.Errorf("the POST screen was not kept above the boot:\n%s", got)
	}

	// Ejected: the next POST shows no medium.
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	m.Attach(testHost{fw: cdFirmware{}})
	if err := m.Reset(ctx, hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if got := m.screenText(); !strings.Contains(got, "Virtual CD/DVD: no medium") || strings.Contains(got, "login:") {
		t.Errorf("POST after a warm reset:\n%s", got)
	}
}

// A firmware update activated at boot shows, and later POSTs show the new
// version.
func TestDisplayBIOSVersion(t *testing.T) {
	m := New(Config{ID: "b", Seed: "display", PowerOnDelay: forever})
	defer m.Close()
	fw := biosFirmware{"SIM 9.9.9"}
	m.Attach(testHost{fw: fw})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	fire(m)
	waitText(t, m, " BIOS SIM 9.9.9 activated\n Booting from Hdd, UEFI mode")
	m.Attach(testHost{fw: fw})
	if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if got := m.screenText(); !strings.Contains(got, postLine("BIOS", "SIM 9.9.9")) || strings.Contains(got, "activated") {
		t.Errorf("POST after the update:\n%s", got)
	}
}

// postLine is a line of the POST screen's inventory.
func postLine(label, value string) string { return fmt.Sprintf(" %-14s%s", label, value) }

type biosFirmware struct{ version string }

func (f biosFirmware) Boot() hardware.BootResult { return hardware.BootResult{BiosVersion: f.version} }

// A machine that starts On shows its OS console, and a typed line shows on
// the screen with only the cells it changed marked dirty.
func TestDisplayDirty(t *testing.T) {
	m := New(Config{ID: "x", Seed: "display", PoweredOn: true})
	defer m.Close()
	var serial screen
	in := m.AttachConsole(serial.out)
	d := m.Display()
	f0 := d.Frame()
	if f0.Image == nil || f0.Seq != 1 {
		t.Fatalf("powered on at creation: frame %d, image %v", f0.Seq, f0.Image != nil)
	}
	pix0 := bytes.Clone(f0.Image.(*goimage.RGBA).Pix)

	in([]byte("\r"))
	waitText(t, m, "sim-x login:")
	f1 := d.Frame()
	if share := checkDirty(t, f0, f1); share > 0.05 {
		t.Errorf("a prompt made %.0f%% of the screen dirty", share*100)
	}
	if !bytes.Equal(pix0, f0.Image.(*goimage.RGBA).Pix) {
		t.Fatal("an old frame changed")
	}

	in([]byte("r"))
	waitText(t, m, "login: r")
	f2 := d.Frame()
	if share := checkDirty(t, f1, f2); len(f2.Dirty) != 1 || f2.Dirty[0].Dx() != 2*cellW || f2.Dirty[0].Dy() != cellH || share > 0.001 {
		// The typed letter, and the cursor that moved on.
		t.Errorf("one letter typed: dirty %v", f2.Dirty)
	}

	// Scrolling redraws what moved.
	in([]byte("oot\r"))
	for i := 0; i < textRows; i++ {
		in([]byte("echo line\r"))
	}
	waitText(t, m, "line\nroot@sim-x:~#")
	f3 := d.Frame()
	checkDirty(t, f2, f3)

	// The pointer: drawn where it is, and redrawn where it was.
	if err := m.Pointer().Point(hardware.PointerEvent{Absolute: true, X: hardware.PointerMax / 3, Y: hardware.PointerMax / 3}); err != nil {
		t.Fatal(err)
	}
	f4 := d.Frame()
	checkDirty(t, f3, f4)
	m.mu.Lock()
	p := m.disp.ptr.pos
	m.mu.Unlock()
	if got := f4.Image.(*goimage.RGBA).RGBAAt(p.X, p.Y); got != palette[colBlack] {
		t.Errorf("pointer hot spot %v is %v", p, got)
	}
	if got := f4.Image.(*goimage.RGBA).RGBAAt(p.X+1, p.Y+3); got != palette[colWhite] {
		t.Errorf("inside the pointer: %v", got)
	}
	if err := m.Pointer().Point(hardware.PointerEvent{DX: 40, DY: -30}); err != nil {
		t.Fatal(err)
	}
	f5 := d.Frame()
	if share := checkDirty(t, f4, f5); share > 0.01 {
		t.Errorf("a pointer move made %.1f%% of the screen dirty", share*100)
	}
}

// Watchers, typists, a pointer and the power switch at once, under -race;
// every watcher stops and nothing is left running.
func TestDisplayConcurrent(t *testing.T) {
	before := runtime.NumGoroutine()
	m := New(Config{ID: "c", Seed: "display", PowerOnDelay: time.Millisecond, PowerOffDelay: time.Millisecond,
		ShutdownDelay: time.Millisecond, PoweredOn: true})
	var serial screen
	m.AttachConsole(serial.out)
	d, kb, pt := m.Display(), m.Keyboard(), m.Pointer()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			ch, stop := d.Watch()
			defer stop()
			leds, stopLEDs := kb.WatchLEDs()
			defer stopLEDs()
			var last uint64
			for {
				select {
				case <-done:
					return
				case <-leds:
					kb.LEDs()
				case <-ch:
					f := d.Frame()
					if f.Seq < last {
						t.Errorf("frame %d after %d", f.Seq, last)
					}
					last = f.Seq
					if f.Image != nil {
						_ = f.Image.(*goimage.RGBA).Pix[0] // read while others draw
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			for _, k := range []hardware.KeyCode{hardware.KeyA + hardware.KeyCode(i%26), hardware.KeyEnter, hardware.KeyCapsLock} {
				_ = kb.Key(k, true)
				_ = kb.Key(k, false)
			}
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			_ = pt.Point(hardware.PointerEvent{Absolute: true, X: i * 97 % hardware.PointerMax, Y: i * 31 % hardware.PointerMax})
			_ = pt.Point(hardware.PointerEvent{DX: 5, DY: -5, Buttons: hardware.ButtonLeft})
		}
	})
	wg.Go(func() {
		m.Attach(testHost{fw: &firmware{}})
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			r := []hardware.ResetType{hardware.ResetForceOff, hardware.ResetOn, hardware.ResetForceRestart}[i%3]
			_ = m.Reset(context.Background(), r)
			time.Sleep(3 * time.Millisecond)
		}
	})
	time.Sleep(300 * time.Millisecond)
	close(done)
	wg.Wait()
	_ = m.Close()
	m.mu.Lock()
	left := len(m.disp.watchers) + len(m.disp.kbd.watchers)
	m.mu.Unlock()
	if left != 0 {
		t.Errorf("%d watchers left registered", left)
	}
	end := time.Now().Add(deadline)
	for runtime.NumGoroutine() > before {
		if time.Now().After(end) {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop may be called more than once; a stopped watcher hears nothing.
func TestDisplayWatchStop(t *testing.T) {
	m := New(Config{ID: "w", Seed: "display", PowerOnDelay: forever})
	defer m.Close()
	ch, stop := m.Display().Watch()
	stop()
	stop()
	m.Attach(testHost{fw: &firmware{}})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if received(ch) {
		t.Error("a stopped watcher was told")
	}
	// Changes coalesce into one value.
	ch, stop = m.Display().Watch()
	defer stop()
	for range 3 {
		m.Attach(testHost{fw: &firmware{}})
		if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
			t.Fatal(err)
		}
	}
	if !received(ch) || received(ch) {
		t.Error("changes did not coalesce into one notice")
	}
}

// BenchmarkFrameAfterKey is the cost of one typed key on a watched
// screen: the echo, and the new frame (a 3 MiB copy and two cells).
func BenchmarkFrameAfterKey(b *testing.B) {
	m := New(Config{ID: "bench", Seed: "display", PoweredOn: true})
	defer m.Close()
	in := m.AttachConsole(func([]byte) {})
	d := m.Display()
	d.Frame()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in([]byte{"ab"[i%2]})
		if i%100 == 99 {
			in([]byte{'\r'})
		}
		d.Frame()
	}
}
