package board

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"github.com/bmcd/bmcd/hardware/board/capture"
	"gopkg.in/yaml.v3"
)

func setupWith(t *testing.T, text string) (hardware.Backend, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	node := &n
	if strings.TrimSpace(text) == "" {
		node = nil
	}
	return setup(hardware.Setup{ID: "node1", Seed: "seed", StateDir: t.TempDir(), Log: slog.Default(),
		Config: backendconfig.New("board", node)})
}

func TestRegistered(t *testing.T) {
	if _, err := hardware.NewBackend("board", hardware.Setup{ID: "n", Seed: "s", StateDir: t.TempDir(), Log: slog.Default(),
		Config: backendconfig.New("board", nil)}); err == nil || !strings.Contains(err.Error(), "no part configured") {
		t.Errorf("board with no block: %v", err)
	}
}

// TestSetupRefuses: every bad block is refused before a device is
// opened, with the key it is about.
func TestSetupRefuses(t *testing.T) {
	for _, tc := range []struct{ name, block, want string }{
		{"no block", ``, "board: no part configured"},
		{"empty parts", "manufacturer: Dell\n", "board: no part configured"},
		{"unknown key", "atc: {}\n", "board.atc: unknown parameter"},
		{"atx without power button", "atx:\n  power_led: {offset: 24}\n", "board.atx.power_button: required"},
		{"atx without power LED", "atx:\n  power_button: {offset: 23}\n", "board.atx.power_led: required"},
		{"atx pin both offset and name", "atx:\n  power_button: {offset: 23, name: PWR}\n  power_led: {offset: 24}\n", "board.atx.power_button: give one of offset and name"},
		{"atx pin neither", "atx:\n  power_button: {active_low: true}\n  power_led: {offset: 24}\n", "board.atx.power_button: give one of offset and name"},
		{"atx offset out of range", "atx:\n  power_button: {offset: 5000}\n  power_led: {offset: 24}\n", "board.atx.power_button.offset"},
		{"atx timings", "atx:\n  power_button: {offset: 23}\n  power_led: {offset: 24}\n  short_press: 2s\n  long_press: 1s\n", "board.atx: long_press 1s must be longer than short_press 2s"},
		{"atx bad duration", "atx:\n  power_button: {offset: 23}\n  power_led: {offset: 24}\n  short_press: soon\n", "board.atx"},
		{"atx unknown key", "atx:\n  power_buton: {offset: 23}\n", "board.atx"},
		{"gadget max power", "gadget:\n  max_power: 900\n", "board.gadget.max_power"},
		{"gadget name", "gadget:\n  name: a/b\n", "board.gadget.name"},
		{"gadget unknown key", "gadget:\n  mass_storage: false\n", "board.gadget"},
		{"wol without mac", "wol: {address: 192.168.1.255}\n", "board.wol.mac: required"},
		{"wol bad mac", "wol: {mac: aa:bb}\n", "board.wol.mac: "},
		{"wol bad address", "wol: {mac: \"aa:bb:cc:dd:ee:ff\", address: \"lan:9\"}\n", "board.wol.address: "},
		{"wol bad password", "wol: {mac: \"aa:bb:cc:dd:ee:ff\", password: \"01:02:03\"}\n", "board.wol.password: "},
		{"wol unknown key", "wol: {mac: \"aa:bb:cc:dd:ee:ff\", port: 9}\n", "board.wol"},
		{"capture format", "capture:\n  format: h264\n", "board.capture.format"},
		{"capture odd width", "capture:\n  width: 1279\n  height: 720\n", "board.capture.width: 1279 is odd"},
		{"capture width alone", "capture:\n  width: 1280\n", "board.capture.width: give both"},
		{"capture relative device", "capture:\n  device: video0\n", "board.capture.device"},
		{"capture unknown key", "capture:\n  resolution: 1080p\n", "board.capture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := setupWith(t, tc.block)
			if err == nil {
				b.Close()
				t.Fatalf("accepted %q", tc.block)
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start %q", err, tc.want)
			}
		})
	}
}

// TestSetupNoDevices: a good block on a machine without the board's
// devices is ErrUnavailable, named by its part.
func TestSetupNoDevices(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct{ name, block, want string }{
		{"atx", "atx:\n  chip: /nonexistent/gpiochip9\n  power_button: {offset: 23}\n  power_led: {offset: 24}\n", "board.atx.power_button:"},
		{"gadget", "gadget:\n  root: " + root + "\n  udc_class: " + root + "/no-udc\n", "board.gadget: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := setupWith(t, tc.block)
			if err == nil {
				b.Close()
				t.Fatal("accepted without devices")
			}
			t.Log(err)
			if !errors.Is(err, hardware.ErrUnavailable) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want ErrUnavailable starting %q", err, tc.want)
			}
		})
	}
}

// TestCheckBlock: bmcd -check-config's check refuses what setup refuses,
// and passes a good block without opening its devices.
func TestCheckBlock(t *testing.T) {
	parse := func(text string) hardware.BackendConfig {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(text), &n); err != nil {
			t.Fatal(err)
		}
		return backendconfig.New("board", &n)
	}
	good := "atx:\n  chip: /nonexistent/gpiochip9\n  power_button: {offset: 23}\n  power_led: {offset: 24}\nwol: {mac: \"aa:bb:cc:dd:ee:ff\"}\n"
	if err := hardware.CheckBackend("board", "s1", parse(good)); err != nil {
		t.Errorf("good block: %v", err)
	}
	if err := hardware.CheckBackend("board", "s1", parse("wol: {mac: x}\n")); err == nil || !strings.HasPrefix(err.Error(), "system s1: board.wol.mac: ") {
		t.Errorf("bad block: %v", err)
	}
	if err := hardware.CheckBackend("board", "s1", nil); err == nil || !strings.Contains(err.Error(), "no part configured") {
		t.Errorf("no block: %v", err)
	}
	if err := hardware.CheckBackend("xen", "s1", nil); err == nil || !strings.Contains(err.Error(), `unknown backend "xen"`) {
		t.Errorf("unknown backend: %v", err)
	}
	// A capture: block passes where capture is built in, and is refused
	// as setup refuses it where it is not (CGO_ENABLED=0).
	err := hardware.CheckBackend("board", "s1", parse("capture: {device: /dev/video0}\n"))
	if capture.Built && err != nil {
		t.Errorf("capture block: %v", err)
	}
	if !capture.Built && (!errors.Is(err, hardware.ErrUnavailable) || !strings.Contains(err.Error(), "board.capture: built without cgo")) {
		t.Errorf("capture block without cgo: %v", err)
	}
}

// TestSetupCaptureAlone: a board with only capture: is valid; the device
// is not opened before someone watches. Without cgo it is refused with
// ErrUnavailable.
func TestSetupCaptureAlone(t *testing.T) {
	b, err := setupWith(t, "capture:\n  device: /nonexistent/video9\n  format: yuyv\n")
	if _, cerr := capture.Open(capture.Config{}, nil); cerr != nil { // built without cgo
		if !errors.Is(err, hardware.ErrUnavailable) || !strings.HasPrefix(err.Error(), "board.capture: built without cgo") {
			t.Errorf("without cgo: %v; want ErrUnavailable, built without cgo", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := b.Attach(nopHost{})
	if p.Display == nil || p.Power != nil || p.Keyboard != nil || p.Media != nil {
		t.Errorf("capture alone: %+v, want Display only", p)
	}
	if f := p.Display.Frame(); f.Seq != 0 {
		t.Errorf("frame %d before anyone watched", f.Seq)
	}
	_, stop := p.Display.Watch() // the missing device: "no signal", retried
	deadline := time.Now().Add(5 * time.Second)
	for p.Display.Frame().Image == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Display.Frame().Image == nil {
		t.Error("no 'no signal' picture for a missing device")
	}
	stop()
}
